// `tinyforge listen` and the FEED command (docs/protocol.md) on the emulated Cortex-M4
// (qemu-mps2-an386): the shared recordings streamed over the serial agent in 20 ms chunks must
// give the TFLite Micro goldens (features, classifier scores) and exactly the host reference's
// events; the four clips concatenated must give the same detections on device and host. FEED's
// wire format is checked against the spec's byte layout, and its command rules on the device.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBoard } from '../compiler/boards/load_boards.ts';
import { main } from '../compiler/cli/main.ts';
import { compareStreamEvents } from '../compiler/stream/compare_events.ts';
import { compileStream } from '../compiler/stream/compile_stream.ts';
import { feedInChunks, hostEvents, listenResult, prepareListen } from '../compiler/stream/listen.ts';
import { buildStreamFirmware } from '../compiler/stream/stream_firmware.ts';
import { encodeWav, readWav } from '../compiler/stream/wav.ts';
import { countingOf } from '../compiler/boards/counting.ts';
import { AgentSession } from '../flasher/agent_session.ts';
import { openDevice, type OpenDevice } from '../flasher/device_validation.ts';
import { decodeFeedReply, encodeFeedRequest, type FeedEvent } from '../flasher/protocol/feed.ts';
import { decodeWireFrame, encodeWireFrame } from '../flasher/protocol/frame.ts';
import { MsgType } from '../flasher/protocol/messages.ts';
import { SHARED_DIR } from './helpers/shared.ts';

const AUDIO = path.join(SHARED_DIR, 'audio');
const PRE = path.join(AUDIO, 'models', 'audio_preprocessor_int8.tflite');
const CLASSIFIER = path.join(AUDIO, 'models', 'micro_speech_quantized.tflite');
// Over the emulated UART a second of audio takes several seconds: the default run streams one 1 s
// and one 30 ms recording (the concatenation below covers the other 1 s clips);
// `npm run test:listen` (TINYFORGE_LISTEN=all) streams every recording on its own.
const ALL = process.env.TINYFORGE_LISTEN === 'all';
const WAVS = readdirSync(path.join(AUDIO, 'wav'))
  .filter((f) => f.endsWith('.wav'))
  .sort()
  .filter((f) => ALL || f === 'yes_1000ms.wav' || f === 'no_30ms.wav');
const CLIPS_1S = ['yes_1000ms', 'no_1000ms', 'silence_1000ms', 'noise_1000ms'];
const work = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-listen-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const board = findBoard('qemu-mps2-an386');
const stream = compileStream(PRE, CLASSIFIER, {}, { prefix: 'kws' });

/** The four 1 s clips in one WAV file. */
const concatWav = path.join(work, 'yes_no_silence_noise.wav');
writeFileSync(
  concatWav,
  (() => {
    const parts = CLIPS_1S.map((c) => readWav(path.join(AUDIO, 'wav', `${c}.wav`)).samples);
    const all = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
    return encodeWav(all, 16000);
  })(),
);

const withoutTicks = (events: FeedEvent[]): unknown[] => events.map((e) => (e.kind === 'detection' ? e : (({ ticks: _t, ...rest }) => rest)(e)));

async function runCli(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await main(args);
    return { code, out: lines.join('') };
  } finally {
    process.stdout.write = write;
  }
}

describe('FEED wire format (docs/protocol.md)', () => {
  it('request: int16 little-endian samples', () => {
    expect(Array.from(encodeFeedRequest(Int16Array.from([1, -2, 0x1234])))).toEqual([0x01, 0x00, 0xfe, 0xff, 0x34, 0x12]);
  });

  it('reply: 16-byte header, then features, scores and detection records as documented', () => {
    const p = [
      ...[49, 0, 0, 0], ...[1, 0, 0, 0], ...[0x10, 0x27, 0, 0], 3, 0, 0, 0,
      // features: kind 1, reserved, u16 length 2, u32 frame 48, u32 ticks 7, 2 bytes
      1, 0, 2, 0, ...[48, 0, 0, 0], ...[7, 0, 0, 0], 0xff, 0x05,
      // scores: kind 2, 2 labels, reserved, invoke 0, frame 48, 990 ms, ticks 9, scores -128 127, averaged 0 255
      2, 2, 0, 0, ...[0, 0, 0, 0], ...[48, 0, 0, 0], ...[0xde, 0x03, 0, 0], ...[9, 0, 0, 0], 0x80, 0x7f, ...[0, 0, 0, 0], ...[0xff, 0, 0, 0],
      // detection: kind 3, label 1, reserved, invoke 0, 990 ms, score 255
      3, 1, 0, 0, ...[0, 0, 0, 0], ...[0xde, 0x03, 0, 0], ...[0xff, 0, 0, 0],
    ];
    const r = decodeFeedReply(Uint8Array.from(p));
    expect([r.frames, r.invokes, r.ticks, r.dropped]).toEqual([49, 1, 10000, false]);
    expect(r.events).toEqual([
      { kind: 'features', frame: 48, ticks: 7, features: Int8Array.from([-1, 5]) },
      { kind: 'scores', invoke: 0, frame: 48, timeMs: 990, ticks: 9, scores: Int8Array.from([-128, 127]), averaged: Int32Array.from([0, 255]) },
      { kind: 'detection', invoke: 0, timeMs: 990, label: 1, score: 255 },
    ]);
    expect(() => decodeFeedReply(Uint8Array.from(p.slice(0, p.length - 1)))).toThrow(/runs past the end/);
    expect(() => decodeFeedReply(Uint8Array.from([...p, 0]))).toThrow(/1 bytes after its 3 records/);
    expect(() => decodeFeedReply(new Uint8Array(15))).toThrow(/header/);
  });
});

describe('listen on the emulated Cortex-M4 (qemu-mps2-an386)', () => {
  let device: OpenDevice;
  let session: AgentSession;
  let yesRun: Awaited<ReturnType<typeof feedInChunks>> | undefined;

  beforeAll(async () => {
    // The default build cache, which the CLI test below shares (same prefix, same firmware).
    const fw = await buildStreamFirmware(stream, board);
    device = await openDevice(board, fw);
    session = new AgentSession(device.transport, { expectModelSha256: stream.classifier.model.sha256, connectTimeoutMs: 10_000 });
    await session.connect();
  }, 240_000);

  afterAll(async () => {
    await device?.close();
  });

  it(`${ALL ? 'every shared recording' : 'yes_1000ms and no_30ms'}, 20 ms per FEED: the device events equal the host reference and TFLite Micro`, async () => {
    for (const wav of WAVS) {
      const clip = wav.replace(/\.wav$/, '');
      const pcm = readWav(path.join(AUDIO, 'wav', wav)).samples;
      await session.reset();
      const run = await feedInChunks(pcm, 320, (c) => session.feed(c));
      if (clip === 'yes_1000ms') yesRun = run;
      const { events } = run;
      const host = hostEvents(stream, pcm, 320);
      expect(compareStreamEvents(host, events, stream.config).differences, clip).toEqual([]);
      expect(withoutTicks(events), clip).toEqual(host);
      const rows = events.flatMap((e) => (e.kind === 'features' ? [Buffer.from(e.features.buffer)] : []));
      if (CLIPS_1S.includes(clip)) {
        expect(Buffer.concat(rows).equals(readFileSync(path.join(AUDIO, 'features', `${clip}.bin`))), clip).toBe(true);
        const scores = events.flatMap((e) => (e.kind === 'scores' ? [Array.from(new Uint8Array(e.scores.buffer))] : []));
        expect(scores, clip).toEqual([Array.from(readFileSync(path.join(AUDIO, 'classifier', `output_${clip}_0.bin`)))]);
        const labels = events.flatMap((e) => (e.kind === 'detection' ? [stream.config.labels[e.label]] : []));
        expect(labels, clip).toEqual(clip === 'yes_1000ms' ? ['yes'] : clip === 'no_1000ms' ? ['no'] : []);
      } else {
        expect(Buffer.concat(rows).equals(readFileSync(path.join(AUDIO, 'preprocessor', `output_${clip}_s0_0.bin`))), clip).toBe(true);
      }
    }
  }, 120_000);

  it('FEED rules on the device: odd payload is BAD_REQUEST, an empty FEED computes nothing, a retransmission executes once', async () => {
    await session.reset();
    const empty = await session.feed(new Int16Array(0));
    expect([empty.frames, empty.invokes, empty.events.length, empty.dropped]).toEqual([0, 0, 0, false]);
    // Odd byte count: a raw frame (AgentSession only sends whole samples).
    const transport = device.transport;
    const exchange = async (type: number, seq: number, payload: Uint8Array): Promise<Uint8Array> => {
      await transport.write(encodeWireFrame({ type, seq, payload }));
      for (;;) {
        const f = decodeWireFrame(await transport.readUntil(0, 5000));
        if (f && f.seq === seq) return new Uint8Array([f.type, ...f.payload]);
      }
    };
    transport.discardInput();
    await exchange(MsgType.HELLO, 1, new Uint8Array(0));
    const odd = await exchange(MsgType.FEED, 2, new Uint8Array(3));
    expect(odd[0]).toBe(MsgType.ERROR);
    expect(Array.from(odd.subarray(1, 3))).toEqual([8, MsgType.FEED]); // BAD_REQUEST, detail 2
    expect(new DataView(odd.buffer, odd.byteOffset + 5, 4).getUint32(0, true)).toBe(2);
    const pcm = readWav(path.join(AUDIO, 'wav', 'yes_30ms.wav')).samples;
    await exchange(MsgType.RESET, 3, new Uint8Array(0));
    const first = await exchange(MsgType.FEED, 4, encodeFeedRequest(pcm));
    const again = await exchange(MsgType.FEED, 4, encodeFeedRequest(pcm));
    expect(first[0]).toBe(MsgType.FEED | 0x80);
    expect(Array.from(again)).toEqual(Array.from(first));
    const reply = decodeFeedReply(first.subarray(1));
    expect([reply.frames, reply.events.length]).toEqual([1, 1]);
    // The next FEED continues from one frame, not two: the retransmission did not run the pipeline.
    const next = decodeFeedReply((await exchange(MsgType.FEED, 5, encodeFeedRequest(new Int16Array(320)))).subarray(1));
    expect(next.frames).toBe(2);
    // A fresh session says HELLO again and goes on.
    session = new AgentSession(device.transport, { connectTimeoutMs: 10_000 });
    await session.connect();
    const err = await session.feed(new Int16Array(600)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/600 samples do not fit one payload/);
  }, 60_000);

  it('a device that differs is reported event by event, and listen fails', () => {
    // The device's yes_1000ms run from above, with one feature byte of frame 7 changed.
    const inputs = prepareListen(path.join(AUDIO, 'wav', 'yes_1000ms.wav'), { frontend: PRE, model: CLASSIFIER, board: board.id, prefix: 'kws' });
    expect(yesRun).toBeDefined();
    const run = structuredClone(yesRun as Awaited<ReturnType<typeof feedInChunks>>);
    const intact = listenResult('yes_1000ms.wav', inputs, device.description, countingOf(board), run);
    expect([intact.match, intact.differenceCount]).toEqual([true, 0]);
    for (const e of run.events) if (e.kind === 'features' && e.frame === 7) e.features[3] = (e.features[3] as number) ^ 1;
    const r = listenResult('yes_1000ms.wav', inputs, device.description, countingOf(board), run);
    expect(r.match).toBe(false);
    expect(r.differences[0]).toMatch(/^event 7: .*features of frame 7.*\(feature 3: host -?\d+, device -?\d+\)$/);
    expect(r.differenceCount).toBe(1);
    expect(r.cost.frontendPerFrame?.count).toBe(49);
    expect(r.cost.classifierPerInvoke?.mean).toBeGreaterThan(100_000);
  });
});

describe('tinyforge listen (CLI, qemu-mps2-an386)', () => {
  it('the four clips concatenated: the same detections on device and host, in the JSON envelope', async () => {
    const { code, out } = await runCli(['listen', concatWav, '--frontend', PRE, '--model', CLASSIFIER, '-b', 'qemu-mps2-an386', '--prefix', 'kws', '--chunk-ms', '32', '--json']);
    const env = JSON.parse(out) as { ok: boolean; command: string; result: { detections: unknown[]; host: { detections: unknown[] }; match: boolean; frames: number; invokes: number; cost: { unit: string; frontendPerFrame: { mean: number }; classifierPerInvoke: { mean: number }; perHop: number } } };
    expect(code, out).toBe(0);
    expect(env).toMatchObject({ ok: true, command: 'listen' });
    // "yes" at the end of the first clip (its golden score 127 = 255/256), "no" when the suppression ends.
    expect(env.result.detections).toEqual([
      { time_ms: 990, label: 'yes', score: 255 / 256 },
      { time_ms: 1990, label: 'no', score: expect.any(Number) },
    ]);
    expect((env.result.detections[1] as { score: number }).score).toBeGreaterThanOrEqual(0.8);
    expect(env.result.host.detections).toEqual(env.result.detections);
    expect(env.result.match).toBe(true);
    // 4 s at a 20 ms stride: 199 frames; an invoke from frame 48 on (32 ms per FEED: the chunking changes nothing).
    expect([env.result.frames, env.result.invokes]).toEqual([199, 151]);
    expect(env.result.cost.unit).toBe('instructions');
    expect(env.result.cost.frontendPerFrame.mean).toBeGreaterThan(10_000);
    expect(env.result.cost.perHop).toBe(Math.round(env.result.cost.frontendPerFrame.mean + env.result.cost.classifierPerInvoke.mean));
  }, 240_000);

  it('refuses bad input in one line with exit 2', async () => {
    const notWav = path.join(work, 'x.wav');
    writeFileSync(notWav, 'not audio');
    for (const args of [
      ['listen', notWav, '--frontend', PRE, '--model', CLASSIFIER],
      ['listen', concatWav, '--frontend', PRE, '--model', CLASSIFIER, '--chunk-ms', '40'],
      ['listen', concatWav, '--frontend', PRE, '--model', CLASSIFIER, '--sample-rate', '8000'],
      ['listen', concatWav, '--frontend', CLASSIFIER, '--model', PRE],
    ]) {
      const { code, out } = await runCli([...args, '--json']);
      expect(code, args.join(' ')).toBe(2);
      const env = JSON.parse(out) as { ok: boolean; error: { message: string } };
      expect(env.ok).toBe(false);
      expect(env.error.message).not.toContain('\n');
    }
  });
});
