// Group F ops, TFLite Micro kernels tinyforge lacked: ABS, NEG, L2_NORMALIZATION, LOG_SOFTMAX,
// ELU and the small tensor ops after them. TFLite Micro's conformance suite has no case for them,
// so each is checked three ways: values worked out by hand from Micro's integer arithmetic (or a
// published TensorFlow / NNAPI example), the TypeScript reference against host C under ASan/UBSan
// bit for bit over random inputs with the saturation edges, and one small model per op on the
// emulated Cortex-M4. Refusals of what Micro refuses are one-line errors naming the reason.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule, type CompiledModel } from '../compiler/compile.ts';
import { BuiltinOptionsType, builtinOperatorName, F, TensorType } from '../compiler/frontends/tflite/schema.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { runCasesOnQemuMps2An386 } from '../compiler/targets/qemu_mps2.ts';
import { runCasesOnQemuXtensa } from '../compiler/targets/qemu_xtensa.ts';
import { runCompiler } from '../compiler/targets/toolchain.ts';
import { float32Bytes, GraphBuilder, int8Bytes, loadSynthetic, Prng, q } from './helpers/synthetic_models.ts';
import type { OptionsSpec, QuantSpec } from './helpers/tflite_builder.ts';
import { refusal } from './helpers/refusal.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-ops-f-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function code(name: string): number {
  for (let c = 0; c < 256; c++) if (builtinOperatorName(c) === name) return c;
  throw new Error(`no builtin ${name}`);
}

const int16Bytes = (values: readonly number[]): Uint8Array => new Uint8Array(Int16Array.from(values).buffer);
const allInt8 = (): number[] => Array.from({ length: 256 }, (_, i) => i - 128);

/** A random int16 batch that always holds the extremes and the values next to zero. */
function int16Cases(n: number, seed: number): number[] {
  const r = new Prng(seed);
  return [-32768, -32767, -1, 0, 1, 32766, 32767, ...r.ints(n - 7, -32768, 32767)];
}

/** One op with one activation input (plus constant inputs made by `extra`) and one output. */
function unaryModel(name: string, op: string, shape: number[], type: number, inQ: QuantSpec | undefined, outQ: QuantSpec | undefined, options?: OptionsSpec, outShape = shape): CompiledModel {
  const g = new GraphBuilder();
  const x = g.tensor('x', shape, inQ, type);
  const y = g.tensor('y', outShape, outQ, type);
  g.op(code(op), [x], [y], options);
  return compileModel(loadSynthetic(name, g.build([x], [y])));
}

async function hostRun(compiled: CompiledModel, cases: Uint8Array[][]): Promise<Uint8Array[][]> {
  const mod = writeCModule(compiled, path.join(dir, 'host', compiled.model.graph.name));
  return runCasesOnHost(mod, cases, { sanitize: true, workDir: dir });
}

/** The reference gives `expected`, and sanitized host C gives the same bytes. */
async function expectBoth(compiled: CompiledModel, inputs: Uint8Array[], expected: Uint8Array[]): Promise<void> {
  expect(runReference(compiled.model.graph, compiled.layers, inputs)).toEqual(expected);
  const [host] = await hostRun(compiled, [inputs]);
  expect(host).toEqual(expected);
}

/** Host C under ASan/UBSan equals the TypeScript reference on every case. */
async function expectHostMatchesReference(compiled: CompiledModel, cases: Uint8Array[][]): Promise<void> {
  const host = await hostRun(compiled, cases);
  cases.forEach((c, i) => expect(host[i], `case ${i}`).toEqual(runReference(compiled.model.graph, compiled.layers, c)));
}

/** The emulated Cortex-M4 equals the TypeScript reference. */
async function expectM4MatchesReference(compiled: CompiledModel, cases: Uint8Array[][]): Promise<void> {
  const mod = writeCModule(compiled, path.join(dir, 'm4', compiled.model.graph.name));
  const m4 = await runCasesOnQemuMps2An386(mod, cases, { workDir: dir });
  cases.forEach((c, i) => expect(m4[i], `case ${i}`).toEqual(runReference(compiled.model.graph, compiled.layers, c)));
}

describe('ABS', () => {
  it('int8: |x - zin| plus zout when the scales are equal, requantized when they differ (worked by hand)', async () => {
    // Equal scales 0.05, zin 3, zout -5: x = -10 -> |-13| - 5 = 8; x = 3 -> -5; x = 127 -> 124 - 5 = 119;
    // x = -128 -> 131 - 5 = 126.
    await expectBoth(unaryModel('abs_same', 'ABS', [4], TensorType.INT8, q(0.05, 3), q(0.05, -5)), [int8Bytes([-10, 3, 127, -128])], [int8Bytes([8, -5, 119, 126])]);
    // Output scale twice the input's: multiplier 2^30, shift 0 (one half). x = -10 -> 13 / 2 = 6.5, rounded
    // away from zero by SaturatingRoundingDoublingHighMul to 7, plus -128 -> -121; x = -128 -> 131 / 2 -> 66
    // -> -62; x = 4 -> 1 / 2 -> 1 -> -127. zout 100 saturates: 131 / 2 + 100 = 166 -> 127.
    await expectBoth(unaryModel('abs_half', 'ABS', [3], TensorType.INT8, q(0.05, 3), q(0.1, -128)), [int8Bytes([-10, -128, 4])], [int8Bytes([-121, -62, -127])]);
    await expectBoth(unaryModel('abs_sat', 'ABS', [2], TensorType.INT8, q(0.05, 3), q(0.1, 100)), [int8Bytes([-128, 3])], [int8Bytes([127, 100])]);
  });

  it('int16: clamps |-32768| to 32767, requantizes on a scale change, and wraps when unquantized', async () => {
    await expectBoth(unaryModel('abs16_same', 'ABS', [4], TensorType.INT16, q(1 / 1024), q(1 / 1024)), [int16Bytes([-32768, -5, 0, 32767])], [int16Bytes([32767, 5, 0, 32767])]);
    // Output scale 4x: multiplier 2^30, shift -1, TFLite's two roundings. 32768 -> 16384 -> 8192;
    // 5 -> SaturatingRoundingDoublingHighMul(5, 2^30) = 2.5 rounded away = 3 -> RoundingDivideByPOT(3, 1) = 2
    // (not 1, as one rounding of 1.25 would give); 6 -> 3 -> 2; -7 -> |7| -> 3.5 -> 4 -> 2.
    await expectBoth(unaryModel('abs16_q', 'ABS', [4], TensorType.INT16, q(1 / 1024), q(1 / 256)), [int16Bytes([-32768, 5, 6, -7])], [int16Bytes([8192, 2, 2, 2])]);
    await expectBoth(unaryModel('abs16_raw', 'ABS', [3], TensorType.INT16, undefined, undefined), [int16Bytes([-32768, -3, 7])], [int16Bytes([-32768, 3, 7])]);
  });

  it('float32 clears the sign bit (negative zero, infinity)', async () => {
    await expectBoth(unaryModel('absf', 'ABS', [4], TensorType.FLOAT32, undefined, undefined), [float32Bytes([-0, -1.5, Number.NEGATIVE_INFINITY, 2])], [float32Bytes([0, 1.5, Number.POSITIVE_INFINITY, 2])]);
  });

  it('host C equals the reference on every int8 value and on random int16 with the edges', async () => {
    for (const [name, outQ] of [['abs8_a', q(0.02, -7)], ['abs8_b', q(0.013, 40)]] as const) {
      await expectHostMatchesReference(unaryModel(name, 'ABS', [256], TensorType.INT8, q(0.05, 3), outQ), [[int8Bytes(allInt8())]]);
    }
    await expectHostMatchesReference(unaryModel('abs16_r', 'ABS', [512], TensorType.INT16, q(0.0007), q(0.0003)), [[int16Bytes(int16Cases(512, 1))], [int16Bytes(int16Cases(512, 2))]]);
  });

  it('refuses int16 with a zero point and a type change, as one line', () => {
    expect(refusal(() => unaryModel('abs16_zp', 'ABS', [2], TensorType.INT16, q(0.01, 4), q(0.01)))).toMatch(/operator 0 \(ABS\): int16 ABS needs zero points 0, as TFLite Micro requires \(input 4, output 0\)/);
    const g = new GraphBuilder();
    const x = g.tensor('x', [2], q(0.1), TensorType.INT8);
    const y = g.tensor('y', [2], q(0.1), TensorType.INT16);
    g.op(code('ABS'), [x], [y]);
    expect(refusal(() => compileModel(loadSynthetic('abs_mixed', g.build([x], [y]))))).toMatch(/output 'y' is int16 but the input is int8; TFLite Micro's ABS keeps the type/);
  });
});

describe('NEG', () => {
  it('float32 negates (zeros, infinities); int8 is refused, as TFLite Micro\'s neg.cc computes float32 only', async () => {
    await expectBoth(unaryModel('negf', 'NEG', [4], TensorType.FLOAT32, undefined, undefined), [float32Bytes([0, -1.5, Number.POSITIVE_INFINITY, 3])], [float32Bytes([-0, 1.5, Number.NEGATIVE_INFINITY, -3])]);
    expect(refusal(() => unaryModel('neg8', 'NEG', [2], TensorType.INT8, q(0.1), q(0.1)))).toMatch(/operator 0 \(NEG\): NEG on int8 is not supported \(tinyforge computes NEG on float32 only\)/);
  });
});

describe('L2_NORMALIZATION', () => {
  const OUT = q(1 / 128);

  it('int8: distances over their root sum of squares, in 1/128 steps (worked by hand)', async () => {
    // zp 0, [3, 4]: sum 25, 1/5 -> 3 * 128 / 5 = 76.8 -> 77, 4 * 128 / 5 = 102.4 -> 102.
    // zp -3, [3, -11]: distances 6, -8, sum 100 -> 76.8 -> 77, -102.4 -> -102.
    // [10, 0] alone: 10 * 128 / 10 = 128 saturates to 127, [-10, 0] to -128; an all-zero-point row gives 0.
    await expectBoth(unaryModel('l2_a', 'L2_NORMALIZATION', [2, 2], TensorType.INT8, q(0.1), OUT), [int8Bytes([3, 4, 0, 0])], [int8Bytes([77, 102, 0, 0])]);
    await expectBoth(unaryModel('l2_b', 'L2_NORMALIZATION', [3, 2], TensorType.INT8, q(0.1, -3), OUT), [int8Bytes([3, -11, 7, -3, -13, -3])], [int8Bytes([77, -102, 127, 0, -128, 0])]);
  });

  it('float32: x / max(sqrt(sum x^2), 1e-6)', async () => {
    const f = Math.fround;
    await expectBoth(unaryModel('l2_f', 'L2_NORMALIZATION', [2, 2], TensorType.FLOAT32, undefined, undefined), [float32Bytes([3, -4, 0, 0])], [float32Bytes([f(3 / 5), f(-4 / 5), 0, 0])]);
  });

  it('host C equals the reference on random rows, rank 4, with extreme and zero-point rows', async () => {
    const r = new Prng(11);
    for (const zp of [0, -128, 57]) {
      const rows = [Array(16).fill(zp), Array(16).fill(127), Array(16).fill(-128), ...Array.from({ length: 13 }, () => r.ints(16, -128, 127))];
      const small = Array.from({ length: 16 }, (_, i) => (i === 5 ? zp + 1 : zp));
      rows[3] = small;
      await expectHostMatchesReference(unaryModel(`l2_r${zp < 0 ? 'm' : ''}${Math.abs(zp)}`, 'L2_NORMALIZATION', [1, 4, 4, 16], TensorType.INT8, q(0.05, zp), OUT), [[int8Bytes(rows.flat())]]);
    }
    const fl = Array.from({ length: 64 }, () => (r.unit() - 0.5) * 10 ** r.int(-8, 8));
    await expectHostMatchesReference(unaryModel('l2_rf', 'L2_NORMALIZATION', [4, 16], TensorType.FLOAT32, undefined, undefined), [[float32Bytes(fl)]]);
  });

  it('refuses int16, a fused activation and a sum that could overflow int32, as one line', () => {
    expect(refusal(() => unaryModel('l2_16', 'L2_NORMALIZATION', [4], TensorType.INT16, q(0.01), q(0.01)))).toMatch(/operator 0 \(L2_NORMALIZATION\): input 'x' is int16; TFLite Micro's L2_NORMALIZATION takes int8 or float32/);
    const relu: OptionsSpec = { type: BuiltinOptionsType.L2NormOptions, build: (b) => { b.startObject(1); b.addFieldInt8(F.L2NormOptions.fusedActivation, 1, 0); return b.endObject(); } };
    expect(refusal(() => unaryModel('l2_relu', 'L2_NORMALIZATION', [4], TensorType.INT8, q(0.01), OUT, relu))).toMatch(/operator 0 \(L2_NORMALIZATION\) has a fused activation; TFLite Micro's L2_NORMALIZATION takes none/);
    expect(refusal(() => unaryModel('l2_big', 'L2_NORMALIZATION', [33100], TensorType.INT8, q(0.01, -128), OUT))).toMatch(/last axis of input 'x' has 33100 elements; their squared distances from zero point -128 could overflow TFLite Micro's int32 sum/);
  });
});

describe('LOG_SOFTMAX', () => {
  const OUT = q(16 / 256, 127);

  it('int8 gives (x - max - ln sum exp(x - max)) in 1/16 steps from 127 (worked by hand), and ln 2 for a tie', async () => {
    // Input scale 1/8 holds the rows [0, 6, 2, 4] and [3, -2, 10, 1] exactly. Row 1: differences from the
    // maximum -6, 0, -4, -2; ln(1 + e^-2 + e^-4 + e^-6) = 0.1291; 127 + 16 * (d - 0.1291) = -98.07 + 127,
    // -2.07 + 127, ... -> [29, 125, 61, 93]. Row 2: differences -7, -12, 0, -9; ln(1 + e^-7 + e^-9 + e^-12)
    // = 0.00104 -> 16 * (d - 0.00104) + 127 = [15, -65, 127, -17]. No value lies near a rounding boundary.
    await expectBoth(unaryModel('lsm_tf', 'LOG_SOFTMAX', [2, 4], TensorType.INT8, q(0.125), OUT), [int8Bytes([0, 48, 16, 32, 24, -16, 80, 8])], [int8Bytes([29, 125, 61, 93, 15, -65, 127, -17])]);
    // Two equal values: ln(1/2) * 16 = -11.09 -> 116, whatever the scale and zero point.
    await expectBoth(unaryModel('lsm_tie', 'LOG_SOFTMAX', [1, 2], TensorType.INT8, q(0.37, -20), OUT), [int8Bytes([-77, -77])], [int8Bytes([116, 116])]);
  });

  it('host C equals the reference on random rows, constant rows and wide scales', async () => {
    const r = new Prng(21);
    for (const [name, scale, zp] of [['lsm_a', 0.05, 3], ['lsm_b', 0.5, -128], ['lsm_c', 0.0039, 0]] as const) {
      const rows = [Array(20).fill(127), Array(20).fill(-128), [127, ...Array(19).fill(-128)], ...Array.from({ length: 13 }, () => r.ints(20, -128, 127))];
      await expectHostMatchesReference(unaryModel(name, 'LOG_SOFTMAX', [4, 4, 20], TensorType.INT8, q(scale, zp), OUT), [[int8Bytes(rows.flat())]]);
    }
  });

  it('float32: x - max - logf(sum expf(x - max)), exact where the answer is (ln 2 of a tie, a lone value, -inf)', async () => {
    const ln2 = Math.fround(Math.LN2);
    await expectBoth(unaryModel('lsm_f', 'LOG_SOFTMAX', [3, 2], TensorType.FLOAT32, undefined, undefined), [float32Bytes([5, 5, 0, Number.NEGATIVE_INFINITY, -3e38, -3e38])], [float32Bytes([-ln2, -ln2, 0, Number.NEGATIVE_INFINITY, -ln2, -ln2])]);
    // The int8 example's rows in float: within float rounding of the real log-softmax.
    const row = [0, 6, 2, 4];
    const compiled = unaryModel('lsm_f4', 'LOG_SOFTMAX', [1, 4], TensorType.FLOAT32, undefined, undefined);
    const [out] = runReference(compiled.model.graph, compiled.layers, [float32Bytes(row)]);
    const lse = 6 + Math.log(row.reduce((a, v) => a + Math.exp(v - 6), 0));
    new Float32Array((out as Uint8Array).slice().buffer).forEach((v, i) => expect(v).toBeCloseTo((row[i] as number) - lse, 5));
    const r = new Prng(23);
    await expectHostMatchesReference(unaryModel('lsm_fr', 'LOG_SOFTMAX', [8, 16], TensorType.FLOAT32, undefined, undefined), [[float32Bytes(Array.from({ length: 128 }, () => (r.unit() - 0.5) * 10 ** r.int(-3, 2)))]]);
  });

  it('refuses an output quantization other than 16/256 and 127, and int16, as one line', () => {
    expect(refusal(() => unaryModel('lsm_q', 'LOG_SOFTMAX', [4], TensorType.INT8, q(0.1), q(1 / 16, 0)))).toMatch(/operator 0 \(LOG_SOFTMAX\): output 'y' has scale 0\.0625 and zero point 0; TFLite Micro's int8 LOG_SOFTMAX requires 16\/256 and 127/);
    expect(refusal(() => unaryModel('lsm_16', 'LOG_SOFTMAX', [4], TensorType.INT16, q(0.1), q(1 / 16)))).toMatch(/input 'x' is int16; TFLite Micro's LOG_SOFTMAX takes int8 or float32/);
  });
});

describe('ELU', () => {
  it('int8: TFLite Micro\'s float table, expf(x) - 1 below zero (worked by hand)', async () => {
    // Input scale 0.1, output scale 0.05, zout 20. q -10 -> x = -1: (e^-1 - 1) / 0.05 = -12.64 -> -13 + 20 = 7;
    // q 10 -> 1 / 0.05 = 20 -> 40; q 0 -> 20; q -128 -> (e^-12.8 - 1) / 0.05 = -19.99994 -> -20 -> 0;
    // q 127 -> 254 + 20 saturates to 127.
    await expectBoth(unaryModel('elu_a', 'ELU', [5], TensorType.INT8, q(0.1), q(0.05, 20)), [int8Bytes([-10, 10, 0, -128, 127])], [int8Bytes([7, 40, 20, 0, 127])]);
  });

  it('float32: x below zero goes through expm1f, the rest passes', async () => {
    await expectBoth(unaryModel('elu_f', 'ELU', [6], TensorType.FLOAT32, undefined, undefined), [float32Bytes([0, -0, 2.5, Number.NEGATIVE_INFINITY, -100, 3e38])], [float32Bytes([0, -0, 2.5, -1, -1, 3e38])]);
  });

  it('host C equals the reference on every int8 value and on random float32', async () => {
    for (const [name, inQ, outQ] of [['elu_r1', q(0.05, 3), q(0.02, -7)], ['elu_r2', q(0.3, -100), q(0.011, 90)]] as const) {
      await expectHostMatchesReference(unaryModel(name, 'ELU', [256], TensorType.INT8, inQ, outQ), [[int8Bytes(allInt8())]]);
    }
    const r = new Prng(31);
    const fl = Array.from({ length: 256 }, () => (r.unit() - 0.7) * 10 ** r.int(-6, 2));
    await expectHostMatchesReference(unaryModel('elu_rf', 'ELU', [256], TensorType.FLOAT32, undefined, undefined), [[float32Bytes(fl)]]);
  });

  it('refuses int16 and an output scale whose table leaves the exact float range, as one line', () => {
    expect(refusal(() => unaryModel('elu_16', 'ELU', [2], TensorType.INT16, q(0.1), q(0.1)))).toMatch(/operator 0 \(ELU\): input 'x' is int16; TFLite Micro's ELU takes int8 or float32/);
    expect(refusal(() => unaryModel('elu_tiny', 'ELU', [2], TensorType.INT8, q(1), q(1e-7)))).toMatch(/operator 0 \(ELU\): output scale 1\.0\d*e-7 is too small for ELU of input scale 1: TFLite Micro's float table would leave the int32 range/);
  });
});

/** ADD_N over `n` activation inputs of one quantization (plus an optional constant one). */
function addNModel(name: string, n: number, type: number, inQ: QuantSpec | undefined, outQ: QuantSpec | undefined, constant?: number[]): CompiledModel {
  const g = new GraphBuilder();
  const xs = Array.from({ length: n }, (_, i) => g.tensor(`x${i}`, [4], inQ, type));
  const c = constant === undefined ? [] : [type === TensorType.INT8 ? g.int8Constant('c', [4], constant, inQ as QuantSpec) : g.constant('c', [4], type, float32Bytes(constant))];
  const y = g.tensor('y', [4], outQ, type);
  g.op(code('ADD_N'), [...xs, ...c], [y]);
  return compileModel(loadSynthetic(name, g.build(xs, [y])));
}

describe('ADD_N', () => {
  it('int8: sums distances from the zero point, and keeps TFLite Micro\'s extra -zin (worked by hand)', async () => {
    // Equal scales 0.1, zero points 0: the output multiplier is 2 * 0.1 / (2^20 * 0.1) = 2^-19, each term v * 2^19.
    // [1, 2, 3] -> 6, [-50, -50, -50] -> -150 -> -128, [100, 20, 7] -> 127, [0, 0, 0] -> 0.
    await expectBoth(addNModel('addn_a', 3, TensorType.INT8, q(0.1), q(0.1)), [int8Bytes([1, -50, 100, 0]), int8Bytes([2, -50, 20, 0]), int8Bytes([3, -50, 7, 0])], [int8Bytes([6, -128, 127, 0])]);
    // zin 2, zout 0: Micro starts the sum at -zin, so 5 and 7 (distances 3 and 5) give 3 + 5 - 2 = 6, not 8.
    await expectBoth(addNModel('addn_zp', 2, TensorType.INT8, q(0.1, 2), q(0.1)), [int8Bytes([5, 2, 2, -128]), int8Bytes([7, 2, 3, -128])], [int8Bytes([6, -2, -1, -128])]);
  });

  it('float32 sums in order; a constant input is read from flash', async () => {
    // Element 0: 0 + 1 + -1e8 rounds to -1e8 (float spacing 8 there), + 1e8 = 0: the order matters.
    // Element 3: 0 + -0 + -0 + -0 = +0.
    await expectBoth(addNModel('addn_f', 2, TensorType.FLOAT32, undefined, undefined, [1e8, -1, 0.5, -0]), [float32Bytes([1, 2, 3, -0]), float32Bytes([-1e8, 0.25, 4, -0])], [float32Bytes([0, 1.25, 7.5, 0])]);
  });

  it('host C equals the reference on random inputs with the extremes, with a constant operand', async () => {
    const r = new Prng(41);
    const model = addNModel('addn_r', 3, TensorType.INT8, q(0.07, -9), q(0.15, 11), [127, -128, 0, 5]);
    const cases = Array.from({ length: 8 }, (_, k) => [0, 1, 2].map(() => int8Bytes(k === 0 ? [127, 127, -128, -128] : r.ints(4, -128, 127))));
    await expectHostMatchesReference(model, cases);
  });

  it('refuses mixed input quantization and int16, as one line', () => {
    const g = new GraphBuilder();
    const a = g.tensor('a', [2], q(0.1), TensorType.INT8);
    const b = g.tensor('b', [2], q(0.2), TensorType.INT8);
    const y = g.tensor('y', [2], q(0.1), TensorType.INT8);
    g.op(code('ADD_N'), [a, b], [y]);
    expect(refusal(() => compileModel(loadSynthetic('addn_mixed', g.build([a, b], [y]))))).toMatch(/operator 0 \(ADD_N\): input 'b' has scale 0\.2\d* and zero point 0 but input 'a' has 0\.1\d* and 0; TFLite Micro's ADD_N needs them equal/);
    expect(refusal(() => addNModel('addn_16', 2, TensorType.INT16, q(0.1), q(0.1)))).toMatch(/input 'x0' is int16; TFLite Micro's ADD_N takes int8 or float32/);
  });
});

function cumsumModel(name: string, shape: number[], axis: number, type: number, inQ: QuantSpec | undefined, outQ: QuantSpec | undefined, exclusive = false, reverse = false): CompiledModel {
  const g = new GraphBuilder();
  const x = g.tensor('x', shape, inQ, type);
  const y = g.tensor('y', shape, outQ, type);
  const options: OptionsSpec = {
    type: BuiltinOptionsType.CumsumOptions,
    build: (b) => {
      b.startObject(2);
      b.addFieldInt8(F.CumsumOptions.exclusive, exclusive ? 1 : 0, 0);
      b.addFieldInt8(F.CumsumOptions.reverse, reverse ? 1 : 0, 0);
      return b.endObject();
    },
  };
  g.op(code('CUMSUM'), [x, g.int32Constant('axis', [], [axis])], [y], options);
  return compileModel(loadSynthetic(name, g.build([x], [y])));
}

describe('CUMSUM', () => {
  it('float32 follows tf.math.cumsum\'s documented examples for exclusive and reverse', async () => {
    // [a, b, c] -> [a, a + b, a + b + c]; exclusive [0, a, a + b]; reverse [a + b + c, b + c, c];
    // both [b + c, c, 0].
    const x = [float32Bytes([1, 2, 3])];
    await expectBoth(cumsumModel('cs_f', [3], 0, TensorType.FLOAT32, undefined, undefined), x, [float32Bytes([1, 3, 6])]);
    await expectBoth(cumsumModel('cs_fe', [3], 0, TensorType.FLOAT32, undefined, undefined, true), x, [float32Bytes([0, 1, 3])]);
    await expectBoth(cumsumModel('cs_fr', [3], -1, TensorType.FLOAT32, undefined, undefined, false, true), x, [float32Bytes([6, 5, 3])]);
    await expectBoth(cumsumModel('cs_fer', [3], 0, TensorType.FLOAT32, undefined, undefined, true, true), x, [float32Bytes([5, 3, 0])]);
  });

  it('int8: running sums along axis 0 of a 3 x 2 tensor, saturation, and TFLite Micro\'s -zin start (worked by hand)', async () => {
    // Equal scales 0.1, zero points 0: columns [1, 2, 100] and [-3, 4, -128] -> [1, 3, 103] and [-3, 1, -127].
    await expectBoth(cumsumModel('cs_a', [3, 2], 0, TensorType.INT8, q(0.1), q(0.1)), [int8Bytes([1, -3, 2, 4, 100, -128])], [int8Bytes([1, -3, 3, 1, 103, -127])]);
    // [100, 100] saturates at 127. zin 2 (zout 0): [5, 7] -> -2 + 3 = 1, then 1 + 5 = 6 (Micro's sum starts at -zin).
    await expectBoth(cumsumModel('cs_sat', [2], 0, TensorType.INT8, q(0.1), q(0.1)), [int8Bytes([100, 100])], [int8Bytes([100, 127])]);
    await expectBoth(cumsumModel('cs_zp', [2], 0, TensorType.INT8, q(0.1, 2), q(0.1)), [int8Bytes([5, 7])], [int8Bytes([1, 6])]);
  });

  it('host C equals the reference on random data in all four modes, and where the int32 sum wraps', async () => {
    const r = new Prng(51);
    for (const [exclusive, reverse] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const name = `cs_r${exclusive ? 'e' : ''}${reverse ? 'r' : ''}`;
      await expectHostMatchesReference(cumsumModel(name, [3, 5, 4], 1, TensorType.INT8, q(0.05, -7), q(0.3, 4), exclusive, reverse), [[int8Bytes(r.ints(60, -128, 127))]]);
      await expectHostMatchesReference(cumsumModel(`${name}f`, [3, 5, 4], 1, TensorType.FLOAT32, undefined, undefined, exclusive, reverse), [[float32Bytes(Array.from({ length: 60 }, () => (r.unit() - 0.5) * 10 ** r.int(-3, 6)))]]);
    }
    // 40 values of 127 with zin -128: each term is 255 * 2^19, so the sum passes 2^31 after 16 of them.
    await expectHostMatchesReference(cumsumModel('cs_wrap', [40], 0, TensorType.INT8, q(0.01, -128), q(1)), [[int8Bytes(Array(40).fill(127))]]);
  });

  it('refuses a run-time axis and int16, as one line', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [4], q(0.1), TensorType.INT8);
    const axis = g.tensor('axis', [], undefined, TensorType.INT32);
    const y = g.tensor('y', [4], q(0.1), TensorType.INT8);
    g.op(code('CUMSUM'), [x, axis], [y]);
    expect(refusal(() => compileModel(loadSynthetic('cs_rt', g.build([x, axis], [y]))))).toMatch(/operator 0 \(CUMSUM\): axis 'axis' must be one constant int32 value/);
    expect(refusal(() => cumsumModel('cs_16', [4], 0, TensorType.INT16, q(0.1), q(0.1)))).toMatch(/input 'x' is int16; TFLite Micro's CUMSUM takes int8 or float32/);
  });
});

function broadcastToModel(name: string, inShape: number[], shape: number[], type: number, quant?: QuantSpec): CompiledModel {
  const g = new GraphBuilder();
  const x = g.tensor('x', inShape, quant, type);
  const y = g.tensor('y', shape, quant, type);
  g.op(code('BROADCAST_TO'), [x, g.int32Constant('shape', [shape.length], shape)], [y]);
  return compileModel(loadSynthetic(name, g.build([x], [y])));
}

/** GATHER_ND over int8 params [2, 2] = [1, 2, 3, 4] (a b / c d), with constant or activation indices. */
function gatherNdModel(name: string, paramsShape: number[], indicesShape: number[], outShape: number[], indices?: number[], type: number = TensorType.INT8): CompiledModel {
  const g = new GraphBuilder();
  const x = g.tensor('x', paramsShape, type === TensorType.INT8 ? q(0.1) : undefined, type);
  const idx = indices === undefined ? g.tensor('idx', indicesShape, undefined, TensorType.INT32) : g.int32Constant('idx', indicesShape, indices);
  const y = g.tensor('y', outShape, type === TensorType.INT8 ? q(0.1) : undefined, type);
  g.op(code('GATHER_ND'), [x, idx], [y]);
  return compileModel(loadSynthetic(name, g.build(indices === undefined ? [x, idx] : [x], [y])));
}

describe('BROADCAST_TO', () => {
  it('repeats [1, 2, 3] to [3, 3] (tf.broadcast_to\'s documented example) and a column to [2, 3], int8 / int16 / float32', async () => {
    await expectBoth(broadcastToModel('bt_a', [3], [3, 3], TensorType.INT8, q(0.1)), [int8Bytes([1, 2, 3])], [int8Bytes([1, 2, 3, 1, 2, 3, 1, 2, 3])]);
    await expectBoth(broadcastToModel('bt_b', [2, 1], [2, 3], TensorType.INT16, q(0.1)), [int16Bytes([-32768, 7])], [int16Bytes([-32768, -32768, -32768, 7, 7, 7])]);
    await expectBoth(broadcastToModel('bt_c', [1, 2, 1], [2, 2, 2, 2], TensorType.FLOAT32), [float32Bytes([0.5, -1])], [float32Bytes([0.5, 0.5, -1, -1, 0.5, 0.5, -1, -1, 0.5, 0.5, -1, -1, 0.5, 0.5, -1, -1])]);
  });

  it('refuses a shape the input does not broadcast to and rank 6, as one line', () => {
    expect(refusal(() => broadcastToModel('bt_bad', [2], [3], TensorType.INT8, q(0.1)))).toMatch(/operator 0 \(BROADCAST_TO\): input 'x' of shape \[2\] does not broadcast to \[3\] \(dimension 0\)/);
    expect(refusal(() => broadcastToModel('bt_6', [1], [1, 1, 1, 1, 1, 2], TensorType.INT8, q(0.1)))).toMatch(/rank 6 is above 5, the most TFLite Micro's BROADCAST_TO supports/);
  });
});

describe('GATHER_ND', () => {
  // tf.gather_nd's documented examples with params [['a', 'b'], ['c', 'd']] written as 1 2 / 3 4.
  const abcd = [int8Bytes([1, 2, 3, 4])];

  it('picks elements and rows as tf.gather_nd\'s documented examples, with constant and run-time indices', async () => {
    await expectBoth(gatherNdModel('gnd_el', [2, 2], [2, 2], [2], [0, 0, 1, 1]), abcd, [int8Bytes([1, 4])]);
    await expectBoth(gatherNdModel('gnd_row', [2, 2], [2, 1], [2, 2], [1, 0]), abcd, [int8Bytes([3, 4, 1, 2])]);
    await expectBoth(gatherNdModel('gnd_rt', [2, 2], [3, 2], [3]), [int8Bytes([1, 2, 3, 4]), new Uint8Array(Int32Array.from([1, 0, 0, 1, 1, 1]).buffer)], [int8Bytes([3, 2, 4])]);
    await expectBoth(gatherNdModel('gnd_f', [2, 2], [1, 2], [1], [1, 0], TensorType.FLOAT32), [float32Bytes([0.5, 1.5, -2.5, 3])], [float32Bytes([-2.5])]);
  });

  it('checks only where each slice starts, as TFLite Micro does: [0, 3] of a 2 x 2 tensor reads element 3', async () => {
    await expectBoth(gatherNdModel('gnd_flat', [2, 2], [1, 2], [1], [0, 3]), abcd, [int8Bytes([4])]);
    expect(refusal(() => gatherNdModel('gnd_oob', [2, 2], [1, 2], [1], [1, 2]))).toMatch(/operator 0 \(GATHER_ND\): indices 'idx' row 0 \[1,2\] starts outside params 'x' of shape \[2,2\]/);
    // Run-time indices starting outside fail the reference with one line and make invoke fail on the host.
    const rt = gatherNdModel('gnd_rt_oob', [2, 2], [1, 2], [1]);
    const bad = [int8Bytes([1, 2, 3, 4]), new Uint8Array(Int32Array.from([1, 2]).buffer)];
    expect(refusal(() => runReference(rt.model.graph, rt.layers, bad))).toMatch(/GATHER_ND index row 0 starts outside the params/);
    await expect(hostRun(rt, [bad])).rejects.toThrow(/the model invoke function returned non-zero/);
    expect(refusal(() => gatherNdModel('gnd_16', [2, 2], [1, 2], [1], [0, 0], TensorType.INT16))).toMatch(/params 'x' are int16; TFLite Micro's GATHER_ND takes int8 or float32/);
  });
});

describe('ZEROS_LIKE', () => {
  it('writes integer or float zeros (the raw byte 0 for int8, whatever the zero point)', async () => {
    await expectBoth(unaryModel('zl_8', 'ZEROS_LIKE', [3], TensorType.INT8, q(0.1, 5), q(0.1, 5)), [int8Bytes([1, -128, 127])], [int8Bytes([0, 0, 0])]);
    await expectBoth(unaryModel('zl_f', 'ZEROS_LIKE', [2], TensorType.FLOAT32, undefined, undefined), [float32Bytes([-1, Number.NaN])], [float32Bytes([0, 0])]);
    expect(refusal(() => unaryModel('zl_16', 'ZEROS_LIKE', [2], TensorType.INT16, q(0.1), q(0.1)))).toMatch(/operator 0 \(ZEROS_LIKE\): input 'x' is int16; TFLite Micro's ZEROS_LIKE takes int8, int32, int64 or float32/);
  });
});

/** A comparison of two activation inputs (or of `a` with a constant `b`) into a bool output. */
function compareModel(name: string, op: string, aShape: number[], bShape: number[], outShape: number[], type: number, aQ?: QuantSpec, bQ?: QuantSpec, bConstant?: Uint8Array): CompiledModel {
  const g = new GraphBuilder();
  const a = g.tensor('a', aShape, aQ, type);
  const b = bConstant === undefined ? g.tensor('b', bShape, bQ, type) : g.constant('b', bShape, type, bConstant, bQ);
  const y = g.tensor('y', outShape, undefined, TensorType.BOOL);
  g.op(code(op), [a, b], [y]);
  return compileModel(loadSynthetic(name, g.build(bConstant === undefined ? [a, b] : [a], [y])));
}

const boolBytes = (values: readonly number[]): Uint8Array => Uint8Array.from(values);

describe('comparisons', () => {
  it('int8 compares after TFLite Micro\'s rescaling, which can split equal real values (worked by hand)', async () => {
    // a = 4 at scale 0.1 and b = 2 at scale 0.2 are both 0.4. Micro: 4 << 8 = 1024 times 0.1 (multiplier
    // 1717986918, shift -3): SaturatingRoundingDoublingHighMul gives 819, RoundingDivideByPOT(819, 3) = 102;
    // 2 << 8 = 512 times 0.2 (shift -2): 410, then 102.5 -> 103. So EQUAL is false and LESS true. a = 5 (0.5):
    // 1280 -> 1024 -> 128 > 103. a = -3, b = -1: -768 -> -614 -> -77 vs -256 -> -205 -> -51: LESS.
    const m = (op: string): CompiledModel => compareModel(`cmp_${op.toLowerCase()}`, op, [3], [3], [3], TensorType.INT8, q(0.1), q(0.2));
    const inputs = [int8Bytes([4, 5, -3]), int8Bytes([2, 2, -1])];
    await expectBoth(m('EQUAL'), inputs, [boolBytes([0, 0, 0])]);
    await expectBoth(m('LESS'), inputs, [boolBytes([1, 0, 1])]);
    await expectBoth(m('GREATER_EQUAL'), inputs, [boolBytes([0, 1, 0])]);
    // Equal quantization: equal values are equal.
    await expectBoth(compareModel('cmp_same', 'NOT_EQUAL', [3], [3], [3], TensorType.INT8, q(0.1, 3), q(0.1, 3)), [int8Bytes([7, -128, 127]), int8Bytes([7, -127, 127])], [boolBytes([0, 1, 0])]);
  });

  it('float32 against a broadcast constant (NaN compares false), bool EQUAL, int32 and int16 GREATER', async () => {
    await expectBoth(compareModel('cmp_f', 'GREATER', [2, 3], [], [2, 3], TensorType.FLOAT32, undefined, undefined, float32Bytes([0])), [float32Bytes([1, Number.NaN, -3, 5, -0, 1e-38])], [boolBytes([1, 0, 0, 1, 0, 1])]);
    await expectBoth(compareModel('cmp_nan', 'NOT_EQUAL', [2], [2], [2], TensorType.FLOAT32), [float32Bytes([Number.NaN, 1]), float32Bytes([Number.NaN, 1])], [boolBytes([1, 0])]);
    await expectBoth(compareModel('cmp_b', 'EQUAL', [4], [4], [4], TensorType.BOOL), [boolBytes([1, 0, 1, 0]), boolBytes([1, 1, 0, 0])], [boolBytes([1, 0, 0, 1])]);
    await expectBoth(compareModel('cmp_i', 'LESS_EQUAL', [2, 1], [3], [2, 3], TensorType.INT32), [new Uint8Array(Int32Array.from([5, -70000]).buffer), new Uint8Array(Int32Array.from([4, 5, 6]).buffer)], [boolBytes([0, 1, 1, 1, 1, 1])]);
    await expectBoth(compareModel('cmp_16', 'GREATER', [3], [3], [3], TensorType.INT16, q(0.001), q(0.001)), [int16Bytes([-32768, 32767, 5]), int16Bytes([32767, -32768, 5])], [boolBytes([0, 1, 0])]);
  });

  it('host C equals the reference on random int8 inputs of different quantization, broadcast', async () => {
    const r = new Prng(71);
    for (const op of ['EQUAL', 'NOT_EQUAL', 'GREATER', 'GREATER_EQUAL', 'LESS', 'LESS_EQUAL']) {
      const model = compareModel(`cmp_r_${op.toLowerCase()}`, op, [2, 3, 4], [3, 1], [2, 3, 4], TensorType.INT8, q(0.05, -3), q(0.1, 7));
      await expectHostMatchesReference(model, [[int8Bytes(r.ints(24, -128, 127)), int8Bytes(r.ints(3, -128, 127))], [int8Bytes(r.ints(24, -20, 20)), int8Bytes(r.ints(3, -8, 12))]]);
    }
  });

  it('refuses int16 EQUAL, int64 and a non-bool output, as one line', () => {
    expect(refusal(() => compareModel('cmp_e16', 'EQUAL', [2], [2], [2], TensorType.INT16, q(0.1), q(0.1)))).toMatch(/operator 0 \(EQUAL\): input 'a' is int16; TFLite Micro's EQUAL takes bool, float32, int32, int8/);
    expect(refusal(() => compareModel('cmp_64', 'LESS', [2], [2], [2], TensorType.INT64))).toMatch(/input 'a' is int64; TFLite Micro's LESS takes float32, int32, int8 \(and int64, which tinyforge does not compute\)/);
    const g = new GraphBuilder();
    const a = g.tensor('a', [2], q(0.1));
    const b = g.tensor('b', [2], q(0.1));
    const y = g.tensor('y', [2], q(0.1));
    g.op(code('LESS'), [a, b], [y]);
    expect(refusal(() => compileModel(loadSynthetic('cmp_out8', g.build([a, b], [y]))))).toMatch(/output 'y' is int8; LESS writes bool/);
  });
});

function selectModel(name: string, cShape: number[], xShape: number[], yShape: number[], outShape: number[], type: number, quant?: QuantSpec, yConstant?: Uint8Array): CompiledModel {
  const g = new GraphBuilder();
  const c = g.tensor('c', cShape, undefined, TensorType.BOOL);
  const x = g.tensor('x', xShape, quant, type);
  const y = yConstant === undefined ? g.tensor('y', yShape, quant, type) : g.constant('y', yShape, type, yConstant, quant);
  const out = g.tensor('out', outShape, quant, type);
  g.op(code('SELECT_V2'), [c, x, y], [out]);
  return compileModel(loadSynthetic(name, g.build(yConstant === undefined ? [c, x, y] : [c, x], [out])));
}

function logicalModel(name: string, op: string, aShape: number[], bShape: number[] | undefined, outShape: number[]): CompiledModel {
  const g = new GraphBuilder();
  const a = g.tensor('a', aShape, undefined, TensorType.BOOL);
  const ins = bShape === undefined ? [a] : [a, g.tensor('b', bShape, undefined, TensorType.BOOL)];
  const y = g.tensor('y', outShape, undefined, TensorType.BOOL);
  g.op(code(op), ins, [y]);
  return compileModel(loadSynthetic(name, g.build(ins, [y])));
}

describe('SELECT_V2 and LOGICAL_AND / OR / NOT', () => {
  it('SELECT_V2 follows tf.where\'s documented examples (element-wise and broadcast y), int8 / int16 / float32', async () => {
    // tf.where([T, F, F, T], [1, 2, 3, 4], [100, 200, 300, 400]) = [1, 200, 300, 4]; with y = [100]: [1, 100, 100, 4].
    const cond = boolBytes([1, 0, 0, 1]);
    await expectBoth(selectModel('sel_a', [4], [4], [4], [4], TensorType.INT16, q(0.5)), [cond, int16Bytes([1, 2, 3, 4]), int16Bytes([100, 200, 300, 400])], [int16Bytes([1, 200, 300, 4])]);
    await expectBoth(selectModel('sel_b', [4], [4], [1], [4], TensorType.INT8, q(0.5), int8Bytes([100])), [cond, int8Bytes([1, 2, 3, 4])], [int8Bytes([1, 100, 100, 4])]);
    // A [2, 1] condition picks whole rows of [2, 3] from x or a [3] y.
    await expectBoth(selectModel('sel_c', [2, 1], [2, 3], [3], [2, 3], TensorType.FLOAT32), [boolBytes([0, 1]), float32Bytes([1, 2, 3, 4, 5, 6]), float32Bytes([-1, -2, -3])], [float32Bytes([-1, -2, -3, 4, 5, 6])]);
  });

  it('LOGICAL_AND, LOGICAL_OR (broadcast) and LOGICAL_NOT on bool bytes', async () => {
    const a = boolBytes([1, 0, 1, 0]);
    const b = boolBytes([1, 1, 0, 0]);
    await expectBoth(logicalModel('and', 'LOGICAL_AND', [4], [4], [4]), [a, b], [boolBytes([1, 0, 0, 0])]);
    await expectBoth(logicalModel('or', 'LOGICAL_OR', [4], [4], [4]), [a, b], [boolBytes([1, 1, 1, 0])]);
    await expectBoth(logicalModel('not', 'LOGICAL_NOT', [4], undefined, [4]), [a], [boolBytes([0, 1, 0, 1])]);
    // [2, 1] AND [2]: rows [T] and [F] against [T, F].
    await expectBoth(logicalModel('and_b', 'LOGICAL_AND', [2, 1], [2], [2, 2]), [boolBytes([1, 0]), boolBytes([1, 0])], [boolBytes([1, 0, 0, 0])]);
  });

  it('host C equals the reference on random broadcast selects and logic', async () => {
    const r = new Prng(81);
    const bits = (n: number): Uint8Array => boolBytes(r.ints(n, 0, 1));
    await expectHostMatchesReference(selectModel('sel_r', [2, 1, 4], [3, 4], [2, 3, 1], [2, 3, 4], TensorType.INT8, q(0.1)), [[bits(8), int8Bytes(r.ints(12, -128, 127)), int8Bytes(r.ints(6, -128, 127))]]);
    await expectHostMatchesReference(logicalModel('or_r', 'LOGICAL_OR', [3, 1, 5], [4, 1], [3, 4, 5]), [[bits(15), bits(4)]]);
  });

  it('refuses a non-bool condition and mixed x / y types, as one line', () => {
    const g = new GraphBuilder();
    const c = g.tensor('c', [2], q(0.1));
    const x = g.tensor('x', [2], q(0.1));
    const y = g.tensor('y', [2], q(0.1));
    const out = g.tensor('out', [2], q(0.1));
    g.op(code('SELECT_V2'), [c, x, y], [out]);
    expect(refusal(() => compileModel(loadSynthetic('sel_bad', g.build([c, x, y], [out]))))).toMatch(/operator 0 \(SELECT_V2\): condition 'c' is int8; SELECT_V2 takes a bool condition/);
    expect(refusal(() => logicalModel('and_bad', 'LOGICAL_AND', [2], [3], [2]))).toMatch(/input shapes \[2\] and \[3\] do not broadcast/);
  });
});

/** Every new op in one model, so one build covers every kernel file and their shared headers. */
function allOpsModel(): CompiledModel {
  const g = new GraphBuilder();
  const x8 = g.tensor('x8', [4, 8], q(0.05, 3));
  const x16 = g.tensor('x16', [4, 8], q(0.001), TensorType.INT16);
  const xf = g.tensor('xf', [4, 8], undefined, TensorType.FLOAT32);
  const idx = g.tensor('idx', [2, 2], undefined, TensorType.INT32);
  const outs: number[] = [];
  const add = (op: string, x: number, type: number, outQ: QuantSpec | undefined, shape = [4, 8], extra: number[] = []): void => {
    const y = g.tensor(`${op.toLowerCase()}_${outs.length}`, shape, outQ, type);
    g.op(code(op), [x, ...extra], [y]);
    outs.push(y);
  };
  add('ABS', x8, TensorType.INT8, q(0.02, -3));
  add('ABS', x16, TensorType.INT16, q(0.002));
  add('ABS', xf, TensorType.FLOAT32, undefined);
  add('NEG', xf, TensorType.FLOAT32, undefined);
  add('L2_NORMALIZATION', x8, TensorType.INT8, q(1 / 128));
  add('L2_NORMALIZATION', xf, TensorType.FLOAT32, undefined);
  add('LOG_SOFTMAX', x8, TensorType.INT8, q(1 / 16, 127));
  add('LOG_SOFTMAX', xf, TensorType.FLOAT32, undefined);
  add('ELU', x8, TensorType.INT8, q(0.03, 10));
  add('ELU', xf, TensorType.FLOAT32, undefined);
  add('ADD_N', x8, TensorType.INT8, q(0.1), [4, 8], [x8]);
  add('ADD_N', xf, TensorType.FLOAT32, undefined, [4, 8], [xf]);
  add('CUMSUM', x8, TensorType.INT8, q(0.1), [4, 8], [g.int32Constant('axis1', [], [1])]);
  add('CUMSUM', xf, TensorType.FLOAT32, undefined, [4, 8], [g.int32Constant('axis0', [], [0])]);
  add('BROADCAST_TO', x8, TensorType.INT8, q(0.05, 3), [2, 4, 8], [g.int32Constant('shape', [3], [2, 4, 8])]);
  add('GATHER_ND', x8, TensorType.INT8, q(0.05, 3), [2], [idx]);
  add('ZEROS_LIKE', x8, TensorType.INT8, q(0.05, 3));
  const zeros = outs[outs.length - 1] as number;
  add('GREATER', x8, TensorType.BOOL, undefined, [4, 8], [g.int8Constant('threshold', [8], [-100, -50, -10, 0, 3, 10, 50, 100], q(0.1, -2))]);
  const greater = outs[outs.length - 1] as number;
  add('LESS_EQUAL', xf, TensorType.BOOL, undefined, [4, 8], [g.constant('zero', [], TensorType.FLOAT32, float32Bytes([0]))]);
  add('LOGICAL_OR', greater, TensorType.BOOL, undefined, [4, 8], [outs[outs.length - 1] as number]);
  add('LOGICAL_NOT', greater, TensorType.BOOL, undefined);
  add('SELECT_V2', greater, TensorType.INT8, q(0.05, 3), [4, 8], [x8, zeros]);
  return compileModel(loadSynthetic('all_ops_f', g.build([x8, x16, xf, idx], outs)));
}

function allOpsCase(seed: number): Uint8Array[] {
  const r = new Prng(seed);
  return [int8Bytes(r.ints(32, -128, 127)), int16Bytes(int16Cases(32, seed)), float32Bytes(Array.from({ length: 32 }, () => (r.unit() - 0.5) * 10 ** r.int(-4, 3))), new Uint8Array(Int32Array.from([3, 7, 0, 1]).buffer)];
}

describe('every new op in one model', () => {
  it('host C under ASan/UBSan and the emulated Xtensa LX106 equal the reference', async () => {
    const compiled = allOpsModel();
    const cases = [allOpsCase(61), allOpsCase(62)];
    await expectHostMatchesReference(compiled, cases);
    const mod = writeCModule(compiled, path.join(dir, 'xtensa', compiled.model.graph.name));
    const xtensa = await runCasesOnQemuXtensa(mod, cases, { workDir: dir });
    cases.forEach((c, i) => expect(xtensa[i], `case ${i}`).toEqual(runReference(compiled.model.graph, compiled.layers, c)));
  });

  it('builds for RISC-V (rv32imac) with -Wall -Wextra -Werror', async () => {
    const mod = writeCModule(allOpsModel(), path.join(dir, 'riscv', 'all_ops_f'));
    const source = path.join(mod.dir, 'all_ops_f.c');
    await runCompiler('riscv64-unknown-elf-gcc', ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-march=rv32imac', '-mabi=ilp32', '--specs=picolibc.specs', '-c', source, '-o', path.join(dir, 'all_ops_f.rv32.o')], 'riscv build');
  });
});

describe('on the emulated Cortex-M4', () => {
  it('ABS int8 and int16, L2_NORMALIZATION int8 and float32, LOG_SOFTMAX int8 and float32, ELU int8 and float32, ADD_N int8, CUMSUM int8, BROADCAST_TO, GATHER_ND, ZEROS_LIKE, LESS int8, SELECT_V2, LOGICAL_AND, NEG float32', async () => {
    await expectM4MatchesReference(unaryModel('m4_abs8', 'ABS', [256], TensorType.INT8, q(0.05, 3), q(0.02, -7)), [[int8Bytes(allInt8())]]);
    await expectM4MatchesReference(unaryModel('m4_abs16', 'ABS', [64], TensorType.INT16, q(0.0007), q(0.0003)), [[int16Bytes(int16Cases(64, 3))]]);
    await expectM4MatchesReference(unaryModel('m4_l2', 'L2_NORMALIZATION', [4, 8], TensorType.INT8, q(0.05, -9), q(1 / 128)), [[int8Bytes(new Prng(5).ints(32, -128, 127))]]);
    await expectM4MatchesReference(unaryModel('m4_l2f', 'L2_NORMALIZATION', [2, 3], TensorType.FLOAT32, undefined, undefined), [[float32Bytes([1, 2, 3, -1e-20, 0, 5e-21])]]);
    await expectM4MatchesReference(unaryModel('m4_lsm', 'LOG_SOFTMAX', [3, 10], TensorType.INT8, q(0.05, 3), q(16 / 256, 127)), [[int8Bytes(new Prng(6).ints(30, -128, 127))]]);
    await expectM4MatchesReference(unaryModel('m4_elu', 'ELU', [256], TensorType.INT8, q(0.05, 3), q(0.02, -7)), [[int8Bytes(allInt8())]]);
    await expectM4MatchesReference(unaryModel('m4_eluf', 'ELU', [5], TensorType.FLOAT32, undefined, undefined), [[float32Bytes([-0.3, -1e-7, -20, 4, -2.5])]]);
    await expectM4MatchesReference(addNModel('m4_addn', 2, TensorType.INT8, q(0.07, -9), q(0.15, 11)), [[int8Bytes([1, -128, 127, 9]), int8Bytes([100, -128, 127, -9])]]);
    await expectM4MatchesReference(cumsumModel('m4_cs', [3, 6], 1, TensorType.INT8, q(0.05, -7), q(0.3, 4), true, true), [[int8Bytes(new Prng(7).ints(18, -128, 127))]]);
    await expectM4MatchesReference(broadcastToModel('m4_bt', [2, 1, 3], [2, 4, 3], TensorType.INT8, q(0.1)), [[int8Bytes([1, 2, 3, -4, -5, -6])]]);
    await expectM4MatchesReference(gatherNdModel('m4_gnd', [2, 2], [3, 2], [3]), [[int8Bytes([1, 2, 3, 4]), new Uint8Array(Int32Array.from([1, 0, 0, 1, 1, 1]).buffer)]]);
    await expectM4MatchesReference(unaryModel('m4_zl', 'ZEROS_LIKE', [3], TensorType.INT8, q(0.1, 5), q(0.1, 5)), [[int8Bytes([1, -128, 127])]]);
    await expectM4MatchesReference(compareModel('m4_cmp', 'LESS', [2, 3], [3], [2, 3], TensorType.INT8, q(0.05, -3), q(0.1, 7)), [[int8Bytes([1, -128, 127, 40, -9, 3]), int8Bytes([0, -50, 77])]]);
    await expectM4MatchesReference(selectModel('m4_sel', [2, 1], [2, 3], [3], [2, 3], TensorType.INT8, q(0.1)), [[boolBytes([0, 1]), int8Bytes([1, 2, 3, 4, 5, 6]), int8Bytes([-1, -2, -3])]]);
    await expectM4MatchesReference(logicalModel('m4_and', 'LOGICAL_AND', [2, 1], [2], [2, 2]), [[boolBytes([1, 0]), boolBytes([1, 0])]]);
    await expectM4MatchesReference(unaryModel('m4_lsmf', 'LOG_SOFTMAX', [2, 5], TensorType.FLOAT32, undefined, undefined), [[float32Bytes([0.5, -3, 2, 80, -80, 1, 1, 1, 1, -1e-30])]]);
    await expectM4MatchesReference(unaryModel('m4_negf', 'NEG', [4], TensorType.FLOAT32, undefined, undefined), [[float32Bytes([0, -1.5, 1e-30, 3])]]);
  });
});
