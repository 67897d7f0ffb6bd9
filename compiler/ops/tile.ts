// TILE: the input repeated `multiples` times along each axis (TFLite's tile.cc semantics). TFLite
// Micro at the pinned commit registers no TILE kernel, so there is no golden to check against;
// the op is pure data movement, one strided copy whose input strides are 0 on the repeat axes.

import { defineOp } from './op_module.ts';
import { constantVector, emitCopies, lowerCopies, movableType, rowMajorStrides, runCopies, sourceResolver, type CopyParams } from './strided_copy.ts';

export const tileOp = defineOp({
  builtins: ['TILE'],
  read(r) {
    r.arity(2, 2, 1);
    r.input(0, 'input');
    r.input(1, 'multiples');
    r.output(0);
    return {};
  },
  lower(ctx, _attrs, op) {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    const dtype = movableType(ctx, x, 'input', ['int8', 'int16', 'int32', 'float32']);
    if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype}`);
    const multT = ctx.tensor(1);
    const multiples = constantVector(ctx, multT, 'multiples', true);
    const rank = x.shape.length;
    if (multiples.length !== rank) ctx.fail(`multiples '${multT.name}' has ${multiples.length} values for an input of rank ${rank}`);
    if (multiples.some((m) => m < 0)) ctx.fail(`multiples '${multT.name}' = [${multiples}] has a negative entry`);
    const expected = x.shape.map((d, k) => d * (multiples[k] as number));
    if (expected.join() !== y.shape.join()) ctx.fail(`output '${y.name}' has shape [${y.shape}] but tiling [${x.shape}] by [${multiples}] gives [${expected}]`);
    // Output axis k splits into (repeat, position): the repeat steps over whole input extents and
    // rereads the input (stride 0), the position walks the input.
    const inStrides = rowMajorStrides(x.shape);
    const outStrides = rowMajorStrides(y.shape);
    const copy = {
      count: x.shape.flatMap((d, k) => [multiples[k] as number, d]),
      inStride: x.shape.flatMap((_, k) => [0, inStrides[k] as number]),
      outStride: x.shape.flatMap((d, k) => [d * (outStrides[k] as number), outStrides[k] as number]),
      inOffset: 0,
      outOffset: 0,
    };
    const resolver = sourceResolver(ctx.graph);
    return lowerCopies(ctx, op, [{ source: resolver.source(op.inputs[0] as number), output: 0, copy }], resolver, dtype);
  },
  run: (p: CopyParams, io) => runCopies(p, io),
  emitC: (p: CopyParams, e) => emitCopies(p, e),
});
