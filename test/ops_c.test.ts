// Group C ops (activations, QUANTIZE/DEQUANTIZE, int16 SOFTMAX): what the conformance suite does
// not cover — clean refusals of configurations TFLite Micro rejects, full-range table checks on
// synthetic models, and the shared helpers (broadcast strides, inverse square root, random float
// inputs, the supported-op list).

import { describe, expect, it } from 'vitest';
import { compileModel } from '../compiler/compile.ts';
import { supportedOpNames } from '../compiler/frontends/tflite/to_ir.ts';
import { builtinOperatorName, TensorType } from '../compiler/frontends/tflite/schema.ts';
import { broadcastStrides } from '../compiler/ops/broadcast.ts';
import { invSqrtQuantizedMultiplierExp } from '../compiler/quant/fixed_point_math.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { randomInputs } from '../compiler/validate/random_cases.ts';
import { GraphBuilder, loadSynthetic, q } from './helpers/synthetic_models.ts';
import { softmaxOptions } from './helpers/tflite_builder.ts';

function code(name: string): number {
  for (let c = 0; c < 256; c++) if (builtinOperatorName(c) === name) return c;
  throw new Error(`no builtin ${name}`);
}

/** A one-op model: input x (type, quant) -> y (type, quant). */
function unary(op: string, inType: number, inQ: ReturnType<typeof q>, outType: number, outQ: ReturnType<typeof q>, shape = [1, 256]): Uint8Array {
  const g = new GraphBuilder();
  const x = g.tensor('x', shape, inQ, inType);
  const y = g.tensor('y', shape, outQ, outType);
  g.op(code(op), [x], [y], op === 'SOFTMAX' ? softmaxOptions(1) : undefined);
  return g.build([x], [y]);
}

const allBytes = new Uint8Array(Array.from({ length: 256 }, (_, i) => i));

describe('refusals of configurations TFLite Micro rejects', () => {
  it('HARD_SWISH on int16', () => {
    const m = loadSynthetic('hs', unary('HARD_SWISH', TensorType.INT16, q(0.001), TensorType.INT16, q(0.001)));
    expect(() => compileModel(m)).toThrow(/operator 0 \(HARD_SWISH\): input 'x' is int16; TFLite Micro's HARD_SWISH supports int8 only/);
  });

  it('int8 LOGISTIC with an output zero point other than -128', () => {
    const m = loadSynthetic('lg', unary('LOGISTIC', TensorType.INT8, q(0.1), TensorType.INT8, q(1 / 256, 0)));
    expect(() => compileModel(m)).toThrow(/operator 0 \(LOGISTIC\): output 'y' has zero point 0; int8 LOGISTIC needs -128/);
  });

  it('int16 TANH with an output scale other than 2^-15', () => {
    const m = loadSynthetic('th', unary('TANH', TensorType.INT16, q(1 / 4096), TensorType.INT16, q(1 / 1000)));
    expect(() => compileModel(m)).toThrow(/operator 0 \(TANH\): output 'y' scale 0\.00\d+ must be 2\^-15/);
  });

  it('QUANTIZE float32 -> uint8 and uint8 -> int16', () => {
    const f = loadSynthetic('qf', unary('QUANTIZE', TensorType.FLOAT32, q(1), TensorType.UINT8, q(0.01, 128)));
    expect(() => compileModel(f)).toThrow(/operator 0 \(QUANTIZE\): QUANTIZE from float32 to uint8 is not supported/);
    const u = loadSynthetic('qu', unary('QUANTIZE', TensorType.UINT8, q(0.01, 128), TensorType.INT16, q(0.001)));
    expect(() => compileModel(u)).toThrow(/operator 0 \(QUANTIZE\): QUANTIZE from uint8 to int16 is not supported/);
  });

  it('int16 SOFTMAX with an output scale other than 1/32768', () => {
    const m = loadSynthetic('sm', unary('SOFTMAX', TensorType.INT16, q(0.001), TensorType.INT16, q(1 / 256)));
    expect(() => compileModel(m)).toThrow(/operator 0 \(SOFTMAX\): int16 softmax output must have scale 1\/32768 and zero point 0/);
  });

  it('PRELU with an alpha computed at run time', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 2, 2, 4], q(0.05));
    const a = g.tensor('alpha', [4], q(0.01));
    const y = g.tensor('y', [1, 2, 2, 4], q(0.05));
    g.op(code('PRELU'), [x, a], [y]);
    expect(() => compileModel(loadSynthetic('pr', g.build([x, a], [y])))).toThrow(/operator 0 \(PRELU\): alpha 'alpha' must be a constant tensor/);
  });
});

describe('8-bit inputs through compile-time tables', () => {
  it('QUANTIZE uint8 -> int8 with the same scale shifts every value by 128', () => {
    const c = compileModel(loadSynthetic('u2s', unary('QUANTIZE', TensorType.UINT8, q(0.05, 128), TensorType.INT8, q(0.05, 0))));
    const [out] = runReference(c.model.graph, c.layers, [allBytes]);
    expect(Array.from(new Int8Array(out!.buffer))).toEqual(Array.from(allBytes, (v) => v - 128));
  });

  it('LOGISTIC int8 is monotone, centred and saturates at both ends', () => {
    const c = compileModel(loadSynthetic('lg8', unary('LOGISTIC', TensorType.INT8, q(0.1, 0), TensorType.INT8, q(1 / 256, -128))));
    const [out] = runReference(c.model.graph, c.layers, [allBytes]);
    const y = new Int8Array(out!.buffer);
    // Raw byte 0 is the value 0 (sigmoid 0.5 -> 0), 127 is +12.7, 128 is -12.8.
    expect(y[0]).toBe(0);
    expect(y[127]).toBe(127);
    expect(y[128]).toBe(-128);
    const byValue = Array.from({ length: 256 }, (_, i) => y[(i - 128) & 0xff] as number);
    for (let i = 1; i < 256; i++) expect(byValue[i]).toBeGreaterThanOrEqual(byValue[i - 1] as number);
  });
});

describe('shared helpers', () => {
  it('broadcast strides: per-channel, full, scalar and incompatible shapes', () => {
    expect(broadcastStrides([16], [1, 4, 4, 16], 4)).toEqual([0, 0, 0, 1]);
    expect(broadcastStrides([1, 4, 4, 16], [1, 4, 4, 16], 4)).toEqual([0, 64, 16, 1]);
    expect(broadcastStrides([1], [2, 3], 4)).toEqual([0, 0, 0, 0]);
    expect(broadcastStrides([4, 1], [2, 4, 3], 4)).toEqual([0, 0, 1, 0]);
    expect(broadcastStrides([3], [2, 4], 4)).toBeUndefined();
  });

  it('inverse square root multipliers are close to 1/sqrt(x)', () => {
    for (const x of [2, 4, 100, 12345, 1 << 20]) {
      const r = invSqrtQuantizedMultiplierExp(x);
      expect(Math.abs((r.multiplier * 2 ** r.shift) / 2 ** 31 - 1 / Math.sqrt(x))).toBeLessThan(1e-5 / Math.sqrt(x));
    }
    expect(invSqrtQuantizedMultiplierExp(1)).toEqual({ multiplier: 2147483647, shift: 0 });
  });

  it('random float32 inputs follow the goldens rule', () => {
    const [bytes] = randomInputs([{ name: 'x', dtype: 'float32', bytes: 4 * 1000, shape: [1000] } as never], 0);
    const v = new Float32Array(bytes!.buffer);
    let s = (0x9e3779b9 ^ 1) >>> 0;
    s = (s ^ (s << 13)) >>> 0;
    s = (s ^ (s >>> 17)) >>> 0;
    s = (s ^ (s << 5)) >>> 0;
    expect(v[0]).toBe(((s >>> 8) / 16777216) * 2 - 1);
    for (const x of v) expect(x >= -1 && x < 1).toBe(true);
  });

  it('the supported-op list names each op once', () => {
    expect(new Set(supportedOpNames()).size).toBe(supportedOpNames().length);
    for (const op of ['QUANTIZE', 'DEQUANTIZE', 'SOFTMAX', 'LOGISTIC', 'TANH', 'HARD_SWISH', 'LEAKY_RELU', 'PRELU', 'RSQRT']) expect(supportedOpNames()).toContain(op);
  });
});
