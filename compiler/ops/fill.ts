// FILL: an output of static shape holding one scalar value everywhere, as TFLite Micro's fill.cc
// (int8 and int32 values). Its dims input is shape arithmetic, so once constant folding has run
// it is a constant; with a constant value too the whole op folds away. Otherwise it is a copy of
// the scalar with input stride 0.

import type { Tensor } from '../ir/graph.ts';
import { defineOp } from './op_module.ts';
import { emitCopies, lowerCopies, movableType, rowMajorStrides, runCopies, sourceResolver, type CopyParams } from './strided_copy.ts';
import { constantData } from '../reference/run_reference.ts';

/** A constant integer vector of any width FILL's Prepare accepts for dims. */
function dimsValues(t: Tensor): number[] | undefined {
  if (t.data === undefined) return undefined;
  const d = constantData(t);
  switch (t.dtype) {
    case 'int8':
      return Array.from(d.s8());
    case 'int16':
      return Array.from(d.s16());
    case 'int32':
      return Array.from(d.s32());
    case 'int64':
      return Array.from(d.s64(), (v) => Number(v));
    default:
      return undefined;
  }
}

export const fillOp = defineOp({
  builtins: ['FILL'],
  read(r) {
    r.arity(2, 2, 1);
    r.input(0, 'dims');
    r.input(1, 'value');
    r.output(0);
    return {};
  },
  lower(ctx, _attrs, op) {
    const dimsT = ctx.tensor(0);
    const value = ctx.tensor(1);
    const y = ctx.tensor(0, 'output');
    const dtype = movableType(ctx, value, 'value', ['int8', 'int32']);
    if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the value is ${dtype}`);
    if (value.shape.length !== 0) ctx.fail(`value '${value.name}' has shape [${value.shape}]; FILL takes a scalar`);
    if (dimsT.data !== undefined) {
      const dims = dimsValues(dimsT);
      if (!dims || dimsT.shape.length !== 1) return ctx.fail(`dims '${dimsT.name}' must be a vector of int8, int16, int32 or int64`);
      if (dims.join() !== y.shape.join()) ctx.fail(`dims '${dimsT.name}' = [${dims}] differ from the output shape [${y.shape}]`);
    }
    const resolver = sourceResolver(ctx.graph);
    const copy = { count: y.shape.slice(), inStride: y.shape.map(() => 0), outStride: rowMajorStrides(y.shape), inOffset: 0, outOffset: 0 };
    return lowerCopies(ctx, op, [{ source: resolver.source(op.inputs[1] as number), output: 0, copy }], resolver, dtype);
  },
  run: (p: CopyParams, io) => runCopies(p, io),
  emitC: (p: CopyParams, e) => emitCopies(p, e),
});
