// Issue 15 follow-up: the op modules that sum constant weights into an int32 (or int64) accumulator
// declare it through their `accumulators` hook, and check_accumulators refuses constants that could
// overflow it, with the built-in layers' one-line message. For each module a synthetic model whose
// bias or weights overflow by one is refused, and the same model at the limit still compiles.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../compiler/cli/main.ts';
import { setLogSink } from '../compiler/cli/log.ts';
import { compileModel, writeCModule } from '../compiler/compile.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { firstDifference } from './helpers/shared.ts';
import { EXIT_USER_ERROR } from '../compiler/errors.ts';
import { BuiltinOp, BuiltinOptionsType, F, TensorType } from '../compiler/frontends/tflite/schema.ts';
import { refusal } from './helpers/refusal.ts';
import { GraphBuilder, loadSynthetic, Pad, perChannel, q } from './helpers/synthetic_models.ts';
import { buildTflite, conv2dOptions, depthwiseOptions, int32Bytes, int8Bytes, pool2dOptions, type OptionsSpec, type TensorSpec } from './helpers/tflite_builder.ts';

const INT32_MAX = 2 ** 31 - 1;
/** TFLite Micro's bound on the int64 requantization's input (MultiplyByQuantizedMultiplier for int64). */
const REQ64_MAX = 2n ** 47n - 1n;
const Code = { TRANSPOSE_CONV: 67, SVDF: 27, BATCH_MATMUL: 126 } as const;

const int16Bytes = (values: readonly number[]): Uint8Array => new Uint8Array(Int16Array.from(values).buffer);
const int64Bytes = (values: readonly bigint[]): Uint8Array => new Uint8Array(BigInt64Array.from(values).buffer);
const fill = (n: number, v: number): number[] => new Array<number>(n).fill(v);
const compile = (name: string, bytes: Uint8Array): unknown => compileModel(loadSynthetic(name, bytes));

/** The refusal's text from `where` on, with the bound the test computed by hand. */
function overflowMessage(what: string, bound: bigint | number, bits: 32 | 64 = 32): RegExp {
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const tail =
    bits === 32
      ? `can overflow the 32-bit accumulator (|bias| + sum |weight| x max |input| = ${bound} > ${INT32_MAX}); no converter writes such constants`
      : `can overflow the 64-bit accumulator's requantization (|bias| + sum |weight| x max |input| = ${bound} > ${REQ64_MAX}, TFLite Micro's 2^47 bound); no converter writes such constants`;
  return new RegExp(`${esc(what)} ${esc(tail)}$`);
}

/** Per-channel int8 FULLY_CONNECTED: input [1, depth] with zero point 5, weights all `w`, two channels. */
function perChannelFc(depth: number, w: number, bias: readonly number[]): Uint8Array {
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, depth], q(0.5, 5));
  const f = g.int8Constant('w', [2, depth], fill(2 * depth, w), perChannel([0.01, 0.02], 0));
  const b = g.int32Constant('b', [2], bias);
  const y = g.tensor('y', [1, 2], q(1));
  g.op(BuiltinOp.FULLY_CONNECTED, [x, f, b], [y]);
  return g.build([x], [y]);
}

describe('per-channel FULLY_CONNECTED', () => {
  // Input offset -5: (x - 5) reaches |-128 - 5| = 133; weights -128 give sum |w| = 128 x depth.
  const depth = 16;
  const worst = 128 * depth * 133;

  it('refuses a bias one past the limit, compiles one at it', () => {
    const msg = refusal(() => compile('fcpc', perChannelFc(depth, -128, [0, INT32_MAX - worst + 1])));
    expect(msg).toMatch(/^fcpc: operator 0 \(FULLY_CONNECTED\): /);
    expect(msg).toMatch(overflowMessage(`bias 'b' value ${INT32_MAX - worst + 1} of output channel 1`, INT32_MAX + 1));
    expect(() => compile('fcpc', perChannelFc(depth, -128, [0, INT32_MAX - worst]))).not.toThrow();
  });

  it('with a filter zero point, also bounds the kernel\'s raw int32 dot product (the offsets are folded into the bias)', () => {
    // Zero point -100: |w + 100| = 28, so TFLite's sum stays small, but the kernel's sum of w x x
    // reaches 128 x 128 x depth, which passes INT32_MAX at depth 2^17.
    const model = (d: number): Uint8Array => {
      const g = new GraphBuilder();
      const x = g.tensor('x', [1, d], q(0.5));
      const f = g.int8Constant('w', [2, d], fill(2 * d, -128), { scale: [0.01, 0.02], zeroPoint: [-100, -100], axis: 0 });
      const y = g.tensor('y', [1, 2], q(1));
      g.op(BuiltinOp.FULLY_CONNECTED, [x, f, -1], [y]);
      return g.build([x], [y]);
    };
    expect(refusal(() => compile('fcpc', model(2 ** 17)))).toMatch(overflowMessage("filter 'w' output channel 0", 2 ** 31));
    expect(() => compile('fcpc', model(2 ** 17 - 1))).not.toThrow();
  });

  it('is refused on the command line with exit code 2 and one line', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-acc-'));
    try {
      const file = path.join(dir, 'fcpc.tflite');
      writeFileSync(file, perChannelFc(depth, -128, [-INT32_MAX, 0]));
      let stderr = '';
      const restore = setLogSink({ write: (t: string) => (stderr += t) });
      const log = console.log;
      console.log = () => undefined;
      let code: number;
      try {
        code = await main(['compile', file, '-o', path.join(dir, 'out')]);
      } finally {
        console.log = log;
        restore();
      }
      expect(code).toBe(EXIT_USER_ERROR);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toContain(`bias 'b' value ${-INT32_MAX} of output channel 0 can overflow the 32-bit accumulator`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** int16x8 FULLY_CONNECTED: int16 input [1, 4], per-tensor weights -128 with zero point 3, an int32 or int64 bias. */
function fcS16(bias: Uint8Array, biasType: number): Uint8Array {
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 4], q(1 / 1024), TensorType.INT16);
  const f = g.int8Constant('w', [2, 4], fill(8, -128), q(0.01, 3));
  const b = g.constant('b', [2], biasType, bias);
  const y = g.tensor('y', [1, 2], q(1 / 64), TensorType.INT16);
  g.op(BuiltinOp.FULLY_CONNECTED, [x, f, b], [y]);
  return g.build([x], [y]);
}

describe('int16x8 FULLY_CONNECTED', () => {
  // Filter offset -3: |-128 - 3| = 131 per weight; int16 inputs reach 32768.
  const worst = 131 * 4 * 32768;

  it('refuses an int32 bias one past the 32-bit limit, compiles one at it', () => {
    const msg = refusal(() => compile('fcs16', fcS16(int32Bytes([INT32_MAX - worst + 1, 0]), TensorType.INT32)));
    expect(msg).toMatch(overflowMessage(`bias 'b' value ${INT32_MAX - worst + 1} of output channel 0`, INT32_MAX + 1));
    expect(() => compile('fcs16', fcS16(int32Bytes([INT32_MAX - worst, 0]), TensorType.INT32))).not.toThrow();
  });

  it('checks an int64 bias against the 64-bit requantization\'s 2^47 bound', () => {
    const over = -(REQ64_MAX - BigInt(worst) + 1n);
    expect(refusal(() => compile('fcs16', fcS16(int64Bytes([0n, over]), TensorType.INT64)))).toMatch(overflowMessage(`bias 'b' value ${over} of output channel 1`, REQ64_MAX + 1n, 64));
    // Far beyond 32 bits, but the int64 accumulator holds it.
    expect(() => compile('fcs16', fcS16(int64Bytes([0n, -(REQ64_MAX - BigInt(worst))]), TensorType.INT64))).not.toThrow();
  });
});

/** int16x8 CONV_2D (3x3, VALID, 2 input channels) or DEPTHWISE_CONV_2D (3x3, 2 channels); weights 127. */
function convS16(depthwise: boolean, batch: number, bias: Uint8Array, biasType: number, outScale = 1 / 64): Uint8Array {
  const g = new GraphBuilder();
  const x = g.tensor('x', [batch, 3, 3, 2], q(1 / 1024), TensorType.INT16);
  const f = g.int8Constant('w', depthwise ? [1, 3, 3, 2] : [2, 3, 3, 2], fill(depthwise ? 18 : 36, 127), perChannel([0.01, 0.02], depthwise ? 3 : 0));
  const b = g.constant('b', [2], biasType, bias);
  const y = g.tensor('y', [batch, 1, 1, 2], q(outScale), TensorType.INT16);
  if (depthwise) g.op(BuiltinOp.DEPTHWISE_CONV_2D, [x, f, b], [y], depthwiseOptions({ padding: Pad.VALID, strideW: 1, strideH: 1, depthMultiplier: 1 }));
  else g.op(BuiltinOp.CONV_2D, [x, f, b], [y], conv2dOptions({ padding: Pad.VALID, strideW: 1, strideH: 1 }));
  return g.build([x], [y]);
}

describe('int16x8 CONV_2D and DEPTHWISE_CONV_2D', () => {
  it('refuses a conv int32 bias one past the limit, compiles one at it (batch 1 and batched)', () => {
    const worst = 127 * 18 * 32768;
    for (const batch of [1, 2]) {
      const msg = refusal(() => compile('convs16', convS16(false, batch, int32Bytes([0, INT32_MAX - worst + 1]), TensorType.INT32)));
      expect(msg).toMatch(/^convs16: operator 0 \(CONV_2D\): /);
      expect(msg).toMatch(overflowMessage(`bias 'b' value ${INT32_MAX - worst + 1} of output channel 1`, INT32_MAX + 1));
      expect(() => compile('convs16', convS16(false, batch, int32Bytes([0, INT32_MAX - worst]), TensorType.INT32))).not.toThrow();
    }
  });

  it('checks a depthwise int64 bias against the 64-bit accumulator, over its 9 taps', () => {
    const worst = BigInt(127 * 9 * 32768);
    const over = REQ64_MAX - worst + 1n;
    expect(refusal(() => compile('dws16', convS16(true, 1, int64Bytes([over, 0n]), TensorType.INT64)))).toMatch(overflowMessage(`bias 'b' value ${over} of output channel 0`, REQ64_MAX + 1n, 64));
    expect(() => compile('dws16', convS16(true, 1, int64Bytes([REQ64_MAX - worst, 0n]), TensorType.INT64))).not.toThrow();
  });

  it('refuses an int64-bias requantization shift past 14 (15 - shift would be a negative C shift count)', () => {
    // Channel 1's rescale factor (1/1024 x 0.02 / out) is 1.5 x 2^14 (shift 15) or 1.5 x 2^13 (shift 14).
    const outScale = 0.02 / 1024 / (1.5 * 2 ** 14);
    const bias = int64Bytes([0n, 0n]);
    expect(refusal(() => compile('convs16', convS16(false, 1, bias, TensorType.INT64, outScale)))).toMatch(/operator 0 \(CONV_2D\): output channel 1 needs a requantization shift of 15; the 64-bit requantization takes at most 14/);
    expect(() => compile('convs16', convS16(false, 1, bias, TensorType.INT64, 2 * outScale))).not.toThrow();
    // An int32 bias requantizes in 32 bits, where a left shift of 15 is defined.
    expect(() => compile('convs16', convS16(false, 1, int32Bytes([0, 0]), TensorType.INT32, outScale))).not.toThrow();
  });

  it('computes the at-limit int64 bias exactly on host C (ASan + UBSan) as on the reference', async () => {
    const worst = BigInt(127 * 9 * 32768);
    // Rescale factors 1.2 x 2^-32 and 2.4 x 2^-32 (shift -31): channel 0 at the bound saturates,
    // channel 1 (bias -2^45) lands inside int16, so a wrong sum shows.
    const outScale = (0.01 / 1024) / (1.2 * 2 ** -32);
    const c = compileModel(loadSynthetic('dws16', convS16(true, 1, int64Bytes([REQ64_MAX - worst, -(2n ** 45n)]), TensorType.INT64, outScale)));
    const inputs = [[int16Bytes(fill(18, 32767))], [int16Bytes(fill(18, -32768))], [int16Bytes(Array.from({ length: 18 }, (_, i) => (i % 2 ? 32767 : -32768)))]];
    const expected = inputs.map((x) => runReference(c.model.graph, c.layers, x));
    expect(expected.flatMap((e) => Array.from(new Int16Array((e[0] as Uint8Array).slice().buffer))).some((v) => v !== 0 && Math.abs(v) < 32767)).toBe(true);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-acc-host-'));
    try {
      const actual = await runCasesOnHost(writeCModule(c, path.join(dir, 'm')), inputs, { sanitize: true, workDir: dir });
      expected.forEach((e, i) => expect(firstDifference(e, actual[i] ?? []), `case ${i}`).toBeUndefined());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** int8 BATCH_MATMUL [1, 1, depth] x [depth, 2], both zero points 127; rhs column 1 is -128 (|-128 - 127| = 255). */
function batchMatMul(depth: number, constantRhs: boolean): Uint8Array {
  const g = new GraphBuilder();
  const a = g.tensor('a', [1, 1, depth], q(0.5, 127));
  const rhsValues = Array.from({ length: 2 * depth }, (_, i) => (i % 2 === 1 ? -128 : 0));
  const b = constantRhs ? g.int8Constant('rhs', [depth, 2], rhsValues, q(0.5, 127)) : g.tensor('rhs', [1, depth, 2], q(0.5, 127));
  const y = g.tensor('y', [1, 1, 2], q(1));
  g.op(Code.BATCH_MATMUL, [a, b], [y]);
  return g.build(constantRhs ? [a] : [a, b], [y]);
}

describe('BATCH_MATMUL', () => {
  // 255 x 255 x depth fits 32 bits up to depth 33025.
  it('refuses a constant rhs whose column could overflow, compiles one at the limit', () => {
    expect(refusal(() => compile('bmm', batchMatMul(33026, true)))).toMatch(overflowMessage("filter 'rhs' rhs column 1", 33026 * 255 * 255));
    expect(() => compile('bmm', batchMatMul(33025, true))).not.toThrow();
  });

  it('refuses an int16 depth past the int64 requantization bound (2^30 per product, 2^47 in all), and a shift past 14', () => {
    const int16Model = (depth: number, outScale: number): Uint8Array => {
      const g = new GraphBuilder();
      const a = g.tensor('a', [1, 1, depth], q(1), TensorType.INT16);
      const b = g.tensor('rhs', [1, depth, 1], q(1), TensorType.INT16);
      const y = g.tensor('y', [1, 1, 1], q(outScale), TensorType.INT16);
      g.op(Code.BATCH_MATMUL, [a, b], [y]);
      return g.build([a, b], [y]);
    };
    expect(refusal(() => compile('bmm16', int16Model(131072, 1)))).toContain(`depth 131072 x max |lhs| 32768 x max |rhs| 32768 = ${2 ** 47} can overflow the 64-bit accumulator's requantization`);
    expect(() => compile('bmm16', int16Model(131071, 1))).not.toThrow();
    expect(refusal(() => compile('bmm16', int16Model(4, 1 / (1.5 * 2 ** 14))))).toContain('needs a requantization shift of 15; the 64-bit requantization takes at most 14');
    expect(() => compile('bmm16', int16Model(4, 1 / (1.5 * 2 ** 13)))).not.toThrow();
  });

  it('refuses two int8 activations whose depth could overflow, compiles the limit', () => {
    expect(refusal(() => compile('bmm', batchMatMul(33026, false)))).toContain(`depth 33026 x max |lhs| 255 x max |rhs| 255 = ${33026 * 255 * 255} can overflow the 32-bit accumulator`);
    expect(() => compile('bmm', batchMatMul(33025, false))).not.toThrow();
  });
});

function transposeConvOptions(stride: number): OptionsSpec {
  const f = F.TransposeConvOptions;
  return {
    type: BuiltinOptionsType.TransposeConvOptions,
    build: (b) => {
      b.startObject(5);
      b.addFieldInt8(f.padding, Pad.SAME, null);
      b.addFieldInt32(f.strideW, stride, null);
      b.addFieldInt32(f.strideH, stride, null);
      return b.endObject();
    },
  };
}

/** TRANSPOSE_CONV, 3x3 kernel of 127s, stride 2, 1 input channel, 2x2 -> 4x4; int8 (int32 bias) or int16 (int64 bias). */
function transposeConv(int16: boolean, bias: Uint8Array): Uint8Array {
  const g = new GraphBuilder();
  const shape = g.int32Constant('shape', [4], [1, 4, 4, 2]);
  const w = g.int8Constant('w', [2, 3, 3, 1], fill(18, 127), perChannel([0.01, 0.02], 0));
  const type = int16 ? TensorType.INT16 : TensorType.INT8;
  const x = g.tensor('x', [1, 2, 2, 1], q(0.5), type);
  const b = g.constant('b', [2], int16 ? TensorType.INT64 : TensorType.INT32, bias);
  const y = g.tensor('y', [1, 4, 4, 2], q(1), type);
  g.op(Code.TRANSPOSE_CONV, [shape, w, x, b], [y], transposeConvOptions(2));
  return g.build([x], [y]);
}

describe('TRANSPOSE_CONV', () => {
  it('bounds each output by its stride phase (4 of the 9 taps at most), not the whole kernel', () => {
    // Phase (0, 0) gathers taps (0|2, 0|2): 4 x 127 x 128; the whole kernel would be 9 x 127 x 128.
    const worst = 4 * 127 * 128;
    expect(refusal(() => compile('tconv', transposeConv(false, int32Bytes([INT32_MAX - worst + 1, 0]))))).toMatch(
      overflowMessage(`bias 'b' value ${INT32_MAX - worst + 1} of output channel 0`, INT32_MAX + 1),
    );
    expect(() => compile('tconv', transposeConv(false, int32Bytes([INT32_MAX - worst, 0])))).not.toThrow();
  });

  it('checks the int16 kernel int64 bias against the 64-bit accumulator', () => {
    const worst = BigInt(4 * 127 * 32768);
    const over = -(REQ64_MAX - worst + 1n);
    expect(refusal(() => compile('tconv16', transposeConv(true, int64Bytes([0n, over]))))).toMatch(overflowMessage(`bias 'b' value ${over} of output channel 1`, REQ64_MAX + 1n, 64));
    expect(() => compile('tconv16', transposeConv(true, int64Bytes([0n, -(REQ64_MAX - worst)])))).not.toThrow();
  });
});

function svdfOptions(rank: number): OptionsSpec {
  return {
    type: BuiltinOptionsType.SVDFOptions,
    build: (b) => {
      b.startObject(3);
      b.addFieldInt32(F.SVDFOptions.rank, rank, null);
      return b.endObject();
    },
  };
}

interface SvdfCase {
  inputSize: number;
  /** Every weights_feature value. */
  feature: number;
  timeType: number;
  /** Every weights_time value. */
  time: number;
  bias: number;
}

/** SVDF: input zero point 127, rank 2, one unit, memory 3, state zero point -127 (int8 state: |127 + 127| = 254). */
function svdf(c: SvdfCase): Uint8Array {
  const memory = 3;
  const int16 = c.timeType === TensorType.INT16;
  const tensors: TensorSpec[] = [
    { name: 'x', shape: [1, c.inputSize], type: TensorType.INT8, buffer: 0, quant: q(0.5, 127) },
    { name: 'wf', shape: [2, c.inputSize], type: TensorType.INT8, buffer: 1, quant: q(0.5) },
    { name: 'wt', shape: [2, memory], type: c.timeType, buffer: 2, quant: q(0.25) },
    { name: 'b', shape: [1], type: TensorType.INT32, buffer: 3, quant: q(0.25) },
    // The state is a variable tensor, as TFLite Micro requires.
    { name: 'state', shape: [1, 2 * memory], type: c.timeType, buffer: 0, quant: q(1, int16 ? 0 : -127), isVariable: true },
    { name: 'y', shape: [1, 1], type: TensorType.INT8, buffer: 0, quant: q(1) },
  ];
  return buildTflite({
    opcodes: [{ builtin: Code.SVDF }],
    tensors,
    operators: [{ opcode: 0, inputs: [0, 1, 2, 3, 4], outputs: [5], options: svdfOptions(2) }],
    inputs: [0],
    outputs: [5],
    buffers: [{}, { data: int8Bytes(fill(2 * c.inputSize, c.feature)) }, { data: int16 ? int16Bytes(fill(6, c.time)) : int8Bytes(fill(6, c.time)) }, { data: int32Bytes([c.bias]) }],
  });
}

describe('SVDF', () => {
  it('refuses an int8 time sum (bias + rank x memory x weight x state) one past the limit, compiles one at it', () => {
    const worst = 6 * 128 * 254;
    const base = { inputSize: 4, feature: 1, timeType: TensorType.INT8, time: -128 };
    const msg = refusal(() => compile('svdf', svdf({ ...base, bias: -(INT32_MAX - worst + 1) })));
    expect(msg).toMatch(/^svdf: operator 0 \(SVDF\): /);
    expect(msg).toMatch(overflowMessage(`bias 'b' value ${-(INT32_MAX - worst + 1)} of output channel 0`, INT32_MAX + 1));
    expect(() => compile('svdf', svdf({ ...base, bias: -(INT32_MAX - worst) }))).not.toThrow();
  });

  it('refuses a feature dot product that could overflow, naming the filter', () => {
    // |-128| x |-128 - 127| = 32640 per input: 65794 inputs pass INT32_MAX, 65793 do not.
    const base = { feature: -128, timeType: TensorType.INT8, time: 1, bias: 0 };
    expect(refusal(() => compile('svdf', svdf({ ...base, inputSize: 65794 })))).toMatch(overflowMessage("filter 'wf' filter 0", 65794 * 32640));
    expect(() => compile('svdf', svdf({ ...base, inputSize: 65793 }))).not.toThrow();
  });

  it('lets an int16 time sum wrap as TFLite Micro does (converters write such models)', () => {
    // 6 x 32768 x 32768 is far past 32 bits; the kernel wraps through uint32 like the reference.
    expect(() => compile('svdf', svdf({ inputSize: 4, feature: 1, timeType: TensorType.INT16, time: -32768, bias: INT32_MAX }))).not.toThrow();
  });
});

/** int16 AVERAGE_POOL_2D over the whole h x w image (one output value). */
function avgPoolS16(h: number, w: number): Uint8Array {
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, h, w, 1], q(1 / 1024), TensorType.INT16);
  const y = g.tensor('y', [1, 1, 1, 1], q(1 / 1024), TensorType.INT16);
  g.op(BuiltinOp.AVERAGE_POOL_2D, [x], [y], pool2dOptions({ padding: Pad.VALID, strideW: 1, strideH: 1, filterW: w, filterH: h }));
  return g.build([x], [y]);
}

describe('int16 AVERAGE_POOL_2D', () => {
  it('refuses a window of 65536 inputs (int32 sum plus rounding), compiles and runs 65535 exactly on host C', async () => {
    expect(refusal(() => compile('pool16', avgPoolS16(256, 256)))).toMatch(
      /operator 0 \(AVERAGE_POOL_2D\): window of 256 x 256 inputs can overflow the 32-bit accumulator \(\|bias\| \+ sum \|weight\| x max \|input\| = 2147483648 > 2147483647\)$/,
    );
    // 65535 x -32768 - 32767 is exactly INT32_MIN + 1: the rounding still fits.
    const c = compileModel(loadSynthetic('pool16', avgPoolS16(255, 257)));
    const inputs = [[int16Bytes(fill(255 * 257, -32768))], [int16Bytes(fill(255 * 257, 32767))]];
    const expected = inputs.map((x) => runReference(c.model.graph, c.layers, x));
    expect(expected.map((e) => new Int16Array((e[0] as Uint8Array).slice().buffer)[0])).toEqual([-32768, 32767]);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-acc-pool-'));
    try {
      const actual = await runCasesOnHost(writeCModule(c, path.join(dir, 'm')), inputs, { sanitize: true, workDir: dir });
      expected.forEach((e, i) => expect(firstDifference(e, actual[i] ?? []), `case ${i}`).toBeUndefined());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
