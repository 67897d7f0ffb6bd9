// Element-wise binary ops on float32 with broadcasting, as TFLite Micro's reference float kernels
// compute them, each operation rounded to float32:
//   ADD, SUB, MUL, DIV (Add / Sub / Mul / Div and their BroadcastXxxSlow forms): clamp(a op b), the
//     fused activation clamp applied (under NONE it maps infinities to +-FLT_MAX);
//   MAXIMUM, MINIMUM (maximum_minimum.cc's MaximumOp / MinimumOp): a > b ? a : b, a < b ? a : b, so
//     a NaN in a gives b and a NaN in b gives NaN, and max(-0, +0) is +0 but max(+0, -0) is -0;
//   SQUARED_DIFFERENCE: d = a - b, then d * d;
//   PRELU (BroadcastPrelu4DSlowFloat): a >= 0 ? a : a * alpha;
//   FLOOR_DIV (floor_div.h): float(floor(double(a) / double(b))), the division and floor in double;
//   FLOOR_MOD (floor_mod.h): m = fmodf(a, b) (exact), then m != 0 && (b < 0) != (m < 0) ? m + b : m.
// The last six have no fused activation and are not clamped (infinities stay infinite). The
// broadcast is planned at compile time (broadcast.ts) and walked by tf_broadcast.h; constant
// operands are read from flash.

import { elementCount, isConstant, type Activation, type Tensor } from '../ir/graph.ts';
import { constantData } from '../reference/run_reference.ts';
import { broadcastShape, cBroadcast, forEachBroadcast, MAX_BROADCAST_RANK, planBroadcast, type BroadcastPlan } from './broadcast.ts';
import { clampF32, f32ActivationRange, f32Literal, FLOAT_HELPERS, requireF32 } from './float32.ts';
import { defineOp, type ModuleLowering, type TensorData } from './op_module.ts';

/** Operation codes shared with tf_arith_f32.c. */
const ARITH_F32_OPS = { ADD: 0, SUB: 1, MUL: 2, DIV: 3, MAXIMUM: 4, MINIMUM: 5, SQUARED_DIFFERENCE: 6, PRELU: 7, FLOOR_DIV: 8, FLOOR_MOD: 9 } as const;
type ArithF32Op = keyof typeof ARITH_F32_OPS;

/** Ops with a fused activation (the others are never clamped). */
const CLAMPED: ReadonlySet<ArithF32Op> = new Set(['ADD', 'SUB', 'MUL', 'DIV']);

/** Most broadcast dimensions of TFLite Micro's float kernel per op (same-shape inputs: any rank). */
const MAX_RANK: Readonly<Record<ArithF32Op, number>> = { ADD: MAX_BROADCAST_RANK, SUB: MAX_BROADCAST_RANK, MUL: MAX_BROADCAST_RANK, DIV: 5, MAXIMUM: 5, MINIMUM: 5, SQUARED_DIFFERENCE: 4, PRELU: 4, FLOOR_DIV: 4, FLOOR_MOD: 4 };

type Operand = { readonly kind: 'activation'; readonly index: number } | { readonly kind: 'constant'; readonly tensor: number };

interface ArithF32Params {
  op: ArithF32Op;
  plan: BroadcastPlan;
  operands: readonly [Operand, Operand];
  actMin: number;
  actMax: number;
}

const f = Math.fround;

function apply(op: ArithF32Op, x: number, y: number): number {
  switch (op) {
    case 'ADD':
      return f(x + y);
    case 'SUB':
      return f(x - y);
    case 'MUL':
      return f(x * y);
    case 'DIV':
      return f(x / y);
    case 'MAXIMUM':
      return x > y ? x : y;
    case 'MINIMUM':
      return x < y ? x : y;
    case 'SQUARED_DIFFERENCE': {
      const d = f(x - y);
      return f(d * d);
    }
    case 'PRELU':
      return x >= 0 ? x : f(x * y);
    case 'FLOOR_DIV':
      // JS numbers are doubles: the quotient and its floor are TFLite's double operations.
      return f(Math.floor(x / y));
    case 'FLOOR_MOD': {
      // JS % on doubles is C's fmod, exact; float32 operands give a float32 remainder.
      const m = x % y;
      return m !== 0 && y < 0 !== m < 0 ? f(m + y) : m;
    }
  }
}

function isArithOp(name: string): name is ArithF32Op {
  return name in ARITH_F32_OPS;
}

export const arithF32Kernel = defineOp({
  builtins: [],
  key: 'arith_f32',
  float32For: ['ADD', 'SUB', 'MUL', 'DIV', 'MAXIMUM', 'MINIMUM', 'SQUARED_DIFFERENCE', 'PRELU', 'FLOOR_DIV', 'FLOOR_MOD'],
  read(r): { activation?: Activation } {
    return r.fail('internal: arith_f32 is chosen by the float32 lowering of its ops');
  },
  lower(ctx, attrs): ModuleLowering<ArithF32Params> {
    const op = ctx.op.kind === 'module' ? ctx.op.module : ctx.op.kind.toUpperCase();
    if (!isArithOp(op)) return ctx.fail(`internal: arith_f32 does not compute ${op}`);
    const a = ctx.tensor(0);
    const b = ctx.tensor(1);
    const out = ctx.tensor(0, 'output');
    requireF32(ctx, a, 'input 1');
    requireF32(ctx, b, 'input 2');
    requireF32(ctx, out, 'output');
    const shape = broadcastShape(a.shape, b.shape);
    if (!shape) return ctx.fail(`input shapes [${a.shape}] and [${b.shape}] do not broadcast`);
    if (elementCount(out.shape) !== elementCount(shape)) ctx.fail(`output '${out.name}' has shape [${out.shape}] but the inputs broadcast to [${shape}]`);
    const maxRank = MAX_RANK[op];
    // TFLite Micro's float PRELU always takes the 4-D broadcasting loop, even for equal shapes.
    if ((op === 'PRELU' || a.shape.join() !== b.shape.join()) && shape.length > maxRank) ctx.fail(`broadcasting [${a.shape}] with [${b.shape}] has more than ${maxRank} dimensions, the most TFLite Micro's float ${op} supports`);
    // TFLite Micro's FLOOR_DIV fails the invoke on any zero divisor; a constant one is refused here.
    if (op === 'FLOOR_DIV' && isConstant(b) && constantData(b).f32().some((v) => v === 0)) ctx.fail(`divisor '${b.name}' holds a zero; TFLite Micro's FLOOR_DIV refuses a division by 0`);
    let activations = 0;
    const operand = (t: Tensor): Operand => (isConstant(t) ? { kind: 'constant', tensor: t.id } : { kind: 'activation', index: activations++ });
    const operands: [Operand, Operand] = [operand(a), operand(b)];
    // An input of the output's size is read at the output's own index before it is written.
    const inPlace = operands.flatMap((o, i) => (o.kind === 'activation' && elementCount((i === 0 ? a : b).shape) === elementCount(out.shape) ? [o.index] : []));
    const act = CLAMPED.has(op) ? f32ActivationRange(attrs.activation ?? 'none') : { min: -Infinity, max: Infinity };
    const params: ArithF32Params = { op, plan: planBroadcast(a.shape, b.shape, shape), operands, actMin: act.min, actMax: act.max };
    const constants = operands.flatMap((o) => (o.kind === 'constant' ? [o.tensor] : []));
    return { params, kernel: `${op.toLowerCase()}_f32`, cFiles: [...FLOAT_HELPERS, 'portable/float_math.h', 'portable/tf_broadcast.h', 'portable/tf_arith_f32.c'], inPlace, constants, macs: op === 'MUL' || op === 'SQUARED_DIFFERENCE' ? elementCount(shape) : 0 };
  },
  run(p: ArithF32Params, io) {
    const data = (o: Operand): TensorData => (o.kind === 'constant' ? constantData(io.graph.tensors[o.tensor] as Tensor) : io.input(o.index));
    const x = data(p.operands[0]).f32();
    const y = data(p.operands[1]).f32();
    const out = io.output(0).f32();
    forEachBroadcast(p.plan, (o, i1, i2) => {
      out[o] = clampF32(apply(p.op, x[i1] as number, y[i2] as number), p.actMin, p.actMax);
    });
  },
  emitC(p: ArithF32Params, e) {
    const params = e.params('tf_arith_f32_params', { shape: cBroadcast(p.plan), op: ARITH_F32_OPS[p.op], act_min: f32Literal(p.actMin), act_max: f32Literal(p.actMax) });
    const arg = (o: Operand): string => (o.kind === 'constant' ? e.constant(o.tensor) : e.input(o.index));
    e.call(`tf_arith_f32(${params}, ${arg(p.operands[0])}, ${arg(p.operands[1])}, ${e.output(0)});`);
  },
});
