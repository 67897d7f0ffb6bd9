// BROADCAST_TO as TFLite Micro's broadcast_to.cc: the input repeated to the shape given by a 1-D
// int32/int64 shape tensor (rank at most 5; each input dimension, aligned to the right, is 1 or
// equal to the output's). Micro copies raw elements of any type; tinyforge moves int8, int16, int32
// and float32 with one strided copy whose input strides are 0 on the broadcast axes. The shape must
// be a constant (the converter writes one; tinyforge's shapes are static).

import { defineOp } from './op_module.ts';
import { constantVector, emitCopies, lowerCopies, movableType, rowMajorStrides, runCopies, sourceResolver, type CopyParams } from './strided_copy.ts';

/** TFLite Micro's BroadcastTo supports up to 5 dimensions. */
const MAX_RANK = 5;

export const broadcastToOp = defineOp({
  builtins: ['BROADCAST_TO'],
  read(r) {
    r.arity(2, 2, 1);
    r.input(0, 'input');
    r.input(1, 'shape');
    r.output(0);
    return {};
  },
  lower(ctx, _attrs, op) {
    const x = ctx.tensor(0);
    const shapeT = ctx.tensor(1);
    const y = ctx.tensor(0, 'output');
    const dtype = movableType(ctx, x, 'input', ['int8', 'int16', 'int32', 'float32']);
    if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype}`);
    if (shapeT.shape.length !== 1) ctx.fail(`shape '${shapeT.name}' has rank ${shapeT.shape.length}; TFLite Micro's BROADCAST_TO takes a 1-D shape`);
    const shape = constantVector(ctx, shapeT, 'shape', true);
    if (shape.length > MAX_RANK || x.shape.length > MAX_RANK) ctx.fail(`rank ${Math.max(shape.length, x.shape.length)} is above ${MAX_RANK}, the most TFLite Micro's BROADCAST_TO supports`);
    if (x.shape.length > shape.length) ctx.fail(`input '${x.name}' of shape [${x.shape}] has more dimensions than the target shape [${shape}]`);
    const extra = shape.length - x.shape.length;
    x.shape.forEach((d, k) => {
      if (d !== 1 && d !== shape[extra + k]) ctx.fail(`input '${x.name}' of shape [${x.shape}] does not broadcast to [${shape}] (dimension ${k})`);
    });
    if (shape.join() !== y.shape.join()) ctx.fail(`output '${y.name}' has shape [${y.shape}] but the target shape is [${shape}]`);
    const inStrides = rowMajorStrides(x.shape);
    const copy = {
      count: [...shape],
      inStride: shape.map((_, k) => (k < extra || x.shape[k - extra] === 1 ? 0 : (inStrides[k - extra] as number))),
      outStride: rowMajorStrides(shape),
      inOffset: 0,
      outOffset: 0,
    };
    const resolver = sourceResolver(ctx.graph);
    return lowerCopies(ctx, op, [{ source: resolver.source(op.inputs[0] as number), output: 0, copy }], resolver, dtype);
  },
  run: (p: CopyParams, io) => runCopies(p, io),
  emitC: (p: CopyParams, e) => emitCopies(p, e),
});
