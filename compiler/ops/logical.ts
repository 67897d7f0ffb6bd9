// LOGICAL_AND, LOGICAL_OR (TFLite Micro's logical.cc, broadcasting up to 4 dimensions) and
// LOGICAL_NOT (elementwise.cc) on bool tensors: one byte each, any non-zero byte true, outputs 0 or
// 1. The binary ops walk the broadcast with tf_broadcast.h's row walker (every operand is one byte).

import { elementCount, isConstant, type Tensor } from '../ir/graph.ts';
import { constantData } from '../reference/run_reference.ts';
import { broadcastShape, cBroadcast, forEachBroadcast, planBroadcast, type BroadcastPlan } from './broadcast.ts';
import { defineOp, type KernelIo, type ModuleLowering, type TensorData } from './op_module.ts';

/** Operation codes shared with logical.c. */
const LOGICAL_OPS = { LOGICAL_AND: 0, LOGICAL_OR: 1, LOGICAL_NOT: 2 } as const;
type LogicalOp = keyof typeof LOGICAL_OPS;
const MICRO_BROADCAST_RANK = 4;

type Operand = { kind: 'constant'; tensor: number } | { kind: 'activation'; index: number };

interface LogicalParams {
  op: LogicalOp;
  /** For LOGICAL_NOT a plan of the input with itself. */
  plan: BroadcastPlan;
  operands: Operand[];
}

function isLogicalOp(name: string): name is LogicalOp {
  return name in LOGICAL_OPS;
}

function operandData(io: KernelIo, o: Operand): TensorData {
  return o.kind === 'constant' ? constantData(io.graph.tensors[o.tensor] as Tensor) : io.input(o.index);
}

export const logicalOps = defineOp({
  builtins: Object.keys(LOGICAL_OPS),
  read(r, builtin) {
    const unary = builtin === 'LOGICAL_NOT';
    r.arity(unary ? 1 : 2, unary ? 1 : 2, 1);
    r.input(0, 'input 1');
    if (!unary) r.input(1, 'input 2');
    r.output(0);
    return { op: builtin };
  },
  lower(ctx, attrs): ModuleLowering<LogicalParams> {
    const op = attrs.op;
    if (typeof op !== 'string' || !isLogicalOp(op)) return ctx.fail(`internal: ${String(op)} is not a logical op`);
    const ins = ctx.op.inputs.map((_, i) => ctx.tensor(i));
    const y = ctx.tensor(0, 'output');
    for (const t of [...ins, y]) if (t.dtype !== 'bool') ctx.fail(`'${t.name}' is ${t.dtype}; ${op} takes and writes bool`);
    const a = ins[0] as Tensor;
    const b = ins[1] ?? a;
    const shape = broadcastShape(a.shape, b.shape);
    if (!shape) return ctx.fail(`input shapes [${a.shape}] and [${b.shape}] do not broadcast`);
    if (elementCount(shape) !== elementCount(y.shape)) ctx.fail(`output '${y.name}' has shape [${y.shape}] but the inputs give [${shape}]`);
    if (a.shape.join() !== b.shape.join() && shape.length > MICRO_BROADCAST_RANK) ctx.fail(`broadcasting [${a.shape}] with [${b.shape}] has ${shape.length} dimensions; TFLite Micro's ${op} broadcasts at most ${MICRO_BROADCAST_RANK}`);
    let activations = 0;
    const operands: Operand[] = ins.map((t) => (isConstant(t) ? { kind: 'constant', tensor: t.id } : { kind: 'activation', index: activations++ }));
    const constants = ins.filter(isConstant).map((t) => t.id);
    return {
      params: { op, plan: planBroadcast(a.shape, b.shape, shape), operands },
      kernel: op.toLowerCase(),
      cFiles: ['portable/tf_broadcast.h', 'portable/logical.c'],
      ...(constants.length > 0 ? { constants } : {}),
    };
  },
  run(p: LogicalParams, io) {
    const x = operandData(io, p.operands[0] as Operand).u8();
    const y = p.operands[1] === undefined ? x : operandData(io, p.operands[1]).u8();
    const out = io.output(0).u8();
    forEachBroadcast(p.plan, (o, i1, i2) => {
      const a = (x[i1] as number) !== 0;
      const b = (y[i2] as number) !== 0;
      out[o] = (p.op === 'LOGICAL_AND' ? a && b : p.op === 'LOGICAL_OR' ? a || b : !a) ? 1 : 0;
    });
  },
  emitC(p: LogicalParams, e) {
    const arg = (o: Operand): string => (o.kind === 'constant' ? e.constant(o.tensor) : e.input(o.index));
    const first = arg(p.operands[0] as Operand);
    const second = p.operands[1] === undefined ? first : arg(p.operands[1]);
    const params = e.params('tf_logical_params', { shape: cBroadcast(p.plan), op: LOGICAL_OPS[p.op] });
    e.call(`tf_logical(${params}, ${first}, ${second}, ${e.output(0)});`);
  },
});
