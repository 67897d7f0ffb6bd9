// float32 kernels: expf (compiler/ops/expf.ts, tf_expf in tf_float.h) against the C runtime and
// the host's glibc, exact float32 C literals, and small synthetic float32 models run on the TS
// reference and on host C (ASan + UBSan), every output byte compared. The corpus float models
// (test/corpus.test.ts) check the same kernels against TFLite Micro's goldens.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule } from '../compiler/compile.ts';
import { f32Literal } from '../compiler/emit-c/c_literals.ts';
import { TEMPLATE_ROOT } from '../compiler/emit-c/kernel_sources.ts';
import { BuiltinOp, BuiltinOptionsType, F, TensorType, builtinOperatorCode } from '../compiler/frontends/tflite/schema.ts';
import { exp2TableBits, expf } from '../compiler/ops/expf.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { HOST_CFLAGS, runCasesOnHost } from '../compiler/targets/host.ts';
import { refusal } from './helpers/refusal.ts';
import { addOptions, conv2dOptions, depthwiseOptions, fullyConnectedOptions, mulOptions, pool2dOptions, softmaxOptions, type OptionsSpec } from './helpers/tflite_builder.ts';
import { Act, asFloat32, float32Bytes, GraphBuilder, loadSynthetic, Pad, Prng } from './helpers/synthetic_models.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-float-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const F32 = TensorType.FLOAT32;

/** 0x1.04845ep5: where glibc's FMA build of expf rounds the other way (measured, see docs/float.md). */
const KNOWN_FMA_INPUT = 0x104845e / 2 ** 19;

function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/** Inputs for expf: a spread over every exponent of both signs, the range edges and the special values. */
function expfSample(): Float32Array {
  const rng = new Prng(7);
  const out: number[] = [0, -0, 1, -1, 88, -88, 88.72283172607422, 88.72284, -103.97207641601562, -103.9721, -87.5, KNOWN_FMA_INPUT, Infinity, -Infinity, NaN, 1e-30, -1e-45];
  for (let i = 0; i < 60_000; i++) {
    const u = rng.next() >>> 0;
    const v = new Float32Array(new Uint32Array([u]).buffer)[0] as number;
    // Keep magnitudes where exp is neither 1 nor out of range most of the time.
    out.push(Math.abs(v) < 128 ? v : (v / 2 ** Math.ceil(Math.log2(Math.abs(v) / 100 + 1))) || 0);
  }
  return Float32Array.from(out);
}

describe('expf', () => {
  it("the C runtime's 2^(j/32) table equals the one computed from exact integers", () => {
    const header = readFileSync(path.join(TEMPLATE_ROOT, 'portable/tf_float.h'), 'utf8');
    const cTable = [...header.matchAll(/UINT64_C\(0x([0-9a-f]{16})\)/g)].map((m) => BigInt(`0x${m[1]}`));
    expect(cTable).toEqual(exp2TableBits());
  });

  it('TS expf equals tf_expf (C) and the host libm expf, and tf_sqrtf is correctly rounded, on a sample of 60,000 inputs', () => {
    const xs = expfSample();
    const dir = path.join(workDir, 'expf');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(path.join(dir, 'in.bin'), new Uint8Array(xs.buffer));
    const src = `#include <math.h>
#include <stdio.h>
#include "tf_quant.h"
#include "tf_float.h"
int main(void) {
    FILE *in = fopen("in.bin", "rb"), *a = fopen("tf.bin", "wb"), *b = fopen("libm.bin", "wb"), *c = fopen("sqrt.bin", "wb");
    float x;
    if (!in || !a || !b || !c) return 1;
    while (fread(&x, sizeof x, 1, in) == 1) {
        const float y = tf_expf(x), z = expf(x), r = tf_sqrtf(x);
        fwrite(&y, sizeof y, 1, a);
        fwrite(&z, sizeof z, 1, b);
        fwrite(&r, sizeof r, 1, c);
    }
    fclose(in); fclose(a); fclose(b); fclose(c);
    return 0;
}
`;
    writeFileSync(path.join(dir, 'expf.c'), src);
    execFileSync('cc', [...HOST_CFLAGS, '-I', path.join(TEMPLATE_ROOT, 'portable'), 'expf.c', '-o', 'expf', '-lm'], { cwd: dir });
    execFileSync('./expf', [], { cwd: dir });
    const tf = bitsOf(new Float32Array(new Uint8Array(readFileSync(path.join(dir, 'tf.bin'))).buffer));
    const libm = bitsOf(new Float32Array(new Uint8Array(readFileSync(path.join(dir, 'libm.bin'))).buffer));
    const ts = bitsOf(Float32Array.from(xs, (x) => expf(x)));
    expect(tf.length).toBe(xs.length);
    const differ = (a: Uint32Array, b: Uint32Array): number[] => [...a.keys()].filter((i) => a[i] !== b[i] && !(Number.isNaN(xs[i]) && (a[i]! & 0x7fc00000) === 0x7fc00000 && (b[i]! & 0x7fc00000) === 0x7fc00000));
    expect(differ(ts, tf), 'TS vs C').toEqual([]);
    // glibc's FMA build (x86 with FMA, as here) rounds KNOWN_FMA_INPUT the other way (1 ulp); see docs/float.md.
    const knownFma = xs.indexOf(KNOWN_FMA_INPUT);
    expect(differ(tf, libm).filter((i) => i !== knownFma), 'C vs host libm').toEqual([]);
    // tf_sqrtf (integer, no libm) is correctly rounded: JS's double sqrt rounded to float32 is too.
    const sq = new Float32Array(new Uint8Array(readFileSync(path.join(dir, 'sqrt.bin'))).buffer);
    const sqDiffer = [...xs.keys()].filter((i) => {
      const want = Math.fround(Math.sqrt(xs[i] as number));
      return Number.isNaN(want) ? !Number.isNaN(sq[i]) : !Object.is(sq[i], want);
    });
    expect(sqDiffer, 'tf_sqrtf vs Math.sqrt').toEqual([]);
  });
});

describe('f32Literal', () => {
  it('C parses every literal back to the same float32 bits', () => {
    const values = [0, -0, 1, -1.5, 0.1, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, 1.1754942106924411e-38, 6, 123456.78125, Infinity, -Infinity];
    const dir = path.join(workDir, 'literals');
    execFileSync('mkdir', ['-p', dir]);
    const src = `#include <stdio.h>
#include <string.h>
#include <stdint.h>
static const float v[${values.length}] = { ${values.map(f32Literal).join(', ')} };
int main(void) { for (int i = 0; i < ${values.length}; ++i) { uint32_t u; memcpy(&u, &v[i], 4); printf("%u\\n", u); } return 0; }
`;
    writeFileSync(path.join(dir, 'lit.c'), src);
    execFileSync('cc', [...HOST_CFLAGS, 'lit.c', '-o', 'lit'], { cwd: dir });
    const printed = execFileSync('./lit', [], { cwd: dir, encoding: 'utf8' }).trim().split('\n').map(Number);
    expect(printed).toEqual(Array.from(bitsOf(Float32Array.from(values))));
  });
});

/** Random float32 cases in [-range, range], with some exact zeros and a large value mixed in. */
function floatCases(n: number, sizes: readonly number[], range: number, seed: number): Uint8Array[][] {
  const rng = new Prng(seed);
  return Array.from({ length: n }, () =>
    sizes.map((size) => float32Bytes(Array.from({ length: size }, (_, i) => (i % 11 === 3 ? 0 : i % 17 === 5 ? range * 40 : (rng.next() / 2 ** 32 - 0.5) * 2 * range)))),
  );
}

function randomFloats(n: number, seed: number, scale = 1): number[] {
  const rng = new Prng(seed);
  return Array.from({ length: n }, () => (rng.next() / 2 ** 32 - 0.5) * 2 * scale);
}

interface FloatModel {
  name: string;
  bytes: Uint8Array;
  inputSizes: number[];
  range: number;
  /** Cases other than float32 inputs in [-range, range]. */
  cases?: () => Uint8Array[][];
  /** Output 0 worked out by hand from input 0, where that is simple. */
  expected?: (x: number[]) => number[];
}

function fcSoftmaxModel(): FloatModel {
  const g = new GraphBuilder();
  const x = g.tensor('x', [2, 12], undefined, F32);
  const w1 = g.constant('w1', [8, 12], F32, float32Bytes(randomFloats(96, 1)));
  const b1 = g.constant('b1', [8], F32, float32Bytes(randomFloats(8, 2)));
  const h = g.tensor('h', [2, 8], undefined, F32);
  g.op(BuiltinOp.FULLY_CONNECTED, [x, w1, b1], [h], fullyConnectedOptions({ act: Act.RELU6 }));
  const w2 = g.constant('w2', [5, 8], F32, float32Bytes(randomFloats(40, 3, 2)));
  const logits = g.tensor('logits', [2, 5], undefined, F32);
  g.op(BuiltinOp.FULLY_CONNECTED, [h, w2, -1], [logits], fullyConnectedOptions({}));
  const y = g.tensor('y', [2, 5], undefined, F32);
  g.op(BuiltinOp.SOFTMAX, [logits], [y], softmaxOptions(1.7));
  return { name: 'fc_softmax_f32', bytes: g.build([x], [y]), inputSizes: [24], range: 3 };
}

/** Batch 2: depthwise (SAME, stride 2, multiplier 2, RELU) -> conv (VALID, dilation 2, no bias) -> average pool (SAME). */
function depthwiseConvAvgModel(): FloatModel {
  const g = new GraphBuilder();
  const x = g.tensor('x', [2, 7, 6, 3], undefined, F32);
  const dwW = g.constant('dw_w', [1, 3, 3, 6], F32, float32Bytes(randomFloats(54, 4)));
  const dwB = g.constant('dw_b', [6], F32, float32Bytes(randomFloats(6, 5)));
  const h = g.tensor('h', [2, 4, 3, 6], undefined, F32);
  g.op(BuiltinOp.DEPTHWISE_CONV_2D, [x, dwW, dwB], [h], depthwiseOptions({ padding: Pad.SAME, strideH: 2, strideW: 2, depthMultiplier: 2, act: Act.RELU }));
  const cW = g.constant('c_w', [5, 2, 2, 6], F32, float32Bytes(randomFloats(120, 6)));
  const c = g.tensor('c', [2, 2, 1, 5], undefined, F32);
  g.op(BuiltinOp.CONV_2D, [h, cW, -1], [c], conv2dOptions({ padding: Pad.VALID, strideH: 1, strideW: 1, dilationH: 2, dilationW: 2, act: Act.RELU_N1_TO_1 }));
  const y = g.tensor('y', [2, 2, 1, 5], undefined, F32);
  g.op(BuiltinOp.AVERAGE_POOL_2D, [c], [y], pool2dOptions({ padding: Pad.SAME, strideH: 1, strideW: 1, filterH: 2, filterW: 2 }));
  return { name: 'dw_conv_avg_f32', bytes: g.build([x], [y]), inputSizes: [2 * 7 * 6 * 3], range: 2 };
}

/** conv (SAME, bias, no activation) -> max pool (SAME 3x3, stride 2, RELU6). */
function convMaxModel(): FloatModel {
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 5, 5, 2], undefined, F32);
  const w = g.constant('w', [4, 3, 3, 2], F32, float32Bytes(randomFloats(72, 7, 3)));
  const b = g.constant('b', [4], F32, float32Bytes(randomFloats(4, 8)));
  const c = g.tensor('c', [1, 5, 5, 4], undefined, F32);
  g.op(BuiltinOp.CONV_2D, [x, w, b], [c], conv2dOptions({ padding: Pad.SAME, strideH: 1, strideW: 1 }));
  const y = g.tensor('y', [1, 3, 3, 4], undefined, F32);
  g.op(BuiltinOp.MAX_POOL_2D, [c], [y], pool2dOptions({ padding: Pad.SAME, strideH: 2, strideW: 2, filterH: 3, filterW: 3, act: Act.RELU6 }));
  return { name: 'conv_max_f32', bytes: g.build([x], [y]), inputSizes: [50], range: 4 };
}

function reducer(keepDims: boolean): OptionsSpec {
  return {
    type: BuiltinOptionsType.ReducerOptions,
    build: (b) => {
      b.startObject(1);
      b.addFieldInt8(F.ReducerOptions.keepDims, keepDims ? 1 : 0, null);
      return b.endObject();
    },
  };
}

/**
 * A layer norm as microWakeWord writes it (SUB, MUL, MEAN, ADD of a scalar, RSQRT, broadcast MUL),
 * then LOGISTIC; a MEAN over two separated axes; LOGISTIC of inputs scaled past both cutoffs.
 */
function elementwiseModel(): FloatModel {
  const g = new GraphBuilder();
  const code = (name: string): number => builtinOperatorCode(name);
  const x = g.tensor('x', [2, 3, 4], undefined, F32);
  const c = g.constant('c', [4], F32, float32Bytes(randomFloats(4, 9)));
  const s = g.tensor('s', [2, 3, 4], undefined, F32);
  g.op(code('SUB'), [x, c], [s]);
  const sq = g.tensor('sq', [2, 3, 4], undefined, F32);
  g.op(BuiltinOp.MUL, [s, s], [sq], mulOptions(Act.RELU));
  const axis2 = g.int32Constant('axis2', [1], [-1]);
  const v = g.tensor('v', [2, 3, 1], undefined, F32);
  g.op(code('MEAN'), [sq, axis2], [v], reducer(true));
  const eps = g.constant('eps', [], F32, float32Bytes([1e-3]));
  const ve = g.tensor('ve', [2, 3, 1], undefined, F32);
  g.op(BuiltinOp.ADD, [v, eps], [ve], addOptions(Act.NONE));
  const r = g.tensor('r', [2, 3, 1], undefined, F32);
  g.op(code('RSQRT'), [ve], [r]);
  const n = g.tensor('n', [2, 3, 4], undefined, F32);
  g.op(BuiltinOp.MUL, [s, r], [n], mulOptions(Act.NONE));
  const y = g.tensor('y', [2, 3, 4], undefined, F32);
  g.op(code('LOGISTIC'), [n], [y]);
  const axes02 = g.int32Constant('axes02', [2], [0, 2]);
  const m = g.tensor('m', [3], undefined, F32);
  g.op(code('MEAN'), [x, axes02], [m], reducer(false));
  const k = g.constant('k', [1], F32, float32Bytes([2.5]));
  const big = g.tensor('big', [2, 3, 4], undefined, F32);
  g.op(BuiltinOp.MUL, [k, x], [big], mulOptions(Act.NONE));
  const z = g.tensor('z', [2, 3, 4], undefined, F32);
  g.op(code('LOGISTIC'), [big], [z]);
  return { name: 'elementwise_f32', bytes: g.build([x], [y, m, z]), inputSizes: [24], range: 12 };
}

/** TANH of inputs in [-12, 12] (past the |x| >= 1 branch of tanhf) and of the same scaled by 1e-4 (its small branch). */
function tanhModel(): FloatModel {
  const g = new GraphBuilder();
  const x = g.tensor('x', [32], undefined, F32);
  const y = g.tensor('y', [32], undefined, F32);
  g.op(builtinOperatorCode('TANH'), [x], [y]);
  const k = g.constant('k', [1], F32, float32Bytes([1e-4]));
  const small = g.tensor('small', [32], undefined, F32);
  g.op(BuiltinOp.MUL, [x, k], [small], mulOptions(Act.NONE));
  const z = g.tensor('z', [32], undefined, F32);
  g.op(builtinOperatorCode('TANH'), [small], [z]);
  return { name: 'tanh_f32', bytes: g.build([x], [y, z]), inputSizes: [32], range: 12 };
}

/** CAST int16 -> float32 times a scalar (the audio front end's last two ops), and CAST int32 -> float32 past 2^24 (rounded). */
function castModel(): FloatModel {
  const g = new GraphBuilder();
  const a = g.tensor('a', [40], undefined, TensorType.INT16);
  const af = g.tensor('af', [40], undefined, F32);
  g.op(builtinOperatorCode('CAST'), [a], [af]);
  const k = g.constant('k', [], F32, float32Bytes([0.0375]));
  const y = g.tensor('y', [40], undefined, F32);
  g.op(BuiltinOp.MUL, [af, k], [y], mulOptions(Act.NONE));
  const b = g.tensor('b', [16], undefined, TensorType.INT32);
  const z = g.tensor('z', [16], undefined, F32);
  g.op(builtinOperatorCode('CAST'), [b], [z]);
  const cases = (): Uint8Array[][] => {
    const rng = new Prng(5);
    return Array.from({ length: 4 }, () => [
      new Uint8Array(Int16Array.from({ length: 40 }, () => (rng.next() >>> 16) - 32768).buffer),
      new Uint8Array(Int32Array.from({ length: 16 }, () => rng.next() | 0).buffer),
    ]);
  };
  return { name: 'cast_f32', bytes: g.build([a, b], [y, z]), inputSizes: [], range: 0, cases };
}

/** Data movement on float32 (byte copies): STRIDED_SLICE with a negative stride, CONCATENATION with a constant, RESHAPE. */
function movementModel(): FloatModel {
  const g = new GraphBuilder();
  const x = g.tensor('x', [2, 6], undefined, F32);
  const begin = g.int32Constant('begin', [2], [1, 5]);
  const end = g.int32Constant('end', [2], [2, 0]);
  const strides = g.int32Constant('strides', [2], [1, -2]);
  const s = g.tensor('s', [1, 3], undefined, F32);
  g.op(builtinOperatorCode('STRIDED_SLICE'), [x, begin, end, strides], [s]);
  const pad = g.constant('pad', [1, 2], F32, float32Bytes([-0, 7.25]));
  const c = g.tensor('c', [1, 5], undefined, F32);
  const concatOptions: OptionsSpec = {
    type: BuiltinOptionsType.ConcatenationOptions,
    build: (b) => {
      b.startObject(2);
      b.addFieldInt32(F.ConcatenationOptions.axis, 1, null);
      return b.endObject();
    },
  };
  g.op(BuiltinOp.CONCATENATION, [pad, s], [c], concatOptions);
  const shape = g.int32Constant('shape', [1], [5]);
  const y = g.tensor('y', [5], undefined, F32);
  g.op(BuiltinOp.RESHAPE, [c, shape], [y]);
  return { name: 'movement_f32', bytes: g.build([x], [y]), inputSizes: [12], range: 5, expected: (v) => [-0, 7.25, v[11]!, v[9]!, v[7]!] };
}

const MODELS: FloatModel[] = [fcSoftmaxModel(), depthwiseConvAvgModel(), convMaxModel(), elementwiseModel(), castModel(), movementModel(), tanhModel()];

describe('synthetic float32 models: TS reference and host C (ASan + UBSan) agree byte for byte', () => {
  for (const m of MODELS) {
    it(m.name, async () => {
      const compiled = compileModel(loadSynthetic(m.name, m.bytes));
      const cases = m.cases ? m.cases() : floatCases(6, m.inputSizes, m.range, 11);
      const ref = cases.map((c) => runReference(compiled.model.graph, compiled.layers, c));
      const mod = writeCModule(compiled, path.join(workDir, 'modules', m.name));
      const host = await runCasesOnHost(mod, cases, { sanitize: true, workDir });
      expect(host).toEqual(ref);
      if (m.expected) expect(asFloat32(ref[0]![0]!)).toEqual(m.expected(asFloat32(cases[0]![0]!)));
      // The outputs are real numbers, not all zeros or NaN (a kernel that wrote nothing would agree with itself).
      const out = new Float32Array(new Uint8Array(ref[0]![0]!).buffer);
      expect(out.some((v) => v !== 0 && Number.isFinite(v))).toBe(true);
    }, 120_000);
  }
});

describe('float32 ops without a float32 kernel are refused in one line', () => {
  it('FULLY_CONNECTED with int8 weights and float32 activations (a hybrid, dynamic-range model)', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 4], undefined, F32);
    const w = g.int8Constant('w', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8], { scale: [0.1], zeroPoint: [0] });
    const y = g.tensor('y', [1, 2], undefined, F32);
    g.op(BuiltinOp.FULLY_CONNECTED, [x, w, -1], [y], fullyConnectedOptions({}));
    const message = refusal(() => compileModel(loadSynthetic('hybrid_fc', g.build([x], [y]))));
    expect(message).toBe("hybrid_fc: operator 0 (FULLY_CONNECTED): filter 'w' is int8; float32 FULLY_CONNECTED needs float32 weights (hybrid int8-weight models are not supported)");
  });
});
