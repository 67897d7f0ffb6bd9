// float32 UNIDIRECTIONAL_SEQUENCE_LSTM: the corpus MNIST LSTM (tflm__trained_lstm: LSTM, RESHAPE,
// FULLY_CONNECTED, SOFTMAX, all float32) against TFLite Micro's first-invoke goldens and its two
// 20-step sequences on the TypeScript reference, host C (ASan + UBSan) and the emulated Cortex-M4,
// Cortex-M55 and Xtensa lx106; synthetic LSTMs with random weights run over invokes that keep the
// hidden and cell state, the reference (lstm_float_reference.ts) against the C kernel (lstm_f32.c)
// in both layouts and with an active cell clip; overflowing products, where TFLite clamps to
// +-FLT_MAX; the reference against a plain double-precision LSTM; the refusals.

import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileModel, loadModel, writeCModule, type CompiledModel } from '../compiler/compile.ts';
import { parseTflite } from '../compiler/frontends/tflite/index.ts';
import { builtinOperatorName, BuiltinOptionsType, F, TensorType } from '../compiler/frontends/tflite/schema.ts';
import { tanhf } from '../compiler/reference/float_math.ts';
import { ReferenceState, runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { runCasesOnQemuMps2 } from '../compiler/targets/qemu_mps2.ts';
import { runCasesOnQemuXtensa } from '../compiler/targets/qemu_xtensa.ts';
import { conformanceCases, conformanceSequences, type ConformanceVariant } from './helpers/conformance.ts';
import { CORPUS_DIR, CORPUS_GOLDEN_DIR, CORPUS_MODELS_DIR } from './helpers/corpus.ts';
import { refusal } from './helpers/refusal.ts';
import { firstDifference } from './helpers/shared.ts';
import { Prng } from './helpers/synthetic_models.ts';
import { buildTflite, int8Bytes, type ModelSpec, type TensorSpec, tensorAppender } from './helpers/tflite_builder.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-lstm-f32-'));
const LSTM_CODE = Array.from({ length: 210 }, (_, i) => i).find((i) => builtinOperatorName(i) === 'UNIDIRECTIONAL_SEQUENCE_LSTM') as number;

const STEM = 'tflm__trained_lstm';

/** The first-invoke goldens (fresh state each), then every step of the two sequences (state kept after each sequence's first step). */
function corpusCases(): { inputs: Uint8Array[][]; expected: Uint8Array[][]; ids: string[]; keepState: boolean[] } {
  const folder = (dir: string): ConformanceVariant => ({ op: 'UNIDIRECTIONAL_SEQUENCE_LSTM', variant: STEM, id: STEM, dir, model: `${CORPUS_MODELS_DIR}${STEM}.tflite`, kind: 'corpus', ops: [] });
  const single = conformanceCases(folder(`${CORPUS_GOLDEN_DIR}${STEM}`)).map((k) => ({ k, keep: false }));
  const seq = conformanceSequences(folder(`${CORPUS_DIR}seqgolden/${STEM}`)).flatMap((q) => q.steps.map((k, t) => ({ k, keep: t > 0 })));
  const all = [...single, ...seq];
  return { inputs: all.map((c) => c.k.inputs), expected: all.map((c) => c.k.expected), ids: all.map((c) => c.k.id), keepState: all.map((c) => c.keep) };
}

let corpusCompiled: CompiledModel | undefined;
function corpusModel(): CompiledModel {
  corpusCompiled ??= compileModel(loadModel(`${CORPUS_MODELS_DIR}${STEM}.tflite`));
  return corpusCompiled;
}

describe('tflm__trained_lstm (float32 MNIST LSTM) against TFLite Micro', () => {
  it('compiles to the float32 LSTM, RESHAPE, FULLY_CONNECTED and SOFTMAX kernels', () => {
    const kinds = corpusModel().layers.map((l) => (l.kernel === 'module' ? l.module : l.kernel));
    expect(kinds).toEqual(['lstm_f32', 'reshape', 'fully_connected_f32', 'softmax_f32']);
  });

  it('matches the 4 first invokes and 2 x 20 sequence steps on the TypeScript reference', () => {
    const c = corpusModel();
    const { inputs, expected, ids, keepState } = corpusCases();
    expect(ids.length, 'cases').toBe(44);
    let state = new ReferenceState(c.model.graph);
    inputs.forEach((input, i) => {
      if (!keepState[i]) state = new ReferenceState(c.model.graph);
      expect(firstDifference(expected[i] as Uint8Array[], runReference(c.model.graph, c.layers, input, state)), ids[i]).toBeUndefined();
    });
  });

  for (const target of ['host', 'mps2-an386', 'mps3-an547', 'xtensa-lx106'] as const) {
    const where = { host: 'host C (ASan + UBSan)', 'mps2-an386': 'the emulated Cortex-M4', 'mps3-an547': 'the emulated Cortex-M55', 'xtensa-lx106': 'the emulated Xtensa lx106 (soft float)' }[target];
    it(`matches the first invokes and the sequences on ${where}`, async () => {
      const { inputs, expected, ids, keepState } = corpusCases();
      const mod = writeCModule(corpusModel(), path.join(workDir, 'corpus', target));
      const opts = { workDir, keepState };
      const actual =
        target === 'host' ? await runCasesOnHost(mod, inputs, { ...opts, sanitize: true }) : target === 'xtensa-lx106' ? await runCasesOnQemuXtensa(mod, inputs, opts) : await runCasesOnQemuMps2(target, mod, inputs, opts);
      expected.forEach((e, i) => expect(firstDifference(e, actual[i] ?? []), ids[i]).toBeUndefined());
    });
  }
});

interface FloatLstmSpec {
  timeMajor: boolean;
  batches: number;
  steps: number;
  inputSize: number;
  stateSize: number;
  cellClip: number;
  seed: number;
  /** int8 weights with float activations (a hybrid LSTM, which TFLite Micro does not run). */
  hybrid?: boolean;
  cellType?: number;
  hiddenVariable?: boolean;
  /** Constant input weights, recurrent weights and biases instead of random ones. */
  constantWeights?: { input: number; recurrent: number; bias: number };
}

function floatBytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

function randomFloats(rng: Prng, n: number, scale: number): number[] {
  return Array.from({ length: n }, () => Math.fround((rng.unit() * 2 - 1) * scale));
}

interface FloatLstmModel {
  compiled: CompiledModel;
  weights: { wi: number[][]; wr: number[][]; b: number[][] };
}

function floatLstmModel(s: FloatLstmSpec): FloatLstmModel {
  const rng = new Prng(s.seed);
  const { batches: B, steps: T, inputSize: I, stateSize: S } = s;
  const tensors: TensorSpec[] = [];
  const buffers: ModelSpec['buffers'] = [{}];
  const add = tensorAppender(tensors, buffers);
  const inputs = new Array<number>(24).fill(-1);
  const seqShape = s.timeMajor ? [T, B] : [B, T];
  const weights: FloatLstmModel['weights'] = { wi: [], wr: [], b: [] };
  inputs[0] = add({ name: 'x', shape: [...seqShape, I], type: TensorType.FLOAT32 });
  for (let g = 0; g < 4; g++) {
    const k = s.constantWeights;
    const wi = k ? new Array<number>(S * I).fill(k.input) : randomFloats(rng, S * I, 0.6);
    const wr = k ? new Array<number>(S * S).fill(k.recurrent) : randomFloats(rng, S * S, 0.6);
    const b = k ? new Array<number>(S).fill(k.bias) : randomFloats(rng, S, 0.5);
    weights.wi.push(wi);
    weights.wr.push(wr);
    weights.b.push(b);
    if (s.hybrid) {
      const q = { scale: [0.01], zeroPoint: [0] };
      inputs[1 + g] = add({ name: `wi${g}`, shape: [S, I], type: TensorType.INT8, quant: q }, int8Bytes(wi.map((v) => Math.round(v * 100))));
      inputs[5 + g] = add({ name: `wr${g}`, shape: [S, S], type: TensorType.INT8, quant: q }, int8Bytes(wr.map((v) => Math.round(v * 100))));
    } else {
      inputs[1 + g] = add({ name: `wi${g}`, shape: [S, I], type: TensorType.FLOAT32 }, floatBytes(wi));
      inputs[5 + g] = add({ name: `wr${g}`, shape: [S, S], type: TensorType.FLOAT32 }, floatBytes(wr));
    }
    inputs[12 + g] = add({ name: `b${g}`, shape: [S], type: TensorType.FLOAT32 }, floatBytes(b));
  }
  inputs[18] = add({ name: 'h', shape: [B, S], type: TensorType.FLOAT32, isVariable: s.hiddenVariable ?? true });
  inputs[19] = add({ name: 'c', shape: [B, S], type: s.cellType ?? TensorType.FLOAT32, isVariable: true });
  const y = add({ name: 'y', shape: [...seqShape, S], type: TensorType.FLOAT32 });
  const f = F.UnidirectionalSequenceLSTMOptions;
  const bytes = buildTflite({
    opcodes: [{ builtin: LSTM_CODE }],
    tensors,
    buffers,
    operators: [
      {
        opcode: 0,
        inputs,
        outputs: [y],
        options: {
          type: BuiltinOptionsType.UnidirectionalSequenceLSTMOptions,
          build: (b) => {
            b.startObject(6);
            b.addFieldInt8(f.fusedActivation, 4, null);
            b.addFieldFloat32(f.cellClip, s.cellClip, null);
            b.addFieldInt8(f.timeMajor, s.timeMajor ? 1 : 0, null);
            return b.endObject();
          },
        },
      },
    ],
    inputs: s.hiddenVariable === false ? [inputs[0] as number, inputs[18] as number] : [inputs[0] as number],
    outputs: [y],
  });
  const file = `lstm_f32_${s.timeMajor ? 'tm' : 'bm'}.tflite`;
  const compiled = compileModel({ path: file, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), graph: parseTflite(bytes, file) });
  return { compiled, weights };
}

/** [B, T, I] <-> [T, B, I] */
function swapLeading(data: Float32Array, a: number, b: number, inner: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out.set(data.subarray((i * b + j) * inner, (i * b + j + 1) * inner), (j * a + i) * inner);
  return out;
}

const asBytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const asFloats = (b: Uint8Array): Float32Array => new Float32Array(b.slice().buffer);

/** The textbook LSTM in double precision, batch-major, state carried across calls. */
function doubleLstm(w: FloatLstmModel['weights'], s: FloatLstmSpec, x: Float32Array, h: Float64Array, c: Float64Array): Float64Array {
  const { batches: B, steps: T, inputSize: I, stateSize: S } = s;
  const y = new Float64Array(B * T * S);
  const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const xo = (b * T + t) * I;
      const gates = [0, 1, 2, 3].map((g) =>
        Array.from({ length: S }, (_, o) => {
          let v = w.b[g]?.[o] as number;
          for (let d = 0; d < I; d++) v += (x[xo + d] as number) * (w.wi[g]?.[o * I + d] as number);
          for (let d = 0; d < S; d++) v += (h[b * S + d] as number) * (w.wr[g]?.[o * S + d] as number);
          return g === 2 ? Math.tanh(v) : sigmoid(v);
        }),
      );
      const [ig, fg, cg, og] = gates as [number[], number[], number[], number[]];
      for (let o = 0; o < S; o++) {
        let cell = (fg[o] as number) * (c[b * S + o] as number) + (ig[o] as number) * (cg[o] as number);
        if (s.cellClip > 0) cell = Math.max(-s.cellClip, Math.min(s.cellClip, cell));
        c[b * S + o] = cell;
      }
      for (let o = 0; o < S; o++) {
        h[b * S + o] = Math.tanh(c[b * S + o] as number) * (og[o] as number);
        y[(b * T + t) * S + o] = h[b * S + o] as number;
      }
    }
  }
  return y;
}

// 2 batches, 4 steps, 7 inputs, 6 state units; a cell clip of 0.5 that the cell reaches.
const base: FloatLstmSpec = { timeMajor: false, batches: 2, steps: 4, inputSize: 7, stateSize: 6, cellClip: 0.5, seed: 5 };
const rng = new Prng(21);
const invokes = Array.from({ length: 4 }, () => new Float32Array(randomFloats(rng, 2 * 4 * 7, 2)));

describe('float32 LSTM reference', () => {
  it('is the textbook LSTM to float precision, invoke after invoke, with the cell clipped', () => {
    for (const cellClip of [0, 0.5]) {
      const spec = { ...base, cellClip };
      const m = floatLstmModel(spec);
      const state = new ReferenceState(m.compiled.model.graph);
      const h = new Float64Array(2 * 6);
      const c = new Float64Array(2 * 6);
      let clipped = false;
      for (const x of invokes) {
        const [y] = runReference(m.compiled.model.graph, m.compiled.layers, [asBytes(x)], state) as [Uint8Array];
        const expected = doubleLstm(m.weights, spec, x, h, c);
        const got = asFloats(y);
        got.forEach((v, i) => expect(Math.abs(v - (expected[i] as number)), `output ${i}`).toBeLessThan(1e-5));
        clipped ||= c.some((v) => Math.abs(v) === 0.5);
      }
      expect(clipped, 'the cell clip is reached').toBe(cellClip > 0);
    }
  });

  it('gives the batch-major result with the leading axes swapped for time-major input', () => {
    const bm = floatLstmModel({ ...base, timeMajor: false });
    const tm = floatLstmModel({ ...base, timeMajor: true });
    const bmState = new ReferenceState(bm.compiled.model.graph);
    const tmState = new ReferenceState(tm.compiled.model.graph);
    for (const x of invokes) {
      const [yb] = runReference(bm.compiled.model.graph, bm.compiled.layers, [asBytes(x)], bmState) as [Uint8Array];
      const [yt] = runReference(tm.compiled.model.graph, tm.compiled.layers, [asBytes(swapLeading(x, 2, 4, 7))], tmState) as [Uint8Array];
      expect(Array.from(swapLeading(asFloats(yt), 4, 2, 6))).toEqual(Array.from(asFloats(yb)));
    }
  });
});

describe('float32 LSTM: C against the reference over invokes that keep the state', () => {
  for (const timeMajor of [false, true]) {
    for (const target of ['host', 'mps2-an386'] as const) {
      it(`${timeMajor ? 'time-major' : 'batch-major'} on ${target === 'host' ? 'host C (ASan + UBSan)' : 'the emulated Cortex-M4'}`, async () => {
        const m = floatLstmModel({ ...base, timeMajor });
        const c = m.compiled;
        const state = new ReferenceState(c.model.graph);
        const cases = invokes.map((x) => [asBytes(timeMajor ? swapLeading(x, 2, 4, 7) : x)]);
        const expected = cases.map((x) => runReference(c.model.graph, c.layers, x, state));
        // The state carries over: the same input gives another output on the next invoke.
        const again = runReference(c.model.graph, c.layers, cases[0] as Uint8Array[], state);
        expect(firstDifference(expected[0] as Uint8Array[], again)).toBeDefined();
        const mod = writeCModule(c, path.join(workDir, target, timeMajor ? 'tm' : 'bm'));
        const opts = { workDir, keepState: [false, true, true, true] };
        const actual = target === 'host' ? await runCasesOnHost(mod, cases, { ...opts, sanitize: true }) : await runCasesOnQemuMps2(target, mod, cases, opts);
        expected.forEach((e, i) => expect(firstDifference(e, actual[i] ?? []), `invoke ${i}`).toBeUndefined());
      });
    }
  }
});

describe('float32 LSTM: overflowing fully connected outputs', () => {
  // Input weights 3e38 on inputs of 2 overflow the input product to +inf, which TFLite's fully
  // connected clamps to FLT_MAX. Step 1 (hidden state 0): every gate saturates, cell = 1, hidden =
  // tanhf(1). Step 2: the recurrent product (weights -3e38) overflows to -inf, clamped to -FLT_MAX,
  // so each gate sees FLT_MAX - FLT_MAX = 0 (without the clamps: inf - inf = NaN): sigmoid 0.5,
  // tanh 0, cell = 0.5, hidden = tanhf(0.5) * 0.5. Step 3: the recurrent product stays finite
  // (-2.1e38), the gates saturate again: cell = 1.5, hidden = tanhf(1.5).
  const spec: FloatLstmSpec = { timeMajor: false, batches: 1, steps: 3, inputSize: 2, stateSize: 3, cellClip: 0, seed: 1, constantWeights: { input: 3e38, recurrent: -3e38, bias: 0 } };
  const x = new Float32Array(3 * 2).fill(2);
  const expected = [tanhf(1), Math.fround(tanhf(0.5) * 0.5), tanhf(1.5)].flatMap((v) => [v, v, v]);

  it('clamps to +-FLT_MAX where TFLite does, on the reference', () => {
    const m = floatLstmModel(spec);
    const [y] = runReference(m.compiled.model.graph, m.compiled.layers, [asBytes(x)], new ReferenceState(m.compiled.model.graph)) as [Uint8Array];
    expect(Array.from(asFloats(y))).toEqual(expected);
  });

  it('and in host C (ASan + UBSan)', async () => {
    const mod = writeCModule(floatLstmModel(spec).compiled, path.join(workDir, 'overflow'));
    const [out] = await runCasesOnHost(mod, [[asBytes(x)]], { workDir, sanitize: true });
    expect(Array.from(asFloats((out as Uint8Array[])[0] as Uint8Array))).toEqual(expected);
  });
});

describe('float32 LSTM refusals', () => {
  const ok = { ...base, batches: 1, steps: 2, inputSize: 3, stateSize: 2, cellClip: 0 };
  it('compiles the plain configuration the refusals start from', () => {
    expect(floatLstmModel(ok).compiled.layers.some((l) => l.kernel === 'module' && l.module === 'lstm_f32')).toBe(true);
  });
  it('refuses hybrid weights, a non-float cell state and a hidden state that is not a variable', () => {
    expect(refusal(() => floatLstmModel({ ...ok, hybrid: true }))).toMatch(/input weights 'wi0' is int8; a float32 LSTM needs float32 weights .*hybrid/);
    expect(refusal(() => floatLstmModel({ ...ok, cellType: TensorType.INT16 }))).toMatch(/cell state 'c' is int16 but the input is float32/);
    expect(refusal(() => floatLstmModel({ ...ok, hiddenVariable: false }))).toMatch(/hidden state 'h' is not a variable tensor/);
  });
});
