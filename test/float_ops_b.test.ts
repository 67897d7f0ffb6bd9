// float32 ops batch 3 (TRANSPOSE_CONV, BATCH_MATMUL, RESIZE_BILINEAR, FLOOR_DIV, FLOOR_MOD, L2_POOL_2D, SVDF): small synthetic models run on the TS reference and on
// host C under ASan + UBSan over random inputs and edge values (NaN, +-inf, +-0, subnormals,
// FLT_MAX), every output compared bit for bit (NaN against any NaN: docs/float.md), outputs worked
// out by hand from TFLite Micro's reference kernels (chosen so that a different summation order
// gives different bits), a chain of them on the emulated Cortex-M4, and the refusals.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule } from '../compiler/compile.ts';
import { ReferenceState, runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnQemuMps2 } from '../compiler/targets/qemu_mps2.ts';
import { runCasesOnQemuXtensa } from '../compiler/targets/qemu_xtensa.ts';
import { BuiltinOptionsType, F, TensorType, builtinOperatorCode } from '../compiler/frontends/tflite/schema.ts';
import { HOST_CFLAGS, HOST_SANITIZE_FLAGS, runCasesOnHost } from '../compiler/targets/host.ts';
import { refusal } from './helpers/refusal.ts';
import { buildTflite, type OptionsSpec, type TensorSpec } from './helpers/tflite_builder.ts';
import { checkModel, differences, edgeFloats, floats, FLT_MAX, randomFloats, show, type OpModel } from './helpers/float_cases.ts';
import { Act, float32Bytes, GraphBuilder, loadSynthetic, Pad, perChannel, Prng } from './helpers/synthetic_models.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-float-ops-b-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const F32 = TensorType.FLOAT32;
const op = (name: string): number => builtinOperatorCode(name);

/** `n` random weights in +-range. */
function weights(n: number, seed: number, range: number): number[] {
  const rng = new Prng(seed);
  return Array.from({ length: n }, () => Math.fround((rng.next() / 2 ** 32 - 0.5) * 2 * range));
}

function transposeConvOptions(padding: number, strideH: number, strideW: number, act: number): OptionsSpec {
  const f = F.TransposeConvOptions;
  return {
    type: BuiltinOptionsType.TransposeConvOptions,
    build: (b) => {
      b.startObject(5);
      b.addFieldInt8(f.padding, padding, null);
      b.addFieldInt32(f.strideW, strideW, null);
      b.addFieldInt32(f.strideH, strideH, null);
      b.addFieldInt8(f.fusedActivation, act, null);
      return b.endObject();
    },
  };
}

/**
 * TRANSPOSE_CONV: [1, 3, 1, 1] through a 3x1 filter of ones with bias 0.5 (VALID, stride 1), the
 * hand case; [2, 3, 3, 2] -> [2, 6, 6, 3] (SAME, stride 2, RELU, no bias); and -> [2, 5, 7, 3]
 * (VALID, strides 1 and 2, NONE, a bias).
 */
function transposeConvModel(): OpModel {
  const g = new GraphBuilder();
  const a = g.tensor('a', [1, 3, 1, 1], undefined, F32);
  const ones = g.constant('ones', [1, 3, 1, 1], F32, float32Bytes([1, 1, 1]));
  const half = g.constant('half', [1], F32, float32Bytes([0.5]));
  const ya = g.tensor('ya', [1, 5, 1, 1], undefined, F32);
  g.op(op('TRANSPOSE_CONV'), [g.int32Constant('sa', [4], [1, 5, 1, 1]), ones, a, half], [ya], transposeConvOptions(Pad.VALID, 1, 1, Act.NONE));
  const x = g.tensor('x', [2, 3, 3, 2], undefined, F32);
  const w = g.constant('w', [3, 3, 3, 2], F32, float32Bytes(weights(54, 11, 2)));
  const y1 = g.tensor('y1', [2, 6, 6, 3], undefined, F32);
  g.op(op('TRANSPOSE_CONV'), [g.int32Constant('s1', [4], [2, 6, 6, 3]), w, x], [y1], transposeConvOptions(Pad.SAME, 2, 2, Act.RELU));
  const bias = g.constant('bias', [3], F32, float32Bytes([0.25, -0, -3]));
  const y2 = g.tensor('y2', [2, 5, 7, 3], undefined, F32);
  g.op(op('TRANSPOSE_CONV'), [g.int32Constant('s2', [4], [2, 5, 7, 3]), w, x, bias], [y2], transposeConvOptions(Pad.VALID, 1, 2, Act.NONE));
  return {
    name: 'transpose_conv_f32',
    bytes: g.build([a, x], [ya, y1, y2]),
    inputSizes: [3, 36],
    range: 4,
    hand: {
      inputs: [[1, 1e8, -1e8], weights(36, 5, 1)],
      outputs: {
        // Output row 2 sums x0 * w2 + x1 * w1 + x2 * w0 in input order: (1 + 1e8) - 1e8 = 0 in
        // float32 (1e8 + 1 rounds to 1e8); the gather order of a convolution would give 1.
        0: [1.5, 1e8, 0.5, 0.5, -1e8],
      },
    },
  };
}

describe('float32 TRANSPOSE_CONV: TS reference and host C (ASan + UBSan) agree bit for bit, and match TFLite Micro by hand', () => {
  it('scatter order, SAME / VALID, unequal strides, batches, bias or none, RELU / NONE', async () => {
    await checkModel(transposeConvModel(), workDir);
  }, 120_000);

  it('refuses int8 weights under a float32 input (TFLite Micro refuses hybrid models) in one line', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 2, 2, 1], undefined, F32);
    const w = g.int8Constant('w', [1, 3, 3, 1], new Array<number>(9).fill(1), perChannel([0.1], 0));
    const y = g.tensor('y', [1, 4, 4, 1], undefined, F32);
    g.op(op('TRANSPOSE_CONV'), [g.int32Constant('s', [4], [1, 4, 4, 1]), w, x], [y], transposeConvOptions(Pad.SAME, 2, 2, Act.NONE));
    expect(refusal(() => compileModel(loadSynthetic('tconv_hybrid', g.build([x], [y]))))).toMatch(/TRANSPOSE_CONV.*weights 'w' are int8; a float32 TRANSPOSE_CONV needs float32 weights/);
  });
});

function batchMatMulOptions(adjX: boolean, adjY: boolean): OptionsSpec {
  const f = F.BatchMatMulOptions;
  return {
    type: BuiltinOptionsType.BatchMatMulOptions,
    build: (b) => {
      b.startObject(3);
      b.addFieldInt8(f.adjX, adjX ? 1 : 0, null);
      b.addFieldInt8(f.adjY, adjY ? 1 : 0, null);
      return b.endObject();
    },
  };
}

/**
 * BATCH_MATMUL: [2, 3] x constant [3, 2] (the hand case); [2, 1, 3, 4] x [3, 4, 5] (broadcast
 * batches); adj_x and adj_y [2, 4, 3] x [2, 5, 4]; a constant lhs [3, 4] x [2, 4, 2].
 */
function batchMatMulModel(): OpModel {
  const g = new GraphBuilder();
  const bmm = (name: string, lhs: number, rhs: number, shape: number[], adjX = false, adjY = false): number => {
    const t = g.tensor(name, shape, undefined, F32);
    g.op(op('BATCH_MATMUL'), [lhs, rhs], [t], batchMatMulOptions(adjX, adjY));
    return t;
  };
  const h = g.tensor('h', [2, 3], undefined, F32);
  const k = g.constant('k', [3, 2], F32, float32Bytes([1, 2, 1, 2, 1, 2]));
  const y0 = bmm('y0', h, k, [2, 2]);
  const a = g.tensor('a', [2, 1, 3, 4], undefined, F32);
  const b = g.tensor('b', [3, 4, 5], undefined, F32);
  const y1 = bmm('y1', a, b, [2, 3, 3, 5]);
  const c = g.tensor('c', [2, 4, 3], undefined, F32);
  const d = g.tensor('d', [2, 5, 4], undefined, F32);
  const y2 = bmm('y2', c, d, [2, 3, 5], true, true);
  const kl = g.constant('kl', [3, 4], F32, float32Bytes(weights(12, 3, 3)));
  const e = g.tensor('e', [2, 4, 2], undefined, F32);
  const y3 = bmm('y3', kl, e, [2, 3, 2]);
  return {
    name: 'batch_matmul_f32',
    bytes: g.build([h, a, b, c, d, e], [y0, y1, y2, y3]),
    inputSizes: [6, 24, 60, 24, 40, 16],
    range: 4,
    hand: {
      inputs: [[1, 1e8, -1e8, -0, -0, -0], weights(24, 1, 2), weights(60, 2, 2), weights(24, 3, 2), weights(40, 4, 2), weights(16, 5, 2)],
      outputs: {
        // Sums in depth order from +0: (1 + 1e8) - 1e8 = 0 and (2 + 2e8) - 2e8 = 0 in float32 (the
        // reverse order gives 1 and 2); the -0 products added to +0 give +0, not -0.
        0: [0, 0, 0, 0],
      },
    },
  };
}

describe('float32 BATCH_MATMUL: TS reference and host C (ASan + UBSan) agree bit for bit, and match TFLite Micro by hand', () => {
  it('depth order from +0, broadcast batches, adj_x / adj_y, constant lhs or rhs', async () => {
    const ref = await checkModel(batchMatMulModel(), workDir);
    // Output 2 (adj_x, adj_y) recomputed here from the definition on the hand inputs: out[b][m][n] = sum_k c[b][k][m] * d[b][n][k].
    const c = weights(24, 3, 2);
    const d = weights(40, 4, 2);
    const want: number[] = [];
    for (let b = 0; b < 2; b++) {
      for (let m = 0; m < 3; m++) {
        for (let n = 0; n < 5; n++) {
          let t = 0;
          for (let kk = 0; kk < 4; kk++) t = Math.fround(t + Math.fround((c[b * 12 + kk * 3 + m] as number) * (d[b * 20 + n * 4 + kk] as number)));
          want.push(t);
        }
      }
    }
    expect(Array.from(floats(ref[0]![2]!))).toEqual(want);
    // Output 1 (batches [2, 1] and [3] broadcast to [2, 3]): out[i][j][m][n] = sum_k a[i][m][k] * b[j][k][n].
    const a = weights(24, 1, 2);
    const bm = weights(60, 2, 2);
    const want1: number[] = [];
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        for (let m = 0; m < 3; m++) {
          for (let n = 0; n < 5; n++) {
            let t = 0;
            for (let kk = 0; kk < 4; kk++) t = Math.fround(t + Math.fround((a[i * 12 + m * 4 + kk] as number) * (bm[j * 20 + kk * 5 + n] as number)));
            want1.push(t);
          }
        }
      }
    }
    expect(Array.from(floats(ref[0]![1]!))).toEqual(want1);
  }, 120_000);
});

function resizeBilinearOptions(alignCorners: boolean, halfPixel: boolean): OptionsSpec {
  const f = F.ResizeBilinearOptions;
  return {
    type: BuiltinOptionsType.ResizeBilinearOptions,
    build: (b) => {
      b.startObject(4);
      b.addFieldInt8(f.alignCorners, alignCorners ? 1 : 0, null);
      b.addFieldInt8(f.halfPixelCenters, halfPixel ? 1 : 0, null);
      return b.endObject();
    },
  };
}

/**
 * RESIZE_BILINEAR: [1, 2, 2, 2] -> 3x3 with align_corners and [1, 2, 1, 1] -> 4x1 with
 * half_pixel_centers (the hand cases); [2, 3, 5, 3] -> 7x4 (half pixel), -> 2x9 (neither) and
 * -> 4x6 (align_corners).
 */
function resizeBilinearModel(): OpModel {
  const g = new GraphBuilder();
  const resize = (name: string, x: number, shape: number[], alignCorners: boolean, halfPixel: boolean): number => {
    const t = g.tensor(name, shape, undefined, F32);
    g.op(op('RESIZE_BILINEAR'), [x, g.int32Constant(`${name}_size`, [2], [shape[1] as number, shape[2] as number])], [t], resizeBilinearOptions(alignCorners, halfPixel));
    return t;
  };
  const a = g.tensor('a', [1, 2, 2, 2], undefined, F32);
  const ya = resize('ya', a, [1, 3, 3, 2], true, false);
  const h = g.tensor('h', [1, 2, 1, 1], undefined, F32);
  const yh = resize('yh', h, [1, 4, 1, 1], false, true);
  const x = g.tensor('x', [2, 3, 5, 3], undefined, F32);
  const y1 = resize('y1', x, [2, 7, 4, 3], false, true);
  const y2 = resize('y2', x, [2, 2, 9, 3], false, false);
  const y3 = resize('y3', x, [2, 4, 6, 3], true, false);
  return {
    name: 'resize_bilinear_f32',
    bytes: g.build([a, h, x], [ya, yh, y1, y2, y3]),
    inputSizes: [8, 2, 90],
    range: 10,
    hand: {
      // Channel 0 all -0, channel 1 the corners 1, 2 / 3, 4.
      inputs: [[-0, 1, -0, 2, -0, 3, -0, 4], [4, 10], weights(90, 9, 10)],
      outputs: {
        // align_corners: scale (2 - 1) / (3 - 1) = 0.5, coordinates 0, 0.5, 1. Channel 0: the sum
        // of four -0 products is -0, and TFLite's + 0.0f rounding offset makes it +0.
        0: [0, 1, 0, 1.5, 0, 2, 0, 2, 0, 2.5, 0, 3, 0, 3, 0, 3.5, 0, 4],
        // half_pixel: scale 0.5, coordinates -0.25 (rows 0 and 0, weights 1.25 and -0.25), 0.25,
        // 0.75, 1.25 (rows 1 and 1): 4 * 1.25 + 4 * -0.25 = 4, 3 + 2.5, 1 + 7.5, 7.5 + 2.5.
        1: [4, 5.5, 8.5, 10],
      },
    },
  };
}

describe('float32 RESIZE_BILINEAR: TS reference and host C (ASan + UBSan) agree bit for bit, and match TFLite Micro by hand', () => {
  it('align_corners, half_pixel_centers, neither; up and down; the + 0.0f offset', async () => {
    await checkModel(resizeBilinearModel(), workDir);
  }, 120_000);
});

const MIN_SUBNORMAL = 1.401298464324817e-45;

/** FLOOR_DIV and FLOOR_MOD: same shapes [12] (the hand cases), [3, 4] by a constant [4], [3, 4] by [3, 1]. */
function floorDivModModel(): OpModel {
  const g = new GraphBuilder();
  const bin = (name: string, code: string, x: number, y: number, shape: number[]): number => {
    const t = g.tensor(name, shape, undefined, F32);
    g.op(op(code), [x, y], [t]);
    return t;
  };
  const a = g.tensor('a', [12], undefined, F32);
  const b = g.tensor('b', [12], undefined, F32);
  const c = g.tensor('c', [3, 4], undefined, F32);
  const d = g.tensor('d', [3, 1], undefined, F32);
  const k = g.constant('k', [4], F32, float32Bytes([0.75, -3, 1e-3, -0.3]));
  const outs = [
    bin('fd', 'FLOOR_DIV', a, b, [12]),
    bin('fm', 'FLOOR_MOD', a, b, [12]),
    bin('fd_k', 'FLOOR_DIV', c, k, [3, 4]),
    bin('fm_k', 'FLOOR_MOD', c, k, [3, 4]),
    bin('fd_bc', 'FLOOR_DIV', c, d, [3, 4]),
    bin('fm_bc', 'FLOOR_MOD', c, d, [3, 4]),
  ];
  const big = Math.fround(1e30);
  return {
    name: 'floor_div_mod_f32',
    bytes: g.build([a, b, c, d], outs),
    inputSizes: [12, 12, 12, 3],
    range: 20,
    hand: {
      inputs: [
        [7, -7, 7, -7, -0, 0.5, NaN, Infinity, 88.46627044677734, 16777216, -6, 3 * MIN_SUBNORMAL],
        [2, 2, -2, -2, 5, -0.25, 1, 2, -0.6553056836128235, 3, 3, 2 * MIN_SUBNORMAL],
        [big, -5.5, 5.5, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [7, Infinity, -Infinity],
      ],
      outputs: {
        // floor(double(a) / double(b)): 88.46627 / -0.6553057 is -135.0000048 in double, so -136,
        // though the float32 quotient rounds to -135.
        0: [3, -4, -4, 3, -0, -2, NaN, Infinity, -136, 5592405, -2, 1],
        // fmod, then + b when the remainder's sign differs from b's: -7 mod 2 = -1 + 2; -6 mod 3
        // is fmod's -0, kept (it is == 0); 2^24 mod 3 = 1.
        1: [1, 1, -1, -1, -0, 0, NaN, NaN, Math.fround(Math.fround(88.46627044677734 % -0.6553056836128235) - 0.6553056836128235), 1, -0, MIN_SUBNORMAL],
        // 1e30f mod 7 exactly (BigInt), 5.5 mod -inf = 5.5 then 5.5 + -inf = -inf, -5.5 mod inf = -5.5 + inf = inf.
        5: [Number(BigInt(big) % 7n), -5.5 + 7, 5.5, 1, 2, 3, 4, 5, 6 + -Infinity, 7 + -Infinity, 8 + -Infinity, 9 + -Infinity],
      },
    },
  };
}

describe('float32 FLOOR_DIV and FLOOR_MOD: TS reference and host C (ASan + UBSan) agree bit for bit, and match TFLite Micro by hand', () => {
  it('double-precision floor division, exact fmod with the sign fix, broadcasting, constant divisor', async () => {
    await checkModel(floorDivModModel(), workDir);
  }, 120_000);

  it('refuses a constant zero divisor (TFLite Micro fails the invoke) and an int32 FLOOR_MOD, in one line', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [4], undefined, F32);
    const z = g.constant('z', [4], F32, float32Bytes([1, 2, -0, 4]));
    const y = g.tensor('y', [4], undefined, F32);
    g.op(op('FLOOR_DIV'), [x, z], [y]);
    expect(refusal(() => compileModel(loadSynthetic('fd_zero', g.build([x], [y]))))).toContain("divisor 'z' holds a zero; TFLite Micro's FLOOR_DIV refuses a division by 0");
    const h = new GraphBuilder();
    const p = h.tensor('p', [4], undefined, TensorType.INT32);
    const q = h.tensor('q', [4], undefined, TensorType.INT32);
    const r = h.tensor('r', [4], undefined, TensorType.INT32);
    h.op(op('FLOOR_MOD'), [p, q], [r]);
    expect(refusal(() => compileModel(loadSynthetic('fm_int32', h.build([p, q], [r]))))).toContain('FLOOR_MOD on int32 is not supported');
  });
});

function poolOptions(padding: number, stride: number, filterH: number, filterW: number, act: number): OptionsSpec {
  const f = F.Pool2DOptions;
  return {
    type: BuiltinOptionsType.Pool2DOptions,
    build: (b) => {
      b.startObject(6);
      b.addFieldInt8(f.padding, padding, null);
      b.addFieldInt32(f.strideW, stride, null);
      b.addFieldInt32(f.strideH, stride, null);
      b.addFieldInt32(f.filterW, filterW, null);
      b.addFieldInt32(f.filterH, filterH, null);
      b.addFieldInt8(f.fusedActivation, act, null);
      return b.endObject();
    },
  };
}

/**
 * L2_POOL_2D: [1, 2, 2, 1] 2x2 VALID and 2x2 SAME stride 1 (clipped windows), [1, 1, 2, 1] 1x2
 * (the hand cases); [2, 5, 5, 3] 2x2 VALID stride 2 and 3x3 SAME stride 2 with RELU6.
 */
function l2PoolModel(): OpModel {
  const g = new GraphBuilder();
  const pool = (name: string, x: number, shape: number[], o: OptionsSpec): number => {
    const t = g.tensor(name, shape, undefined, F32);
    g.op(op('L2_POOL_2D'), [x], [t], o);
    return t;
  };
  const a = g.tensor('a', [1, 2, 2, 1], undefined, F32);
  const b = g.tensor('b', [1, 1, 2, 1], undefined, F32);
  const x = g.tensor('x', [2, 5, 5, 3], undefined, F32);
  const outs = [
    pool('valid', a, [1, 1, 1, 1], poolOptions(Pad.VALID, 2, 2, 2, Act.NONE)),
    pool('same', a, [1, 2, 2, 1], poolOptions(Pad.SAME, 1, 2, 2, Act.NONE)),
    pool('big', b, [1, 1, 1, 1], poolOptions(Pad.VALID, 1, 1, 2, Act.NONE)),
    pool('v2', x, [2, 2, 2, 3], poolOptions(Pad.VALID, 2, 2, 2, Act.NONE)),
    pool('s3', x, [2, 3, 3, 3], poolOptions(Pad.SAME, 2, 3, 3, Act.RELU6)),
  ];
  return {
    name: 'l2_pool_f32',
    bytes: g.build([a, b, x], outs),
    inputSizes: [4, 2, 150],
    range: 5,
    hand: {
      inputs: [[3, 4, 0, -0], [1e20, 2], weights(150, 21, 5)],
      outputs: {
        // sqrtf((9 + 16 + 0 + 0) / 4).
        0: [2.5],
        // Windows clipped at the bottom and right: {3, 4, 0, -0}, {4, -0}, {0, -0}, {-0}; the sum
        // starts at +0, so -0 * -0 leaves +0.
        1: [2.5, Math.fround(Math.sqrt(8)), 0, 0],
        // 1e20 * 1e20 overflows float32 to inf; sqrtf(inf / 2) = inf, clamped to FLT_MAX under NONE.
        2: [FLT_MAX],
      },
    },
  };
}

describe('float32 L2_POOL_2D: TS reference and host C (ASan + UBSan) agree bit for bit, and match TFLite Micro by hand', () => {
  it('clipped windows, SAME / VALID, strides, RELU6, float overflow of the squares', async () => {
    await checkModel(l2PoolModel(), workDir);
  }, 120_000);

  it('refuses an int8 L2_POOL_2D in one line (TFLite Micro has float32 only)', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 2, 2, 1], { scale: [0.1], zeroPoint: [0] });
    const y = g.tensor('y', [1, 1, 1, 1], { scale: [0.1], zeroPoint: [0] });
    g.op(op('L2_POOL_2D'), [x], [y], poolOptions(Pad.VALID, 2, 2, 2, Act.NONE));
    expect(refusal(() => compileModel(loadSynthetic('l2_s8', g.build([x], [y]))))).toContain('L2_POOL_2D on int8 is not supported');
  });
});

function svdfOptions(rank: number, act: number): OptionsSpec {
  return {
    type: BuiltinOptionsType.SVDFOptions,
    build: (b) => {
      b.startObject(3);
      b.addFieldInt32(F.SVDFOptions.rank, rank, null);
      b.addFieldInt8(F.SVDFOptions.fusedActivation, act, null);
      return b.endObject();
    },
  };
}

/**
 * Four float32 SVDFs, each with its own variable state: on x [2, 5], A (6 filters, rank 2, memory 4,
 * a bias, RELU6) and B (3 filters, rank 1, memory 4, no bias, NONE); on h [1, 1], H (weights_time
 * [1, 10], NONE) and R (weights_time [1, 0.5], bias -0, RELU6), small enough to follow by hand.
 */
function svdfModel(): Uint8Array {
  const tensors: TensorSpec[] = [];
  const buffers: { data?: Uint8Array }[] = [{}];
  const tensor = (name: string, shape: number[], data?: number[], isVariable = false): number => {
    let buffer = 0;
    if (data) {
      buffers.push({ data: float32Bytes(data) });
      buffer = buffers.length - 1;
    }
    tensors.push({ name, shape, type: F32, buffer, ...(isVariable ? { isVariable } : {}) });
    return tensors.length - 1;
  };
  const x = tensor('x', [2, 5]);
  const h = tensor('h', [1, 1]);
  const operators: { opcode: number; inputs: number[]; outputs: number[]; options: OptionsSpec }[] = [];
  const svdf = (name: string, input: number, batches: number, inputSize: number, filters: number, rank: number, memory: number, wf: number[], wt: number[], bias: number[] | undefined, act: number): number => {
    const w1 = tensor(`${name}_wf`, [filters, inputSize], wf);
    const w2 = tensor(`${name}_wt`, [filters, memory], wt);
    const b = bias ? tensor(`${name}_b`, [filters / rank], bias) : -1;
    const state = tensor(`${name}_state`, [batches, filters * memory], undefined, true);
    const y = tensor(name, [batches, filters / rank]);
    operators.push({ opcode: 0, inputs: [input, w1, w2, b, state], outputs: [y], options: svdfOptions(rank, act) });
    return y;
  };
  const outs = [
    svdf('A', x, 2, 5, 6, 2, 4, weights(30, 51, 1), weights(24, 52, 1), [0.5, -0.25, 0.125], Act.RELU6),
    svdf('B', x, 2, 5, 3, 1, 4, weights(15, 53, 1), weights(12, 54, 1), undefined, Act.NONE),
    svdf('H', h, 1, 1, 1, 1, 2, [1], [1, 10], undefined, Act.NONE),
    svdf('R', h, 1, 1, 1, 1, 2, [1], [1, 0.5], [-0], Act.RELU6),
  ];
  return buildTflite({ opcodes: [{ builtin: op('SVDF') }], tensors, operators, inputs: [x, h], outputs: outs, buffers });
}

describe('float32 SVDF: a sequence of invokes with state, TS reference, host C (ASan + UBSan), Cortex-M4 and Xtensa lx106 bit for bit, and by hand', () => {
  it('state shift, feature and time dot products, bias or none, rank 1 and 2, RELU6 / NONE', async () => {
    const compiled = compileModel(loadSynthetic('svdf_f32', svdfModel()));
    const hs = [1, 2, 3, NaN, 0.25, -1];
    // Step 1 carries the edge values; the others are random.
    const steps = hs.map((hv, t) => [float32Bytes(t === 1 ? edgeFloats(10, 9, 3) : randomFloats(10, 60 + t, 3)), float32Bytes([hv])]);
    const state = new ReferenceState(compiled.model.graph);
    const ref = steps.map((c) => runReference(compiled.model.graph, compiled.layers, c, state));
    const mod = writeCModule(compiled, path.join(workDir, 'svdf_f32'));
    const keepState = steps.map((_, i) => i > 0);
    const host = await runCasesOnHost(mod, steps, { sanitize: true, workDir, keepState });
    const m4 = await runCasesOnQemuMps2('mps2-an386', mod, steps, { workDir, keepState });
    const xtensa = await runCasesOnQemuXtensa(mod, steps, { workDir, keepState });
    for (let t = 0; t < steps.length; t++) {
      for (let o = 0; o < 4; o++) {
        expect(differences(ref[t]![o]!, host[t]![o]!), `host step ${t} output ${o}`).toEqual([]);
        expect(differences(ref[t]![o]!, m4[t]![o]!), `M4 step ${t} output ${o}`).toEqual([]);
        expect(differences(ref[t]![o]!, xtensa[t]![o]!), `Xtensa step ${t} output ${o}`).toEqual([]);
      }
    }
    // H: the state holds [previous, newest] feature values (feature = h): out = previous * 1 + newest * 10.
    expect(ref.slice(0, 4).map((r) => show(floats(r[2]!)[0] as number))).toEqual([10, 21, 32, 'NaN']);
    // R: previous * 1 + newest * 0.5 + bias -0 through RELU6 = fmax(0, fmin(x, 6)); NaN gives fmin's 6.
    expect(ref.slice(0, 5).map((r) => show(floats(r[3]!)[0] as number))).toEqual([0.5, 2, 3.5, 6, 6]);
    // Real numbers came out of A and B on a random step.
    for (const out of ref[2]!.slice(0, 2)) expect(Array.from(floats(out)).some((v) => v !== 0 && Number.isFinite(v))).toBe(true);
  }, 180_000);

  it('refuses int8 weights under a float32 input in one line', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 2], undefined, F32);
    const wf = g.int8Constant('wf', [1, 2], [1, 1], perChannel([0.1], 0));
    const wt = g.constant('wt', [1, 2], F32, float32Bytes([1, 1]));
    const st = g.tensor('st', [1, 2], undefined, F32);
    const y = g.tensor('y', [1, 1], undefined, F32);
    g.op(op('SVDF'), [x, wf, wt, -1, st], [y], svdfOptions(1, Act.NONE));
    expect(refusal(() => compileModel(loadSynthetic('svdf_hybrid', g.build([x, st], [y]))))).toContain("weights_feature 'wf' is int8; the float32 kernel needs float32");
  });
});

/** The batch's ops chained in one model, for the emulated Cortex-M4. */
function chainModel(): { bytes: Uint8Array; outputs: number } {
  const g = new GraphBuilder();
  const t = (name: string, shape: number[]): number => g.tensor(name, shape, undefined, F32);
  const x = t('x', [1, 3, 3, 2]);
  const tc = t('tc', [1, 6, 6, 2]);
  const w = g.constant('w', [2, 3, 3, 2], F32, float32Bytes(weights(36, 41, 1.5)));
  g.op(op('TRANSPOSE_CONV'), [g.int32Constant('tc_shape', [4], [1, 6, 6, 2]), w, x, g.constant('tc_b', [2], F32, float32Bytes([0.5, -0.25]))], [tc], transposeConvOptions(Pad.SAME, 2, 2, Act.NONE));
  const l2 = t('l2', [1, 3, 3, 2]);
  g.op(op('L2_POOL_2D'), [tc], [l2], poolOptions(Pad.VALID, 2, 2, 2, Act.NONE));
  const rs = t('rs', [1, 5, 4, 2]);
  g.op(op('RESIZE_BILINEAR'), [l2, g.int32Constant('rs_size', [2], [5, 4])], [rs], resizeBilinearOptions(false, true));
  const mm = t('mm', [1, 5, 4, 3]);
  g.op(op('BATCH_MATMUL'), [rs, g.constant('mm_k', [2, 3], F32, float32Bytes(weights(6, 43, 2)))], [mm], batchMatMulOptions(false, false));
  const fm = t('fm', [1, 5, 4, 3]);
  g.op(op('FLOOR_MOD'), [mm, g.constant('fm_k', [3], F32, float32Bytes([0.7, -1.3, 2.5]))], [fm]);
  const fd = t('fd', [1, 5, 4, 3]);
  g.op(op('FLOOR_DIV'), [mm, g.constant('fd_k', [3], F32, float32Bytes([0.3, -0.45, 1.1]))], [fd]);
  const outputs = [tc, rs, fm, fd];
  return { bytes: g.build([x], outputs), outputs: outputs.length };
}

describe('the batch on the emulated Cortex-M4', () => {
  it('TRANSPOSE_CONV, L2_POOL_2D, RESIZE_BILINEAR, BATCH_MATMUL, FLOOR_MOD, FLOOR_DIV: TS reference, host C (ASan + UBSan), Cortex-M4 (mps2-an386) and Xtensa lx106 agree bit for bit', async () => {
    const { bytes, outputs } = chainModel();
    const compiled = compileModel(loadSynthetic('chain_f32_b', bytes));
    // Case 0: edge values; cases 1-2: random values only.
    const cases = [0, 1, 2].map((s) => [float32Bytes(s === 0 ? edgeFloats(18, 3, 4) : randomFloats(18, s, 4))]);
    const ref = cases.map((c) => runReference(compiled.model.graph, compiled.layers, c));
    const mod = writeCModule(compiled, path.join(workDir, 'chain_f32_b'));
    const host = await runCasesOnHost(mod, cases, { sanitize: true, workDir });
    const m4 = await runCasesOnQemuMps2('mps2-an386', mod, cases, { workDir });
    // The Xtensa lx106 has no FPU: soft float (and FLOOR_DIV's software double) must give the same bits.
    const xtensa = await runCasesOnQemuXtensa(mod, cases, { workDir });
    for (let c = 0; c < cases.length; c++) {
      expect(ref[c]!.length).toBe(outputs);
      for (let o = 0; o < outputs; o++) {
        expect(differences(ref[c]![o]!, host[c]![o]!), `host case ${c} output ${o}`).toEqual([]);
        expect(differences(ref[c]![o]!, m4[c]![o]!), `M4 case ${c} output ${o}`).toEqual([]);
        expect(differences(ref[c]![o]!, xtensa[c]![o]!), `Xtensa case ${c} output ${o}`).toEqual([]);
      }
    }
    // Real numbers came out of the chain (not all zero or NaN).
    for (const out of ref[1]!) expect(Array.from(floats(out)).some((v) => v !== 0 && Number.isFinite(v))).toBe(true);
  }, 180_000);
});

describe('float_math.h tf_fmodf, tf_floor_f64 and tf_div_f32_as_f64 against the C library and the FPU (host, ASan + UBSan)', () => {
  it('equal to glibc fmodf, floor and a double division on edge pairs and 1,000,000 pseudo-random pairs', () => {
    const exe = path.join(workDir, 'fmod_floor_probe');
    const root = path.join(import.meta.dirname, '..');
    execFileSync('cc', [...HOST_CFLAGS, ...HOST_SANITIZE_FLAGS, '-I', path.join(root, 'runtime-c-templates/portable'), path.join(root, 'test/c/fmod_floor_probe.c'), '-o', exe, '-lm']);
    const [pairs, fmodDiffs, floorDiffs, divDiffs] = execFileSync(exe, ['1000000'], { encoding: 'utf8' }).trim().split(' ').map(Number);
    expect(pairs).toBe(24 * 24 + 1_000_000);
    expect(fmodDiffs).toBe(0);
    expect(floorDiffs).toBe(0);
    expect(divDiffs).toBe(0);
  }, 60_000);
});
