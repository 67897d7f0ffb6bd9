// TRANSPOSE: a constant permutation of up to 5 dimensions (TFLite Micro's limit), int8, int16 and
// float32 (moved as 32-bit patterns) as Micro's transpose.cc. A permutation that only moves size-1 dimensions is a reshape.

import { defineOp } from './op_module.ts';
import { constantVector, emitCopies, lowerCopies, movableType, rowMajorStrides, runCopies, sourceResolver, type CopyParams } from './strided_copy.ts';

const MAX_RANK = 5;

export const transposeOp = defineOp({
  builtins: ['TRANSPOSE'],
  read(r) {
    r.arity(2, 2, 1);
    r.input(0, 'input');
    r.input(1, 'perm');
    r.output(0);
    return {};
  },
  lower(ctx, _attrs, op) {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    const dtype = movableType(ctx, x, 'input', ['int8', 'int16', 'float32']);
    if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype}`);
    const rank = x.shape.length;
    if (rank < 1 || rank > MAX_RANK) ctx.fail(`input '${x.name}' has rank ${rank}; TFLite Micro's TRANSPOSE takes 1 to ${MAX_RANK} dimensions`);
    const permT = ctx.tensor(1);
    const perm = constantVector(ctx, permT, 'perm');
    const sorted = [...perm].sort((a, b) => a - b);
    if (perm.length !== rank || sorted.some((p, i) => p !== i)) ctx.fail(`perm '${permT.name}' = [${perm}] is not a permutation of ${rank} axes`);
    const expected = perm.map((p) => x.shape[p] as number);
    if (expected.join() !== y.shape.join()) ctx.fail(`output '${y.name}' has shape [${y.shape}] but perm [${perm}] gives [${expected}]`);
    const inStrides = rowMajorStrides(x.shape);
    const resolver = sourceResolver(ctx.graph);
    const copy = { count: expected, inStride: perm.map((p) => inStrides[p] as number), outStride: rowMajorStrides(expected), inOffset: 0, outOffset: 0 };
    return lowerCopies(ctx, op, [{ source: resolver.source(op.inputs[0] as number), output: 0, copy }], resolver, dtype);
  },
  run: (p: CopyParams, io) => runCopies(p, io),
  emitC: (p: CopyParams, e) => emitCopies(p, e),
});
