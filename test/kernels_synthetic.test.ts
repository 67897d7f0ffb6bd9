// Kernel variants the six shared models never reach (VALID padding, dilation, depth multipliers,
// batched FULLY_CONNECTED, MAX_POOL, MUL, QUANTIZE/DEQUANTIZE, RELU6 and RELU_N1_TO_1, ...), on
// small synthetic models built in memory. For every model:
//   1. the TS reference, the host C under ASan/UBSan and the emulated Cortex-M4 agree byte for byte
//      on 8 deterministic random inputs (and on the hand-written inputs below);
//   2. where the arithmetic is easy, outputs equal values computed here by hand from TFLite's
//      reference semantics (never by calling tinyforge's kernels);
// and unsupported variants fail lowering with a one-line TinyforgeError naming the operator.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule, type CompiledModel } from '../compiler/compile.ts';
import { TinyforgeError } from '../compiler/errors.ts';
import { BuiltinOp, TensorType } from '../compiler/frontends/tflite/schema.ts';
import type { Layer } from '../compiler/ir/layers.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { runCasesOnQemuMps2An386 } from '../compiler/targets/qemu_mps2.ts';
import {
  Act,
  asFloat32,
  asInt8,
  float32Bytes,
  GraphBuilder,
  int8Bytes,
  loadSynthetic,
  makeLimiter,
  Pad,
  perChannel,
  Prng,
  q,
} from './helpers/synthetic_models.ts';
import {
  addOptions,
  conv2dOptions,
  depthwiseOptions,
  fullyConnectedOptions,
  mulOptions,
  pool2dOptions,
  reshapeOptions,
  softmaxOptions,
} from './helpers/tflite_builder.ts';

const RANDOM_CASES = 8;
const INT32_HALF = 1 << 30;

// ---------------------------------------------------------------------------------------------
// Hand arithmetic (TFLite reference semantics, written out independently of compiler/kernels)

const clampS8 = (x: number, lo = -128, hi = 127): number => Math.min(hi, Math.max(lo, x));

/** std::round: half away from zero. */
const roundAway = (x: number): number => Math.sign(x) * Math.floor(Math.abs(x) + 0.5);

/**
 * MultiplyByQuantizedMultiplier(x, 2^30, 0), i.e. a real multiplier of exactly 0.5. gemmlowp's
 * SaturatingRoundingDoublingHighMul adds 2^30 to a non-negative product and 1 - 2^30 to a negative
 * one, then divides by 2^31 truncating toward zero: x / 2 with halves rounded up (-1.5 -> -1,
 * -0.5 -> 0, 1.5 -> 2), not away from zero.
 */
const halveRoundingUp = (x: number): number => Math.floor((x + 1) / 2);

// ---------------------------------------------------------------------------------------------
// Model catalogue

interface HandCase {
  /** What the case demonstrates. */
  title: string;
  inputs: Uint8Array[];
  /** Expected bytes per model output; undefined leaves that output to the cross-path comparison. */
  expected: (Uint8Array | undefined)[];
}

interface Synthetic {
  name: string;
  /** One-line summary of the variants covered. */
  covers: string;
  bytes: Uint8Array;
  /** Random float32 inputs (int8 inputs are uniform over all 256 values). */
  randomFloat?: (prng: Prng) => number;
  hand?: HandCase[];
  /** Checks on the lowered layers: padding, multipliers, aliasing... */
  lowered?: (compiled: CompiledModel) => void;
}

function seedOf(name: string): number {
  let h = 2166136261;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h;
}

/** The only layer of `kernel` in a compiled model (or the index-th one). */
function layerOf<K extends Layer['kernel']>(c: CompiledModel, kernel: K, index = 0): Extract<Layer, { kernel: K }> {
  const found = c.layers.filter((l): l is Extract<Layer, { kernel: K }> => l.kernel === kernel);
  const l = found[index];
  if (!l) throw new Error(`no ${kernel} layer #${index} in ${c.prefix}`);
  return l;
}

function convValidStride2(): Synthetic {
  // 7x8x3 -> 3x3x5, 3x3 filter, VALID, stride 2: the last input column is never read.
  const p = new Prng(11);
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 7, 8, 3], q(0.01, 5));
  const w = g.int8Constant('w', [5, 3, 3, 3], p.ints(5 * 27, -127, 127), perChannel([0.012, 0.02, 0.015, 0.008, 0.03], 0));
  const b = g.int32Constant('b', [5], p.ints(5, -3000, 3000));
  const y = g.tensor('y', [1, 3, 3, 5], q(0.05, -100));
  g.op(BuiltinOp.CONV_2D, [x, w, b], [y], conv2dOptions({ padding: Pad.VALID, strideH: 2, strideW: 2, act: Act.RELU6 }));
  return {
    name: 'syn_conv_valid_s2',
    covers: 'CONV_2D 3x3 VALID stride 2, 3 -> 5 channels, per-channel, bias, RELU6',
    bytes: g.build([x], [y]),
    lowered: (c) => {
      const l = layerOf(c, 'conv_s8');
      expect([l.outH, l.outW, l.padTop, l.padLeft, l.strideH, l.strideW]).toEqual([3, 3, 0, 0, 2, 2]);
      // RELU6 on scale 0.05, zero point -100: [-100 + 0, -100 + 6 / 0.05].
      expect([l.actMin, l.actMax]).toEqual([-100, 20]);
    },
  };
}

function convDilation2(): Synthetic {
  // 6x7x3 -> 6x7x5, 3x3 filter with dilations 2 (rows) and 3 (columns), i.e. an effective 5x7
  // window, SAME: 2 rows of padding above and below, 3 columns left and right.
  const p = new Prng(12);
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 6, 7, 3], q(0.02, -1));
  const w = g.int8Constant('w', [5, 3, 3, 3], p.ints(5 * 27, -127, 127), q(0.002));
  const y = g.tensor('y', [1, 6, 7, 5], q(0.02, 3));
  g.op(BuiltinOp.CONV_2D, [x, w], [y], conv2dOptions({ padding: Pad.SAME, strideH: 1, strideW: 1, dilationH: 2, dilationW: 3, act: Act.RELU_N1_TO_1 }));
  return {
    name: 'syn_conv_dilation2',
    covers: 'CONV_2D 3x3 dilation 2x3 SAME, 3 -> 5 channels, per-tensor, no bias, RELU_N1_TO_1',
    bytes: g.build([x], [y]),
    lowered: (c) => {
      const l = layerOf(c, 'conv_s8');
      expect([l.outH, l.outW, l.padTop, l.padLeft, l.dilationH, l.dilationW, l.bias]).toEqual([6, 7, 2, 3, 2, 3, -1]);
      // RELU_N1_TO_1 on scale 0.02, zero point 3: [3 - 50, 3 + 50].
      expect([l.actMin, l.actMax]).toEqual([-47, 53]);
    },
  };
}

const HALF_CONV_FILTER = [
  [1, 0, 0],
  [0, 1, 0],
  [1, 1, 1],
  [1, -1, 0],
  [-2, 1, 3],
];
const HALF_CONV_BIAS = [0, 1, -1, 3, -3];

function conv1x1Half(): Synthetic {
  // input scale 1 * filter scale 0.5 / output scale 1 = exactly 0.5.
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 3, 4, 3], q(1, 1));
  const w = g.int8Constant('w', [5, 1, 1, 3], HALF_CONV_FILTER.flat(), q(0.5));
  const b = g.int32Constant('b', [5], HALF_CONV_BIAS);
  const y = g.tensor('y', [1, 3, 4, 5], q(1, -2));
  g.op(BuiltinOp.CONV_2D, [x, w, b], [y], conv2dOptions({ padding: Pad.VALID, strideH: 1, strideW: 1 }));
  const handInput = (values: number[]): HandCase => {
    const expected: number[] = [];
    for (let px = 0; px < 12; px++) {
      for (let oc = 0; oc < 5; oc++) {
        let acc = HALF_CONV_BIAS[oc] as number;
        for (let ic = 0; ic < 3; ic++) acc += (HALF_CONV_FILTER[oc]?.[ic] as number) * ((values[px * 3 + ic] as number) - 1);
        expected.push(clampS8(halveRoundingUp(acc) - 2));
      }
    }
    return { title: '', inputs: [int8Bytes(values)], expected: [int8Bytes(expected)] };
  };
  const p = new Prng(13);
  const small = handInput(p.ints(36, -9, 9));
  const wide = handInput(p.ints(36, -128, 127));
  // Sums -3, -1, 1, 3 in output channel 0 (the identity on input channel 0): -1.5 -> -1, -0.5 -> 0, 0.5 -> 1, 1.5 -> 2.
  const halves = handInput([-2, 0, 0, 0, 0, 0, 2, 0, 0, 4, 0, 0, -4, 5, 5, 6, -6, 6, 1, 1, 1, -127, 127, 3, 127, 127, 127, -128, -128, -128, 0, 1, 2, 3, 4, 5]);
  return {
    name: 'syn_conv_1x1_half',
    covers: 'CONV_2D 1x1, real multiplier exactly 0.5 (hand-checked rounding)',
    bytes: g.build([x], [y]),
    hand: [
      { ...halves, title: 'CONV_2D 1x1 with multiplier 0.5 rounds x.5 up (-1.5 -> -1, 1.5 -> 2), saturating at the int8 range' },
      { ...small, title: 'CONV_2D 1x1 with multiplier 0.5 on small random inputs' },
      { ...wide, title: 'CONV_2D 1x1 with multiplier 0.5 on full-range random inputs' },
    ],
    lowered: (c) => {
      const l = layerOf(c, 'conv_s8');
      expect([...l.multipliers]).toEqual(Array(5).fill(INT32_HALF));
      expect([...l.shifts]).toEqual(Array(5).fill(0));
    },
  };
}

function depthwiseMultiplier3(): Synthetic {
  // 7x7x2 -> 4x4x6, stride 2, SAME: (4 - 1) * 2 + 3 - 7 = 2 pixels of padding, one on every side.
  const p = new Prng(21);
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 7, 7, 2], q(0.02, -7));
  const w = g.int8Constant('w', [1, 3, 3, 6], p.ints(54, -127, 127), perChannel([0.01, 0.012, 0.008, 0.015, 0.009, 0.011], 3));
  const b = g.int32Constant('b', [6], p.ints(6, -2000, 2000));
  const y = g.tensor('y', [1, 4, 4, 6], q(0.05, 2));
  g.op(BuiltinOp.DEPTHWISE_CONV_2D, [x, w, b], [y], depthwiseOptions({ padding: Pad.SAME, strideH: 2, strideW: 2, depthMultiplier: 3 }));
  return {
    name: 'syn_dw_mult3_s2',
    covers: 'DEPTHWISE_CONV_2D depth multiplier 3, stride 2, SAME on 7x7 (padding on every side), per-channel, bias',
    bytes: g.build([x], [y]),
    lowered: (c) => {
      const l = layerOf(c, 'depthwise_conv_s8');
      expect([l.depthMultiplier, l.outH, l.outW, l.padTop, l.padLeft]).toEqual([3, 4, 4, 1, 1]);
      // The trailing side is padded too: the last window starts at 3 * 2 - 1 = 5 and ends at 7, past the image.
      expect((l.outH - 1) * l.strideH - l.padTop + l.kH).toBe(l.inH + 1);
    },
  };
}

function depthwiseDilation2(): Synthetic {
  // 5x6x3 -> 3x6x3: stride 2 x 1, dilation 2 (effective 5x5), SAME: 2 pixels of padding per side.
  const p = new Prng(22);
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 5, 6, 3], q(0.03, 4));
  const w = g.int8Constant('w', [1, 3, 3, 3], p.ints(27, -127, 127), q(0.01));
  const y = g.tensor('y', [1, 3, 6, 3], q(0.04, -20));
  g.op(
    BuiltinOp.DEPTHWISE_CONV_2D,
    [x, w, -1],
    [y],
    depthwiseOptions({ padding: Pad.SAME, strideH: 2, strideW: 1, depthMultiplier: 1, dilationH: 2, dilationW: 2, act: Act.RELU }),
  );
  return {
    name: 'syn_dw_mult1_dilation2',
    covers: 'DEPTHWISE_CONV_2D depth multiplier 1, dilation 2, strides 2x1, SAME, per-tensor, no bias, RELU',
    bytes: g.build([x], [y]),
    lowered: (c) => {
      const l = layerOf(c, 'depthwise_conv_s8');
      expect([l.depthMultiplier, l.outH, l.outW, l.padTop, l.padLeft, l.bias]).toEqual([1, 3, 6, 2, 2, -1]);
      expect([l.actMin, l.actMax]).toEqual([-20, 127]);
    },
  };
}

function fullyConnectedBatches(): Synthetic {
  const p = new Prng(31);
  const g = new GraphBuilder();
  const x = g.tensor('x', [3, 10], q(0.05, 10));
  const w = g.int8Constant('w', [4, 10], p.ints(40, -127, 127), q(0.004));
  const y = g.tensor('y', [3, 4], q(0.08, -5));
  g.op(BuiltinOp.FULLY_CONNECTED, [x, w, -1], [y], fullyConnectedOptions({}));
  return {
    name: 'syn_fc_batches',
    covers: 'FULLY_CONNECTED [3, 10] -> [3, 4] (3 batches), no bias',
    bytes: g.build([x], [y]),
    lowered: (c) => {
      const l = layerOf(c, 'fully_connected_s8');
      expect([l.batches, l.accumDepth, l.outDepth, l.bias]).toEqual([3, 10, 4, -1]);
    },
  };
}

/** NHWC 5x5x2 int8 bytes from two 5x5 channel grids. */
function image5x5(ch0: number[][], ch1: number[][]): Uint8Array {
  const values: number[] = [];
  for (let y = 0; y < 5; y++) for (let x = 0; x < 5; x++) values.push(ch0[y]?.[x] as number, ch1[y]?.[x] as number);
  return int8Bytes(values);
}

const grid = (f: (y: number, x: number) => number): number[][] => Array.from({ length: 5 }, (_, y) => Array.from({ length: 5 }, (_, x) => f(y, x)));

/** NHWC 3x3x2 int8 bytes from per-channel functions of the output position. */
function out3x3(f0: (oy: number, ox: number) => number, f1: (oy: number, ox: number) => number): Uint8Array {
  const values: number[] = [];
  for (let oy = 0; oy < 3; oy++) for (let ox = 0; ox < 3; ox++) values.push(f0(oy, ox), f1(oy, ox));
  return int8Bytes(values);
}

function averagePool(): Synthetic {
  // Both ops read the same 5x5x2 input. 2x2/2 SAME: no leading padding, the last row and column
  // windows are clipped to 1 pixel. 3x3/2 SAME: one pixel of padding on every side.
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 5, 5, 2], q(0.05, -10));
  const y2 = g.tensor('avg2x2', [1, 3, 3, 2], q(0.05, -10));
  const y3 = g.tensor('avg3x3_relu6', [1, 3, 3, 2], q(0.05, -10));
  g.op(BuiltinOp.AVERAGE_POOL_2D, [x], [y2], pool2dOptions({ padding: Pad.SAME, strideH: 2, strideW: 2, filterH: 2, filterW: 2 }));
  g.op(BuiltinOp.AVERAGE_POOL_2D, [x], [y3], pool2dOptions({ padding: Pad.SAME, strideH: 2, strideW: 2, filterH: 3, filterW: 3, act: Act.RELU6 }));
  // Window sums (count): [-6 (4), 6 (4), -3 (2)], [-5 (4), 0 (4), 8 (2)], [-5 (2), 5 (2), -7 (1)].
  const rounding = grid((y, x) =>
    [
      [-1, -2, 1, 2, -1],
      [-1, -2, 1, 2, -2],
      [-1, -1, 0, 0, 4],
      [-1, -2, 0, 0, 4],
      [-2, -3, 2, 3, -7],
    ][y]?.[x] as number,
  );
  const means = [-2, 2, -2, -1, 0, 4, -3, 3, -7];
  return {
    name: 'syn_avg_pool',
    covers: 'AVERAGE_POOL_2D 2x2 and 3x3, stride 2, SAME on 5x5, NONE and RELU6',
    bytes: g.build([x], [y2, y3]),
    hand: [
      {
        title: 'AVERAGE_POOL_2D rounds half away from zero (-6/4 -> -2, -5/2 -> -3, 5/2 -> 3, -5/4 -> -1) over the clipped window',
        inputs: [image5x5(rounding, grid(() => 7))],
        expected: [out3x3((oy, ox) => means[oy * 3 + ox] as number, () => 7), undefined],
      },
      {
        // Padding is not averaged in: a corner 3x3 window holds 4 pixels, an edge one 6. RELU6 on
        // scale 0.05, zero point -10 clamps to [-10, -10 + 120].
        title: 'AVERAGE_POOL_2D 3x3 SAME divides by the pixels inside the image (4, 6, 9); RELU6 clamps to [-10, 110]',
        inputs: [image5x5(grid(() => 115), grid(() => -50))],
        expected: [out3x3(() => 115, () => -50), out3x3(() => 110, () => -10)],
      },
    ],
    lowered: (c) => {
      const a = layerOf(c, 'avg_pool_s8', 0);
      const b = layerOf(c, 'avg_pool_s8', 1);
      expect([a.padTop, a.padLeft, b.padTop, b.padLeft]).toEqual([0, 0, 1, 1]);
      expect([b.actMin, b.actMax]).toEqual([-10, 110]);
    },
  };
}

function maxPool(): Synthetic {
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 5, 5, 2], q(0.1, 0));
  const y3 = g.tensor('max3x3', [1, 3, 3, 2], q(0.1, 0));
  const y2 = g.tensor('max2x2_relu_n1_to_1', [1, 3, 3, 2], q(0.1, 0));
  g.op(BuiltinOp.MAX_POOL_2D, [x], [y3], pool2dOptions({ padding: Pad.SAME, strideH: 2, strideW: 2, filterH: 3, filterW: 3 }));
  g.op(BuiltinOp.MAX_POOL_2D, [x], [y2], pool2dOptions({ padding: Pad.SAME, strideH: 2, strideW: 2, filterH: 2, filterW: 2, act: Act.RELU_N1_TO_1 }));
  // Channel 0 decreases away from the top-left corner (all negative), channel 1 increases toward
  // the bottom-right, so a window's max is at its first (resp. last) pixel inside the image.
  const dec = (y: number, x: number): number => -(10 * y + x) - 50;
  const inc = (y: number, x: number): number => 10 * y + x - 20;
  // 3x3/2 with one pixel of padding: window rows/cols [2o - 1, 2o + 1] clipped to [0, 4].
  const first3 = (o: number): number => Math.max(0, 2 * o - 1);
  const last3 = (o: number): number => Math.min(4, 2 * o + 1);
  // 2x2/2 without leading padding: [2o, 2o + 1] clipped to [0, 4].
  const first2 = (o: number): number => 2 * o;
  const last2 = (o: number): number => Math.min(4, 2 * o + 1);
  const relu1 = (v: number): number => clampS8(v, -10, 10); // RELU_N1_TO_1 on scale 0.1, zero point 0
  return {
    name: 'syn_max_pool',
    covers: 'MAX_POOL_2D 3x3 and 2x2, stride 2, SAME on 5x5, NONE and RELU_N1_TO_1',
    bytes: g.build([x], [y3, y2]),
    hand: [
      {
        title: 'MAX_POOL_2D SAME ignores padding (all-negative windows at the border stay negative); RELU_N1_TO_1 clamps to [-10, 10]',
        inputs: [image5x5(grid(dec), grid(inc))],
        expected: [
          out3x3(
            (oy, ox) => dec(first3(oy), first3(ox)),
            (oy, ox) => inc(last3(oy), last3(ox)),
          ),
          out3x3(
            (oy, ox) => relu1(dec(first2(oy), first2(ox))),
            (oy, ox) => relu1(inc(last2(oy), last2(ox))),
          ),
        ],
      },
    ],
    lowered: (c) => {
      const a = layerOf(c, 'max_pool_s8', 0);
      const b = layerOf(c, 'max_pool_s8', 1);
      expect([a.padTop, a.padLeft, b.padTop, b.padLeft]).toEqual([1, 1, 0, 0]);
      expect([b.actMin, b.actMax]).toEqual([-10, 10]);
    },
  };
}

function add(): Synthetic {
  // op 0: scales 0.5 + 0.25 -> 0.5, where every rescaling step is exact (hand-checked);
  // op 1: unrelated scales, zero points putting most random sums inside RELU6's [0, 6].
  const g = new GraphBuilder();
  const a = g.tensor('a', [1, 4, 5], q(0.5, 3));
  const b = g.tensor('b', [1, 4, 5], q(0.25, -7));
  const c = g.tensor('c', [1, 4, 5], q(0.023, -100));
  const d = g.tensor('d', [1, 4, 5], q(0.011, -60));
  const y0 = g.tensor('a_plus_b', [1, 4, 5], q(0.5, -4));
  const y1 = g.tensor('c_plus_d', [1, 4, 5], q(0.05, -128));
  g.op(BuiltinOp.ADD, [a, b], [y0], addOptions(Act.RELU6));
  g.op(BuiltinOp.ADD, [c, d], [y1], addOptions(Act.RELU6));
  const p = new Prng(41);
  const qa = p.ints(20, -6, 12);
  const qb = p.ints(20, -20, 6);
  // Force the tie cases: (qa - 3) + (qb + 7) / 2 = 2.5, -2.5 (clamped), 0.5, 5.5.
  qa.splice(0, 4, 5, 3, 3, 8);
  qb.splice(0, 4, -6, -12, -6, -6);
  // real = 0.5 (qa - 3) + 0.25 (qb + 7) = 0.5 * ((qa - 3) + (qb + 7) / 2); RELU6 on scale 0.5, zero point -4 is [-4, 8].
  const expected = qa.map((va, i) => clampS8(roundAway(va - 3 + ((qb[i] as number) + 7) / 2) - 4, -4, 8));
  return {
    name: 'syn_add',
    covers: 'ADD with different input scales, RELU6',
    bytes: g.build([a, b, c, d], [y0, y1]),
    hand: [
      {
        title: 'ADD 0.5 (a - 3) + 0.25 (b + 7) at output scale 0.5 rounds half away from zero; RELU6 clamps to [-4, 8]',
        inputs: [int8Bytes(qa), int8Bytes(qb), new Uint8Array(20), new Uint8Array(20)],
        expected: [int8Bytes(expected), undefined],
      },
    ],
    lowered: (c) => {
      const exact = layerOf(c, 'add_s8', 0);
      // 2 * max(0.5, 0.25) = 1: input multipliers 0.5 and 0.25, output multiplier 1 / (2^20 * 0.5) = 2^-19.
      expect([exact.input1Multiplier, exact.input1Shift, exact.input2Multiplier, exact.input2Shift]).toEqual([INT32_HALF, 0, INT32_HALF, -1]);
      expect([exact.outputMultiplier, exact.outputShift, exact.leftShift]).toEqual([INT32_HALF, -18, 20]);
      const l = layerOf(c, 'add_s8', 1);
      // RELU6 on scale 0.05, zero point -128: [-128, -128 + 120].
      expect([l.actMin, l.actMax]).toEqual([-128, -8]);
    },
  };
}

function mul(): Synthetic {
  // op 0: 0.5 * 0.25 / 0.125 = exactly 1; op 1: unrelated scales.
  const g = new GraphBuilder();
  const a = g.tensor('a', [1, 2, 3, 4], q(0.5, 1));
  const b = g.tensor('b', [1, 2, 3, 4], q(0.25, -2));
  const c = g.tensor('c', [1, 2, 3, 4], q(0.031, 4));
  const y0 = g.tensor('a_times_b', [1, 2, 3, 4], q(0.125, -10));
  const y1 = g.tensor('a_times_c', [1, 2, 3, 4], q(2, -3));
  g.op(BuiltinOp.MUL, [a, b], [y0], mulOptions(Act.RELU));
  g.op(BuiltinOp.MUL, [a, c], [y1], mulOptions(Act.RELU));
  const p = new Prng(42);
  const qa = p.ints(24, -11, 13);
  const qb = p.ints(24, -14, 10);
  qa.splice(0, 3, 127, -128, 1);
  qb.splice(0, 3, 127, 127, -128);
  const expected = qa.map((va, i) => clampS8((va - 1) * ((qb[i] as number) + 2) - 10, -10, 127));
  return {
    name: 'syn_mul',
    covers: 'MUL with RELU (exact and inexact multipliers)',
    bytes: g.build([a, b, c], [y0, y1]),
    hand: [
      {
        title: 'MUL 0.5 (a - 1) * 0.25 (b + 2) at output scale 0.125 is exact; RELU clamps at the zero point -10',
        inputs: [int8Bytes(qa), int8Bytes(qb), new Uint8Array(24)],
        expected: [int8Bytes(expected), undefined],
      },
    ],
    lowered: (c) => {
      const l = layerOf(c, 'mul_s8', 0);
      expect([l.outputMultiplier, l.outputShift, l.actMin, l.actMax]).toEqual([INT32_HALF, 1, -10, 127]);
    },
  };
}

function softmax(): Synthetic {
  const g = new GraphBuilder();
  const x = g.tensor('x', [3, 10], q(0.1, -20));
  const y = g.tensor('y', [3, 10], q(1 / 256, -128));
  g.op(BuiltinOp.SOFTMAX, [x], [y], softmaxOptions(1));
  const rows = [
    [127, -128, -128, -128, -128, -128, -128, -128, -128, -128],
    [5, 5, 5, 5, 5, 5, 5, 5, 5, 5],
    [-128, 50, -128, -128, -128, -128, -128, -128, 50, -128],
  ];
  // Row 0: every other logit is 25.5 below the max (exp(-25.5) * 256 rounds to 0): 1.0 -> 256 - 128, saturated to 127.
  // Row 1: 10 equal logits: round(256 / 10) - 128 = -102. Row 2: two equal maxima: 256 / 2 - 128 = 0.
  const expected = [
    [127, -128, -128, -128, -128, -128, -128, -128, -128, -128],
    Array(10).fill(-102),
    [-128, 0, -128, -128, -128, -128, -128, -128, 0, -128],
  ];
  return {
    name: 'syn_softmax',
    covers: 'SOFTMAX depth 10, outer 3',
    bytes: g.build([x], [y]),
    hand: [
      {
        title: 'SOFTMAX: a dominant logit gives 127, ten equal logits give round(25.6) - 128, two equal maxima give 0',
        inputs: [int8Bytes(rows.flat())],
        expected: [int8Bytes(expected.flat())],
      },
    ],
    lowered: (c) => {
      const l = layerOf(c, 'softmax_s8');
      expect([l.outer, l.depth]).toEqual([3, 10]);
    },
  };
}

const QUANTIZE_ODD_SCALE = Math.fround(0.0371);

function quantizeFloat(): Synthetic {
  const g = new GraphBuilder();
  const x = g.tensor('x', [2, 8], undefined, TensorType.FLOAT32);
  const y0 = g.tensor('q_half', [2, 8], q(0.5, -3));
  const y1 = g.tensor('q_odd', [2, 8], q(QUANTIZE_ODD_SCALE, 5));
  g.op(BuiltinOp.QUANTIZE, [x], [y0]);
  g.op(BuiltinOp.QUANTIZE, [x], [y1]);
  const values = [0.25, -0.25, 0.75, -0.75, 1.25, -1.25, 0, 0.2, -0.2, 100, -100, 63, -62.75, 1.2499, 2.5, -2.75];
  // x / 0.5 = 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0, 0.4, -0.4, 200, -200, 126, -125.5, 2.4998, 5, -5.5,
  // rounded half away from zero (not to even: 0.5 -> 1, 2.5 -> 3), plus -3, saturated.
  const expected = [-2, -4, -1, -5, 0, -6, -3, -3, -3, 127, -128, 123, -128, -1, 2, -9];
  return {
    name: 'syn_quantize_f32',
    covers: 'QUANTIZE float32 -> int8 (scale 0.5 and an inexact scale)',
    bytes: g.build([x], [y0, y1]),
    randomFloat: (p) => {
      switch (p.int(0, 2)) {
        case 0:
          return (p.unit() * 2 - 1) * 70;
        case 1:
          return (p.int(-260, 260) + 0.5) * 0.5; // ties for scale 0.5
        default:
          return Math.fround((p.int(-140, 140) + 0.5) * QUANTIZE_ODD_SCALE); // near-ties for the odd scale
      }
    },
    hand: [
      {
        title: 'QUANTIZE float32 -> int8 rounds x / scale half away from zero, then adds the zero point and saturates',
        inputs: [float32Bytes(values)],
        expected: [int8Bytes(expected), undefined],
      },
      {
        // std::round of NaN cast to int32 is undefined in TFLite; tinyforge maps NaN to the zero point.
        title: 'QUANTIZE float32 -> int8 saturates infinities and maps NaN and -0 to the zero point',
        inputs: [float32Bytes([NaN, Infinity, -Infinity, -0, 1e-45, 3e38, -3e38, 1e7, -1e7, 0.7499, 0.7501, -0.7501, 64, 65, -62, -63])],
        expected: [int8Bytes([-3, 127, -128, -3, -3, 127, -128, 127, -128, -2, -1, -5, 125, 127, -127, -128]), undefined],
      },
    ],
  };
}

function requantize(): Synthetic {
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 32], q(0.5, 3));
  const y0 = g.tensor('q_half', [1, 32], q(1, -4));
  const y1 = g.tensor('q_odd', [1, 32], q(0.37, 9));
  g.op(BuiltinOp.QUANTIZE, [x], [y0]);
  g.op(BuiltinOp.QUANTIZE, [x], [y1]);
  const values = Array.from({ length: 32 }, (_, i) => [-128, 127, -2, -1, 0, 1, 2, 3, 4, 5, 6, 8][i] ?? (i - 16) * 7);
  // Requantize multiplies (q - 3) by 0.5 through MultiplyByQuantizedMultiplier: halves round up.
  const expected = values.map((v) => clampS8(halveRoundingUp(v - 3) - 4));
  return {
    name: 'syn_requantize',
    covers: 'QUANTIZE int8 -> int8 (scale ratio 0.5 and an inexact ratio)',
    bytes: g.build([x], [y0, y1]),
    hand: [
      {
        title: 'QUANTIZE int8 -> int8 with scale ratio 0.5 halves (q - zero point), rounding x.5 up (-2.5 -> -2, 2.5 -> 3)',
        inputs: [int8Bytes(values)],
        expected: [int8Bytes(expected), undefined],
      },
    ],
    lowered: (c) => {
      const l = layerOf(c, 'requantize_s8', 0);
      expect([l.multiplier, l.shift, l.inputOffset, l.outputOffset]).toEqual([INT32_HALF, 0, -3, -4]);
    },
  };
}

const DEQUANTIZE_ODD_SCALE = Math.fround(0.1);

function dequantize(): Synthetic {
  const g = new GraphBuilder();
  const a = g.tensor('a', [1, 16], q(0.25, -3));
  const b = g.tensor('b', [2, 8], q(DEQUANTIZE_ODD_SCALE, 7));
  const y0 = g.tensor('fa', [1, 16], undefined, TensorType.FLOAT32);
  const y1 = g.tensor('fb', [2, 8], undefined, TensorType.FLOAT32);
  g.op(BuiltinOp.DEQUANTIZE, [a], [y0]);
  g.op(BuiltinOp.DEQUANTIZE, [b], [y1]);
  const qa = [-128, -127, -4, -3, -2, -1, 0, 1, 2, 3, 50, 100, 125, 126, 127, 64];
  const qb = [-128, -100, -1, 0, 1, 6, 7, 8, 9, 13, 17, 33, 70, 100, 126, 127];
  return {
    name: 'syn_dequantize',
    covers: 'DEQUANTIZE int8 -> float32',
    bytes: g.build([a, b], [y0, y1]),
    hand: [
      {
        // TFLite: static_cast<float>(double(scale) * (q - zero_point)); with scale 0.25 every value is exact.
        title: 'DEQUANTIZE int8 -> float32 gives scale * (q - zero point), the product rounded once to float32',
        inputs: [int8Bytes(qa), int8Bytes(qb)],
        expected: [float32Bytes(qa.map((v) => (v + 3) / 4)), float32Bytes(qb.map((v) => DEQUANTIZE_ODD_SCALE * (v - 7)))],
      },
    ],
  };
}

function reshapeChain(): Synthetic {
  // QUANTIZE (scale ratio 1, zero point -> +1) -> RESHAPE [1,4,4,2] -> [1,32] -> DEQUANTIZE:
  // the RESHAPE reads and writes arena tensors, and the output is x / 2 in the same element order.
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 4, 4, 2], q(0.5, 0));
  const t1 = g.tensor('shifted', [1, 4, 4, 2], q(0.5, 1));
  const shape = g.int32Constant('shape', [2], [1, 32]);
  const t2 = g.tensor('flat', [1, 32], q(0.5, 1));
  const y = g.tensor('y', [1, 32], undefined, TensorType.FLOAT32);
  g.op(BuiltinOp.QUANTIZE, [x], [t1]);
  g.op(BuiltinOp.RESHAPE, [t1, shape], [t2], reshapeOptions([1, 32]));
  g.op(BuiltinOp.DEQUANTIZE, [t2], [y]);
  const values = Array.from({ length: 32 }, (_, i) => (i * 37) % 251 - 125);
  values[0] = 127; // 127 + 1 saturates to 127 in the middle tensor: 126 / 2 comes out
  values[1] = -128;
  return {
    name: 'syn_reshape_chain',
    covers: 'RESHAPE between two intermediate (arena) tensors',
    bytes: g.build([x], [y]),
    hand: [
      {
        title: 'RESHAPE between intermediates keeps the element order',
        inputs: [int8Bytes(values)],
        expected: [float32Bytes(values.map((v) => (Math.min(v + 1, 127) - 1) / 2))],
      },
    ],
    lowered: (c) => {
      const [q0, r, d] = c.layers;
      expect([q0?.kernel, r?.kernel, d?.kernel]).toEqual(['requantize_s8', 'reshape', 'dequantize_s8_f32']);
      const src = c.plan.storageOf.get(r?.inputs[0] as number);
      const dst = c.plan.storageOf.get(r?.outputs[0] as number);
      expect(src?.kind).toBe('arena');
      expect(dst).toEqual(src); // aliased: the reshape costs nothing
    },
  };
}

const MODELS: readonly Synthetic[] = [
  convValidStride2(),
  convDilation2(),
  conv1x1Half(),
  depthwiseMultiplier3(),
  depthwiseDilation2(),
  fullyConnectedBatches(),
  averagePool(),
  maxPool(),
  add(),
  mul(),
  softmax(),
  quantizeFloat(),
  requantize(),
  dequantize(),
  reshapeChain(),
];

// ---------------------------------------------------------------------------------------------
// Running every model on the three paths

interface RunResult {
  compiled: CompiledModel;
  cases: Uint8Array[][];
  ref: Uint8Array[][];
  host: Uint8Array[][];
  qemu: Uint8Array[][];
}

function randomCases(m: Synthetic, compiled: CompiledModel): Uint8Array[][] {
  const prng = new Prng(seedOf(m.name));
  return Array.from({ length: RANDOM_CASES }, () =>
    compiled.summary.inputs.map((io) => {
      if (io.dtype === 'int8') return prng.int8Bytes(io.bytes);
      if (io.dtype === 'float32' && m.randomFloat) {
        const gen = m.randomFloat;
        return float32Bytes(Array.from({ length: io.bytes / 4 }, () => gen(prng)));
      }
      throw new Error(`${m.name}: no random generator for ${io.dtype} input '${io.name}'`);
    }),
  );
}

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-synthetic-test-'));
// Each model is two builds (host and Cortex-M4) run side by side; two models at a time keeps two cores busy.
const limit = makeLimiter(2);
const runs = new Map<string, Promise<RunResult>>();

function runAllPaths(m: Synthetic): Promise<RunResult> {
  let r = runs.get(m.name);
  if (!r) {
    r = limit(async () => {
      const compiled = compileModel(loadSynthetic(m.name, m.bytes));
      const mod = writeCModule(compiled, path.join(workDir, 'modules', m.name));
      const cases = [...randomCases(m, compiled), ...(m.hand ?? []).map((h) => h.inputs)];
      const [host, qemu] = await Promise.all([
        runCasesOnHost(mod, cases, { sanitize: true, workDir }),
        runCasesOnQemuMps2An386(mod, cases, { workDir }),
      ]);
      const ref = cases.map((c) => runReference(compiled.model.graph, compiled.layers, c));
      return { compiled, cases, ref, host, qemu };
    });
    runs.set(m.name, r);
  }
  return r;
}

/** Values of an output in its own type, for readable failure messages. */
function decode(compiled: CompiledModel, output: number, bytes: Uint8Array): number[] {
  return compiled.summary.outputs[output]?.dtype === 'float32' ? asFloat32(bytes) : asInt8(bytes);
}

/** The first difference between two output lists, or undefined when they are byte-identical. */
function difference(compiled: CompiledModel, expected: readonly (Uint8Array | undefined)[], actual: readonly Uint8Array[]): string | undefined {
  if (expected.length !== actual.length) return `${actual.length} outputs instead of ${expected.length}`;
  for (let o = 0; o < expected.length; o++) {
    const e = expected[o];
    const a = actual[o] as Uint8Array;
    if (e === undefined) continue;
    if (e.byteLength !== a.byteLength) return `output ${o}: ${a.byteLength} bytes instead of ${e.byteLength}`;
    if (e.every((v, i) => v === a[i])) continue;
    const ev = decode(compiled, o, e);
    const av = decode(compiled, o, a);
    const i = ev.findIndex((v, k) => !Object.is(v, av[k]));
    const count = ev.filter((v, k) => !Object.is(v, av[k])).length;
    return `output ${o}[${i}]: expected ${ev[i]}, got ${av[i]} (${count} of ${ev.length} values differ)\n  expected ${JSON.stringify(ev)}\n  actual   ${JSON.stringify(av)}`;
  }
  return undefined;
}

beforeAll(() => {
  // Start every build now; the tests below wait for their own model.
  for (const m of MODELS) runAllPaths(m).catch(() => undefined);
});

afterAll(async () => {
  await Promise.allSettled(runs.values());
  rmSync(workDir, { recursive: true, force: true });
});

describe('synthetic models lower to the expected kernel parameters', () => {
  for (const m of MODELS.filter((s) => s.lowered !== undefined)) {
    it(`${m.name}: ${m.covers}`, () => {
      m.lowered?.(compileModel(loadSynthetic(m.name, m.bytes)));
    });
  }
});

describe('TS reference, host C (ASan + UBSan) and Cortex-M4 (QEMU mps2-an386) agree byte for byte', () => {
  for (const m of MODELS) {
    it(`${m.name}: ${m.covers}`, async () => {
      const { compiled, cases, ref, host, qemu } = await runAllPaths(m);
      expect(host).toHaveLength(cases.length);
      expect(qemu).toHaveLength(cases.length);
      cases.forEach((_, i) => {
        const label = i < RANDOM_CASES ? `random case ${i}` : `hand case ${i - RANDOM_CASES}`;
        expect(difference(compiled, ref[i] ?? [], host[i] ?? []), `${label}: host C vs TS reference`).toBeUndefined();
        expect(difference(compiled, ref[i] ?? [], qemu[i] ?? []), `${label}: Cortex-M4 vs TS reference`).toBeUndefined();
      });
    });
  }
});

describe('hand-computed expectations (TFLite reference semantics)', () => {
  for (const m of MODELS) {
    (m.hand ?? []).forEach((h, k) => {
      it(`${m.name}: ${h.title}`, async () => {
        const { compiled, ref, host, qemu } = await runAllPaths(m);
        const i = RANDOM_CASES + k;
        expect(difference(compiled, h.expected, ref[i] ?? []), 'TS reference').toBeUndefined();
        expect(difference(compiled, h.expected, host[i] ?? []), 'host C').toBeUndefined();
        expect(difference(compiled, h.expected, qemu[i] ?? []), 'Cortex-M4').toBeUndefined();
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Lowering errors: one line, TinyforgeError, naming the model, the operator index and the op.

function lowerError(name: string, bytes: Uint8Array): TinyforgeError {
  const model = loadSynthetic(name, bytes);
  try {
    compileModel(model);
  } catch (e) {
    expect(e).toBeInstanceOf(TinyforgeError);
    return e as TinyforgeError;
  }
  throw new Error(`${name} compiled without error`);
}

describe('unsupported variants fail lowering with a specific message', () => {
  it('CONV_2D with a float32 input', () => {
    // op 0 dequantizes, so the conv is operator 1 and reads float32.
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 4, 4, 3], q(0.5, 0));
    const xf = g.tensor('x_float', [1, 4, 4, 3], undefined, TensorType.FLOAT32);
    const w = g.int8Constant('w', [2, 3, 3, 3], Array(54).fill(1), q(0.1));
    const y = g.tensor('y', [1, 4, 4, 2], q(0.5, 0));
    g.op(BuiltinOp.DEQUANTIZE, [x], [xf]);
    g.op(BuiltinOp.CONV_2D, [xf, w], [y], conv2dOptions({ padding: Pad.SAME, strideH: 1, strideW: 1 }));
    const e = lowerError('err_float_conv', g.build([x], [y]));
    expect(e.message).toBe("err_float_conv: operator 1 (CONV_2D): input 'x_float' is float32; tinyforge compiles int8 kernels only");
  });

  it('CONV_2D whose output batch differs from the input batch', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [2, 4, 4, 3], q(0.5, 0));
    const x2 = g.tensor('x2', [2, 4, 4, 3], q(0.25, 0));
    const w = g.int8Constant('w', [5, 3, 3, 3], Array(135).fill(1), q(0.1));
    const y = g.tensor('y', [1, 4, 4, 5], q(0.5, 0));
    g.op(BuiltinOp.QUANTIZE, [x], [x2]);
    g.op(BuiltinOp.CONV_2D, [x2, w], [y], conv2dOptions({ padding: Pad.SAME, strideH: 1, strideW: 1 }));
    const e = lowerError('err_batch2_conv', g.build([x], [y]));
    expect(e.message).toBe("err_batch2_conv: operator 1 (CONV_2D): output 'y' has batch 1, the input 2");
  });

  it('ADD of shapes that do not broadcast, [1, 4] with [1, 3]', () => {
    const g = new GraphBuilder();
    const a = g.tensor('a', [1, 4], q(0.5, 0));
    const a2 = g.tensor('a2', [1, 4], q(0.5, 1));
    const b = g.tensor('b', [1, 3], q(0.5, 0));
    const y = g.tensor('y', [1, 4], q(0.5, 0));
    g.op(BuiltinOp.QUANTIZE, [a], [a2]);
    g.op(BuiltinOp.ADD, [a2, b], [y], addOptions(Act.NONE));
    const e = lowerError('err_broadcast_add', g.build([a, b], [y]));
    expect(e.message).toBe('err_broadcast_add: operator 1 (ADD): input shapes [1,4] and [1,3] do not broadcast');
  });

});
