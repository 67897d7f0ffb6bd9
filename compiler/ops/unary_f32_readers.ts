// The reader for element-wise builtins that tinyforge computes on float32 only (NEG, SQUARE, SQRT,
// EXP, LOG, FLOOR, CEIL, ROUND; ABS has int8/int16 kernels in abs.ts, which reads it): it checks the operator's shape, and lower.ts hands a float32 one
// to unary_f32. Any other type reaches this module's lowering, which refuses it in one line (an
// integer kernel for one of these ops would take the builtin out of this list).

import { defineOp } from './op_module.ts';

export const FLOAT32_ONLY_UNARY: readonly string[] = ['CEIL', 'EXP', 'FLOOR', 'LOG', 'NEG', 'ROUND', 'SQRT', 'SQUARE'];

export const unaryF32ReaderOps = defineOp({
  builtins: FLOAT32_ONLY_UNARY,
  read(r) {
    const { x, y } = r.elementwise();
    if (x.dtype !== y.dtype) r.fail(`${r.label} output is ${y.dtype} but its input is ${x.dtype}`);
    return {};
  },
  lower(ctx, _attrs, op) {
    const x = ctx.tensor(0);
    return ctx.fail(`${op.module} on ${x.dtype} is not supported (tinyforge computes ${op.module} on float32 only)`);
  },
  run() {
    throw new Error('internal: float32-only unary ops run as unary_f32');
  },
  emitC() {
    throw new Error('internal: float32-only unary ops are emitted as unary_f32');
  },
});
