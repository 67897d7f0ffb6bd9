// TFLite Micro's audio front end (micro_speech's audio_preprocessor_int8.tflite: the signal-library
// custom ops, CAST and int32 arithmetic) must give byte-identical features to TFLite Micro for
// every frame of the example's recordings, run as one stateful sequence per clip, on the
// TypeScript reference, host C under ASan/UBSan and the emulated Cortex-M4; the stacked features
// must then give the classifier's golden scores.

import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileModel, loadModel, writeCModule } from '../compiler/compile.ts';
import { TinyforgeError } from '../compiler/errors.ts';
import { readFlexMap } from '../compiler/frontends/tflite/flexbuffers.ts';
import { readRawModel } from '../compiler/frontends/tflite/read_model.ts';
import { kissFactors } from '../compiler/ops/signal/kiss_fft.ts';
import { log32, msb32, sqrt32, sqrt64 } from '../compiler/ops/signal/signal_math.ts';
import { ReferenceState, runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { runCasesOnQemuMps2 } from '../compiler/targets/qemu_mps2.ts';
import { loadGolden } from '../compiler/validate/golden.ts';
import { firstDifference, SHARED_DIR } from './helpers/shared.ts';

const AUDIO = path.join(SHARED_DIR, 'audio');
const PRE_MODEL = path.join(AUDIO, 'models', 'audio_preprocessor_int8.tflite');
const CLASSIFIER = path.join(AUDIO, 'models', 'micro_speech_quantized.tflite');
const CLIPS_1S = ['yes_1000ms', 'no_1000ms', 'silence_1000ms', 'noise_1000ms'] as const;
const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-audio-'));

interface Step {
  id: string;
  input: Uint8Array;
  expected: Uint8Array;
  /** Continues the previous step's state (false on each clip's first frame). */
  keep: boolean;
}

function read(dir: string, file: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(AUDIO, dir, file)));
}

/** Every frame of every clip of the preprocessor golden, in order. */
function preprocessorSteps(): Step[] {
  const manifest = JSON.parse(readFileSync(path.join(AUDIO, 'preprocessor', 'manifest.json'), 'utf8')) as {
    cases: Array<{ id: string; kind: string; input_files: string[][]; output_files: string[][] }>;
  };
  return manifest.cases.flatMap((c) => {
    expect(c.kind).toBe('sequence');
    return c.input_files.map((files, t) => ({ id: `${c.id} frame ${t}`, input: read('preprocessor', files[0] as string), expected: read('preprocessor', (c.output_files[t] as string[])[0] as string), keep: t > 0 }));
  });
}

const pre = compileModel(loadModel(PRE_MODEL));
const steps = preprocessorSteps();

/** The TS reference over all steps, one ReferenceState per clip. */
function referenceFeatures(carryState: boolean): Uint8Array[] {
  let state = new ReferenceState(pre.model.graph);
  return steps.map((s) => {
    if (!s.keep || !carryState) state = new ReferenceState(pre.model.graph);
    return runReference(pre.model.graph, pre.layers, [s.input], state)[0] as Uint8Array;
  });
}

describe('audio front end: TFLite Micro micro_speech preprocessor', () => {
  it('holds 6 clips, 198 frames, and its spectral subtraction keeps its noise estimate in a state tensor', () => {
    expect(steps.length).toBe(4 * 49 + 2);
    const state = pre.model.graph.tensors.filter((t) => t.state);
    expect(state.map((t) => [t.dtype, t.shape])).toEqual([['uint32', [40]]]);
  });

  it('matches every frame on the TypeScript reference, state carried through each clip', () => {
    const actual = referenceFeatures(true);
    steps.forEach((s, i) => expect(firstDifference([s.expected], [actual[i] as Uint8Array]), s.id).toBeUndefined());
  });

  it('depends on that state: a fresh interpreter per frame changes 48 of the 49 yes_1000ms rows', () => {
    const fresh = referenceFeatures(false);
    const changed = steps.filter((s, i) => s.id.startsWith('yes_1000ms') && firstDifference([s.expected], [fresh[i] as Uint8Array]) !== undefined);
    expect(changed.length).toBe(48);
  });

  for (const target of ['host', 'mps2-an386'] as const) {
    it(`matches every frame on ${target === 'host' ? 'host C (ASan + UBSan)' : 'the emulated Cortex-M4'}, reset at each clip`, async () => {
      const mod = writeCModule(pre, path.join(workDir, `pre-${target}`));
      const inputs = steps.map((s) => [s.input]);
      const keepState = steps.map((s) => s.keep);
      const actual = target === 'host' ? await runCasesOnHost(mod, inputs, { sanitize: true, workDir, keepState }) : await runCasesOnQemuMps2(target, mod, inputs, { workDir, keepState });
      steps.forEach((s, i) => expect(firstDifference([s.expected], actual[i] ?? []), s.id).toBeUndefined());
    });
  }

  it('stacks into the classifier inputs, which give the golden scores on the reference and host C', async () => {
    const features = referenceFeatures(true);
    const classifier = compileModel(loadModel(CLASSIFIER));
    const windows = CLIPS_1S.map((clip) => {
      const rows = steps.flatMap((s, i) => (s.id.startsWith(`${clip} `) ? [features[i] as Uint8Array] : []));
      const stacked = new Uint8Array(rows.length * 40);
      rows.forEach((r, t) => stacked.set(r, 40 * t));
      expect(firstDifference([read('features', `${clip}.bin`)], [stacked]), clip).toBeUndefined();
      return stacked;
    });
    const expected = CLIPS_1S.map((clip) => read('classifier', `output_${clip}_0.bin`));
    windows.forEach((w, i) => expect(firstDifference([expected[i] as Uint8Array], runReference(classifier.model.graph, classifier.layers, [w])), CLIPS_1S[i]).toBeUndefined());
    const mod = writeCModule(classifier, path.join(workDir, 'classifier'));
    const host = await runCasesOnHost(mod, windows.map((w) => [w]), { sanitize: true, workDir });
    host.forEach((out, i) => expect(firstDifference([expected[i] as Uint8Array], out), CLIPS_1S[i]).toBeUndefined());
    // labels silence, unknown, yes, no: "yes" and "no" win their clips, the others are silence.
    const top = expected.map((e) => Array.from(new Int8Array(e.buffer, e.byteOffset, 4)).reduce((best, v, k, a) => (v > (a[best] as number) ? k : best), 0));
    expect(top).toEqual([2, 3, 0, 0]);
  });
});

describe('signal ops: options, arithmetic and refusals', () => {
  const fail = (m: string): never => {
    throw new TinyforgeError(m);
  };

  it('reads the FlexBuffers custom options of every signal op', () => {
    const raw = readRawModel(new Uint8Array(readFileSync(PRE_MODEL)), fail);
    const options = raw.subgraph.operators.flatMap((o) => (o.customOptions ? [Object.fromEntries(readFlexMap(o.customOptions, fail))] : []));
    expect(options).toContainEqual({ shift: 12 });
    expect(options).toContainEqual({ T: 7, fft_length: 512 });
    expect(options).toContainEqual({ end_index: 241, start_index: 5 });
    expect(options).toContainEqual({ input_correction_bits: 3, output_scale: 64 });
    expect(options).toContainEqual(expect.objectContaining({ clamping: false, smoothing_bits: 10, spectral_subtraction_bits: 14, num_channels: 40 }));
  });

  it('refuses malformed custom options in one line', () => {
    const raw = readRawModel(new Uint8Array(readFileSync(PRE_MODEL)), fail);
    const bytes = raw.subgraph.operators.find((o) => o.customOptions && o.customOptions.length > 20)?.customOptions as Uint8Array;
    const errors = [bytes.subarray(0, 2), bytes.subarray(4), Uint8Array.from([1, 4, 1])].map((b) => {
      try {
        readFlexMap(b, fail);
        return 'no error';
      } catch (e) {
        return (e as Error).message;
      }
    });
    for (const m of errors) {
      expect(m).toMatch(/^custom options: /);
      expect(m).not.toContain('\n');
    }
  });

  it('compiles the float front end (CAST int16 -> float32, then MUL) and matches its TFLM goldens on the TS reference', () => {
    const stem = 'tflm__audio_preprocessor_float';
    const c = compileModel(loadModel(path.join(SHARED_DIR, 'corpus', 'models', `${stem}.tflite`)));
    expect(c.summary.outputs[0]?.dtype).toBe('float32');
    const golden = loadGolden(path.join(SHARED_DIR, 'corpus', 'golden', stem));
    expect(golden.cases.length).toBeGreaterThan(0);
    for (const k of golden.cases) expect(firstDifference(k.expected, runReference(c.model.graph, c.layers, k.inputs))).toBeUndefined();
  });

  it("computes the library's integer helpers", () => {
    expect(msb32(0)).toBe(32);
    expect(msb32(1)).toBe(1);
    expect(msb32(0x80000000)).toBe(32);
    // Rounded: +1 when the remainder exceeds the root.
    expect([16, 17, 20, 21, 0xffffffff].map(sqrt32)).toEqual([4, 4, 4, 5, 0xffff]);
    expect(sqrt64(1n << 40n)).toBe(1 << 20);
    expect(sqrt64((1n << 64n) - 1n)).toBe(0xffffffff);
    // ln(2^16) * 64 = 709.78 -> 710; ln(e^2-ish) small values stay close to the real log.
    expect(log32(1 << 16, 64)).toBe(710);
    expect(Math.abs(log32(1000, 1 << 10) - Math.log(1000) * 1024)).toBeLessThan(2);
    expect(kissFactors(256)).toEqual([4, 64, 4, 16, 4, 4, 4, 1]);
    expect(kissFactors(512)).toEqual([4, 128, 4, 32, 4, 8, 4, 2, 2, 1]);
  });
});
