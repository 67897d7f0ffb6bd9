// Group A ops (shape arithmetic and data movement) where the conformance suite does not reach:
// Keras shape chains folded away at compile time (int32 STRIDED_SLICE / PACK / FILL), constant
// sources of an on-device copy, TILE (no TFLite Micro kernel, so no golden), the copy
// simplification, and the one-line refusals of what TFLite Micro would reject.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Builder } from 'flatbuffers';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule, type LoadedModel } from '../compiler/compile.ts';
import { TinyforgeError } from '../compiler/errors.ts';
import type { Tensor } from '../compiler/ir/graph.ts';
import { parseTflite } from '../compiler/frontends/tflite/index.ts';
import { BuiltinOptionsType, F, TensorType } from '../compiler/frontends/tflite/schema.ts';
import { simplifyCopy } from '../compiler/ops/strided_copy.ts';
import { foldConstants } from '../compiler/passes/fold_constants.ts';
import { int32Constant, runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { GraphBuilder, int8Bytes, loadSynthetic, q } from './helpers/synthetic_models.ts';
import { reshapeOptions, type OptionsSpec } from './helpers/tflite_builder.ts';

const OP = { SLICE: 65, GATHER: 36, TRANSPOSE: 39, STRIDED_SLICE: 45, TILE: 69, SHAPE: 77, PACK: 83, FILL: 94, RESHAPE: 22 } as const;

const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-ops-a-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function options(type: number, fields: (b: Builder) => void): OptionsSpec {
  return {
    type,
    build: (b) => {
      b.startObject(6);
      fields(b);
      return b.endObject();
    },
  };
}

const stridedSliceOptions = (m: { begin?: number; end?: number; shrink?: number }): OptionsSpec =>
  options(BuiltinOptionsType.StridedSliceOptions, (b) => {
    b.addFieldInt32(F.StridedSliceOptions.beginMask, m.begin ?? 0, null);
    b.addFieldInt32(F.StridedSliceOptions.endMask, m.end ?? 0, null);
    b.addFieldInt32(F.StridedSliceOptions.shrinkAxisMask, m.shrink ?? 0, null);
  });

const packOptions = (count: number, axis: number): OptionsSpec =>
  options(BuiltinOptionsType.PackOptions, (b) => {
    b.addFieldInt32(F.PackOptions.valuesCount, count, null);
    b.addFieldInt32(F.PackOptions.axis, axis, null);
  });

const gatherOptions = (axis: number): OptionsSpec => options(BuiltinOptionsType.GatherOptions, (b) => b.addFieldInt32(F.GatherOptions.axis, axis, null));

/** Loads in-memory bytes the way `loadModel` does a file: parsed, then constant-folded. */
function load(name: string, bytes: Uint8Array): LoadedModel {
  return { ...loadSynthetic(name, bytes), graph: foldConstants(parseTflite(bytes, `${name}.tflite`)) };
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof TinyforgeError)) throw e;
    expect(e.message).not.toContain('\n');
    return e.message;
  }
  throw new Error('expected a refusal');
}

const QI = q(0.05, 3);

describe('group A: Keras shape chains fold at compile time', () => {
  it('SHAPE -> STRIDED_SLICE (shrink) -> PACK -> RESHAPE leaves only the zero-copy reshape', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 4, 6], QI);
    const shape = g.tensor('shape', [3], undefined, TensorType.INT32);
    const batch = g.tensor('batch', [], undefined, TensorType.INT32);
    const packed = g.tensor('packed', [2], undefined, TensorType.INT32);
    const y = g.tensor('y', [1, 24], QI);
    g.op(OP.SHAPE, [x], [shape]);
    const c = (n: string, v: number[]): number => g.int32Constant(n, [v.length], v);
    g.op(OP.STRIDED_SLICE, [shape, c('b', [0]), c('e', [1]), c('s', [1])], [batch], stridedSliceOptions({ shrink: 1 }));
    g.op(OP.PACK, [batch, g.int32Constant('n', [], [24])], [packed], packOptions(2, 0));
    g.op(OP.RESHAPE, [x, packed], [y], reshapeOptions());
    const model = load('keras_chain', g.build([x], [y]));
    expect(int32Constant(model.graph.tensors[packed] as Tensor)).toEqual(Int32Array.from([1, 24]));
    const compiled = compileModel(model);
    expect(compiled.layers.map((l) => l.kernel)).toEqual(['reshape']);
    const input = Uint8Array.from({ length: 24 }, (_, i) => i * 7);
    expect(runReference(compiled.model.graph, compiled.layers, [input])[0]).toEqual(input);
  });

  it('folds int32 STRIDED_SLICE with a negative stride, begin and end masks', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [2, 3], QI);
    const data = g.int32Constant('data', [2, 3], [10, 11, 12, 20, 21, 22]);
    const out = g.tensor('rev', [2, 2], undefined, TensorType.INT32);
    const c = (n: string, v: number[]): number => g.int32Constant(n, [v.length], v);
    // Rows reversed (begin mask on axis 0, stride -1); columns 2 and 0 (stride -2 from the end).
    g.op(OP.STRIDED_SLICE, [data, c('b', [0, -1]), c('e', [0, -4]), c('s', [-1, -2])], [out], stridedSliceOptions({ begin: 1, end: 1 }));
    const y = g.tensor('y', [2, 3], QI);
    g.op(OP.RESHAPE, [x], [y], reshapeOptions([2, 3]));
    const model = load('ss_int32', g.build([x], [y]));
    expect(model.graph.ops.map((o) => o.kind)).toEqual(['reshape']);
    expect(int32Constant(model.graph.tensors[out] as Tensor)).toEqual(Int32Array.from([22, 20, 12, 10]));
  });

  it('FILL of folded dims is a constant; PACK copies it on the device next to an activation', async () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 8], QI);
    const shape = g.tensor('shape', [2], undefined, TensorType.INT32);
    const filled = g.tensor('filled', [1, 8], QI);
    const y = g.tensor('y', [2, 1, 8], QI);
    g.op(OP.SHAPE, [x], [shape]);
    g.op(OP.FILL, [shape, g.int8Constant('five', [], [5], QI)], [filled]);
    g.op(OP.PACK, [x, filled], [y], packOptions(2, 0));
    const compiled = compileModel(load('fill_pack', g.build([x], [y])));
    expect(compiled.layers.map((l) => (l.kernel === 'module' ? l.displayKernel : l.kernel))).toEqual(['strided_copy_s8']);
    const input = int8Bytes([-128, -1, 0, 1, 2, 3, 4, 127]);
    const expected = new Uint8Array([...input, ...new Array<number>(8).fill(5)]);
    expect(runReference(compiled.model.graph, compiled.layers, [input])[0]).toEqual(expected);
    const mod = writeCModule(compiled, path.join(dir, 'fill_pack'));
    const [host] = await runCasesOnHost(mod, [[input]], { sanitize: true, workDir: dir });
    expect(host?.[0]).toEqual(expected);
  });
});

describe('group A: TILE (no TFLite Micro kernel: checked against values written out by hand)', () => {
  it('repeats a [2,3] input 2x along axis 0 and 2x along axis 1, on ref and host C', async () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [2, 3], QI);
    const y = g.tensor('y', [4, 6], QI);
    g.op(OP.TILE, [x, g.int32Constant('m', [2], [2, 2])], [y]);
    const compiled = compileModel(load('tile', g.build([x], [y])));
    const input = int8Bytes([1, 2, 3, 4, 5, 6]);
    const row = (a: number[]): number[] => [...a, ...a];
    const expected = int8Bytes([...row([1, 2, 3]), ...row([4, 5, 6]), ...row([1, 2, 3]), ...row([4, 5, 6])]);
    expect(runReference(compiled.model.graph, compiled.layers, [input])[0]).toEqual(expected);
    const mod = writeCModule(compiled, path.join(dir, 'tile'));
    const [host] = await runCasesOnHost(mod, [[input]], { sanitize: true, workDir: dir });
    expect(host?.[0]).toEqual(expected);
  });

  it('int32 SLICE and GATHER with run-time positions run on host C (paths the int8/int16 goldens miss)', async () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [2, 3], undefined, TensorType.INT32);
    const sliced = g.tensor('sliced', [2, 2], undefined, TensorType.INT32);
    g.op(OP.SLICE, [x, g.int32Constant('begin', [2], [0, 1]), g.int32Constant('size', [2], [-1, 2])], [sliced]);
    const params = g.tensor('params', [4, 3], QI);
    const positions = g.tensor('positions', [2], undefined, TensorType.INT32);
    const gathered = g.tensor('gathered', [2, 3], QI);
    g.op(OP.GATHER, [params, positions], [gathered], gatherOptions(0));
    const compiled = compileModel(load('int32_paths', g.build([x, params, positions], [sliced, gathered])));
    const i32 = (v: number[]): Uint8Array => new Uint8Array(Int32Array.from(v).buffer);
    const inputs = [i32([1, -2, 3, 70000, -80000, 6]), int8Bytes([0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32]), i32([3, 1])];
    const expected = [i32([-2, 3, -80000, 6]), int8Bytes([30, 31, 32, 10, 11, 12])];
    expect(runReference(compiled.model.graph, compiled.layers, inputs)).toEqual(expected);
    const mod = writeCModule(compiled, path.join(dir, 'int32_paths'));
    const [host] = await runCasesOnHost(mod, [inputs], { sanitize: true, workDir: dir });
    expect(host).toEqual(expected);
    // A position outside the axis fails the run, as TFLite Micro fails Invoke.
    const bad = [inputs[0] as Uint8Array, inputs[1] as Uint8Array, i32([4, 0])];
    expect(() => runReference(compiled.model.graph, compiled.layers, bad)).toThrow(/position 4/);
    await expect(runCasesOnHost(mod, [bad], { sanitize: true, workDir: dir })).rejects.toThrow(/invoke/i);
  });

  it('a TRANSPOSE that only moves size-1 axes is a reshape', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 5, 1, 3], QI);
    const y = g.tensor('y', [5, 1, 3, 1], QI);
    g.op(OP.TRANSPOSE, [x, g.int32Constant('perm', [4], [1, 0, 3, 2])], [y]);
    expect(compileModel(load('transpose_view', g.build([x], [y]))).layers.map((l) => l.kernel)).toEqual(['reshape']);
  });
});

describe('group A: copy simplification', () => {
  it('drops size-1 axes and merges axes that continue each other', () => {
    // A [1,4,3,2] slice of a [1,4,3,2] tensor: one run of 24.
    expect(simplifyCopy({ count: [1, 4, 3, 2], inStride: [24, 6, 2, 1], outStride: [24, 6, 2, 1], inOffset: 0, outOffset: 0 }).count).toEqual([24]);
    // Columns 1..2 of a [4,5] matrix: 4 runs of 2 stay two axes.
    const s = simplifyCopy({ count: [4, 2], inStride: [5, 1], outStride: [2, 1], inOffset: 1, outOffset: 0 });
    expect(s).toEqual({ count: [4, 2], inStride: [5, 1], outStride: [2, 1], inOffset: 1, outOffset: 0 });
  });
});

describe('group A: refusals name the tensor and say what is wrong', () => {
  it('STRIDED_SLICE begin computed at run time', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [4, 4], QI);
    const begin = g.tensor('begin_in', [2], undefined, TensorType.INT32);
    const y = g.tensor('y', [2, 4], QI);
    const c = (n: string, v: number[]): number => g.int32Constant(n, [v.length], v);
    g.op(OP.STRIDED_SLICE, [x, begin, c('e', [2, 4]), c('s', [1, 1])], [y], stridedSliceOptions({}));
    expect(refusal(() => compileModel(load('ss_dyn', g.build([x, begin], [y]))))).toMatch(/begin 'begin_in' must be a constant tensor/);
  });

  it('STRIDED_SLICE on 5-D input (TFLite Micro takes at most 4)', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x5', [1, 2, 2, 2, 2], QI);
    const y = g.tensor('y', [1, 2, 2, 2, 2], QI);
    const c = (n: string, v: number[]): number => g.int32Constant(n, [v.length], v);
    g.op(OP.STRIDED_SLICE, [x, c('b', [0, 0, 0, 0, 0]), c('e', [1, 2, 2, 2, 2]), c('s', [1, 1, 1, 1, 1])], [y], stridedSliceOptions({}));
    expect(refusal(() => compileModel(load('ss_5d', g.build([x], [y]))))).toMatch(/input 'x5' has rank 5.*at most 4/);
  });

  it('TRANSPOSE of int32 activations (TFLite Micro takes float32, int8, int16)', () => {
    const g = new GraphBuilder();
    const x = g.tensor('xi', [2, 3], undefined, TensorType.INT32);
    const y = g.tensor('y', [3, 2], undefined, TensorType.INT32);
    g.op(OP.TRANSPOSE, [x, g.int32Constant('perm', [2], [1, 0])], [y]);
    expect(refusal(() => compileModel(load('tr_i32', g.build([x], [y]))))).toMatch(/input 'xi' is int32; this op takes int8, int16/);
  });

  it('GATHER with a constant position outside the axis', () => {
    const g = new GraphBuilder();
    const x = g.tensor('params', [4, 3], QI);
    const y = g.tensor('y', [2, 3], QI);
    g.op(OP.GATHER, [x, g.int32Constant('idx', [2], [1, 4])], [y], gatherOptions(0));
    expect(refusal(() => compileModel(load('gather_oob', g.build([x], [y]))))).toMatch(/positions 'idx' hold 4, outside axis 0 of size 4/);
  });

  it('PACK whose output shape does not stack its inputs', () => {
    const g = new GraphBuilder();
    const a = g.tensor('a', [3], QI);
    const b = g.tensor('b', [3], QI);
    const y = g.tensor('y', [3, 2], QI);
    g.op(OP.PACK, [a, b], [y], packOptions(2, 0));
    expect(refusal(() => compileModel(load('pack_bad', g.build([a, b], [y]))))).toMatch(/'y' has shape \[3,2\] but stacking 2 of 'a' \[3\] on axis 0 gives \[2,3\]/);
  });
});
