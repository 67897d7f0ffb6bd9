// float32 ops batch 2 (element-wise binary and unary ops, data movement, REDUCE_MAX, QUANTIZE /
// DEQUANTIZE inside a float graph): small synthetic models run on the TS reference and on host C
// under ASan + UBSan over random inputs and edge values (NaN, +-inf, +-0, subnormals, FLT_MAX,
// rounding ties), every output compared bit for bit (NaN against any NaN: docs/float.md), and
// outputs worked out by hand from TFLite Micro's reference kernels. No TFLite Micro goldens exist
// for these float ops here.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule } from '../compiler/compile.ts';
import { BuiltinOptionsType, F, TensorType, builtinOperatorCode } from '../compiler/frontends/tflite/schema.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { runCasesOnQemuMps2 } from '../compiler/targets/qemu_mps2.ts';
import { refusal } from './helpers/refusal.ts';
import type { OptionsSpec } from './helpers/tflite_builder.ts';
import { differences, EDGES, edgeFloats, FLT_MAX, floats, show, type OpModel } from './helpers/float_cases.ts';
import { Act, float32Bytes, GraphBuilder, loadSynthetic } from './helpers/synthetic_models.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-float-ops-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const F32 = TensorType.FLOAT32;
const op = (name: string): number => builtinOperatorCode(name);

function options(type: number, build: OptionsSpec['build']): OptionsSpec {
  return { type, build };
}

const divOptions = (act: number): OptionsSpec =>
  options(BuiltinOptionsType.DivOptions, (b) => {
    b.startObject(1);
    b.addFieldInt8(0, act, null);
    return b.endObject();
  });

const leakyOptions = (alpha: number): OptionsSpec =>
  options(BuiltinOptionsType.LeakyReluOptions, (b) => {
    b.startObject(1);
    b.addFieldFloat32(F.LeakyReluOptions.alpha, alpha, null);
    return b.endObject();
  });

/** Runs `m` on the TS reference and host C (ASan + UBSan): hand case first, then 5 edge/random cases. */
async function checkModel(m: OpModel): Promise<Uint8Array[][]> {
  const compiled = compileModel(loadSynthetic(m.name, m.bytes));
  const cases: Uint8Array[][] = [];
  if (m.hand) cases.push(m.hand.inputs.map((v) => float32Bytes(v)));
  for (let s = 0; s < 5; s++) cases.push(m.inputSizes.map((n, k) => float32Bytes(edgeFloats(n, 17 * s + 5 * k + 1, m.range))));
  const ref = cases.map((c) => runReference(compiled.model.graph, compiled.layers, c));
  const mod = writeCModule(compiled, path.join(workDir, m.name));
  const host = await runCasesOnHost(mod, cases, { sanitize: true, workDir });
  expect(host.length).toBe(ref.length);
  for (let c = 0; c < ref.length; c++) {
    for (let o = 0; o < ref[c]!.length; o++) expect(differences(ref[c]![o]!, host[c]![o]!), `case ${c} output ${o}`).toEqual([]);
  }
  if (m.hand) {
    for (const [o, want] of Object.entries(m.hand.outputs)) {
      expect(Array.from(floats(ref[0]![Number(o)]!)).map(show), `output ${o}`).toEqual(want.map(Math.fround).map(show));
    }
  }
  // Not all zeros or NaN: a kernel that wrote nothing would agree with itself.
  for (const out of ref[1]!) expect(Array.from(floats(out)).some((v) => v !== 0 && Number.isFinite(v))).toBe(true);
  return ref;
}

/** MAXIMUM, MINIMUM, DIV (RELU6 and NONE), SQUARED_DIFFERENCE, PRELU: same shapes, a broadcast and a constant operand. */
function binaryModel(): OpModel {
  const g = new GraphBuilder();
  const a = g.tensor('a', [2, 3, 8], undefined, F32);
  const b = g.tensor('b', [2, 3, 8], undefined, F32);
  const c = g.tensor('c', [3, 1], undefined, F32);
  const k = g.constant('k', [8], F32, float32Bytes([0.25, -0.5, 2, -0, 0, -3, 1e-3, 7]));
  const outs: number[] = [];
  const add = (name: string, code: number, x: number, y: number, o?: OptionsSpec): void => {
    const t = g.tensor(name, [2, 3, 8], undefined, F32);
    g.op(code, [x, y], [t], o);
    outs.push(t);
  };
  add('max', op('MAXIMUM'), a, b);
  add('min', op('MINIMUM'), a, b);
  add('div', op('DIV'), a, b, divOptions(Act.NONE));
  add('sqd', op('SQUARED_DIFFERENCE'), a, b);
  add('prelu', op('PRELU'), a, b);
  add('max_bc', op('MAXIMUM'), c, a);
  add('min_k', op('MINIMUM'), a, k);
  add('div_bc_relu6', op('DIV'), a, c, divOptions(Act.RELU6));
  add('sqd_k', op('SQUARED_DIFFERENCE'), k, a);
  add('prelu_k', op('PRELU'), a, k);
  const n = 48;
  const handA = [NaN, 1, -0, 0, Infinity, -Infinity, 3, -2, 1, 0, -0, 5, -4, 1e30, -1e-3, 2.5];
  const handB = [1, NaN, 0, -0, 1, 2, 0, 0, 3, 0, 7, -Infinity, 0.5, 1e30, 1e-3, 2.5];
  const pad = (v: number[]): number[] => [...v, ...new Array<number>(n - v.length).fill(1)];
  const out = (v: number[]): number[] => v;
  return {
    name: 'binary_f32',
    bytes: g.build([a, b, c], outs),
    inputSizes: [n, n, 3],
    range: 8,
    hand: {
      inputs: [pad(handA), pad(handB), [2, -0, NaN]],
      outputs: {
        // maximum_minimum.cc: a > b ? a : b, a < b ? a : b.
        0: out([1, NaN, 0, -0, Infinity, 2, 3, 0, 3, 0, 7, 5, 0.5, 1e30, 1e-3, 2.5, ...new Array<number>(32).fill(1)]),
        1: out([1, NaN, 0, -0, 1, -Infinity, 0, -2, 1, 0, -0, -Infinity, -4, 1e30, -1e-3, 2.5, ...new Array<number>(32).fill(1)]),
        // Div then the NONE clamp: x/0 is +-inf, clamped to +-FLT_MAX; 0/0 is NaN.
        2: out([NaN, NaN, NaN, NaN, FLT_MAX, -FLT_MAX, FLT_MAX, -FLT_MAX, Math.fround(1 / 3), NaN, -0, -0, -8, 1, -1, 1, ...new Array<number>(32).fill(1)]),
        // (a - b)^2, not clamped: inf - 1 is inf, 5 - -inf is inf.
        3: out([NaN, NaN, 0, 0, Infinity, Infinity, 9, 4, 4, 0, 49, Infinity, 20.25, 0, Math.fround(Math.fround(-2e-3) * Math.fround(-2e-3)), 0, ...new Array<number>(32).fill(0)]),
        // a >= 0 ? a : a * alpha: -0 >= 0, so -0 passes; -inf * 2 is -inf.
        4: out([NaN, 1, -0, 0, Infinity, -Infinity, 3, -0, 1, 0, -0, 5, -2, 1e30, Math.fround(Math.fround(-1e-3) * Math.fround(1e-3)), 2.5, ...new Array<number>(32).fill(1)]),
      },
    },
  };
}

/** Every unary op, and LEAKY_RELU with two slopes. */
function unaryModel(): OpModel {
  const g = new GraphBuilder();
  const n = 64;
  const x = g.tensor('x', [n], undefined, F32);
  const names = ['ABS', 'NEG', 'SQUARE', 'SQRT', 'RELU', 'RELU6', 'HARD_SWISH', 'EXP', 'FLOOR', 'CEIL', 'ROUND', 'LOG'];
  const outs = names.map((name) => {
    const t = g.tensor(name.toLowerCase(), [n], undefined, F32);
    g.op(op(name), [x], [t]);
    return t;
  });
  for (const alpha of [0.2, -1.5]) {
    const t = g.tensor(`leaky_${alpha}`, [n], undefined, F32);
    g.op(op('LEAKY_RELU'), [x], [t], leakyOptions(alpha));
    outs.push(t);
  }
  const hand = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, -0.3, 0.49999997, 8388607.5, -0, NaN, -Infinity, Infinity, -3, 3, 2.6];
  const fill = (v: number[], with_: number): number[] => [...v, ...new Array<number>(n - v.length).fill(with_)];
  const f = Math.fround;
  const tail = (v: number): number[] => new Array<number>(n - hand.length).fill(v);
  return {
    name: 'unary_f32',
    bytes: g.build([x], outs),
    inputSizes: [n],
    range: 10,
    hand: {
      inputs: [fill(hand, 1.25)],
      outputs: {
        // ROUND: half to even, and -0.3 -> floor -1, diff 0.7 -> -1 + 1 = +0; -0 -> -0 (diff 0).
        10: [0, 2, 2, 0, -2, -2, 0, 0, 8388608, -0, NaN, -Infinity, Infinity, -3, 3, 3, ...tail(1)],
        8: [0, 1, 2, -1, -2, -3, -1, 0, 8388607, -0, NaN, -Infinity, Infinity, -3, 3, 2, ...tail(1)],
        9: [1, 2, 3, -0, -1, -2, -0, 1, 8388608, -0, NaN, -Infinity, Infinity, -3, 3, 3, ...tail(2)],
        // HARD_SWISH: x * min(6, max(0, x + 3)) / 6; -inf -> -inf * 0 = NaN; NaN -> NaN * 0.
        6: hand.map((v) => {
          const s = f(v + 3);
          const m = Math.min(6, 0 < s ? s : 0);
          return f(f(v * m) / 6);
        }).concat(tail(f(f(1.25 * 4.25) / 6))),
        // RELU keeps -0 and NaN; RELU6 too.
        4: [0.5, 1.5, 2.5, 0, 0, 0, 0, 0.49999997, 8388607.5, -0, NaN, 0, Infinity, 0, 3, 2.6, ...tail(1.25)].map(f),
        5: [0.5, 1.5, 2.5, 0, 0, 0, 0, 0.49999997, 6, -0, NaN, 0, 6, 0, 3, 2.6, ...tail(1.25)].map(f),
        // LEAKY_RELU alpha 0.2: x > 0 ? x : x * 0.2f.
        12: hand.map((v) => (v > 0 ? f(v) : f(f(v) * f(0.2)))).concat(tail(1.25)),
        0: hand.map((v) => Math.abs(f(v))).concat(tail(1.25)),
        1: hand.map((v) => -f(v)).concat(tail(-1.25)),
      },
    },
  };
}

describe('float32 element-wise ops: TS reference and host C (ASan + UBSan) agree bit for bit, and match TFLite Micro by hand', () => {
  it('MAXIMUM, MINIMUM, DIV, SQUARED_DIFFERENCE, PRELU with broadcasting', async () => {
    await checkModel(binaryModel());
  }, 120_000);

  it('ABS, NEG, SQUARE, SQRT, RELU, RELU6, HARD_SWISH, EXP, FLOOR, CEIL, ROUND, LOG, LEAKY_RELU', async () => {
    await checkModel(unaryModel());
  }, 120_000);
});

const gatherOptions = (axis: number): OptionsSpec =>
  options(BuiltinOptionsType.GatherOptions, (b) => {
    b.startObject(2);
    b.addFieldInt32(F.GatherOptions.axis, axis, null);
    return b.endObject();
  });

/** Row-major index of position `p` in `shape`. */
function offset(shape: readonly number[], p: readonly number[]): number {
  return p.reduce((acc, v, d) => acc * (shape[d] as number) + v, 0);
}

/** Every position of `shape` in row-major order. */
function positions(shape: readonly number[]): number[][] {
  const out: number[][] = [[]];
  for (const n of shape) {
    const next: number[][] = [];
    for (const p of out) for (let i = 0; i < n; i++) next.push([...p, i]);
    out.splice(0, out.length, ...next);
  }
  return out;
}

/** x [1, 3, 4, 2]: PAD, PADV2 (constant -0.75), TRANSPOSE [0, 3, 1, 2], GATHER axis 2 at [3, 0, 0, 2], RESIZE_NEAREST_NEIGHBOR to 5 x 7. */
function movementModel(): OpModel {
  const g = new GraphBuilder();
  const shape = [1, 3, 4, 2];
  const x = g.tensor('x', shape, undefined, F32);
  const pads = g.int32Constant('pads', [4, 2], [0, 0, 1, 0, 0, 2, 1, 1]);
  const pad = g.tensor('pad', [1, 4, 6, 4], undefined, F32);
  g.op(op('PAD'), [x, pads], [pad]);
  const cv = g.constant('cv', [], F32, float32Bytes([-0.75]));
  const padv2 = g.tensor('padv2', [1, 4, 6, 4], undefined, F32);
  g.op(op('PADV2'), [x, pads, cv], [padv2]);
  const perm = g.int32Constant('perm', [4], [0, 3, 1, 2]);
  const tr = g.tensor('tr', [1, 2, 3, 4], undefined, F32);
  g.op(op('TRANSPOSE'), [x, perm], [tr]);
  const at = g.int32Constant('at', [4], [3, 0, 0, 2]);
  const ga = g.tensor('ga', [1, 3, 4, 2], undefined, F32);
  g.op(op('GATHER'), [x, at], [ga], gatherOptions(2));
  const size = g.int32Constant('size', [2], [5, 7]);
  const rs = g.tensor('rs', [1, 5, 7, 2], undefined, F32);
  g.op(op('RESIZE_NEAREST_NEIGHBOR'), [x, size], [rs]);
  const v = Array.from({ length: 24 }, (_, i) => (i % 5 === 4 ? -0 : i + 0.5));
  const xAt = (p: readonly number[]): number => v[offset(shape, p)] as number;
  const padded = (value: number): number[] =>
    positions([1, 4, 6, 4]).map(([n, h, w, c]) => (h! >= 1 && w! < 4 && c! >= 1 && c! < 3 ? xAt([n!, h! - 1, w!, c! - 1]) : value));
  // TFLite's nearest neighbour without align_corners / half_pixel: floor(out * in / out_size).
  const near = (o: number, inSize: number, outSize: number): number => Math.min(Math.floor(Math.fround(o * Math.fround(inSize / outSize))), inSize - 1);
  return {
    name: 'movement_f32_b2',
    bytes: g.build([x], [pad, padv2, tr, ga, rs]),
    inputSizes: [24],
    range: 50,
    hand: {
      inputs: [v],
      outputs: {
        0: padded(0),
        1: padded(-0.75),
        2: positions([1, 2, 3, 4]).map(([n, c, h, w]) => xAt([n!, h!, w!, c!])),
        3: positions([1, 3, 4, 2]).map(([n, h, i, c]) => xAt([n!, h!, [3, 0, 0, 2][i!]!, c!])),
        4: positions([1, 5, 7, 2]).map(([n, h, w, c]) => xAt([n!, near(h!, 3, 5), near(w!, 4, 7), c!])),
      },
    },
  };
}

describe('float32 data movement: TS reference and host C agree bit for bit, outputs as computed by hand', () => {
  it('PAD, PADV2, TRANSPOSE, GATHER, RESIZE_NEAREST_NEIGHBOR', async () => {
    await checkModel(movementModel());
  }, 120_000);
});

const reducer = (keepDims: boolean): OptionsSpec =>
  options(BuiltinOptionsType.ReducerOptions, (b) => {
    b.startObject(1);
    b.addFieldInt8(F.ReducerOptions.keepDims, keepDims ? 1 : 0, null);
    return b.endObject();
  });

/**
 * x [2, 3, 4]: REDUCE_MAX over axis 2 (kept) and over axes [0, 2]; QUANTIZE to int8 and to int16
 * and DEQUANTIZE back to float32 in the middle of the float graph, then float ops on the result.
 */
function reduceQuantizeModel(): OpModel {
  const g = new GraphBuilder();
  const x = g.tensor('x', [2, 3, 4], undefined, F32);
  const ax2 = g.int32Constant('ax2', [1], [2]);
  const m1 = g.tensor('max_last', [2, 3, 1], undefined, F32);
  g.op(op('REDUCE_MAX'), [x, ax2], [m1], reducer(true));
  const ax02 = g.int32Constant('ax02', [2], [0, -1]);
  const m2 = g.tensor('max_02', [3], undefined, F32);
  g.op(op('REDUCE_MAX'), [x, ax02], [m2], reducer(false));
  const q8 = g.tensor('q8', [2, 3, 4], { scale: [0.05], zeroPoint: [-3] });
  g.op(op('QUANTIZE'), [x], [q8]);
  const d8t = g.tensor('d8', [2, 3, 4], undefined, F32);
  g.op(op('DEQUANTIZE'), [q8], [d8t]);
  const q16 = g.tensor('q16', [2, 3, 4], { scale: [0.001], zeroPoint: [0] }, TensorType.INT16);
  g.op(op('QUANTIZE'), [x], [q16]);
  const d16t = g.tensor('d16', [2, 3, 4], undefined, F32);
  g.op(op('DEQUANTIZE'), [q16], [d16t]);
  const diff = g.tensor('diff', [2, 3, 4], undefined, F32);
  g.op(op('SQUARED_DIFFERENCE'), [d8t, d16t], [diff]);
  const hand = [
    [1, -0, 0, 2], [NaN, -Infinity, -Infinity, -Infinity], [-0, 0, -1, NaN],
    [0.5, 0.75, -0.25, 0.024], [-0.026, 0.1234, -6.4, 6.4], [0, 0, 0, 0],
  ].flat();
  const f = Math.fround;
  // TFLite's AffineQuantize as tinyforge's kernel computes it (float32 division, half away from
  // zero, clamped; NaN to the zero point), and Dequantize: float(double(scale) * (q - zero point)).
  const quant = (v: number, scale: number, zp: number, lo: number, hi: number): number => {
    const s = f(f(v) / f(scale));
    const r = Number.isNaN(s) ? 0 : Math.sign(s) * Math.round(Math.abs(s));
    return Math.min(hi, Math.max(lo, r + zp));
  };
  const roundTrip = (scale: number, zp: number, lo: number, hi: number) => (v: number): number => f(f(scale) * (quant(v, scale, zp, lo, hi) - zp));
  const d8 = hand.map(roundTrip(0.05, -3, -128, 127));
  const d16 = hand.map(roundTrip(0.001, 0, -32768, 32767));
  return {
    name: 'reduce_quantize_f32',
    bytes: g.build([x], [m1, m2, d8t, d16t, diff]),
    inputSizes: [24],
    range: 6,
    hand: {
      inputs: [hand],
      outputs: {
        // in > current from -FLT_MAX: NaN skipped, the first zero kept, all -inf gives -FLT_MAX.
        0: [2, -FLT_MAX, -0, 0.75, 6.4, 0],
        // Over axes 0 and 2, per middle index: {1,-0,0,2, 0.5,0.75,-0.25,0.024} -> 2; {NaN,-inf,.., -0.026..6.4} -> 6.4; {-0,0,-1,NaN, 0,0,0,0} -> -0 (the first zero).
        1: [2, 6.4, -0],
        2: d8,
        3: d16,
        4: d8.map((v, i) => {
          const d = f(v - (d16[i] as number));
          return f(d * d);
        }),
      },
    },
  };
}

describe('float32 REDUCE_MAX, and QUANTIZE / DEQUANTIZE inside a float graph', () => {
  it('REDUCE_MAX (kept and dropped axes), QUANTIZE float32 -> int8 / int16 -> DEQUANTIZE float32', async () => {
    await checkModel(reduceQuantizeModel());
  }, 120_000);
});

/** The batch's ops chained in one model (with the earlier float kernels between them), for the emulated Cortex-M4. */
function chainModel(): { bytes: Uint8Array; outputs: number } {
  const g = new GraphBuilder();
  const t = (name: string, shape: number[]): number => g.tensor(name, shape, undefined, F32);
  const x = t('x', [1, 4, 4, 2]);
  const p = t('p', [1, 6, 6, 2]);
  g.op(op('PAD'), [x, g.int32Constant('pads', [4, 2], [0, 0, 1, 1, 1, 1, 0, 0])], [p]);
  const h = t('h', [1, 6, 6, 2]);
  g.op(op('HARD_SWISH'), [p], [h]);
  const r = t('r', [1, 3, 3, 2]);
  g.op(op('RESIZE_NEAREST_NEIGHBOR'), [h, g.int32Constant('size', [2], [3, 3])], [r]);
  const tr = t('tr', [1, 2, 3, 3]);
  g.op(op('TRANSPOSE'), [r, g.int32Constant('perm', [4], [0, 3, 1, 2])], [tr]);
  const m = t('m', [1, 2, 3, 3]);
  g.op(op('MAXIMUM'), [tr, g.constant('k3', [3], F32, float32Bytes([-0.5, 0, 0.25]))], [m]);
  const d = t('d', [1, 2, 3, 3]);
  g.op(op('DIV'), [m, g.constant('k1', [1], F32, float32Bytes([0.7]))], [d], divOptions(Act.RELU6));
  const n = t('n', [1, 2, 3, 3]);
  g.op(op('NEG'), [d], [n]);
  const e = t('e', [1, 2, 3, 3]);
  g.op(op('EXP'), [n], [e]);
  const fl = t('fl', [1, 2, 3, 3]);
  g.op(op('FLOOR'), [tr], [fl]);
  const sd = t('sd', [1, 2, 3, 3]);
  g.op(op('SQUARED_DIFFERENCE'), [e, fl], [sd]);
  const mx = t('mx', [1, 2]);
  g.op(op('REDUCE_MAX'), [sd, g.int32Constant('ax', [2], [2, 3])], [mx], reducer(false));
  const ga = t('ga', [1, 2, 3, 3]);
  g.op(op('GATHER'), [sd, g.int32Constant('idx', [2], [1, 0])], [ga], gatherOptions(1));
  const ab = t('ab', [1, 2, 3, 3]);
  g.op(op('ABS'), [tr], [ab]);
  const sq = t('sq', [1, 2, 3, 3]);
  g.op(op('SQRT'), [ab], [sq]);
  const mn = t('mn', [1, 2, 3, 3]);
  g.op(op('MINIMUM'), [ga, sq], [mn]);
  const ce = t('ce', [1, 2, 3, 3]);
  g.op(op('CEIL'), [tr], [ce]);
  const lr = t('lr', [1, 2, 3, 3]);
  g.op(op('LEAKY_RELU'), [tr], [lr], leakyOptions(0.3));
  const pr = t('pr', [1, 2, 3, 3]);
  g.op(op('PRELU'), [lr, g.constant('alpha', [3], F32, float32Bytes([0.5, -1, 2]))], [pr]);
  const sqr = t('sqr', [1, 2, 3, 3]);
  g.op(op('SQUARE'), [pr], [sqr]);
  const rl = t('rl', [1, 2, 3, 3]);
  g.op(op('RELU'), [ce], [rl]);
  const r6 = t('r6', [1, 2, 3, 3]);
  g.op(op('RELU6'), [sqr], [r6]);
  const sum = t('sum', [1, 2, 3, 3]);
  g.op(op('ADD'), [mn, r6], [sum], undefined);
  const ro = t('ro', [1, 2, 3, 3]);
  g.op(op('ROUND'), [sum], [ro]);
  const q8 = g.tensor('q8', [1, 2, 3, 3], { scale: [0.04], zeroPoint: [5] });
  g.op(op('QUANTIZE'), [sum], [q8]);
  const dq = t('dq', [1, 2, 3, 3]);
  g.op(op('DEQUANTIZE'), [q8], [dq]);
  const lg = t('lg', [1, 2, 3, 3]);
  g.op(op('LOG'), [ab], [lg]);
  const outputs = [mx, ro, dq, rl, sum, lg];
  return { bytes: g.build([x], outputs), outputs: outputs.length };
}

describe('the batch on the emulated Cortex-M4', () => {
  it('a 26-op float32 model: TS reference, host C (ASan + UBSan) and Cortex-M4 (mps2-an386) agree bit for bit', async () => {
    const { bytes, outputs } = chainModel();
    const compiled = compileModel(loadSynthetic('chain_f32', bytes));
    // Case 0: the edge values; cases 1-3: random values only.
    const cases = [0, 1, 2, 3].map((s) => [float32Bytes(s === 0 ? edgeFloats(32, 3, 5) : edgeFloats(EDGES.length + 32, s, 5).slice(EDGES.length))]);
    const ref = cases.map((c) => runReference(compiled.model.graph, compiled.layers, c));
    const mod = writeCModule(compiled, path.join(workDir, 'chain_f32'));
    const host = await runCasesOnHost(mod, cases, { sanitize: true, workDir });
    const m4 = await runCasesOnQemuMps2('mps2-an386', mod, cases, { workDir });
    for (let c = 0; c < cases.length; c++) {
      expect(ref[c]!.length).toBe(outputs);
      for (let o = 0; o < outputs; o++) {
        expect(differences(ref[c]![o]!, host[c]![o]!), `host case ${c} output ${o}`).toEqual([]);
        expect(differences(ref[c]![o]!, m4[c]![o]!), `M4 case ${c} output ${o}`).toEqual([]);
      }
    }
    // Real numbers came out of the chain (not all zero or NaN).
    for (const out of ref[1]!) expect(Array.from(floats(out)).some((v) => v !== 0 && Number.isFinite(v))).toBe(true);
  }, 180_000);
});

describe('float32 refusals stay one line', () => {
  it('an int8 NEG (no integer kernel) and a float32 SIN', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [4], { scale: [0.1], zeroPoint: [0] });
    const y = g.tensor('y', [4], { scale: [0.1], zeroPoint: [0] });
    g.op(op('NEG'), [x], [y]);
    expect(refusal(() => compileModel(loadSynthetic('neg_s8', g.build([x], [y]))))).toContain('NEG on int8 is not supported');
    const h = new GraphBuilder();
    const a = h.tensor('a', [4], undefined, F32);
    const b = h.tensor('b', [4], undefined, F32);
    h.op(op('SIN'), [a], [b]);
    expect(refusal(() => compileModel(loadSynthetic('sin_f32', h.build([a], [b]))))).toContain('SIN');
  });
});
