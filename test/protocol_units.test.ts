// Unit tests of the agent protocol's building blocks (docs/protocol.md): COBS, CRC-32, frames and
// payloads on the host side, the same COBS and CRC-32 compiled from the agent's C sources, and the
// generator of tf_agent_model.c.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { EXIT_DEVICE_ERROR, EXIT_USER_ERROR, TinyforgeError } from '../compiler/errors.ts';
import { generateAgentModelSource, type AgentModelSpec } from '../compiler/targets/agent_model_source.ts';
import { RUNTIME_TEMPLATES_DIR } from '../compiler/targets/target.ts';
import { CobsError, cobsDecode, cobsEncode, cobsMaxEncodedLength } from '../flasher/protocol/cobs.ts';
import { crc32 } from '../flasher/protocol/crc32.ts';
import {
  FrameError,
  MAX_ENCODED_FRAME_BYTES,
  MAX_FRAME_BYTES,
  decodeFrame,
  decodeWireFrame,
  encodeFrame,
  encodeWireFrame,
  toWire,
} from '../flasher/protocol/frame.ts';
import {
  ErrorCode,
  MsgType,
  ProtocolError,
  decodeErrorPayload,
  decodeHelloReply,
  decodeReadOutputReply,
  describeError,
  encodeReadOutput,
  encodeWriteInput,
  errorCodeName,
  isFramingError,
  typeName,
} from '../flasher/protocol/messages.ts';
import { TransportError } from '../flasher/transport/serial_transport.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const bytes = (...parts: (number | number[])[]): Uint8Array => Uint8Array.from(parts.flat());

/** Deterministic pseudo-random bytes (xorshift32) with about `zeroRate` zeros. */
function randomBytes(n: number, seed: number, zeroRate = 0.1): Uint8Array {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = next() / 0x1_0000_0000 < zeroRate ? 0 : (next() % 255) + 1;
  return out;
}

describe('COBS', () => {
  // The worked examples of the COBS literature (canonical form, delimiter not included).
  const vectors: [string, Uint8Array, Uint8Array][] = [
    ['empty', bytes(), bytes(0x01)],
    ['one zero', bytes(0x00), bytes(0x01, 0x01)],
    ['two zeros', bytes(0x00, 0x00), bytes(0x01, 0x01, 0x01)],
    ['zero, data, zero', bytes(0x00, 0x11, 0x00), bytes(0x01, 0x02, 0x11, 0x01)],
    ['zero in the middle', bytes(0x11, 0x22, 0x00, 0x33), bytes(0x03, 0x11, 0x22, 0x02, 0x33)],
    ['no zero', bytes(0x11, 0x22, 0x33, 0x44), bytes(0x05, 0x11, 0x22, 0x33, 0x44)],
    ['trailing zeros', bytes(0x11, 0x00, 0x00, 0x00), bytes(0x02, 0x11, 0x01, 0x01, 0x01)],
    ['254 non-zero bytes', bytes(range(0x01, 0xfe)), bytes(0xff, range(0x01, 0xfe))],
    ['zero then 254 non-zero bytes', bytes(0x00, range(0x01, 0xfe)), bytes(0x01, 0xff, range(0x01, 0xfe))],
    ['255 non-zero bytes', bytes(range(0x01, 0xff)), bytes(0xff, range(0x01, 0xfe), 0x02, 0xff)],
    ['254 non-zero bytes then a zero', bytes(range(0x02, 0xff), 0x00), bytes(0xff, range(0x02, 0xff), 0x01, 0x01)],
    ['253 non-zero, zero, non-zero', bytes(range(0x03, 0xff), 0x00, 0x01), bytes(0xfe, range(0x03, 0xff), 0x02, 0x01)],
  ];
  for (const [name, raw, enc] of vectors) {
    it(`encodes and decodes: ${name}`, () => {
      expect(Buffer.from(cobsEncode(raw)).toString('hex')).toBe(Buffer.from(enc).toString('hex'));
      expect(Buffer.from(cobsDecode(enc)).toString('hex')).toBe(Buffer.from(raw).toString('hex'));
    });
  }

  it('round-trips runs around the 254-byte block size, all-zero data and random data', () => {
    const cases: Uint8Array[] = [];
    for (const n of [1, 2, 253, 254, 255, 256, 507, 508, 509, 762, 1034]) {
      cases.push(new Uint8Array(n).fill(0x5a), new Uint8Array(n), randomBytes(n, n, 0.05));
    }
    for (let seed = 1; seed <= 200; seed++) cases.push(randomBytes(seed * 5, seed, (seed % 4) / 4));
    for (const raw of cases) {
      const enc = cobsEncode(raw);
      expect(enc.includes(0)).toBe(false);
      expect(enc.byteLength).toBeLessThanOrEqual(cobsMaxEncodedLength(raw.byteLength));
      expect(enc.byteLength).toBeLessThanOrEqual(raw.byteLength + Math.max(1, Math.ceil(raw.byteLength / 254)));
      expect(Buffer.compare(cobsDecode(enc), raw), `length ${raw.byteLength}`).toBe(0);
    }
  });

  it('decodes the non-canonical trailing 0x01 after a full block', () => {
    expect(Buffer.compare(cobsDecode(bytes(0xff, range(0x01, 0xfe), 0x01)), bytes(range(0x01, 0xfe)))).toBe(0);
  });

  it('rejects a zero byte and a block running past the end', () => {
    expect(() => cobsDecode(bytes(0x03, 0x11, 0x00))).toThrow(CobsError);
    expect(() => cobsDecode(bytes(0x05, 0x11, 0x22))).toThrow(/runs past the end at byte 0/);
    expect(() => cobsDecode(bytes(0x02, 0x11, 0x04, 0x22))).toThrow(/runs past the end at byte 2/);
    expect(new CobsError('x', 0)).toBeInstanceOf(TransportError);
  });
});

describe('CRC-32', () => {
  it('matches the known check values', () => {
    const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(ascii('a'))).toBe(0xe8b7be43);
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(new Uint8Array(32))).toBe(0x190a55ad);
    expect(crc32(new Uint8Array(32).fill(0xff))).toBe(0xff6cab0b);
  });

  it('continues over several pieces', () => {
    const data = randomBytes(1000, 7);
    expect(crc32(data.subarray(300), crc32(data.subarray(0, 300)))).toBe(crc32(data));
  });
});

describe('the agent C sources (tf_cobs.c, tf_crc32.c) agree with the host', () => {
  it('on CRC-32 and COBS of 300 random buffers, including decoding in place', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-proto-units-'));
    const mainC = path.join(dir, 'main.c');
    // Reads records "u32 length, bytes" from stdin; writes "u32 crc, u32 enc length, enc bytes,
    // i32 decoded length" per record, decoding the encoding in place.
    writeFileSync(
      mainC,
      `#include <stdio.h>
#include <stdint.h>
#include "tf_protocol.h"
static uint8_t in[4096], enc[TF_COBS_MAX_ENCODED(4096)];
static void put32(uint32_t v) { uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)}; fwrite(b, 1, 4, stdout); }
int main(void) {
  uint8_t h[4];
  while (fread(h, 1, 4, stdin) == 4) {
    uint32_t n = (uint32_t)h[0] | ((uint32_t)h[1] << 8), e, i;
    int32_t d;
    if (n > sizeof in || fread(in, 1, n, stdin) != n) return 2;
    put32(tf_crc32(in, n));
    e = tf_cobs_encode(in, n, enc, (uint32_t)sizeof enc);
    put32(e);
    fwrite(enc, 1, e, stdout);
    d = tf_cobs_decode(enc, e, enc, (uint32_t)sizeof enc);
    for (i = 0; d >= 0 && i < (uint32_t)d; i++) if (enc[i] != in[i]) d = -2;
    put32((uint32_t)d);
    if (tf_cobs_encode(in, n, enc, e > 0 ? e - 1 : 0) != 0) return 3; /* too small a buffer must fail */
  }
  return 0;
}
`,
    );
    const agentDir = path.join(RUNTIME_TEMPLATES_DIR, 'agent');
    const bin = path.join(dir, 'proto_units');
    execFileSync('cc', [
      '-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-fsanitize=address,undefined', '-fno-sanitize-recover=all',
      '-I', agentDir, mainC, path.join(agentDir, 'tf_cobs.c'), path.join(agentDir, 'tf_crc32.c'), '-o', bin,
    ]);
    const inputs: Uint8Array[] = [new Uint8Array(0), new Uint8Array(254).fill(1), new Uint8Array(255).fill(2), new Uint8Array(1034)];
    for (let seed = 1; inputs.length < 300; seed++) inputs.push(randomBytes((seed * 37) % 1100, seed, (seed % 5) / 5));
    const stdin = Buffer.concat(inputs.flatMap((b) => [Buffer.from(Uint32Array.of(b.byteLength).buffer), Buffer.from(b)]));
    const out = execFileSync(bin, { input: stdin, maxBuffer: 1 << 24 });
    let off = 0;
    for (const raw of inputs) {
      const crc = out.readUInt32LE(off);
      const encLen = out.readUInt32LE(off + 4);
      const enc = out.subarray(off + 8, off + 8 + encLen);
      const decodedLen = out.readInt32LE(off + 8 + encLen);
      off += 12 + encLen;
      expect(crc, `crc of ${raw.byteLength} bytes`).toBe(crc32(raw));
      expect(Buffer.compare(enc, cobsEncode(raw)), `COBS of ${raw.byteLength} bytes`).toBe(0);
      expect(decodedLen).toBe(raw.byteLength);
    }
    expect(off).toBe(out.byteLength);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('frames', () => {
  it('encodes the documented layout', () => {
    const raw = encodeFrame({ type: MsgType.WRITE_INPUT, seq: 0x0102, payload: bytes(0xaa, 0x00, 0xbb) });
    expect(Buffer.from(raw.subarray(0, 9)).toString('hex')).toBe('010202010300aa00bb');
    expect(raw.byteLength).toBe(13);
    expect(Buffer.from(raw).readUInt32LE(9)).toBe(crc32(raw.subarray(0, 9)));
    const wire = toWire(raw);
    expect(wire[0]).toBe(0);
    expect(wire[wire.byteLength - 1]).toBe(0);
    expect(wire.subarray(1, -1).includes(0)).toBe(false);
  });

  it('round-trips through the wire form, with or without delimiters, up to the largest frame', () => {
    for (const n of [0, 1, 253, 254, 1024]) {
      const payload = randomBytes(n, n + 1, 0.2);
      const wire = encodeWireFrame({ type: 0x84, seq: 65535, payload });
      expect(wire.byteLength).toBeLessThanOrEqual(MAX_ENCODED_FRAME_BYTES + 2);
      for (const w of [wire, wire.subarray(1), wire.subarray(1, -1)]) {
        const f = decodeWireFrame(w);
        expect(f).toMatchObject({ version: 1, type: 0x84, seq: 65535 });
        expect(Buffer.compare(f!.payload, payload)).toBe(0);
      }
    }
    expect(MAX_FRAME_BYTES).toBe(1034);
    expect(MAX_ENCODED_FRAME_BYTES).toBe(1039);
    expect(decodeWireFrame(bytes(0x00, 0x00))).toBeUndefined();
  });

  it('reports each kind of damage with a typed error', () => {
    const raw = encodeFrame({ type: MsgType.HELLO, seq: 1, payload: bytes(1, 2, 3) });
    const reason = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(FrameError);
        expect((e as FrameError).exitCode).toBe(EXIT_DEVICE_ERROR);
        return (e as FrameError).reason;
      }
      return 'no error';
    };
    expect(reason(() => decodeFrame(raw.subarray(0, 9)))).toBe('short');
    expect(reason(() => decodeFrame(raw.subarray(0, 12)))).toBe('length');
    const flipped = raw.slice();
    flipped[7] = (flipped[7] as number) ^ 0x04;
    expect(reason(() => decodeFrame(flipped))).toBe('crc');
    const badCrc = raw.slice();
    badCrc[raw.byteLength - 1] = (badCrc[raw.byteLength - 1] as number) ^ 0x80;
    expect(reason(() => decodeFrame(badCrc))).toBe('crc');
    const longClaim = raw.slice();
    longClaim[4] = 0x01;
    longClaim[5] = 0x04; // 1025
    expect(reason(() => decodeFrame(longClaim))).toBe('oversized');
    expect(reason(() => decodeWireFrame(bytes(0x00, 0x05, 0x11, 0x00)))).toBe('cobs');
    expect(reason(() => decodeWireFrame(new Uint8Array(MAX_ENCODED_FRAME_BYTES + 1).fill(7)))).toBe('oversized');
  });

  it('refuses to build frames the protocol does not allow (host misuse, exit 2)', () => {
    for (const f of [
      () => encodeFrame({ type: 1, seq: 1, payload: new Uint8Array(1025) }),
      () => encodeFrame({ type: 1, seq: 65536 }),
      () => encodeFrame({ type: 256, seq: 1 }),
      () => encodeWriteInput(0, 0, new Uint8Array(1017)),
      () => encodeReadOutput(0, 0, 1017),
      () => encodeReadOutput(256, 0, 1),
    ]) {
      expect(f).toThrow(TinyforgeError);
      try {
        f();
      } catch (e) {
        expect(e).not.toBeInstanceOf(TransportError);
        expect((e as TinyforgeError).exitCode).toBe(EXIT_USER_ERROR);
      }
    }
  });
});

describe('payloads', () => {
  it('encodes WRITE_INPUT and READ_OUTPUT requests as documented', () => {
    expect(Buffer.from(encodeWriteInput(2, 0x01020304, bytes(9, 8))).toString('hex')).toBe('02000000040302010908');
    expect(Buffer.from(encodeReadOutput(1, 1016, 0x0123)).toString('hex')).toBe('01002301f8030000');
  });

  it('decodes a HELLO reply and rejects a short or inconsistent one', () => {
    const sha = 'ab'.repeat(32);
    const p = Buffer.concat([
      hex('01 02 01 03 0004 05 00'),
      Buffer.from(Uint32Array.of(4400, 1).buffer),
      Buffer.from(sha, 'hex'),
      Buffer.from(Uint32Array.of(1960, 16, 4).buffer),
      Buffer.from('an1dwt-c'),
      Buffer.from('extra bytes of a later version'),
    ]);
    expect(decodeHelloReply(p)).toEqual({
      protocolVersion: 1,
      boardId: 'an1',
      modelSha256: sha,
      arenaBytes: 4400,
      inputBytes: [1960, 16],
      outputBytes: [4],
      maxPayload: 1024,
      counterName: 'dwt-c',
      cyclesPerTick: 1,
    });
    expect(() => decodeHelloReply(p.subarray(0, 47))).toThrow(ProtocolError);
    expect(() => decodeHelloReply(p.subarray(0, 67))).toThrow(/67 payload bytes, at least 68/);
    const tooMany = Buffer.from(p);
    tooMany[1] = 9;
    expect(() => decodeHelloReply(tooMany)).toThrow(/9 inputs/);
    const tinyPayload = Buffer.from(p);
    tinyPayload.writeUInt16LE(255, 4);
    expect(() => decodeHelloReply(tinyPayload)).toThrow(/max payload 255/);
  });

  it('checks that a READ_OUTPUT reply carries the bytes it announces', () => {
    expect(decodeReadOutputReply(hex('00 00 0200 04000000 7f 80'))).toMatchObject({ index: 0, offset: 4, length: 2 });
    expect(() => decodeReadOutputReply(hex('00 00 0300 04000000 7f 80'))).toThrow(ProtocolError);
  });

  it('names types and error codes, and explains details', () => {
    expect(typeName(MsgType.INVOKE)).toBe('INVOKE');
    expect(typeName(0x83)).toBe('INVOKE reply');
    expect(typeName(MsgType.BOOT)).toBe('BOOT');
    expect(typeName(0x42)).toBe('type 0x42');
    expect(errorCodeName(ErrorCode.OUT_OF_RANGE)).toBe('OUT_OF_RANGE');
    expect(errorCodeName(200)).toBe('code 200');
    expect([1, 2, 3, 4].every(isFramingError)).toBe(true);
    expect([5, 6, 7, 11].some(isFramingError)).toBe(false);
    const e = decodeErrorPayload(hex('06 02 0000 07000000'));
    expect(e).toEqual({ code: ErrorCode.SEQUENCE, requestType: MsgType.WRITE_INPUT, detail: 7 });
    expect(describeError(e)).toBe('SEQUENCE (expected seq 7)');
    expect(describeError({ code: ErrorCode.SEQUENCE, requestType: 2, detail: 0 })).toMatch(/not seen HELLO/);
    expect(describeError({ code: ErrorCode.INVOKE_FAILED, requestType: 3, detail: 0xffffffff })).toMatch(/returned -1/);
  });
});

describe('tf_agent_model.c generator', () => {
  const spec: AgentModelSpec = {
    prefix: 'two_io',
    boardId: 'qemu-mps2-an386',
    modelSha256: '0f'.repeat(32),
    arenaBytes: 1234,
    inputBytes: [10, 0],
    outputBytes: [3],
  };

  it('declares aligned buffers, the descriptor, compile-time size checks and the invoke call', () => {
    const src = generateAgentModelSource(spec);
    expect(src).toContain('#include "two_io.h"');
    expect(src).toContain('static uint8_t tf_agent_in0[10] __attribute__((aligned(16)));');
    expect(src).toContain('static uint8_t tf_agent_in1[1] __attribute__((aligned(16)));');
    expect(src).toContain('.board_id = "qemu-mps2-an386",');
    expect(src).toContain('.input_bytes = {10u, 0u},');
    expect(src).toContain('(TWO_IO_INPUT0_BYTES == 10) ? 1 : -1');
    expect(src).toContain('return two_io_invoke((void *)tf_agent_in0, (void *)tf_agent_in1, (void *)tf_agent_out0);');
  });

  it('refuses specs the agent cannot carry', () => {
    expect(() => generateAgentModelSource({ ...spec, prefix: '1x' })).toThrow(/not a C identifier/);
    expect(() => generateAgentModelSource({ ...spec, boardId: 'has space' })).toThrow(/board id/);
    expect(() => generateAgentModelSource({ ...spec, boardId: 'x'.repeat(64) })).toThrow(/board id/);
    expect(() => generateAgentModelSource({ ...spec, modelSha256: 'abc' })).toThrow(/sha256/);
    expect(() => generateAgentModelSource({ ...spec, inputBytes: new Array(9).fill(1) })).toThrow(/at most 8/);
    expect(() => generateAgentModelSource({ ...spec, outputBytes: [-1] })).toThrow(/invalid byte size/);
  });
});
