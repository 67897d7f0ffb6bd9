// The reader for FLOOR_DIV and FLOOR_MOD, which TFLite Micro computes on float32 only: it checks
// the operator (two inputs of one type, one output), and lower.ts hands a float32 one to arith_f32.
// Any other type reaches this module's lowering, which refuses it in one line.

import { readBinary } from './binary.ts';
import { defineOp } from './op_module.ts';

export const floorDivModOps = defineOp({
  builtins: ['FLOOR_DIV', 'FLOOR_MOD'],
  read(r) {
    readBinary(r);
    return {};
  },
  lower(ctx, _attrs, op) {
    const x = ctx.tensor(0);
    return ctx.fail(`${op.module} on ${x.dtype} is not supported (TFLite Micro computes ${op.module} on float32 only)`);
  },
  run() {
    throw new Error('internal: float32 FLOOR_DIV / FLOOR_MOD run as arith_f32');
  },
  emitC() {
    throw new Error('internal: float32 FLOOR_DIV / FLOOR_MOD are emitted as arith_f32');
  },
});
