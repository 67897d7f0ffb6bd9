// SLICE: begin and size vectors (size -1 = to the end of the axis), up to 5-D, as TFLite Micro's
// slice.cc: begin and size are constant int32 or int64 vectors of the input's rank, and the
// sliced element count must equal the output's.

import { elementCount } from '../ir/graph.ts';
import { defineOp } from './op_module.ts';
import { constantVector, emitCopies, lowerCopies, movableType, rowMajorStrides, runCopies, sourceResolver, type CopyParams } from './strided_copy.ts';

/** TFLite Micro's slice.cc kMaxDim. */
const MAX_RANK = 5;

export const sliceOp = defineOp({
  builtins: ['SLICE'],
  read(r) {
    r.arity(3, 3, 1);
    r.input(0, 'input');
    r.input(1, 'begin');
    r.input(2, 'size');
    r.output(0);
    return {};
  },
  lower(ctx, _attrs, op) {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    const dtype = movableType(ctx, x, 'input', ['int8', 'int16', 'int32', 'float32']);
    if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype}`);
    const rank = x.shape.length;
    if (rank > MAX_RANK) ctx.fail(`input '${x.name}' has rank ${rank}; TFLite Micro's SLICE takes at most ${MAX_RANK} dimensions`);
    const beginT = ctx.tensor(1);
    const sizeT = ctx.tensor(2);
    if (beginT.dtype !== sizeT.dtype) ctx.fail(`begin '${beginT.name}' is ${beginT.dtype} but size '${sizeT.name}' is ${sizeT.dtype}`);
    const begin = constantVector(ctx, beginT, 'begin', true);
    const size = constantVector(ctx, sizeT, 'size', true);
    if (beginT.shape.length !== 1 || begin.length !== rank) ctx.fail(`begin '${beginT.name}' has shape [${beginT.shape}]; expected [${rank}]`);
    if (sizeT.shape.length !== 1 || size.length !== rank) ctx.fail(`size '${sizeT.name}' has shape [${sizeT.shape}]; expected [${rank}]`);
    const counts = x.shape.map((dim, d) => {
      const b = begin[d] as number;
      const s = size[d] as number;
      if (b < 0 || b > dim) ctx.fail(`begin ${b} is outside axis ${d} of size ${dim}`);
      const n = s === -1 ? dim - b : s;
      if (n < 0 || n > dim - b) ctx.fail(`size ${s} on axis ${d} does not fit in ${dim - b} elements after begin ${b}`);
      return n;
    });
    // Micro checks only the element count: the slice is written in row-major order whatever the output's shape.
    if (elementCount(counts) !== elementCount(y.shape)) ctx.fail(`output '${y.name}' has shape [${y.shape}] but the slice is [${counts}]`);
    const inStrides = rowMajorStrides(x.shape);
    const resolver = sourceResolver(ctx.graph);
    const copy = {
      count: counts,
      inStride: inStrides,
      outStride: rowMajorStrides(counts),
      inOffset: begin.reduce((acc, b, d) => acc + b * (inStrides[d] as number), 0),
      outOffset: 0,
    };
    return lowerCopies(ctx, op, [{ source: resolver.source(op.inputs[0] as number), output: 0, copy }], resolver, dtype);
  },
  run: (p: CopyParams, io) => runCopies(p, io),
  emitC: (p: CopyParams, e) => emitCopies(p, e),
});
