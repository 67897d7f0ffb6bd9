// `npm run bench:stream`: the micro_speech wake-word pipeline (TFLite Micro's audio front end +
// classifier) streamed by `listen` over the serial agent on the emulated Cortex-M4 and M55: the
// four 1 s recordings of ../shared/audio concatenated, 20 ms per FEED. Instructions per 30 ms
// front-end frame and per classifier invoke, counted around each step inside <prefix>_feed under
// qemu -icount shift=0 (exact to one timer tick; QEMU models no cycles, so no real-time factor).
// Every feature row, score and detection must equal the host reference. Writes bench/stream.{json,md}.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listen, type ListenResult } from '../compiler/stream/listen.ts';
import { encodeWav, readWav } from '../compiler/stream/wav.ts';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const audio = path.join(process.env.TINYFORGE_SHARED ?? here('../../shared/'), 'audio');
const BOARDS = ['qemu-mps2-an386', 'qemu-mps3-an547'];
const CLIPS = ['yes_1000ms', 'no_1000ms', 'silence_1000ms', 'noise_1000ms'];

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-bench-stream-'));
const parts = CLIPS.map((c) => readWav(path.join(audio, 'wav', `${c}.wav`)).samples);
const pcm = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
parts.reduce((at, p) => (pcm.set(p, at), at + p.length), 0);
const wav = path.join(tmp, 'yes_no_silence_noise.wav');
writeFileSync(wav, encodeWav(pcm, 16000));

const results: ListenResult[] = [];
try {
  for (const board of BOARDS) {
    const r = await listen(wav, { frontend: path.join(audio, 'models', 'audio_preprocessor_int8.tflite'), model: path.join(audio, 'models', 'micro_speech_quantized.tflite'), board, prefix: 'kws' });
    if (!r.match) throw new Error(`${board}: ${r.differenceCount} events differ from the host reference: ${r.differences[0]}`);
    results.push(r);
    console.log(`${board}: front end ${r.cost.frontendPerFrame?.mean} / classifier ${r.cost.classifierPerInvoke?.mean} / hop ${r.cost.perHop} ${r.cost.unit}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const rows = results.map((r) => ({
  board: r.board,
  unit: r.cost.unit,
  frames: r.frames,
  invokes: r.invokes,
  frontend_per_frame: r.cost.frontendPerFrame,
  classifier_per_invoke: r.cost.classifierPerInvoke,
  per_hop: r.cost.perHop,
  hop_ms: r.cost.hopMs,
  detections: r.detections,
  how: r.cost.how,
}));
writeFileSync(here('./stream.json'), `${JSON.stringify({ wav: 'yes, no, silence, noise (../shared/audio/wav), concatenated', results: rows }, null, 2)}\n`);
const fmt = (n: number | null | undefined): string => (n === null || n === undefined ? '-' : n.toLocaleString('en-US'));
writeFileSync(
  here('./stream.md'),
  [
    '| board | front end per 30 ms frame (mean / max) | classifier per invoke (mean / max) | per 20 ms hop | detections |',
    '|---|---:|---:|---:|---|',
    ...rows.map((r) => `| ${r.board} | ${fmt(r.frontend_per_frame?.mean)} / ${fmt(r.frontend_per_frame?.max)} | ${fmt(r.classifier_per_invoke?.mean)} / ${fmt(r.classifier_per_invoke?.max)} | ${fmt(r.per_hop)} | ${r.detections.map((d) => `${d.label}@${d.time_ms}ms`).join(', ')} |`),
    '',
    ...rows.map((r) => `${r.board}: ${r.how}.`),
    '',
  ].join('\n'),
);
