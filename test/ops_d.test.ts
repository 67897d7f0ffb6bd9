// Group D op modules (reductions, resizing, transposed convolution, matmul, per-channel FC):
// what the conformance suite does not cover — the compile-time reduction plan and MEAN's folded
// multiplier, a hand-computed MEAN, and the one-line refusals of configurations TFLite Micro
// rejects or tinyforge does not support.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileModel, type CompiledModel } from '../compiler/compile.ts';
import { parseTflite } from '../compiler/frontends/tflite/index.ts';
import { BuiltinOp, BuiltinOptionsType, F, TensorType } from '../compiler/frontends/tflite/schema.ts';
import { foldMeanCount, mergeReduction } from '../compiler/ops/reduce.ts';
import { bilinearTable, nearestSource } from '../compiler/ops/resize.ts';
import { foldConstants } from '../compiler/passes/fold_constants.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { buildTflite, fullyConnectedOptions, int32Bytes, int8Bytes, type ModelSpec, type OptionsSpec, type TensorSpec } from './helpers/tflite_builder.ts';
import { refusal } from './helpers/refusal.ts';

/** Builtin codes of the ops under test (the schema's BuiltinOp lists only the built-in converters). */
const Code = { MEAN: 40, SUM: 74, REDUCE_MAX: 82, BATCH_MATMUL: 126 } as const;

function compileSpec(spec: ModelSpec): CompiledModel {
  const bytes = buildTflite(spec);
  const graph = foldConstants(parseTflite(bytes, 'ops_d.tflite'));
  return compileModel({ path: 'ops_d.tflite', bytes, sha256: createHash('sha256').update(bytes).digest('hex'), graph });
}

const keepDims: OptionsSpec = {
  type: BuiltinOptionsType.ReducerOptions,
  build: (b) => {
    b.startObject(1);
    b.addFieldInt8(F.ReducerOptions.keepDims, 1, null);
    return b.endObject();
  },
};

/** One reduction op over an int8 [1,2,2,1] input along axes [1, 2], keep_dims. */
function reduceSpec(builtin: number, o: { input?: TensorSpec; output?: TensorSpec; axisBuffer?: boolean } = {}): ModelSpec {
  return {
    opcodes: [{ builtin }],
    tensors: [
      o.input ?? { name: 'x', shape: [1, 2, 2, 1], type: TensorType.INT8, quant: { scale: [1], zeroPoint: [0] } },
      { name: 'axis', shape: [2], type: TensorType.INT32, buffer: o.axisBuffer === false ? 0 : 1 },
      o.output ?? { name: 'y', shape: [1, 1, 1, 1], type: TensorType.INT8, quant: { scale: [1], zeroPoint: [0] } },
    ],
    operators: [{ opcode: 0, inputs: [0, 1], outputs: [2], options: keepDims }],
    inputs: o.axisBuffer === false ? [0, 1] : [0],
    outputs: [2],
    buffers: [{}, { data: int32Bytes([1, 2]) }],
  };
}

describe('reduction plan', () => {
  it('drops size-1 dimensions and merges neighbours that are both reduced or both kept', () => {
    expect(mergeReduction([1, 4, 5, 3], new Set([1, 2]))).toEqual({ dims: [20, 3], outStrides: [0, 1] });
    expect(mergeReduction([2, 3, 4], new Set([0, 2]))).toEqual({ dims: [2, 3, 4], outStrides: [0, 1, 0] });
    expect(mergeReduction([2, 7, 6], new Set([1]))).toEqual({ dims: [2, 7, 6], outStrides: [6, 0, 1] });
    expect(mergeReduction([1, 3, 4, 5], new Set([0, 1, 2, 3]))).toEqual({ dims: [60], outStrides: [0] });
    // every dimension is 1: one input element feeds the one output
    expect(mergeReduction([1, 1], new Set([0]))).toEqual({ dims: [1], outStrides: [1] });
  });

  it("folds MEAN's 1/count into the multiplier in 64-bit integers (QuantizedMeanOrSum)", () => {
    // 2^30 * 2^4 / 20 = 858993459.2 -> 858993459, shift -1 - 4
    expect(foldMeanCount(1 << 30, -1, 20)).toEqual({ multiplier: 858993459, shift: -5 });
    // the extra shift is capped at 31 + shift so the final shift stays >= -31
    expect(foldMeanCount(1 << 30, -29, 1024)).toEqual({ multiplier: Number((BigInt(1 << 30) << 2n) / 1024n), shift: -31 });
  });
});

describe('MEAN / REDUCE_MAX through the whole stack', () => {
  it('rounds a mean of 2.75 to 3 (requantized, half away from zero)', () => {
    const c = compileSpec(reduceSpec(Code.MEAN));
    const [out] = runReference(c.model.graph, c.layers, [int8Bytes([1, 2, 3, 5])]);
    expect(Array.from(new Int8Array((out as Uint8Array).buffer))).toEqual([3]);
  });

  it('refuses an int8 REDUCE_MAX whose output is quantized differently, as TFLite Micro does', () => {
    const spec = reduceSpec(Code.REDUCE_MAX, { output: { name: 'y', shape: [1, 1, 1, 1], type: TensorType.INT8, quant: { scale: [2], zeroPoint: [0] } } });
    expect(refusal(() => compileSpec(spec))).toMatch(/REDUCE_MAX.*quantized differently/);
  });

  it('refuses int16 REDUCE_MAX (TFLite Micro has int8 only)', () => {
    const x: TensorSpec = { name: 'x', shape: [1, 2, 2, 1], type: TensorType.INT16, quant: { scale: [1], zeroPoint: [0] } };
    const y: TensorSpec = { name: 'y', shape: [1, 1, 1, 1], type: TensorType.INT16, quant: { scale: [1], zeroPoint: [0] } };
    expect(refusal(() => compileSpec(reduceSpec(Code.REDUCE_MAX, { input: x, output: y })))).toMatch(/input 'x' is int16; this op takes int8/);
  });

  it('refuses axes that are not a constant', () => {
    expect(refusal(() => compileSpec(reduceSpec(Code.MEAN, { axisBuffer: false })))).toMatch(/axis tensor 1 'axis' is not a constant/);
  });

  it('refuses an output shape that does not match the reduction', () => {
    const y: TensorSpec = { name: 'y', shape: [1, 2], type: TensorType.INT8, quant: { scale: [1], zeroPoint: [0] } };
    expect(refusal(() => compileSpec(reduceSpec(Code.SUM, { output: y })))).toMatch(/output tensor 2 'y' has shape \[1, 2\]/);
  });
});

describe('resize tables', () => {
  it('nearest neighbour: float32 source indices, clamped to the input', () => {
    expect(Array.from({ length: 8 }, (_, i) => nearestSource(i, 4, 8, false, false))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(Array.from({ length: 7 }, (_, i) => nearestSource(i, 4, 7, true, false))).toEqual([0, 1, 1, 2, 2, 3, 3]);
  });

  it('bilinear: half-pixel centres give a negative weight at the top edge (lower index clamped to 0)', () => {
    // 4 -> 8: scale 512; row 0 sits at -256/1024 of a pixel
    expect(bilinearTable(4, 8, false, true).slice(0, 6)).toEqual([0, 0, -256, 0, 1, 256]);
  });
});

describe('BATCH_MATMUL and FULLY_CONNECTED refusals', () => {
  it('refuses int16 BATCH_MATMUL with a non-zero zero point', () => {
    const t = (name: string, shape: number[], zp: number): TensorSpec => ({ name, shape, type: TensorType.INT16, quant: { scale: [0.01], zeroPoint: [zp] } });
    const spec: ModelSpec = {
      opcodes: [{ builtin: Code.BATCH_MATMUL }],
      tensors: [t('a', [2, 3], 1), t('b', [3, 4], 0), t('y', [2, 4], 0)],
      operators: [{ opcode: 0, inputs: [0, 1], outputs: [2] }],
      inputs: [0, 1],
      outputs: [2],
      buffers: [{}],
    };
    expect(refusal(() => compileSpec(spec))).toMatch(/int16 BATCH_MATMUL needs zero points of 0/);
  });

  it('refuses per-channel FULLY_CONNECTED weights quantized along the input dimension', () => {
    const spec: ModelSpec = {
      opcodes: [{ builtin: BuiltinOp.FULLY_CONNECTED }],
      tensors: [
        { name: 'x', shape: [1, 3], type: TensorType.INT8, quant: { scale: [0.1], zeroPoint: [0] } },
        { name: 'w', shape: [2, 3], type: TensorType.INT8, buffer: 1, quant: { scale: [0.1, 0.2, 0.3], zeroPoint: [0, 0, 0], axis: 1 } },
        { name: 'y', shape: [1, 2], type: TensorType.INT8, quant: { scale: [0.1], zeroPoint: [0] } },
      ],
      operators: [{ opcode: 0, inputs: [0, 1], outputs: [2], options: fullyConnectedOptions({}) }],
      inputs: [0],
      outputs: [2],
      buffers: [{}, { data: int8Bytes([1, 2, 3, 4, 5, 6]) }],
    };
    expect(refusal(() => compileSpec(spec))).toMatch(/filter 'w' is quantized along dimension 1/);
  });
});
