// RIFF/WAVE reading and writing for 16-bit PCM mono, the format the wake-word pipeline takes.

import { readFileSync } from 'node:fs';
import { TinyforgeError } from '../errors.ts';

export interface Wav {
  sampleRate: number;
  samples: Int16Array;
}

/** Parses a 16-bit PCM mono WAV; chunks other than fmt and data are skipped. */
export function parseWav(bytes: Uint8Array, name = 'WAV'): Wav {
  const fail = (why: string): never => {
    throw new TinyforgeError(`${name}: ${why}`);
  };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (off: number): string => String.fromCharCode(...bytes.subarray(off, off + 4));
  if (bytes.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') fail('not a RIFF/WAVE file');
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  for (let off = 12; off + 8 <= bytes.byteLength; ) {
    const id = tag(off);
    const size = v.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.byteLength) fail('truncated fmt chunk');
      fmt = { format: v.getUint16(body, true), channels: v.getUint16(body + 2, true), rate: v.getUint32(body + 4, true), bits: v.getUint16(body + 14, true) };
    } else if (id === 'data') {
      if (!fmt) fail('data chunk before the fmt chunk');
      const f = fmt as NonNullable<typeof fmt>;
      if (f.format !== 1 || f.bits !== 16 || f.channels !== 1) fail(`${f.channels} channel(s), format ${f.format}, ${f.bits} bits; the pipeline takes 16-bit PCM mono`);
      const n = Math.floor(Math.min(size, bytes.byteLength - body) / 2);
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = v.getInt16(body + 2 * i, true);
      return { sampleRate: f.rate, samples };
    }
    off = body + size + (size & 1);
  }
  return fail('no data chunk');
}

export function readWav(file: string): Wav {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TinyforgeError(`${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(e))}`);
  }
  return parseWav(bytes, file);
}

/** A 44-byte-header 16-bit PCM mono WAV of `samples`. */
export function encodeWav(samples: Int16Array, sampleRate: number): Uint8Array {
  const out = new Uint8Array(44 + samples.length * 2);
  const v = new DataView(out.buffer);
  const put = (off: number, s: string): void => out.set(Array.from(s, (ch) => ch.charCodeAt(0)), off);
  put(0, 'RIFF');
  v.setUint32(4, 36 + samples.length * 2, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  put(36, 'data');
  v.setUint32(40, samples.length * 2, true);
  samples.forEach((s, i) => v.setInt16(44 + 2 * i, s, true));
  return out;
}
