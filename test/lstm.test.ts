// UNIDIRECTIONAL_SEQUENCE_LSTM: the three corpus models that use it (MNIST LSTM, micro_speech
// LSTM, DTLN's two stacked LSTMs) against TFLite Micro's first-invoke goldens and its 20-step
// sequence goldens on the TypeScript reference, host C (ASan + UBSan) and the emulated Cortex-M4;
// the Prepare arithmetic by hand; synthetic LSTMs for what the corpus lacks (time-major input,
// several batches, a hidden zero point, an active cell clip, a cell scale that makes the cell's
// tanh shift right), checked between the layouts and between the reference and C; and the
// one-line refusals of the LSTM variants TFLite Micro does not run.

import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileModel, loadModel, writeCModule, type CompiledModel } from '../compiler/compile.ts';
import { parseTflite } from '../compiler/frontends/tflite/index.ts';
import { builtinOperatorName, BuiltinOptionsType, F, TensorType } from '../compiler/frontends/tflite/schema.ts';
import { cellScalePower, cellTanhRescale, foldOffsetIntoBias, GATE_ACTIVATION_RESCALE, gateMatMulMultiplier, gateProductRequantMode, interGateMultiplier, quantizedCellClip } from '../compiler/ops/lstm_params.ts';
import { ReferenceState, runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { runCasesOnQemuMps2 } from '../compiler/targets/qemu_mps2.ts';
import { conformanceCases, conformanceSequences, type ConformanceVariant } from './helpers/conformance.ts';
import { CORPUS_DIR, CORPUS_GOLDEN_DIR, CORPUS_MODELS_DIR } from './helpers/corpus.ts';
import { firstDifference } from './helpers/shared.ts';
import { Prng } from './helpers/synthetic_models.ts';
import { buildTflite, int32Bytes, int8Bytes, type ModelSpec, type OptionsSpec, type TensorSpec, tensorAppender } from './helpers/tflite_builder.ts';
import { refusal } from './helpers/refusal.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-lstm-'));

const MODELS = ['tflm__trained_lstm_int8', 'tflm__micro_speech_lstm', 'tflm__dtln_noise_suppression'] as const;

/** A golden folder in the layout the conformance helpers read. */
function goldenFolder(stem: string, dir: string): ConformanceVariant {
  return { op: 'UNIDIRECTIONAL_SEQUENCE_LSTM', variant: stem, id: stem, dir, model: `${CORPUS_MODELS_DIR}${stem}.tflite`, kind: 'corpus', ops: [] };
}

/** First-invoke cases (fresh state each), then every sequence step (state kept after each sequence's first step). */
function allCases(stem: string): { inputs: Uint8Array[][]; expected: Uint8Array[][]; ids: string[]; keepState: boolean[] } {
  const single = conformanceCases(goldenFolder(stem, `${CORPUS_GOLDEN_DIR}${stem}`)).map((k) => ({ k, keep: false }));
  const seq = conformanceSequences(goldenFolder(stem, `${CORPUS_DIR}seqgolden/${stem}`)).flatMap((s) => s.steps.map((k, t) => ({ k, keep: t > 0 })));
  const all = [...single, ...seq];
  return { inputs: all.map((c) => c.k.inputs), expected: all.map((c) => c.k.expected), ids: all.map((c) => c.k.id), keepState: all.map((c) => c.keep) };
}

const compiled = new Map<string, CompiledModel>();
function corpusModel(stem: string): CompiledModel {
  let c = compiled.get(stem);
  if (!c) {
    c = compileModel(loadModel(`${CORPUS_MODELS_DIR}${stem}.tflite`));
    compiled.set(stem, c);
  }
  return c;
}

describe('LSTM corpus models against TFLite Micro', () => {
  for (const stem of MODELS) {
    it(`${stem}: first invokes and 20-step sequences on the TypeScript reference`, () => {
      const c = corpusModel(stem);
      const { inputs, expected, ids, keepState } = allCases(stem);
      expect(ids.filter((id) => id.includes('step')).length, 'sequence steps').toBe(40);
      let state = new ReferenceState(c.model.graph);
      inputs.forEach((input, i) => {
        if (!keepState[i]) state = new ReferenceState(c.model.graph);
        expect(firstDifference(expected[i] as Uint8Array[], runReference(c.model.graph, c.layers, input, state)), ids[i]).toBeUndefined();
      });
    });
    for (const target of ['host', 'mps2-an386'] as const) {
      it(`${stem}: first invokes and sequences on ${target === 'host' ? 'host C (ASan + UBSan)' : 'the emulated Cortex-M4'}`, async () => {
        const { inputs, expected, ids, keepState } = allCases(stem);
        const mod = writeCModule(corpusModel(stem), path.join(workDir, target, stem));
        const actual = target === 'host' ? await runCasesOnHost(mod, inputs, { sanitize: true, workDir, keepState }) : await runCasesOnQemuMps2(target, mod, inputs, { workDir, keepState });
        expected.forEach((e, i) => expect(firstDifference(e, actual[i] ?? []), ids[i]).toBeUndefined());
      });
    }
  }
});

describe('LSTM Prepare arithmetic (lstm_eval_common.cc)', () => {
  it('requantizes each matrix product into Q3.12 from the float32 product of the scales', () => {
    // trained_lstm_int8's forget gate: input scale 1/255, weight scale 0.00740102119743824.
    const input = Math.fround(0.003921568859368563);
    const weight = Math.fround(0.00740102119743824);
    const q = gateMatMulMultiplier(input, weight);
    const real = Math.fround(input * weight) * 4096;
    expect(q.shift).toBe(Math.floor(Math.log2(real)) + 1);
    expect(q.multiplier).toBe(Math.round((real / 2 ** q.shift) * 2 ** 31));
    // The float32 product, not the double one, is what TFLite Micro divides.
    expect(Math.fround(input * weight)).not.toBe(input * weight);
  });

  it('derives the inter-gate products from the fixed Q0.15 gate outputs', () => {
    expect(interGateMultiplier(2 ** -15, 2 ** -12, 2 ** -12)).toEqual({ multiplier: 2 ** 30, shift: -14 });
    expect(interGateMultiplier(2 ** -15, 2 ** -15, 2 ** -11)).toEqual({ multiplier: 2 ** 30, shift: -18 });
    const hidden = interGateMultiplier(2 ** -15, 2 ** -15, Math.fround(0.007816792465746403));
    expect(hidden.shift).toBe(-23);
    expect(hidden.multiplier / 2 ** 31).toBeCloseTo(2 ** -30 / Math.fround(0.007816792465746403) / 2 ** -23, 8);
  });

  it('rescales the cell tanh by the cell scale exponent, and the gates by Q3.12', () => {
    expect(cellScalePower(2 ** -12)).toBe(-12);
    expect(cellScalePower(2 ** -11)).toBe(-11);
    // Not a power of two: TFLite Micro rounds the exponent and carries on.
    expect(cellScalePower(0.0003)).toBe(-12);
    expect(GATE_ACTIVATION_RESCALE).toEqual({ multiplier: 3, shift: 0 });
    expect(cellTanhRescale(-11)).toEqual({ multiplier: 6, shift: 0 });
    expect(cellTanhRescale(-9)).toEqual({ multiplier: 24, shift: 0 });
    expect(cellTanhRescale(-15)).toEqual({ multiplier: 3, shift: 3 });
  });

  it('quantizes the cell clip with truncation and int16 saturation', () => {
    expect(quantizedCellClip(10, 2 ** -12)).toBe(32767);
    expect(quantizedCellClip(3, 2 ** -12)).toBe(12288);
    expect(quantizedCellClip(0.70001, 2 ** -10)).toBe(716);
    expect(quantizedCellClip(0, 2 ** -12)).toBe(-1);
    // Below one cell unit TFLite Micro still clips, to zero.
    expect(quantizedCellClip(1e-5, 2 ** -12)).toBe(0);
  });

  it('folds the activation offset into the bias and picks a requantization exact for every accumulator', () => {
    const w = new Int8Array([1, 2, 3, -4, -5, -6]);
    const folded = foldOffsetIntoBias(w, 2, 3, 128, new Int32Array([10, -10]), -3);
    expect(Array.from(folded.bias)).toEqual([10 + 128 * 6, -10 - 128 * 15]);
    expect(folded.requant).toBe(2);
    expect(Array.from(foldOffsetIntoBias(w, 2, 3, -3, undefined, -3).bias)).toEqual([-18, 45]);
    // A left shift keeps the exact path unless the accumulators are provably small.
    expect(foldOffsetIntoBias(w, 2, 3, 0, undefined, 1).requant).toBe(1);
    expect(foldOffsetIntoBias(w, 2, 3, 0, new Int32Array([2 ** 29, 0]), 1).requant).toBe(0);
    // Gate products are below 2^30: the rounding high multiply is exact for right shifts only.
    expect(gateProductRequantMode(-14)).toBe(2);
    expect(gateProductRequantMode(0)).toBe(1);
    expect(gateProductRequantMode(1)).toBe(0);
  });
});

// ---- synthetic LSTMs ----

const LSTM_CODE = Array.from({ length: 210 }, (_, i) => i).find((i) => builtinOperatorName(i) === 'UNIDIRECTIONAL_SEQUENCE_LSTM') as number;

interface LstmSpec {
  timeMajor: boolean;
  batches: number;
  steps: number;
  inputSize: number;
  stateSize: number;
  hiddenZeroPoint: number;
  cellScale: number;
  cellClip: number;
  activation?: number;
  /** Adds input 9 (a peephole weight vector). */
  peephole?: boolean;
  /** false: the hidden state is a plain model input instead of a variable tensor. */
  hiddenVariable?: boolean;
  cellType?: number;
  weightScales?: number[];
  seed?: number;
}

function lstmOptions(o: { activation: number; cellClip: number; timeMajor: boolean }): OptionsSpec {
  const f = F.UnidirectionalSequenceLSTMOptions;
  return {
    type: BuiltinOptionsType.UnidirectionalSequenceLSTMOptions,
    build: (b) => {
      b.startObject(6);
      b.addFieldInt8(f.fusedActivation, o.activation, null);
      b.addFieldFloat32(f.cellClip, o.cellClip, null);
      b.addFieldInt8(f.timeMajor, o.timeMajor ? 1 : 0, null);
      return b.endObject();
    },
  };
}

function lstmModel(s: LstmSpec): CompiledModel {
  const rng = new Prng(s.seed ?? 7);
  const { batches: B, steps: T, inputSize: I, stateSize: S } = s;
  const tensors: TensorSpec[] = [];
  const buffers: ModelSpec['buffers'] = [{}];
  const add = tensorAppender(tensors, buffers);
  const inputs = new Array<number>(24).fill(-1);
  const seqShape = s.timeMajor ? [T, B] : [B, T];
  inputs[0] = add({ name: 'x', shape: [...seqShape, I], type: TensorType.INT8, quant: { scale: [0.05], zeroPoint: [3] } });
  for (let g = 0; g < 4; g++) {
    const weightQuant = { scale: s.weightScales ?? [0.02 + 0.003 * g], zeroPoint: (s.weightScales ?? [0]).map(() => 0), axis: 0 };
    inputs[1 + g] = add({ name: `wi${g}`, shape: [S, I], type: TensorType.INT8, quant: weightQuant }, int8Bytes(rng.ints(S * I, -127, 127)));
    inputs[5 + g] = add({ name: `wr${g}`, shape: [S, S], type: TensorType.INT8, quant: weightQuant }, int8Bytes(rng.ints(S * S, -127, 127)));
    inputs[12 + g] = add({ name: `b${g}`, shape: [S], type: TensorType.INT32, quant: { scale: [0.001], zeroPoint: [0] } }, int32Bytes(rng.ints(S, -3000, 3000)));
  }
  if (s.peephole) inputs[9] = add({ name: 'peephole', shape: [S], type: TensorType.INT16, quant: { scale: [0.001], zeroPoint: [0] } }, new Uint8Array(2 * S));
  inputs[18] = add({ name: 'h', shape: [B, S], type: TensorType.INT8, quant: { scale: [0.0078], zeroPoint: [s.hiddenZeroPoint] }, isVariable: s.hiddenVariable ?? true });
  inputs[19] = add({ name: 'c', shape: [B, S], type: s.cellType ?? TensorType.INT16, quant: { scale: [s.cellScale], zeroPoint: [0] }, isVariable: true });
  const y = add({ name: 'y', shape: [...seqShape, S], type: TensorType.INT8, quant: { scale: [0.0078], zeroPoint: [s.hiddenZeroPoint] } });
  const bytes = buildTflite({
    opcodes: [{ builtin: LSTM_CODE }],
    tensors,
    buffers,
    operators: [{ opcode: 0, inputs, outputs: [y], options: lstmOptions({ activation: s.activation ?? 4, cellClip: s.cellClip, timeMajor: s.timeMajor }) }],
    inputs: s.hiddenVariable === false ? [inputs[0] as number, inputs[18] as number] : [inputs[0] as number],
    outputs: [y],
  });
  const file = `lstm_${s.timeMajor ? 'tm' : 'bm'}.tflite`;
  return compileModel({ path: file, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), graph: parseTflite(bytes, file) });
}

/** [B, T, I] <-> [T, B, I] */
function swapLeading(data: Uint8Array, a: number, b: number, inner: number): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out.set(data.subarray((i * b + j) * inner, (i * b + j + 1) * inner), (j * a + i) * inner);
  return out;
}

describe('synthetic LSTMs: layouts, batches, state and C against the reference', () => {
  // Cell scale 2^-15 makes the cell tanh shift right; the clip of 0.25 (8192 units) is reached.
  const base = { batches: 2, steps: 3, inputSize: 6, stateSize: 5, hiddenZeroPoint: -7, cellScale: 2 ** -15, cellClip: 0.25 };
  const rng = new Prng(11);
  const invokes = Array.from({ length: 3 }, () => rng.int8Bytes(2 * 3 * 6));

  it('time-major input gives the batch-major result with the leading axes swapped, invoke after invoke', () => {
    const bm = lstmModel({ ...base, timeMajor: false });
    const tm = lstmModel({ ...base, timeMajor: true });
    const bmState = new ReferenceState(bm.model.graph);
    const tmState = new ReferenceState(tm.model.graph);
    let clipped = false;
    for (const x of invokes) {
      const [yb] = runReference(bm.model.graph, bm.layers, [x], bmState) as [Uint8Array];
      const [yt] = runReference(tm.model.graph, tm.layers, [swapLeading(x, 2, 3, 6)], tmState) as [Uint8Array];
      expect(Array.from(swapLeading(yt, 3, 2, 5))).toEqual(Array.from(yb));
      const cell = new Int16Array((bmState.buffers.get(bm.model.graph.ops[0]?.inputs[19] as number) as Uint8Array).buffer);
      clipped ||= cell.some((v) => Math.abs(v) === 8192);
    }
    expect(clipped, 'the cell clip is reached').toBe(true);
  });

  for (const timeMajor of [false, true]) {
    for (const target of ['host', 'mps2-an386'] as const) {
      // 5 state rows and 6 inputs: a partial group of four rows and a tail after the 4-byte steps.
      it(`${timeMajor ? 'time-major' : 'batch-major'}: ${target === 'host' ? 'host C (ASan + UBSan)' : 'the emulated Cortex-M4'} equals the reference over invokes that keep the state`, async () => {
        const c = lstmModel({ ...base, timeMajor });
        const state = new ReferenceState(c.model.graph);
        const cases = timeMajor ? invokes.map((x) => swapLeading(x, 2, 3, 6)) : invokes;
        const expected = cases.map((x) => runReference(c.model.graph, c.layers, [x], state));
        const mod = writeCModule(c, path.join(workDir, 'synthetic', target, timeMajor ? 'tm' : 'bm'));
        const opts = { workDir, keepState: [false, true, true] };
        const actual = target === 'host' ? await runCasesOnHost(mod, cases.map((x) => [x]), { ...opts, sanitize: true }) : await runCasesOnQemuMps2(target, mod, cases.map((x) => [x]), opts);
        expected.forEach((e, i) => expect(firstDifference(e, actual[i] ?? []), `invoke ${i}`).toBeUndefined());
      });
    }
  }
});

describe('LSTM refusals (one line, naming what TFLite Micro does not run)', () => {
  const ok = { timeMajor: false, batches: 1, steps: 2, inputSize: 3, stateSize: 2, hiddenZeroPoint: 0, cellScale: 2 ** -12, cellClip: 0 };
  it('compiles the plain configuration the refusals start from', () => {
    expect(lstmModel(ok).layers.some((l) => l.kernel === 'module' && l.module === 'UNIDIRECTIONAL_SEQUENCE_LSTM')).toBe(true);
  });
  it('refuses LSTM variants, other cell activations, non-variable or non-int16 states and per-channel weights', () => {
    expect(refusal(() => lstmModel({ ...ok, peephole: true }))).toMatch(/peephole weights \(input 9\).*standard LSTM/);
    expect(refusal(() => lstmModel({ ...ok, activation: 1 }))).toMatch(/cell gate activation RELU; TFLite Micro's LSTM computes only TANH/);
    expect(refusal(() => lstmModel({ ...ok, hiddenVariable: false }))).toMatch(/hidden state 'h' is not a variable tensor/);
    expect(refusal(() => lstmModel({ ...ok, cellType: TensorType.INT8 }))).toMatch(/cell state 'c' is int8; .* int16 cell state/);
    expect(refusal(() => lstmModel({ ...ok, weightScales: [0.01, 0.02] }))).toMatch(/quantized per channel/);
  });
});
