// SHAPE: the input's static shape as an int32 (or int64) vector, known at compile time, so it is
// always folded into a constant and never runs on the device.

import { TinyforgeError } from '../errors.ts';
import type { Tensor } from '../ir/graph.ts';
import { defineOp } from './op_module.ts';

export const shapeOp = defineOp({
  builtins: ['SHAPE'],
  read(r) {
    r.arity(1, 1, 1);
    const x = r.input(0, 'input');
    const y = r.output(0);
    if (y.dtype !== 'int32' && y.dtype !== 'int64') r.fail(`${r.label} output is ${y.dtype} (expected int32 or int64)`);
    if (y.shape.length !== 1 || y.shape[0] !== x.shape.length) r.fail(`${r.label} output has shape [${y.shape}] for an input of rank ${x.shape.length}`);
    return {};
  },
  lower(ctx) {
    return ctx.fail('internal: SHAPE is folded at compile time');
  },
  run() {
    throw new TinyforgeError('internal: SHAPE is folded at compile time');
  },
  emitC() {
    throw new TinyforgeError('internal: SHAPE is folded at compile time');
  },
  foldFromShapes(graph, op) {
    const x = graph.tensors[op.inputs[0] as number] as Tensor;
    const y = graph.tensors[op.outputs[0] as number] as Tensor;
    const bytes = new Uint8Array(x.shape.length * (y.dtype === 'int64' ? 8 : 4));
    const view = new DataView(bytes.buffer);
    x.shape.forEach((d, i) => {
      if (y.dtype === 'int64') view.setBigInt64(i * 8, BigInt(d), true);
      else view.setInt32(i * 4, d, true);
    });
    return bytes;
  },
});
