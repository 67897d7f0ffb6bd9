// SPLIT and SPLIT_V: one input cut along a constant axis into consecutive pieces. TFLite Micro
// takes each piece's extent from its output tensor's shape (SPLIT_V's size_splits is not read), so
// the outputs must tile the input's axis exactly. Each output is one strided copy.

import type { Tensor } from '../ir/graph.ts';
import { BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';
import { defineOp } from './op_module.ts';
import { constantVector, emitCopies, lowerCopies, movableType, normalizeAxis, rowMajorStrides, runCopies, sourceResolver, type CopyParams } from './strided_copy.ts';

export const splitOps = defineOp({
  builtins: ['SPLIT', 'SPLIT_V'],
  read(r, builtin) {
    const v = builtin === 'SPLIT_V';
    const t = v ? r.options(BuiltinOptionsType.SplitVOptions, 'SplitVOptions') : r.options(BuiltinOptionsType.SplitOptions, 'SplitOptions');
    const n = t ? t.i32(v ? F.SplitVOptions.numSplits : F.SplitOptions.numSplits, 0, 'num_splits') : 0;
    if (n < 1) r.fail(`${r.label} has num_splits ${n} (must be at least 1)`);
    if (v) r.arity(3, 3, n);
    else r.arity(2, 2, n);
    return { splits: n };
  },
  lower(ctx, _attrs, op) {
    const v = op.module === 'SPLIT_V';
    // SPLIT is (axis, input); SPLIT_V is (input, size_splits, axis).
    const inputPos = v ? 0 : 1;
    const x = ctx.tensor(inputPos);
    const axisT = ctx.tensor(v ? 2 : 0);
    const dtype = movableType(ctx, x, 'input', ['int8', 'int16', 'int32', 'float32']);
    const axisValues = constantVector(ctx, axisT, 'axis');
    if (axisValues.length !== 1) ctx.fail(`axis '${axisT.name}' has ${axisValues.length} values (expected one)`);
    const rank = x.shape.length;
    const axis = normalizeAxis(ctx, axisValues[0] as number, rank, 'axis');
    const outputs = op.outputs.map((_, i) => ctx.tensor(i, 'output'));
    let at = 0;
    const inStrides = rowMajorStrides(x.shape);
    const resolver = sourceResolver(ctx.graph);
    const source = resolver.source(op.inputs[inputPos] as number);
    const calls = outputs.map((y: Tensor, i) => {
      if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype}`);
      const same = y.shape.length === rank && y.shape.every((d, k) => k === axis || d === x.shape[k]);
      if (!same) ctx.fail(`output '${y.name}' has shape [${y.shape}], which is not a piece of [${x.shape}] along axis ${axis}`);
      const copy = { count: y.shape.slice(), inStride: inStrides, outStride: rowMajorStrides(y.shape), inOffset: at * (inStrides[axis] as number), outOffset: 0 };
      at += y.shape[axis] as number;
      return { source, output: i, copy };
    });
    if (at !== x.shape[axis]) ctx.fail(`the outputs cover ${at} of the ${x.shape[axis]} elements along axis ${axis}`);
    return lowerCopies(ctx, op, calls, resolver, dtype);
  },
  run: (p: CopyParams, io) => runCopies(p, io),
  emitC: (p: CopyParams, e) => emitCopies(p, e),
});
