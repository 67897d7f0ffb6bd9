// The streaming wake-word pipeline (compile --frontend): <prefix>_feed in the generated C (host,
// ASan/UBSan) and the TypeScript reference must produce the same features, scores and detections
// for every recording of ../shared/audio, fed in chunks of any size; the features must be TFLite
// Micro's (the preprocessor goldens, state carried through the clip) and the classifier on the
// full window must give TFLite Micro's classifier goldens.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel, loadModel } from '../compiler/compile.ts';
import { compileStream, writeStreamModules, type CompiledStream } from '../compiler/stream/compile_stream.ts';
import { findBoard } from '../compiler/boards/load_boards.ts';
import { main } from '../compiler/cli/main.ts';
import { runCompiler } from '../compiler/targets/toolchain.ts';
import { streamConfig, type StreamOptions } from '../compiler/stream/stream_config.ts';
import { runStreamOnHost } from '../compiler/stream/stream_host.ts';
import { StreamReference, type FeaturesEvent, type ScoresEvent, type StreamEvent } from '../compiler/stream/stream_reference.ts';
import { encodeWav, parseWav, readWav } from '../compiler/stream/wav.ts';
import { SHARED_DIR } from './helpers/shared.ts';

const AUDIO = path.join(SHARED_DIR, 'audio');
const PRE = path.join(AUDIO, 'models', 'audio_preprocessor_int8.tflite');
const CLASSIFIER = path.join(AUDIO, 'models', 'micro_speech_quantized.tflite');
const WAVS = readdirSync(path.join(AUDIO, 'wav')).filter((f) => f.endsWith('.wav')).sort();
const CLIPS_1S = ['yes_1000ms', 'no_1000ms', 'silence_1000ms', 'noise_1000ms'];
const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-stream-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const pcmOf = (clip: string): Int16Array => readWav(path.join(AUDIO, 'wav', `${clip}.wav`)).samples;
const read = (...p: string[]): Uint8Array => new Uint8Array(readFileSync(path.join(AUDIO, ...p)));
const bytes = (a: Int8Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function referenceEvents(s: CompiledStream, pcm: Int16Array, chunk = pcm.length): StreamEvent[] {
  const ref = new StreamReference(s.config, s.frontend, s.classifier);
  const events: StreamEvent[] = [];
  for (let i = 0; i < pcm.length; i += chunk) events.push(...ref.feed(pcm.subarray(i, i + chunk)));
  return events;
}

function concatenated(clips: readonly string[]): Int16Array {
  const parts = clips.map(pcmOf);
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const stream = compileStream(PRE, CLASSIFIER, {}, { prefix: 'kws' });
const detections = (events: StreamEvent[]): string[] => events.flatMap((e) => (e.kind === 'detection' ? [`${stream.config.labels[e.label]}@${e.timeMs}`] : []));

describe('streaming pipeline: TypeScript reference against TFLite Micro', () => {
  it('takes window, stride, rows and labels from the models and the defaults', () => {
    const c = stream.config;
    expect([c.windowSamples, c.strideSamples, c.featureBytes, c.featureRows, c.sampleRate]).toEqual([480, 320, 40, 49, 16000]);
    expect(c.labels).toEqual(['silence', 'unknown', 'yes', 'no']);
    expect(c.keyword).toEqual([false, false, true, true]);
    // 0.8 of the 1/256 output scale; micro_speech's scores have zero point -128.
    expect([c.thresholdQ, c.scoreZeroPoint, c.averageCount]).toEqual([205, -128, 5]);
  });

  for (const clip of CLIPS_1S) {
    it(`${clip}: 49 feature rows equal the goldens, the one invoke gives the classifier golden`, () => {
      const events = referenceEvents(stream, pcmOf(clip), 333);
      const rows = events.filter((e): e is FeaturesEvent => e.kind === 'features');
      expect(rows.map((r) => r.frame)).toEqual(Array.from({ length: 49 }, (_, t) => t));
      const stacked = new Uint8Array(49 * 40);
      rows.forEach((r, t) => stacked.set(bytes(r.features), 40 * t));
      expect(Buffer.from(stacked).equals(Buffer.from(read('features', `${clip}.bin`)))).toBe(true);
      const scores = events.filter((e): e is ScoresEvent => e.kind === 'scores');
      expect(scores.length).toBe(1);
      expect(Array.from(bytes((scores[0] as ScoresEvent).scores))).toEqual(Array.from(read('classifier', `output_${clip}_0.bin`)));
      expect((scores[0] as ScoresEvent).timeMs).toBe(990);
      const expected = clip.startsWith('yes') ? ['yes@990'] : clip.startsWith('no_') ? ['no@990'] : [];
      expect(detections(events)).toEqual(expected);
    });
  }

  it('30 ms clips: one frame, equal to the preprocessor golden, no invoke', () => {
    for (const clip of ['yes_30ms', 'no_30ms']) {
      const events = referenceEvents(stream, pcmOf(clip));
      expect(events.map((e) => e.kind)).toEqual(['features']);
      expect(Array.from(bytes((events[0] as FeaturesEvent).features))).toEqual(Array.from(read('preprocessor', `output_${clip}_s0_0.bin`)));
    }
  });

  it('the four clips in one stream: "yes" then "no" detected, nothing in silence and noise; suppression and reset hold', () => {
    const pcm = concatenated(CLIPS_1S);
    const events = referenceEvents(stream, pcm, 320);
    expect(detections(events)).toEqual(['yes@990', 'no@1990']);
    // Without suppression, "yes" is reported again on the next invokes.
    const eager = compileStream(PRE, stream.classifier, { suppressionMs: 0 });
    expect(detections(referenceEvents(eager, pcm)).slice(0, 3)).toEqual(['yes@990', 'yes@1010', 'yes@1030']);
    // reset() starts over: the same clip twice gives the same events.
    const ref = new StreamReference(stream.config, stream.frontend, stream.classifier);
    const first = ref.feed(pcmOf('no_1000ms'));
    ref.reset();
    expect(ref.feed(pcmOf('no_1000ms'))).toEqual(first);
  });
});

describe('streaming pipeline: generated C on the host (ASan + UBSan) equals the reference', () => {
  for (const wav of WAVS) {
    it(`${wav}: identical features, scores and detections, fed in uneven chunks`, async () => {
      const pcm = pcmOf(wav.replace(/\.wav$/, ''));
      const host = await runStreamOnHost(stream, pcm, 97, { sanitize: true, workDir });
      expect(host.length).toBeGreaterThan(0);
      expect(host).toEqual(referenceEvents(stream, pcm));
    });
  }

  it('four clips concatenated, default settings and 20 ms chunks: same timeline', async () => {
    const pcm = concatenated(CLIPS_1S);
    const host = await runStreamOnHost(stream, pcm, 320, { sanitize: true, workDir });
    expect(detections(host)).toEqual(['yes@990', 'no@1990']);
    expect(host).toEqual(referenceEvents(stream, pcm));
  });

  it('stride longer than the window, classify every 3rd frame, 300 ms smoothing, no suppression: same timeline', async () => {
    const options: StreamOptions = { strideMs: 40, classifyEvery: 3, averageMs: 300, suppressionMs: 0, threshold: 0.5 };
    const s = compileStream(PRE, stream.classifier, options);
    expect([s.config.strideSamples, s.config.averageCount]).toEqual([640, 3]);
    const pcm = concatenated(CLIPS_1S);
    const host = await runStreamOnHost(s, pcm, 1000, { sanitize: true, workDir });
    const ref = referenceEvents(s, pcm);
    // 100 frames of 640-sample strides in 4 s; invokes at frames 48, 51, ..., 99.
    expect(ref.filter((e) => e.kind === 'features').length).toBe(Math.floor((pcm.length - 480) / 640) + 1);
    expect(ref.filter((e) => e.kind === 'scores').length).toBe(Math.floor((100 - 49) / 3) + 1);
    expect(ref.some((e) => e.kind === 'detection')).toBe(true);
    expect(host).toEqual(ref);
  });
});

describe('streaming pipeline: the generated C cross-compiles', () => {
  it('with -Wall -Wextra -Werror for Arm, RISC-V and Xtensa (the boards\' flags)', async () => {
    const dir = path.join(workDir, 'cross');
    const files = writeStreamModules(stream, dir).filter((f) => f.endsWith('.c'));
    for (const id of ['qemu-mps2-an386', 'qemu-riscv32-virt', 'qemu-xtensa-lx106']) {
      const b = findBoard(id);
      // picolibc's headers for the RISC-V toolchain, as the firmware build links it.
      const libc = b.toolchain.compiler.startsWith('riscv') ? ['--specs=picolibc.specs'] : [];
      for (const f of files) {
        await runCompiler(b.toolchain.compiler, [...b.toolchain.cflags, ...libc, '-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-I', dir, '-c', f, '-o', path.join(dir, `${id}-${path.basename(f)}.o`)], `${id} build of ${path.basename(f)}`, { cwd: dir });
      }
    }
  }, 120_000);
});

describe('tinyforge compile --frontend', () => {
  const cli = async (args: string[]): Promise<{ code: number; json: { ok: boolean; result: { files: string[]; stream?: { prefix: string; config: { strideSamples: number; classifyEvery: number; labels: string[] } } } | null; error: { message: string } | null } }> => {
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
    try {
      const code = await main([...args, '--json']);
      return { code, json: JSON.parse(out.join('')) };
    } finally {
      process.stdout.write = write;
    }
  };

  it('writes the classifier, the front end and the stream, with the options in the JSON result', async () => {
    const dir = path.join(workDir, 'cli');
    const r = await cli(['compile', CLASSIFIER, '--frontend', PRE, '--prefix', 'kw', '--classify-every', '2', '--labels', 'silence,unknown,si,no', '-o', dir]);
    expect(r.code, JSON.stringify(r.json.error)).toBe(0);
    expect(r.json.result?.files.map((f) => path.basename(f)).filter((f) => f.endsWith('.c'))).toEqual(['kw_frontend.c', 'kw.c', 'kw_stream.c']);
    expect(r.json.result?.stream).toMatchObject({ prefix: 'kw', config: { strideSamples: 320, classifyEvery: 2, labels: ['silence', 'unknown', 'si', 'no'] } });
    expect(readFileSync(path.join(dir, 'kw_stream.h'), 'utf8')).toMatch(/int kw_feed\(const int16_t \*pcm, size_t n\);/);
  });

  it('refuses a stream option without --frontend, in one line with exit 2', async () => {
    const r = await cli(['compile', CLASSIFIER, '--stride-ms', '10', '-o', path.join(workDir, 'cli-bad')]);
    expect(r.code).toBe(2);
    expect(r.json.error?.message).toBe('--stride-ms applies to a streaming pipeline: add --frontend <pre.tflite>');
  });
});

describe('streaming pipeline: options and refusals', () => {
  const pre = stream.frontend;
  const cls = stream.classifier;
  const message = (f: () => unknown): string => {
    try {
      f();
      return 'no error';
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('refuses what does not fit together, in one line', () => {
    const errors = [
      message(() => streamConfig(cls, pre)),
      message(() => streamConfig(pre, cls, { strideMs: 0.01 })),
      message(() => streamConfig(pre, cls, { labels: ['a', 'b'] })),
      message(() => streamConfig(pre, cls, { threshold: 2 })),
      message(() => streamConfig(pre, cls, { classifyEvery: 0 })),
      message(() => streamConfig(pre, compileModel(loadModel(path.join(SHARED_DIR, 'models', 'hello_world_int8.tflite'))))),
    ];
    expect(errors[0]).toMatch(/a front end takes int16 PCM samples/);
    expect(errors[1]).toMatch(/--stride-ms 0.01: must be a whole number of samples/);
    expect(errors[2]).toMatch(/2 labels given .* 4 classes/);
    expect(errors[3]).toMatch(/--threshold 2/);
    expect(errors[4]).toMatch(/--classify-every 0/);
    expect(errors[5]).toMatch(/int8/);
    for (const m of errors) expect(m).not.toContain('\n');
  });

  it('labels: "silence"/"unknown" (and _silence_/_unknown_) are never detections', () => {
    const c = streamConfig(pre, cls, { labels: ['_silence_', 'Unknown', 'on', 'off'] });
    expect(c.keyword).toEqual([false, false, true, true]);
  });

  it('reads and writes 16-bit mono WAV, and refuses other formats', () => {
    const pcm = Int16Array.from([0, 1, -1, 32767, -32768]);
    const back = parseWav(encodeWav(pcm, 8000));
    expect(back.sampleRate).toBe(8000);
    expect(Array.from(back.samples)).toEqual(Array.from(pcm));
    const stereo = encodeWav(pcm, 8000);
    new DataView(stereo.buffer).setUint16(22, 2, true);
    expect(message(() => parseWav(stereo, 'x.wav'))).toMatch(/^x.wav: 2 channel\(s\)/);
    expect(message(() => parseWav(new Uint8Array(8), 'y.wav'))).toBe('y.wav: not a RIFF/WAVE file');
  });
});
