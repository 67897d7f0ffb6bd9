// Element-wise float32 functions as TFLite Micro's reference kernels compute them, every step
// rounded to float32:
// LOGISTIC: 1 above 16.619047164916992188, expf(x) below -9, else 1 / (1 + expf(-x)), each step in
//   float32 (reference_ops::Logistic): logisticf / tf_logisticf (compiler/reference/float_math.ts,
//   float_math.h), which the float LSTM's gates use too; expf is tf_expf / expf.ts.
// RSQRT: 1 / sqrtf(x) (TFLite Micro's elementwise RSQRT for float; both operations are IEEE
//   correctly rounded, so every target agrees).
// TANH: tanhf(x) (reference_ops::Tanh): tanhf / tf_tanhf (float_math.ts / float_math.h), glibc's
//   bits on every target, as the float LSTM's cell uses it.
// ABS std::abs, NEG -x, SQUARE x * x, SQRT sqrtf (elementwise.cc, neg.h): exact operations.
// RELU x < 0 ? 0 : x, RELU6 x > 6 ? 6 : x < 0 ? 0 : x (activations_common.cc's ReluFloat /
//   Relu6Float: -0 and NaN pass unchanged).
// LEAKY_RELU x > 0 ? x : x * alpha (reference_ops::LeakyRelu).
// HARD_SWISH x * std::min(6, std::max(0, x + 3)) / 6 (reference_ops::HardSwish): std::max(0, v)
//   is (0 < v) ? v : 0, so NaN + 3 gives 0 there (the product keeps the NaN) and -inf gives
//   -inf * 0 = NaN.
// EXP expf (exp.h): tf_expf / expf.ts. LOG logf (elementwise.cc's std::log): tf_logf / logf
//   (float_math.h / float_math.ts), glibc's logf bits on every target.
// FLOOR, CEIL std::floor / std::ceil; ROUND reference_ops::RoundToNearest: f = floor(x),
//   d = x - f, f if d < 0.5 or (d == 0.5 and f is even), else f + 1 (so ROUND(-0.3) is +0).

import { elementCount } from '../ir/graph.ts';
import { logf, logisticf, tanhf } from '../reference/float_math.ts';
import { expf } from './expf.ts';
import { f32Literal, FLOAT_HELPERS, requireF32 } from './float32.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

/** Function codes shared with tf_unary_f32.c. */
const UNARY_F32_OPS = {
  LOGISTIC: 0, RSQRT: 1, TANH: 2, ABS: 3, NEG: 4, SQUARE: 5, SQRT: 6, RELU: 7, RELU6: 8, LEAKY_RELU: 9, HARD_SWISH: 10, EXP: 11, FLOOR: 12, CEIL: 13, ROUND: 14, LOG: 15,
} as const;
type UnaryF32Op = keyof typeof UNARY_F32_OPS;

interface UnaryF32Params {
  op: UnaryF32Op;
  size: number;
  /** LEAKY_RELU's slope (a float32 value); 0 for the other functions. */
  alpha: number;
}

const f = Math.fround;

function isUnaryOp(name: string): name is UnaryF32Op {
  return name in UNARY_F32_OPS;
}

/** reference_ops::RoundToNearest (round half to even, computed from floor as TFLite does). */
function roundToNearest(x: number): number {
  const fl = Math.floor(x);
  const diff = f(x - fl);
  return diff < 0.5 || (diff === 0.5 && Math.trunc(fl) % 2 === 0) ? fl : f(fl + 1);
}

function hardSwish(x: number): number {
  const v = f(x + 3);
  const lo = 0 < v ? v : 0;
  const m = lo < 6 ? lo : 6;
  return f(f(x * m) / 6);
}

/** One element of `op`, as tf_unary_f32 computes it. */
export function unaryF32(op: UnaryF32Op, x: number, alpha: number): number {
  switch (op) {
    case 'LOGISTIC':
      return logisticf(x);
    case 'RSQRT':
      return f(1 / f(Math.sqrt(x)));
    case 'TANH':
      return tanhf(x);
    case 'ABS':
      return Math.abs(x);
    case 'NEG':
      return -x;
    case 'SQUARE':
      return f(x * x);
    case 'SQRT':
      return f(Math.sqrt(x));
    case 'RELU':
      return x < 0 ? 0 : x;
    case 'RELU6':
      return x > 6 ? 6 : x < 0 ? 0 : x;
    case 'LEAKY_RELU':
      return x > 0 ? x : f(x * alpha);
    case 'HARD_SWISH':
      return hardSwish(x);
    case 'EXP':
      return expf(x);
    case 'FLOOR':
      return Math.floor(x);
    case 'CEIL':
      return Math.ceil(x);
    case 'ROUND':
      return roundToNearest(x);
    case 'LOG':
      return logf(x);
  }
}

export const UNARY_F32_BUILTINS = Object.keys(UNARY_F32_OPS) as UnaryF32Op[];

export const unaryF32Kernel = defineOp({
  builtins: [],
  key: 'unary_f32',
  float32For: UNARY_F32_BUILTINS,
  read(r): { alpha?: number } {
    return r.fail('internal: unary_f32 is chosen by the float32 lowering of its ops');
  },
  lower(ctx, attrs): ModuleLowering<UnaryF32Params> {
    const op = ctx.op.kind === 'module' ? ctx.op.module : '';
    if (!isUnaryOp(op)) return ctx.fail(`internal: unary_f32 does not compute ${op}`);
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    requireF32(ctx, x, 'input');
    requireF32(ctx, y, 'output');
    const size = elementCount(x.shape);
    if (elementCount(y.shape) !== size) ctx.fail(`output shape [${y.shape}] differs from input shape [${x.shape}]`);
    const alpha = op === 'LEAKY_RELU' ? f(attrs.alpha ?? 0) : 0;
    return { params: { op, size, alpha }, kernel: `${op.toLowerCase()}_f32`, cFiles: [...FLOAT_HELPERS, 'portable/float_math.h', 'portable/tf_unary_f32.c'], inputs: [x.id], inPlace: [0] };
  },
  run(p: UnaryF32Params, io) {
    const x = io.input(0).f32();
    const y = io.output(0).f32();
    for (let i = 0; i < p.size; i++) y[i] = unaryF32(p.op, x[i] as number, p.alpha);
  },
  emitC(p: UnaryF32Params, e) {
    e.call(`tf_unary_f32(${UNARY_F32_OPS[p.op]}, ${f32Literal(p.alpha)}, ${e.input(0)}, ${e.output(0)}, ${p.size});`);
  },
});
