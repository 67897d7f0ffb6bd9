// Element-wise float32 functions as TFLite Micro's reference kernels compute them:
// LOGISTIC: 1 above 16.619047164916992188, expf(x) below -9, else 1 / (1 + expf(-x)), each step in
//   float32 (reference_ops::Logistic): logisticf / tf_logisticf (compiler/reference/float_math.ts,
//   float_math.h), which the float LSTM's gates use too; expf is tf_expf / expf.ts.
// RSQRT: 1 / sqrtf(x) (TFLite Micro's elementwise RSQRT for float; both operations are IEEE
//   correctly rounded, so every target agrees).
// TANH: tanhf(x) (reference_ops::Tanh): tanhf / tf_tanhf (float_math.ts / float_math.h), glibc's
//   bits on every target, as the float LSTM's cell uses it.

import { elementCount } from '../ir/graph.ts';
import { logisticf, tanhf } from '../reference/float_math.ts';
import { FLOAT_HELPERS, requireF32 } from './float32.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

/** Function codes shared with tf_unary_f32.c. */
const UNARY_F32_OPS = { LOGISTIC: 0, RSQRT: 1, TANH: 2 } as const;
type UnaryF32Op = keyof typeof UNARY_F32_OPS;

interface UnaryF32Params {
  op: UnaryF32Op;
  size: number;
}

const f = Math.fround;

function isUnaryOp(name: string): name is UnaryF32Op {
  return name in UNARY_F32_OPS;
}

export const unaryF32Kernel = defineOp({
  builtins: [],
  key: 'unary_f32',
  float32For: ['LOGISTIC', 'RSQRT', 'TANH'],
  read(r): Record<string, never> {
    return r.fail('internal: unary_f32 is chosen by the LOGISTIC / RSQRT / TANH lowering');
  },
  lower(ctx): ModuleLowering<UnaryF32Params> {
    const op = ctx.op.kind === 'module' ? ctx.op.module : '';
    if (!isUnaryOp(op)) return ctx.fail(`internal: unary_f32 does not compute ${op}`);
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    requireF32(ctx, x, 'input');
    requireF32(ctx, y, 'output');
    const size = elementCount(x.shape);
    if (elementCount(y.shape) !== size) ctx.fail(`output shape [${y.shape}] differs from input shape [${x.shape}]`);
    return { params: { op, size }, kernel: `${op.toLowerCase()}_f32`, cFiles: [...FLOAT_HELPERS, 'portable/float_math.h', 'portable/tf_unary_f32.c'], inputs: [x.id], inPlace: [0] };
  },
  run(p: UnaryF32Params, io) {
    const x = io.input(0).f32();
    const y = io.output(0).f32();
    for (let i = 0; i < p.size; i++) {
      const v = x[i] as number;
      y[i] = p.op === 'LOGISTIC' ? logisticf(v) : p.op === 'TANH' ? tanhf(v) : f(1 / f(Math.sqrt(v)));
    }
  },
  emitC(p: UnaryF32Params, e) {
    e.call(`tf_unary_f32(${UNARY_F32_OPS[p.op]}, ${e.input(0)}, ${e.output(0)}, ${p.size});`);
  },
});
