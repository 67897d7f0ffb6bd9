// ADD, SUB and MUL on float32 with broadcasting (TFLite Micro's reference float Add / Sub / Mul and
// their BroadcastXxx6DSlow forms): out = clamp(a op b) per element, the op rounded to float32 and
// the fused activation clamp applied (under NONE it maps infinities to +-FLT_MAX). The broadcast is
// planned at compile time (broadcast.ts) and walked by tf_broadcast.h; constant operands are read
// from flash.

import { elementCount, isConstant, type Activation, type Tensor } from '../ir/graph.ts';
import { constantData } from '../reference/run_reference.ts';
import { broadcastShape, cBroadcast, forEachBroadcast, MAX_BROADCAST_RANK, planBroadcast, type BroadcastPlan } from './broadcast.ts';
import { clampF32, f32ActivationRange, f32Literal, FLOAT_HELPERS, requireF32 } from './float32.ts';
import { defineOp, type ModuleLowering, type TensorData } from './op_module.ts';

/** Operation codes shared with tf_arith_f32.c. */
const ARITH_F32_OPS = { ADD: 0, SUB: 1, MUL: 2 } as const;
type ArithF32Op = keyof typeof ARITH_F32_OPS;

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
  }
}

function isArithOp(name: string): name is ArithF32Op {
  return name in ARITH_F32_OPS;
}

export const arithF32Kernel = defineOp({
  builtins: [],
  key: 'arith_f32',
  float32For: ['ADD', 'SUB', 'MUL'],
  read(r): { activation: Activation } {
    return r.fail('internal: arith_f32 is chosen by the ADD / SUB / MUL lowering');
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
    if (a.shape.join() !== b.shape.join() && shape.length > MAX_BROADCAST_RANK) ctx.fail(`broadcasting [${a.shape}] with [${b.shape}] has more than ${MAX_BROADCAST_RANK} dimensions, the most TFLite Micro supports`);
    let activations = 0;
    const operand = (t: Tensor): Operand => (isConstant(t) ? { kind: 'constant', tensor: t.id } : { kind: 'activation', index: activations++ });
    const operands: [Operand, Operand] = [operand(a), operand(b)];
    // An input of the output's size is read at the output's own index before it is written.
    const inPlace = operands.flatMap((o, i) => (o.kind === 'activation' && elementCount((i === 0 ? a : b).shape) === elementCount(out.shape) ? [o.index] : []));
    const act = f32ActivationRange(attrs.activation ?? 'none');
    const params: ArithF32Params = { op, plan: planBroadcast(a.shape, b.shape, shape), operands, actMin: act.min, actMax: act.max };
    const constants = operands.flatMap((o) => (o.kind === 'constant' ? [o.tensor] : []));
    return { params, kernel: `${op.toLowerCase()}_f32`, cFiles: [...FLOAT_HELPERS, 'portable/tf_broadcast.h', 'portable/tf_arith_f32.c'], inPlace, constants, macs: op === 'MUL' ? elementCount(shape) : 0 };
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
