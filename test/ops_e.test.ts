// Group E ops: ARG_MAX / ARG_MIN, SPACE_TO_DEPTH / DEPTH_TO_SPACE, SPACE_TO_BATCH_ND /
// BATCH_TO_SPACE_ND and MIRROR_PAD. TFLite Micro's conformance suite has no case for them, so
// each is checked against values written out by hand (or taken from a published example) on the
// TS reference and on host C under ASan/UBSan, plus the one-line refusals of what Micro rejects.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule, type CompiledModel } from '../compiler/compile.ts';
import type { Builder } from 'flatbuffers';
import { BuiltinOptionsType, builtinOperatorName, F, TensorType } from '../compiler/frontends/tflite/schema.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { float32Bytes, GraphBuilder, int32Bytes, int8Bytes, loadSynthetic, q } from './helpers/synthetic_models.ts';
import { refusal } from './helpers/refusal.ts';
import type { OptionsSpec } from './helpers/tflite_builder.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-ops-e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function code(name: string): number {
  for (let c = 0; c < 256; c++) if (builtinOperatorName(c) === name) return c;
  throw new Error(`no builtin ${name}`);
}

const QI = q(0.05, 3);

function oneField(type: number, field: number, value: number, width: 'i32' | 'i8' = 'i32'): OptionsSpec {
  return {
    type,
    build: (b: Builder) => {
      b.startObject(2);
      if (width === 'i32') b.addFieldInt32(field, value, null);
      else b.addFieldInt8(field, value, null);
      return b.endObject();
    },
  };
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

/** Runs one input case on the reference and on sanitized host C; both must give `expected`. */
async function expectBoth(compiled: CompiledModel, inputs: Uint8Array[], expected: Uint8Array[]): Promise<void> {
  expect(runReference(compiled.model.graph, compiled.layers, inputs)).toEqual(expected);
  const mod = writeCModule(compiled, path.join(dir, compiled.model.graph.name));
  const [host] = await runCasesOnHost(mod, [inputs], { sanitize: true, workDir: dir });
  expect(host).toEqual(expected);
}

describe('ARG_MAX / ARG_MIN', () => {
  function argModel(op: 'ARG_MAX' | 'ARG_MIN', shape: number[], axis: number, inType: number = TensorType.INT8): CompiledModel {
    const g = new GraphBuilder();
    const x = g.tensor('x', shape, inType === TensorType.INT8 ? QI : undefined, inType);
    const y = g.tensor('y', shape.filter((_, k) => k !== (axis < 0 ? axis + shape.length : axis)), undefined, TensorType.INT32);
    g.op(code(op), [x, g.int32Constant('axis', [1], [axis])], [y]);
    return compileModel(loadSynthetic(`${op.toLowerCase()}_${axis < 0 ? 'm' : ''}${Math.abs(axis)}`, g.build([x], [y])));
  }

  it('int8 ARG_MAX over the last axis keeps the first of equal maxima', async () => {
    // Rows: [1, 7, 7, -2] -> 1 (first of the two 7s); [-5, -5, -9, -6] -> 0; [0, 1, 2, 127] -> 3.
    await expectBoth(argModel('ARG_MAX', [3, 4], -1), [int8Bytes([1, 7, 7, -2, -5, -5, -9, -6, 0, 1, 2, 127])], [int32Bytes([1, 0, 3])]);
  });

  it('int8 ARG_MIN over a middle axis', async () => {
    // x[2][3][2]; for each (outer, inner) the smallest of three values along axis 1.
    const x = [4, 9, 2, 9, 2, -1, /* outer 1 */ -128, 5, -128, 5, 0, 4];
    // outer 0: inner 0 -> [4, 2, 2] -> 1; inner 1 -> [9, 9, -1] -> 2. outer 1: inner 0 -> [-128, -128, 0] -> 0; inner 1 -> [5, 5, 4] -> 2.
    await expectBoth(argModel('ARG_MIN', [2, 3, 2], 1), [int8Bytes(x)], [int32Bytes([1, 2, 0, 2])]);
  });

  it('int32 and float32 inputs', async () => {
    await expectBoth(argModel('ARG_MAX', [2, 3], 0, TensorType.INT32), [int32Bytes([5, -70000, 3, 5, 80000, 2])], [int32Bytes([0, 1, 0])]);
    await expectBoth(argModel('ARG_MIN', [5], 0, TensorType.FLOAT32), [float32Bytes([0.5, -0.25, 3, -0.25, 1e-30])], [int32Bytes([1])]);
  });

  it('refuses int64 outputs and a run-time axis, as one line', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [4], QI);
    const y = g.tensor('y', [], undefined, TensorType.INT64);
    g.op(code('ARG_MAX'), [x, g.int32Constant('axis', [1], [0])], [y]);
    expect(refusal(() => compileModel(loadSynthetic('arg64', g.build([x], [y]))))).toMatch(/operator 0 \(ARG_MAX\): output 'y' is int64; TFLite Micro's ARG_MAX\/ARG_MIN write int32 positions only/);
    const h = new GraphBuilder();
    const hx = h.tensor('x', [4], QI);
    const axis = h.tensor('axis', [1], undefined, TensorType.INT32);
    const hy = h.tensor('y', [], undefined, TensorType.INT32);
    h.op(code('ARG_MIN'), [hx, axis], [hy]);
    expect(refusal(() => compileModel(loadSynthetic('argrt', h.build([hx, axis], [hy]))))).toMatch(/axis 'axis' must be one constant int32 or int64 value/);
  });
});

describe('SPACE_TO_DEPTH / DEPTH_TO_SPACE', () => {
  it('moves 2x2 pixel blocks into channels in TFLite order, and DEPTH_TO_SPACE undoes it', async () => {
    // x[1][4][4][1] = 0..15 row-major; block (by, bx) goes to channel by * 2 + bx.
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 4, 4, 1], QI);
    const d = g.tensor('d', [1, 2, 2, 4], QI);
    const back = g.tensor('back', [1, 4, 4, 1], QI);
    g.op(code('SPACE_TO_DEPTH'), [x], [d], oneField(BuiltinOptionsType.SpaceToDepthOptions, F.SpaceToDepthOptions.blockSize, 2));
    g.op(code('DEPTH_TO_SPACE'), [d], [back], oneField(BuiltinOptionsType.DepthToSpaceOptions, F.DepthToSpaceOptions.blockSize, 2));
    const compiled = compileModel(loadSynthetic('s2d', g.build([x], [d, back])));
    const input = int8Bytes(range(16));
    await expectBoth(compiled, [input], [int8Bytes([0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]), input]);
  });

  it('keeps channels together inside a block (float32, 2 channels)', async () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 1, 1, 8], undefined, TensorType.FLOAT32);
    const y = g.tensor('y', [1, 2, 2, 2], undefined, TensorType.FLOAT32);
    g.op(code('DEPTH_TO_SPACE'), [x], [y], oneField(BuiltinOptionsType.DepthToSpaceOptions, F.DepthToSpaceOptions.blockSize, 2));
    const compiled = compileModel(loadSynthetic('d2s', g.build([x], [y])));
    // Channels [a0 a1 | b0 b1 | c0 c1 | d0 d1] -> pixels a b / c d, two channels each: the same order.
    const v = [0.5, -1, 2, 3, 4.25, 5, 6, -7];
    await expectBoth(compiled, [float32Bytes(v)], [float32Bytes(v)]);
  });

  it('refuses a block that does not divide the image', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 3, 4, 1], QI);
    const y = g.tensor('y', [1, 1, 2, 4], QI);
    g.op(code('SPACE_TO_DEPTH'), [x], [y], oneField(BuiltinOptionsType.SpaceToDepthOptions, F.SpaceToDepthOptions.blockSize, 2));
    expect(refusal(() => compileModel(loadSynthetic('s2dbad', g.build([x], [y]))))).toMatch(/operator 0 \(SPACE_TO_DEPTH\): input 'x' is 3 x 4 pixels, not a multiple of block_size 2/);
  });
});

describe('SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND', () => {
  // The Android NNAPI example space_to_batch_float_3: [1, 4, 2, 1] = 1..8, block [3, 2],
  // paddings [[1, 1], [2, 4]] -> [6, 2, 4, 1]; P marks a padded element.
  const P = 999;
  const nnapi = [P, P, P, P, P, 5, P, P, P, P, P, P, P, 6, P, P, P, 1, P, P, P, 7, P, P, P, 2, P, P, P, 8, P, P, P, 3, P, P, P, P, P, P, P, 4, P, P, P, P, P, P];

  function s2bModel(zeroPoint: number): CompiledModel {
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 4, 2, 1], q(0.1, zeroPoint));
    const y = g.tensor('y', [6, 2, 4, 1], q(0.1, zeroPoint));
    const back = g.tensor('back', [1, 4, 2, 1], q(0.1, zeroPoint));
    const block = g.int32Constant('block', [2], [3, 2]);
    const pads = g.int32Constant('pads', [2, 2], [1, 1, 2, 4]);
    g.op(code('SPACE_TO_BATCH_ND'), [x, block, pads], [y]);
    g.op(code('BATCH_TO_SPACE_ND'), [y, block, pads], [back]);
    return compileModel(loadSynthetic(`s2b_${zeroPoint < 0 ? 'm' : ''}${Math.abs(zeroPoint)}`, g.build([x], [y, back])));
  }

  it('matches the NNAPI example, pads with the zero point, and BATCH_TO_SPACE_ND with the same crops gives the input back', async () => {
    const input = int8Bytes(range(8, 1));
    for (const zp of [0, -3]) {
      await expectBoth(s2bModel(zp), [input], [int8Bytes(nnapi.map((v) => (v === P ? zp : v))), input]);
    }
  });

  it('BATCH_TO_SPACE_ND without crops interleaves the batches (TensorFlow documentation example)', async () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [4, 1, 1, 1], QI);
    const y = g.tensor('y', [1, 2, 2, 1], QI);
    g.op(code('BATCH_TO_SPACE_ND'), [x, g.int32Constant('block', [2], [2, 2]), g.int32Constant('crops', [2, 2], [0, 0, 0, 0])], [y]);
    await expectBoth(compileModel(loadSynthetic('b2s', g.build([x], [y]))), [int8Bytes([1, 2, 3, 4])], [int8Bytes([1, 2, 3, 4])]);
    const h = new GraphBuilder();
    const hx = h.tensor('x', [4, 2, 1], undefined, TensorType.FLOAT32);
    const hy = h.tensor('y', [1, 8, 1], undefined, TensorType.FLOAT32);
    h.op(code('BATCH_TO_SPACE_ND'), [hx, h.int32Constant('block', [1], [4]), h.int32Constant('crops', [1, 2], [0, 0])], [hy]);
    // 3-D: batch k's row r goes to row r * 4 + k.
    await expectBoth(compileModel(loadSynthetic('b2s3', h.build([hx], [hy]))), [float32Bytes([1, 5, 2, 6, 3, 7, 4, 8])], [float32Bytes([1, 2, 3, 4, 5, 6, 7, 8])]);
  });

  it('refuses an output shape the block and paddings do not give', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 4, 4, 1], QI);
    const y = g.tensor('y', [4, 2, 3, 1], QI);
    g.op(code('SPACE_TO_BATCH_ND'), [x, g.int32Constant('block', [2], [2, 2]), g.int32Constant('pads', [2, 2], [0, 0, 0, 0])], [y]);
    expect(refusal(() => compileModel(loadSynthetic('s2bbad', g.build([x], [y]))))).toMatch(/operator 0 \(SPACE_TO_BATCH_ND\): output 'y' has shape \[4,2,3,1\] but block_shape and paddings give \[4,2,2,1\]/);
  });
});

describe('MIRROR_PAD', () => {
  // tf.pad's documentation: t = [[1, 2, 3], [4, 5, 6]], paddings [[1, 1], [2, 2]].
  const reflect = [6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1, 6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1];
  const symmetric = [2, 1, 1, 2, 3, 3, 2, 2, 1, 1, 2, 3, 3, 2, 5, 4, 4, 5, 6, 6, 5, 5, 4, 4, 5, 6, 6, 5];

  function mirror(mode: number, type: number = TensorType.INT8): CompiledModel {
    const g = new GraphBuilder();
    const x = g.tensor('x', [2, 3], type === TensorType.INT8 ? QI : undefined, type);
    const y = g.tensor('y', [4, 7], type === TensorType.INT8 ? QI : undefined, type);
    g.op(code('MIRROR_PAD'), [x, g.int32Constant('pads', [2, 2], [1, 1, 2, 2])], [y], oneField(BuiltinOptionsType.MirrorPadOptions, F.MirrorPadOptions.mode, mode, 'i8'));
    return compileModel(loadSynthetic(`mirror${mode}_${type}`, g.build([x], [y])));
  }

  it('REFLECT and SYMMETRIC match the tf.pad documentation (int8 and float32)', async () => {
    await expectBoth(mirror(0), [int8Bytes(range(6, 1))], [int8Bytes(reflect)]);
    await expectBoth(mirror(1), [int8Bytes(range(6, 1))], [int8Bytes(symmetric)]);
    await expectBoth(mirror(1, TensorType.FLOAT32), [float32Bytes(range(6, 1))], [float32Bytes(symmetric)]);
  });

  it('refuses REFLECT padding as wide as the dimension', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [3], QI);
    const y = g.tensor('y', [6], QI);
    g.op(code('MIRROR_PAD'), [x, g.int32Constant('pads', [1, 2], [3, 0])], [y]);
    expect(refusal(() => compileModel(loadSynthetic('mirrorbad', g.build([x], [y]))))).toMatch(/operator 0 \(MIRROR_PAD\): paddings \[3, 0\] of dimension 0 \(size 3\) must lie in 0\.\.2 for REFLECT/);
  });
});
