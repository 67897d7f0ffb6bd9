// Every shape-specialised fast path driven with shapes just inside and just outside what it
// handles, against the TS reference byte for byte on four targets: host C with the DSP layouts and
// with the Helium layouts (portable C paths, -Werror, ASan + UBSan, each kernel call's scratch an
// exact-size heap block), the emulated Cortex-M4 (mps2-an386: DSP assembly) and the emulated
// Cortex-M55 (mps3-an547: Helium assembly and intrinsics).
//
// Issue 17 is why this exists: a 9x1 depthwise filter has 9 taps, and the 3x3 row-pointer
// assembly was keyed on the tap count, so a model that was bit-exact on the host was wrong on the
// M4. Each family below is one model with one independent branch (input -> layer -> output) per
// shape; a family's model is compiled and run once per target and each branch is checked on its
// own. The families that decide model-wide defines (TF_DW_FAST_3X3_ONLY) keep their shapes apart.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule, type CompiledModel } from '../compiler/compile.ts';
import { BuiltinOp } from '../compiler/frontends/tflite/schema.ts';
import type { Tensor } from '../compiler/ir/graph.ts';
import type { KernelCall } from '../compiler/passes/select_kernels.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { runCasesOnQemuMps2 } from '../compiler/targets/qemu_mps2.ts';
import { writeExactScratchModule } from './helpers/exact_scratch.ts';
import { Act, GraphBuilder, loadSynthetic, makeLimiter, Pad, perChannel, Prng, q } from './helpers/synthetic_models.ts';
import { addOptions, conv2dOptions, depthwiseOptions, fullyConnectedOptions, pool2dOptions } from './helpers/tflite_builder.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-fast-path-shapes-'));
const limit = makeLimiter(2);

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

/** A branch's kernel call in the DSP and in the Helium compilation, for selection checks. */
type CallCheck = (call: KernelCall) => void;

interface Branch {
  name: string;
  /** The path this shape reaches and why it is just inside or just outside another. */
  covers: string;
  /** Adds input -> layer -> output to the family's graph; returns the input and output tensors. */
  add: (g: GraphBuilder, p: Prng) => { input: number; output: number };
  dsp: CallCheck;
  mve: CallCheck;
}

interface Family {
  name: string;
  branches: Branch[];
  /** Checks on the DSP module's C source (model-wide defines). */
  dspSource?: (source: string) => void;
}

// ---- layer builders: one independent branch each ----

interface DwShape {
  h: number;
  w: number;
  c: number;
  k: [number, number];
  stride?: [number, number];
  dilation?: [number, number];
  padding?: number;
  multiplier?: number;
  act?: number;
  /** Small output scales push multipliers above 1/2 (positive shifts, no fast requantization). */
  outScale?: number;
}

function outExtent(n: number, k: number, stride: number, dilation: number, padding: number): number {
  return padding === Pad.SAME ? Math.ceil(n / stride) : Math.floor((n - ((k - 1) * dilation + 1)) / stride) + 1;
}

function depthwise(name: string, s: DwShape): Branch['add'] {
  return (g, p) => {
    const [kh, kw] = s.k;
    const [sh, sw] = s.stride ?? [1, 1];
    const [dh, dw] = s.dilation ?? [1, 1];
    const padding = s.padding ?? Pad.SAME;
    const outC = s.c * (s.multiplier ?? 1);
    const x = g.tensor(`${name}_x`, [1, s.h, s.w, s.c], q(0.02, 7));
    const scales = Array.from({ length: outC }, (_, i) => 0.004 + 0.003 * ((i * 7) % 5));
    const w = g.int8Constant(`${name}_w`, [1, kh, kw, outC], p.ints(kh * kw * outC, -127, 127), perChannel(scales, 3));
    const b = g.int32Constant(`${name}_b`, [outC], p.ints(outC, -4000, 4000));
    const y = g.tensor(`${name}_y`, [1, outExtent(s.h, kh, sh, dh, padding), outExtent(s.w, kw, sw, dw, padding), outC], q(s.outScale ?? 0.05, -3));
    g.op(
      BuiltinOp.DEPTHWISE_CONV_2D,
      [x, w, b],
      [y],
      depthwiseOptions({ padding, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw, depthMultiplier: s.multiplier ?? 1, act: s.act ?? Act.NONE }),
    );
    return { input: x, output: y };
  };
}

interface ConvShape {
  h: number;
  w: number;
  inC: number;
  outC: number;
  k: [number, number];
  stride?: [number, number];
  dilation?: [number, number];
  padding?: number;
  /** Keep one 16-column step in `sparseKeep` per group of 4 rows (zero the rest): pruned weights. */
  sparseKeep?: number;
  act?: number;
  /** Small output scales push multipliers above 1/2 (positive shifts: no fused requantization). */
  outScale?: number;
}

/** Weight (row, column) kept by a block-sparse pattern: whole [4 rows x 16] blocks, one in `keep` steps. */
function keptBlock(row: number, col: number, keep: number): boolean {
  return (Math.floor(col / 16) + Math.floor(row / 4)) % keep === 0;
}

function conv(name: string, s: ConvShape): Branch['add'] {
  return (g, p) => {
    const [kh, kw] = s.k;
    const [sh, sw] = s.stride ?? [1, 1];
    const [dh, dw] = s.dilation ?? [1, 1];
    const padding = s.padding ?? Pad.SAME;
    const k = kh * kw * s.inC;
    const x = g.tensor(`${name}_x`, [1, s.h, s.w, s.inC], q(0.03, -5));
    const values = p.ints(s.outC * k, -127, 127).map((v, i) => (s.sparseKeep && !keptBlock(Math.floor(i / k), i % k, s.sparseKeep) ? 0 : v));
    const scales = Array.from({ length: s.outC }, (_, i) => 0.002 + 0.001 * ((i * 5) % 7));
    const w = g.int8Constant(`${name}_w`, [s.outC, kh, kw, s.inC], values, perChannel(scales, 0));
    const b = g.int32Constant(`${name}_b`, [s.outC], p.ints(s.outC, -3000, 3000));
    const y = g.tensor(`${name}_y`, [1, outExtent(s.h, kh, sh, dh, padding), outExtent(s.w, kw, sw, dw, padding), s.outC], q(s.outScale ?? 0.08, 4));
    g.op(BuiltinOp.CONV_2D, [x, w, b], [y], conv2dOptions({ padding, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw, act: s.act ?? Act.RELU6 }));
    return { input: x, output: y };
  };
}

function fullyConnected(name: string, s: { batches: number; depth: number; out: number; sparseKeep?: number; act?: number; outScale?: number }): Branch['add'] {
  return (g, p) => {
    const x = g.tensor(`${name}_x`, [s.batches, s.depth], q(0.05, 10));
    const values = p.ints(s.out * s.depth, -127, 127).map((v, i) => (s.sparseKeep && !keptBlock(Math.floor(i / s.depth), i % s.depth, s.sparseKeep) ? 0 : v));
    const w = g.int8Constant(`${name}_w`, [s.out, s.depth], values, q(0.004));
    const b = g.int32Constant(`${name}_b`, [s.out], p.ints(s.out, -900, 900));
    const y = g.tensor(`${name}_y`, [s.batches, s.out], q(s.outScale ?? 0.08, -5));
    g.op(BuiltinOp.FULLY_CONNECTED, [x, w, b], [y], fullyConnectedOptions({ act: s.act ?? Act.RELU }));
    return { input: x, output: y };
  };
}

interface PoolShape {
  h: number;
  w: number;
  c: number;
  k: [number, number];
  stride?: [number, number];
  padding?: number;
  act?: number;
}

/** MAX_POOL_2D or AVERAGE_POOL_2D; input and output share one quantization, as TFLite requires. */
function pool(name: string, op: 'max' | 'avg', s: PoolShape): Branch['add'] {
  return (g) => {
    const [kh, kw] = s.k;
    const [sh, sw] = s.stride ?? [2, 2];
    const padding = s.padding ?? Pad.VALID;
    const x = g.tensor(`${name}_x`, [1, s.h, s.w, s.c], q(0.05, -9));
    const y = g.tensor(`${name}_y`, [1, outExtent(s.h, kh, sh, 1, padding), outExtent(s.w, kw, sw, 1, padding), s.c], q(0.05, -9));
    g.op(op === 'max' ? BuiltinOp.MAX_POOL_2D : BuiltinOp.AVERAGE_POOL_2D, [x], [y], pool2dOptions({ padding, strideH: sh, strideW: sw, filterH: kh, filterW: kw, act: s.act ?? Act.NONE }));
    return { input: x, output: y };
  };
}

/** ADD of a tensor with itself rescaled: one input per branch keeps the families' inputs uniform. */
function add(name: string, size: number): Branch['add'] {
  return (g) => {
    const x = g.tensor(`${name}_x`, [1, size], q(0.07, -12));
    const y = g.tensor(`${name}_y`, [1, size], q(0.11, 3));
    g.op(BuiltinOp.ADD, [x, x], [y], addOptions(Act.RELU6));
    return { input: x, output: y };
  };
}

// ---- selection checks ----

function kind(expected: KernelCall['kind']): CallCheck {
  return (call) => expect(call.kind).toBe(expected);
}

function fields(expected: KernelCall['kind'], values: Record<string, number | boolean>): CallCheck {
  return (call) => {
    expect(call.kind).toBe(expected);
    expect(call).toMatchObject(values);
  };
}

const dwFast = (requant: 0 | 1 | 2 = 2): CallCheck => fields('depthwise_conv_s8_fast', { requant });
const dwMve = (pack: number, leftShift = false): CallCheck => (call) => {
  expect(call.kind).toBe('depthwise_conv_s8_mve');
  expect(call).toMatchObject({ pack });
  expect('left' in call && call.left !== undefined).toBe(leftShift);
};
const addMve: CallCheck = (call) => {
  expect(call.kind).toBe('generic');
  expect(call.kind === 'generic' && call.variant).toBe('mve');
};

// ---- families ----

const FAMILIES: Family[] = [
  {
    // TF_DW_FAST_3X3_ONLY: the 3x3 assembly (row pointers inside, tap pointers on borders) runs
    // every pixel and the generic pixel path is left out of the image.
    name: 'depthwise_3x3_only',
    dspSource: (src) => expect(src).toContain('#define TF_DW_FAST_3X3_ONLY 1'),
    branches: [
      { name: 'dw3x3_s1_c8', covers: '3x3 stride 1 SAME, 8 channels (M55: two pixels per vector)', add: depthwise('dw3x3_s1_c8', { h: 6, w: 7, c: 8, k: [3, 3] }), dsp: dwFast(), mve: dwMve(2) },
      { name: 'dw3x3_s2_c16', covers: '3x3 stride 2 SAME, 16 channels (interior runs with a stride step)', add: depthwise('dw3x3_s2_c16', { h: 7, w: 9, c: 16, k: [3, 3], stride: [2, 2] }), dsp: dwFast(), mve: dwMve(1) },
      { name: 'dw3x3_dil2_c4', covers: '3x3 dilation 2 SAME, 4 channels (row and column steps of 2; M55: four pixels per vector)', add: depthwise('dw3x3_dil2_c4', { h: 7, w: 8, c: 4, k: [3, 3], dilation: [2, 2] }), dsp: dwFast(), mve: dwMve(4) },
      { name: 'dw3x3_s1x2_valid_c32', covers: '3x3 stride 1x2 VALID, 32 channels (no padding, two channel groups on the M55)', add: depthwise('dw3x3_s1x2_valid_c32', { h: 5, w: 9, c: 32, k: [3, 3], stride: [1, 2], padding: Pad.VALID, act: Act.RELU }), dsp: dwFast(), mve: dwMve(1) },
    ],
  },
  {
    // Nine taps that are not 3x3, and nothing else: the configuration of keyword_spotting_on_off_v3
    // (issue 17). The emitter must not define TF_DW_FAST_3X3_ONLY, and the row-pointer assembly
    // must not run; the tap-pointer assembly handles these on the M4, tf_dw9_mve on the M55.
    name: 'depthwise_nine_taps_not_3x3',
    dspSource: (src) => expect(src).not.toContain('#define TF_DW_FAST_3X3_ONLY'),
    branches: [
      { name: 'dw9x1_w5_c8', covers: '9x1 SAME on a 20x5 image (interior runs of 5 pixels; M55: packed pairs)', add: depthwise('dw9x1_w5_c8', { h: 20, w: 5, c: 8, k: [9, 1] }), dsp: dwFast(), mve: dwMve(2) },
      { name: 'dw9x1_w1_c16', covers: '9x1 SAME on a 20x1 image, 16 channels (the kws_on_off_v3 layout)', add: depthwise('dw9x1_w1_c16', { h: 20, w: 1, c: 16, k: [9, 1] }), dsp: dwFast(), mve: dwMve(1) },
      { name: 'dw1x9_c4', covers: '1x9 SAME on a 4x20 image, 4 channels (M55: four pixels per vector)', add: depthwise('dw1x9_c4', { h: 4, w: 20, c: 4, k: [1, 9] }), dsp: dwFast(), mve: dwMve(4) },
      { name: 'dw1x9_s2_valid_c16', covers: '1x9 stride 2 VALID on a 3x23 image', add: depthwise('dw1x9_s2_valid_c16', { h: 3, w: 23, c: 16, k: [1, 9], stride: [2, 2], padding: Pad.VALID }), dsp: dwFast(), mve: dwMve(1) },
      { name: 'dw9x1_dil2_c8', covers: '9x1 dilation 2x1 SAME on a 24x3 image', add: depthwise('dw9x1_dil2_c8', { h: 24, w: 3, c: 8, k: [9, 1], dilation: [2, 1] }), dsp: dwFast(), mve: dwMve(2) },
    ],
  },
  {
    // 3x3 next to shapes just outside each depthwise path, in one model (no 3x3-only define).
    name: 'depthwise_mixed',
    dspSource: (src) => expect(src).not.toContain('#define TF_DW_FAST_3X3_ONLY'),
    branches: [
      { name: 'dwm3x3_c8', covers: '3x3 beside other windows: row-pointer assembly with the generic path present', add: depthwise('dwm3x3_c8', { h: 6, w: 6, c: 8, k: [3, 3] }), dsp: dwFast(), mve: dwMve(2) },
      { name: 'dwm9x1_c8', covers: '9x1 beside a 3x3 layer (issue 17: 9 taps, not 3x3)', add: depthwise('dwm9x1_c8', { h: 12, w: 4, c: 8, k: [9, 1] }), dsp: dwFast(), mve: dwMve(2) },
      { name: 'dwm1x9_c16', covers: '1x9 beside a 3x3 layer', add: depthwise('dwm1x9_c16', { h: 3, w: 12, c: 16, k: [1, 9] }), dsp: dwFast(), mve: dwMve(1) },
      { name: 'dwm5x5_c8', covers: '5x5 (25 taps: above tf_dw_s8_fast_tapsn\'s 16, portable pixel path on the M4; per-tap vector loop on the M55)', add: depthwise('dwm5x5_c8', { h: 7, w: 6, c: 8, k: [5, 5] }), dsp: dwFast(), mve: dwMve(1) },
      { name: 'dwm3x1_c8', covers: '3x1 (3 taps: tf_dw_s8_fast_tapsn entered at block 13; no nine-tap routine)', add: depthwise('dwm3x1_c8', { h: 6, w: 4, c: 8, k: [3, 1] }), dsp: dwFast(), mve: dwMve(1) },
      { name: 'dwm2x3_c16', covers: '2x3 VALID (6 taps: tf_dw_s8_fast_tapsn)', add: depthwise('dwm2x3_c16', { h: 5, w: 6, c: 16, k: [2, 3], padding: Pad.VALID }), dsp: dwFast(), mve: dwMve(1) },
      { name: 'dwm1x1_c4', covers: '1x1 (one tap: tf_dw_s8_fast_tapsn entered at its last block)', add: depthwise('dwm1x1_c4', { h: 3, w: 5, c: 4, k: [1, 1] }), dsp: dwFast(), mve: dwMve(1) },
      { name: 'dwm4x4_c8', covers: '4x4 SAME (16 taps: every block of tf_dw_s8_fast_tapsn)', add: depthwise('dwm4x4_c8', { h: 6, w: 7, c: 8, k: [4, 4] }), dsp: dwFast(), mve: dwMve(1) },
      { name: 'dwm17x1_c8', covers: '17x1 (17 taps: one above tf_dw_s8_fast_tapsn, portable pixel path)', add: depthwise('dwm17x1_c8', { h: 20, w: 2, c: 8, k: [17, 1] }), dsp: dwFast(), mve: dwMve(1) },
      { name: 'dwm15x1_w1_c16_valid', covers: '15x1 VALID on a 17x1 image (the str_ww layout: 15 taps, interior runs)', add: depthwise('dwm15x1_w1_c16_valid', { h: 17, w: 1, c: 16, k: [15, 1], padding: Pad.VALID }), dsp: dwFast(), mve: dwMve(1) },
      { name: 'dwm5x1_s2_c12', covers: '5x1 stride 2 SAME on 12 channels (tf_dw_s8_fast_tapsn on border and strided interior runs)', add: depthwise('dwm5x1_s2_c12', { h: 11, w: 3, c: 12, k: [5, 1], stride: [2, 1] }), dsp: dwFast(), mve: dwMve(1) },
      { name: 'dwm3x1_small_mode', covers: '3x1 with multipliers above 1/2 (not fast mode: the portable pixel path, not tf_dw_s8_fast_tapsn)', add: depthwise('dwm3x1_small_mode', { h: 8, w: 2, c: 8, k: [3, 1], outScale: 0.0001 }), dsp: dwFast(1), mve: dwMve(1, true) },
      { name: 'dwm3x3_c6', covers: '3x3 on 6 channels (not a multiple of 4: portable depthwise on the M4; M55 lanes not whole groups)', add: depthwise('dwm3x3_c6', { h: 5, w: 5, c: 6, k: [3, 3] }), dsp: kind('generic'), mve: dwMve(1) },
      { name: 'dwm3x3_c20', covers: '3x3 on 20 channels (M4 fast; M55 a partial second group: no nine-tap routine)', add: depthwise('dwm3x3_c20', { h: 5, w: 5, c: 20, k: [3, 3] }), dsp: dwFast(), mve: dwMve(1) },
      { name: 'dwm3x3_dm2', covers: '3x3 depth multiplier 2 (portable depthwise on both)', add: depthwise('dwm3x3_dm2', { h: 5, w: 5, c: 4, k: [3, 3], multiplier: 2 }), dsp: kind('generic'), mve: kind('generic') },
      { name: 'dwm9x1_c1_dm8', covers: '9x1 on one input channel, multiplier 8 (rewritten as a convolution)', add: depthwise('dwm9x1_c1_dm8', { h: 14, w: 3, c: 1, k: [9, 1], multiplier: 8, stride: [2, 2] }), dsp: kind('conv_gemm_s8'), mve: kind('conv_gemm_s8_mve') },
      { name: 'dwm9x1_small_mode', covers: '9x1 with multipliers above 1/2 (not the fast requantization: no assembly on the M4, left shifts on the M55)', add: depthwise('dwm9x1_small_mode', { h: 12, w: 3, c: 16, k: [9, 1], outScale: 0.0001 }), dsp: dwFast(1), mve: dwMve(1, true) },
      { name: 'dwm3x3_small_mode', covers: '3x3 with multipliers above 1/2', add: depthwise('dwm3x3_small_mode', { h: 5, w: 6, c: 8, k: [3, 3], outScale: 0.0001 }), dsp: dwFast(1), mve: dwMve(1, true) },
    ],
  },
  {
    // conv_gemm_s8 reads 1x1 stride-1 unpadded inputs in place when in_c is a multiple of 4; the
    // Helium GEMM packs 16 / in_c pixels per vector for in_c 2, 4, 8, reads in_c % 16 == 0 rows in
    // place, splits filter rows into row or tap segments, or gathers.
    name: 'conv',
    branches: [
      { name: 'c1x1_c8', covers: '1x1 on 8 channels, 25 pixels (M4 direct; M55 two pixels per vector, an odd last pixel)', add: conv('c1x1_c8', { h: 5, w: 5, inC: 8, outC: 6, k: [1, 1] }), dsp: kind('conv_gemm_s8'), mve: fields('conv_gemm_s8_mve', { pack: 2 }) },
      { name: 'c1x1_c4', covers: '1x1 on 4 channels, 15 pixels (M55 four pixels per vector, 3 left over)', add: conv('c1x1_c4', { h: 3, w: 5, inC: 4, outC: 5, k: [1, 1] }), dsp: kind('conv_gemm_s8'), mve: fields('conv_gemm_s8_mve', { pack: 4 }) },
      { name: 'c1x1_c2', covers: '1x1 on 2 channels (M4: k4 4 != in_c 2, gathered; M55 eight pixels per vector)', add: conv('c1x1_c2', { h: 3, w: 7, inC: 2, outC: 3, k: [1, 1] }), dsp: kind('conv_gemm_s8'), mve: fields('conv_gemm_s8_mve', { pack: 8 }) },
      { name: 'c1x1_c16', covers: '1x1 on 16 channels (M55 rows read in place, pack 1)', add: conv('c1x1_c16', { h: 3, w: 3, inC: 16, outC: 7, k: [1, 1] }), dsp: kind('conv_gemm_s8'), mve: fields('conv_gemm_s8_mve', { pack: 1 }) },
      { name: 'c1x1_c6', covers: '1x1 on 6 channels (M4 gathers: k4 8 != 6; M55 no packing, whole-row gather)', add: conv('c1x1_c6', { h: 4, w: 3, inC: 6, outC: 5, k: [1, 1] }), dsp: kind('conv_gemm_s8'), mve: fields('conv_gemm_s8_mve', { pack: 0, segLen: 0 }) },
      { name: 'c1x1_c12', covers: '1x1 on 12 channels (M4 direct; M55 not packable: 12 does not divide 16)', add: conv('c1x1_c12', { h: 3, w: 4, inC: 12, outC: 5, k: [1, 1] }), dsp: kind('conv_gemm_s8'), mve: fields('conv_gemm_s8_mve', { pack: 0, segLen: 0 }) },
      { name: 'c1x1_s2_c8', covers: '1x1 stride 2 on 8 channels (neither direct path)', add: conv('c1x1_s2_c8', { h: 5, w: 6, inC: 8, outC: 4, k: [1, 1], stride: [2, 2] }), dsp: kind('conv_gemm_s8'), mve: fields('conv_gemm_s8_mve', { pack: 0, segLen: 0 }) },
      { name: 'c1x1_s2_c16', covers: '1x1 stride 2 on 16 channels (M55 one row segment per pixel, no packing)', add: conv('c1x1_s2_c16', { h: 5, w: 5, inC: 16, outC: 4, k: [1, 1], stride: [2, 2] }), dsp: kind('conv_gemm_s8'), mve: fields('conv_gemm_s8_mve', { pack: 0, segLen: 16, nseg: 1 }) },
      { name: 'c3x3_c16', covers: '3x3 SAME on 16 channels (M55 row segments of 48 bytes, edge rows gathered)', add: conv('c3x3_c16', { h: 5, w: 6, inC: 16, outC: 6, k: [3, 3] }), dsp: kind('conv_gemm_s8'), mve: fields('conv_gemm_s8_mve', { nseg: 3, segLen: 48, gathers: true }) },
      { name: 'c3x3_dil2_c16', covers: '3x3 dilation 1x2 on 16 channels (M55 one segment per tap)', add: conv('c3x3_dil2_c16', { h: 5, w: 7, inC: 16, outC: 5, k: [3, 3], dilation: [1, 2] }), dsp: kind('conv_gemm_s8'), mve: fields('conv_gemm_s8_mve', { nseg: 9, segLen: 16 }) },
      { name: 'c3x1_c16', covers: '3x1 on 16 channels (k_w 1: a kernel row is one tap, row segments of 16)', add: conv('c3x1_c16', { h: 6, w: 3, inC: 16, outC: 4, k: [3, 1] }), dsp: kind('conv_gemm_s8'), mve: fields('conv_gemm_s8_mve', { nseg: 3, segLen: 16 }) },
      { name: 'c1x9_c16', covers: '1x9 on 16 channels (one row segment of 144 bytes)', add: conv('c1x9_c16', { h: 2, w: 11, inC: 16, outC: 4, k: [1, 9] }), dsp: kind('conv_gemm_s8'), mve: fields('conv_gemm_s8_mve', { nseg: 1, segLen: 144 }) },
      { name: 'c9x1_c8', covers: '9x1 on 8 channels (M55 whole-row gather: rows of 8 bytes)', add: conv('c9x1_c8', { h: 11, w: 2, inC: 8, outC: 4, k: [9, 1] }), dsp: kind('conv_gemm_s8'), mve: fields('conv_gemm_s8_mve', { nseg: 1, segLen: 0 }) },
      { name: 'c3x3_s2_c3', covers: '3x3 stride 2 on 3 channels (K 27: padded to 28 on the M4, 32 on the M55)', add: conv('c3x3_s2_c3', { h: 7, w: 7, inC: 3, outC: 5, k: [3, 3], stride: [2, 2] }), dsp: kind('conv_gemm_s8'), mve: fields('conv_gemm_s8_mve', { segLen: 0 }) },
    ],
  },
  {
    // conv_gemm_s8's fused GEMM + requantization (TF_REQUANT_FAST: the per-pair rq stream) and its
    // offset-table gather for interior pixels when k_w * in_c <= 12 (else rows are copied); edge
    // pixels always copy rows. Odd channel counts end on a one-channel pair, odd pixel counts on
    // a lone pixel.
    name: 'conv_small_rows',
    branches: [
      { name: 'cs3x3_c1_o7', covers: '3x3 SAME on 1 channel, 7 outputs (offsets; odd pair count; 42 pixels)', add: conv('cs3x3_c1_o7', { h: 6, w: 7, inC: 1, outC: 7, k: [3, 3] }), dsp: fields('conv_gemm_s8', { offsets: true, requant: 2 }), mve: kind('conv_gemm_s8_mve') },
      { name: 'cs3x3_s2_c1_o8_none', covers: '3x3 stride 2 VALID on 1 channel, no activation (full-range packed clamp; 9 pixels: a lone last one)', add: conv('cs3x3_s2_c1_o8_none', { h: 7, w: 7, inC: 1, outC: 8, k: [3, 3], stride: [2, 2], padding: Pad.VALID, act: Act.NONE }), dsp: fields('conv_gemm_s8', { offsets: true, requant: 2 }), mve: kind('conv_gemm_s8_mve') },
      { name: 'cs3x3_c4_o5', covers: '3x3 on 4 channels (k_w * in_c = 12: the largest offset-table row)', add: conv('cs3x3_c4_o5', { h: 5, w: 6, inC: 4, outC: 5, k: [3, 3] }), dsp: fields('conv_gemm_s8', { offsets: true, requant: 2 }), mve: kind('conv_gemm_s8_mve') },
      { name: 'cs1x13_c1_o4', covers: '1x13 on 1 channel (k_w * in_c = 13: rows copied)', add: conv('cs1x13_c1_o4', { h: 3, w: 16, inC: 1, outC: 4, k: [1, 13] }), dsp: fields('conv_gemm_s8', { offsets: false, requant: 2 }), mve: kind('conv_gemm_s8_mve') },
      { name: 'cs3x3_dil2_c2_o3', covers: '3x3 dilation 2 on 2 channels (offsets step two pixels)', add: conv('cs3x3_dil2_c2_o3', { h: 7, w: 8, inC: 2, outC: 3, k: [3, 3], dilation: [2, 2] }), dsp: fields('conv_gemm_s8', { offsets: true, requant: 2 }), mve: kind('conv_gemm_s8_mve') },
      { name: 'cs10x4_s2_c1_o6', covers: '10x4 stride 2 SAME on 1 channel (the kws first-layer shape; K 40)', add: conv('cs10x4_s2_c1_o6', { h: 15, w: 6, inC: 1, outC: 6, k: [10, 4], stride: [2, 2] }), dsp: fields('conv_gemm_s8', { offsets: true, requant: 2 }), mve: kind('conv_gemm_s8_mve') },
      { name: 'cs3x3_c1_small_mode', covers: '3x3 on 1 channel with multipliers above 1/2 (no fused requantization)', add: conv('cs3x3_c1_small_mode', { h: 5, w: 5, inC: 1, outC: 5, k: [3, 3], outScale: 0.00005 }), dsp: (c) => { expect(c.kind).toBe('conv_gemm_s8'); expect(c.kind === 'conv_gemm_s8' && c.rq).toBeUndefined(); }, mve: kind('conv_gemm_s8_mve') },
      { name: 'cs3x3_c16_o9', covers: '3x3 on 16 channels (rows copied, fused requantization with an odd channel)', add: conv('cs3x3_c16_o9', { h: 4, w: 5, inC: 16, outC: 9, k: [3, 3], act: Act.RELU }), dsp: fields('conv_gemm_s8', { offsets: false, requant: 2 }), mve: kind('conv_gemm_s8_mve') },
    ],
  },
  {
    // fully_connected_s8_fast: groups of 4 rows, 4-byte steps and a tail; on the M4 the fused
    // assembly (tf_fc_rq_s8: fast requantization, depth % 4 == 0, whole groups; steps two per turn
    // after an odd one) and the C loop for the rest; the Helium FC: 16-byte steps (padded rows),
    // batch pairs, chunks of 16 row groups.
    name: 'fully_connected',
    branches: [
      { name: 'fc_d4_o4_none', covers: 'depth 4, 4 rows, no activation (fused: one odd step and no pair; full-range packed clamp)', add: fullyConnected('fc_d4_o4_none', { batches: 1, depth: 4, out: 4, act: Act.NONE }), dsp: fields('fully_connected_s8_fast', { requant: 2 }), mve: fields('fully_connected_s8_mve', { k16: 16 }) },
      { name: 'fc_d8_o3', covers: 'depth 8, 3 rows (two steps, no odd one; fewer rows than a group: C loop only)', add: fullyConnected('fc_d8_o3', { batches: 1, depth: 8, out: 3 }), dsp: fields('fully_connected_s8_fast', { requant: 2 }), mve: fields('fully_connected_s8_mve', { k16: 16 }) },
      { name: 'fc_d24_o12_small_mode', covers: 'depth 24 with a multiplier above 1/2 (not fast requantization: C loop, not tf_fc_rq_s8)', add: fullyConnected('fc_d24_o12_small_mode', { batches: 1, depth: 24, out: 12, outScale: 0.0002 }), dsp: (c) => { expect(c.kind).toBe('fully_connected_s8_fast'); expect(c.kind === 'fully_connected_s8_fast' && c.requant).not.toBe(2); }, mve: fields('fully_connected_s8_mve', { k16: 32 }) },
      { name: 'fc_d16_o8', covers: 'depth 16, 8 rows (whole steps and groups everywhere: fused, two pairs of steps)', add: fullyConnected('fc_d16_o8', { batches: 1, depth: 16, out: 8 }), dsp: kind('fully_connected_s8_fast'), mve: fields('fully_connected_s8_mve', { k16: 16 }) },
      { name: 'fc_d17_o5', covers: 'depth 17, 5 rows (a 1-element tail: C loop; a partial row group; M55 padded to 32)', add: fullyConnected('fc_d17_o5', { batches: 1, depth: 17, out: 5 }), dsp: kind('fully_connected_s8_fast'), mve: fields('fully_connected_s8_mve', { k16: 32 }) },
      { name: 'fc_d3_o4', covers: 'depth 3 (no whole 4-byte step: tail only)', add: fullyConnected('fc_d3_o4', { batches: 1, depth: 3, out: 4 }), dsp: kind('fully_connected_s8_fast'), mve: fields('fully_connected_s8_mve', { k16: 16 }) },
      { name: 'fc_b2_d20_o6', covers: '2 batches of depth 20, 6 rows (fused per batch, then 2 rows in C; one batch pair on the M55)', add: fullyConnected('fc_b2_d20_o6', { batches: 2, depth: 20, out: 6 }), dsp: kind('fully_connected_s8_fast'), mve: fields('fully_connected_s8_mve', { k16: 32 }) },
      { name: 'fc_b3_d33_o9', covers: '3 batches of depth 33 (a pair, then one)', add: fullyConnected('fc_b3_d33_o9', { batches: 3, depth: 33, out: 9 }), dsp: kind('fully_connected_s8_fast'), mve: fields('fully_connected_s8_mve', { k16: 48 }) },
      { name: 'fc_d64_o70', covers: '70 rows (17 fused groups and 2 rows in C; 18 row groups: more than one 16-group chunk on the M55)', add: fullyConnected('fc_d64_o70', { batches: 1, depth: 64, out: 70 }), dsp: kind('fully_connected_s8_fast'), mve: fields('fully_connected_s8_mve', { k16: 64 }) },
    ],
  },
  {
    // Pooling: the DSP paths take channel quads (max: SSUB8/SEL, the last in_c % 4 as a quad ending
    // at the last channel when in_c >= 4; average: SXTAB16 lane sums for windows of at most 256
    // pixels) and one channel at a time below 4 channels or above 256 pixels; Helium max pooling
    // takes 16 lanes with a predicated tail. Edges clip the window (SAME padding).
    name: 'pool',
    branches: [
      { name: 'max2x2_c3', covers: 'max 2x2 on 3 channels (fewer than a quad: scalar on the M4, one predicated vector on the M55)', add: pool('max2x2_c3', 'max', { h: 6, w: 7, c: 3, k: [2, 2] }), dsp: kind('generic'), mve: kind('generic') },
      { name: 'max2x2_c4', covers: 'max 2x2 on 4 channels (one whole quad, unrolled 2x2 window)', add: pool('max2x2_c4', 'max', { h: 6, w: 6, c: 4, k: [2, 2] }), dsp: kind('generic'), mve: kind('generic') },
      { name: 'max2x2_c7', covers: 'max 2x2 on 7 channels (a quad, then the quad ending at channel 6)', add: pool('max2x2_c7', 'max', { h: 5, w: 7, c: 7, k: [2, 2] }), dsp: kind('generic'), mve: kind('generic') },
      { name: 'max3x3_same_c17', covers: 'max 3x3 stride 2 SAME on 17 channels (clipped edge windows; M55 a one-lane tail)', add: pool('max3x3_same_c17', 'max', { h: 7, w: 6, c: 17, k: [3, 3], padding: Pad.SAME }), dsp: kind('generic'), mve: kind('generic') },
      { name: 'max3x2_s1_c8_relu6', covers: 'max 3x2 stride 1 on 8 channels with RELU6 (both packed clamps)', add: pool('max3x2_s1_c8_relu6', 'max', { h: 6, w: 5, c: 8, k: [3, 2], stride: [1, 1], act: Act.RELU6 }), dsp: kind('generic'), mve: kind('generic') },
      { name: 'avg2x2_c3', covers: 'average 2x2 on 3 channels (scalar sums)', add: pool('avg2x2_c3', 'avg', { h: 6, w: 6, c: 3, k: [2, 2] }), dsp: kind('generic'), mve: kind('generic') },
      { name: 'avg2x2_c6', covers: 'average 2x2 on 6 channels (a quad of lane sums, two scalar channels)', add: pool('avg2x2_c6', 'avg', { h: 6, w: 7, c: 6, k: [2, 2] }), dsp: kind('generic'), mve: kind('generic') },
      { name: 'avg3x3_same_c8_relu6', covers: 'average 3x3 stride 2 SAME on 8 channels with RELU6 (clipped windows: counts 4, 6, 9)', add: pool('avg3x3_same_c8_relu6', 'avg', { h: 7, w: 7, c: 8, k: [3, 3], padding: Pad.SAME, act: Act.RELU6 }), dsp: kind('generic'), mve: kind('generic') },
      { name: 'avg16x16_c4', covers: 'average over a 16x16 window (256 pixels: the largest lane-sum window; extremes reach -32768)', add: pool('avg16x16_c4', 'avg', { h: 16, w: 16, c: 4, k: [16, 16], stride: [1, 1] }), dsp: kind('generic'), mve: kind('generic') },
      { name: 'avg17x16_c4', covers: 'average over a 17x16 window (272 pixels: above the lane-sum limit, 32-bit scalar sums)', add: pool('avg17x16_c4', 'avg', { h: 17, w: 16, c: 4, k: [17, 16], stride: [1, 1] }), dsp: kind('generic'), mve: kind('generic') },
    ],
  },
  {
    // ADD on Helium: four elements per step and a predicated tail.
    name: 'add',
    branches: [1, 3, 4, 5, 16, 17].map((n): Branch => ({
      name: `add_${n}`,
      covers: `${n} elements (${n % 4 === 0 ? 'whole vectors' : `a ${n % 4}-element tail`} on the M55)`,
      add: add(`add_${n}`, n),
      dsp: kind('generic'),
      mve: addMve,
    })),
  },
  {
    // Pruned weights: the sparse layouts keep their direct (1x1, stride 1, unpadded) and gathered
    // input paths and their tails.
    name: 'sparse',
    branches: [
      { name: 'sp_c1x1_c32', covers: '1x1 on 32 channels, a quarter of the [4 x 16] blocks kept (direct input on both)', add: conv('sp_c1x1_c32', { h: 3, w: 3, inC: 32, outC: 16, k: [1, 1], sparseKeep: 4 }), dsp: kind('conv_gemm_s8_sparse'), mve: fields('conv_gemm_s8_mve_sparse', { pack: 1 }) },
      { name: 'sp_c1x1_c32_o18', covers: '1x1 on 32 channels, 18 outputs (fast requantization four channels at a time, then a 2-channel tail)', add: conv('sp_c1x1_c32_o18', { h: 3, w: 3, inC: 32, outC: 18, k: [1, 1], sparseKeep: 4 }), dsp: fields('conv_gemm_s8_sparse', { requant: 2 }), mve: fields('conv_gemm_s8_mve_sparse', { pack: 1 }) },
      { name: 'sp_c3x3_c16', covers: '3x3 SAME on 16 channels, a quarter of the blocks kept (gathered rows)', add: conv('sp_c3x3_c16', { h: 4, w: 4, inC: 16, outC: 16, k: [3, 3], sparseKeep: 4 }), dsp: kind('conv_gemm_s8_sparse'), mve: fields('conv_gemm_s8_mve_sparse', { pack: 0 }) },
      { name: 'sp_fc_d128_o16', covers: 'FC 128 -> 16, a quarter of the blocks kept', add: fullyConnected('sp_fc_d128_o16', { batches: 1, depth: 128, out: 16, sparseKeep: 4 }), dsp: (c) => expect(c.kind).toMatch(/^fully_connected_s8_(sparse|csr_sparse)$/), mve: kind('fully_connected_s8_mve_sparse') },
    ],
  },
];

// ---- running a family ----

const TARGETS = ['host (DSP layouts)', 'Cortex-M4 mps2-an386', 'host (Helium layouts)', 'Cortex-M55 mps3-an547'] as const;
type TargetName = (typeof TARGETS)[number];

interface FamilyRun {
  dsp: CompiledModel;
  mve: CompiledModel;
  dspSource: string;
  /** Per case, the reference outputs (one per branch). */
  expected: Uint8Array[][];
  actual: Map<TargetName, Uint8Array[][]>;
}

function buildFamily(f: Family): Uint8Array {
  const g = new GraphBuilder();
  const p = new Prng(f.name.length * 977 + f.branches.length);
  const ends = f.branches.map((b) => b.add(g, p));
  return g.build(
    ends.map((e) => e.input),
    ends.map((e) => e.output),
  );
}

/** The call that writes graph output `o` (each branch is one layer). */
function callFor(c: CompiledModel, o: number): KernelCall {
  const id = c.model.graph.outputs[o] as number;
  const call = c.calls.find((k) => k.layer.outputs[0] === id);
  if (!call) throw new Error(`no layer writes output ${o} (${(c.model.graph.tensors[id] as Tensor).name})`);
  return call;
}

async function runFamily(f: Family): Promise<FamilyRun> {
  const model = loadSynthetic(`fps_${f.name}`, buildFamily(f));
  const dsp = compileModel(model, { isa: 'dsp' });
  const mve = compileModel(model, { isa: 'mve' });
  const prng = new Prng(f.branches.length * 131 + 17);
  const inputs = dsp.summary.inputs;
  const cases = Array.from({ length: 6 }, () => inputs.map((io) => prng.int8Bytes(io.bytes)));
  // Extremes: every input -128, every input 127.
  cases.push(inputs.map((io) => new Uint8Array(io.bytes).fill(0x80)));
  cases.push(inputs.map((io) => new Uint8Array(io.bytes).fill(0x7f)));
  // The reference kernels do not depend on the layouts: one reference for both compilations.
  const expected = cases.map((c) => runReference(dsp.model.graph, dsp.layers, c));
  const dir = path.join(workDir, f.name);
  const hostDsp = writeExactScratchModule(dsp, path.join(dir, 'host-dsp'));
  const m4 = writeCModule(dsp, path.join(dir, 'm4'));
  const hostMve = writeExactScratchModule(mve, path.join(dir, 'host-mve'));
  const m55 = writeCModule(mve, path.join(dir, 'm55'));
  const runs: Array<[TargetName, () => Promise<Uint8Array[][]>]> = [
    ['host (DSP layouts)', () => runCasesOnHost(hostDsp, cases, { sanitize: true, workDir })],
    ['Cortex-M4 mps2-an386', () => runCasesOnQemuMps2('mps2-an386', m4, cases, { workDir })],
    ['host (Helium layouts)', () => runCasesOnHost(hostMve, cases, { sanitize: true, workDir })],
    ['Cortex-M55 mps3-an547', () => runCasesOnQemuMps2('mps3-an547', m55, cases, { workDir })],
  ];
  const results = await Promise.all(runs.map(([, run]) => limit(run)));
  return {
    dsp,
    mve,
    dspSource: readFileSync(path.join(dir, 'm4', `${m4.prefix}.c`), 'utf8'),
    expected,
    actual: new Map(runs.map(([name], i) => [name, results[i] as Uint8Array[][]])),
  };
}

for (const f of FAMILIES) {
  describe(`fast paths at their shape boundaries: ${f.name}`, () => {
    let run: FamilyRun | undefined;
    beforeAll(async () => {
      run = await runFamily(f);
    }, 300_000);

    if (f.dspSource) {
      const check = f.dspSource;
      it('model-wide kernel defines match the shapes', () => {
        check((run as FamilyRun).dspSource);
      });
    }

    f.branches.forEach((b, o) => {
      it(`${b.name}: ${b.covers}`, () => {
        const r = run as FamilyRun;
        b.dsp(callFor(r.dsp, o));
        b.mve(callFor(r.mve, o));
        for (const target of TARGETS) {
          const actual = r.actual.get(target) as Uint8Array[][];
          r.expected.forEach((exp, i) => {
            expect(Buffer.from(actual[i]?.[o] ?? []).toString('hex'), `${target}, case ${i}`).toBe(Buffer.from(exp[o] ?? []).toString('hex'));
          });
        }
      });
    });
  });
}
