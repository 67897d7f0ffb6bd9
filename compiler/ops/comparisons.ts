// EQUAL, NOT_EQUAL, GREATER, GREATER_EQUAL, LESS and LESS_EQUAL with NumPy broadcasting and a bool
// output (one byte, 0 or 1), as TFLite Micro's comparisons.cc. Types follow its Eval switches:
// EQUAL / NOT_EQUAL take bool, float32, int32 and int8; GREATER also int16; the rest float32,
// int32 and int8 (int64, which Micro also takes, is refused: tinyforge has no int64 kernels).
// int8 / int16 inputs are compared after Micro's rescaling (ComparisonWithScaling): each distance
// from its zero point, shifted left 8 bits, is multiplied by its own scale as a multiplier below
// one, so inputs of different scales compare by real value to that precision. float32 compares as
// C does (NaN is unequal to everything). Micro broadcasts up to 4 dimensions.

import { elementCount, isConstant, type Tensor } from '../ir/graph.ts';
import { constantData } from '../reference/run_reference.ts';
import { multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { quantizeMultiplier } from '../quant/multiplier.ts';
import { broadcastShape, cBroadcast, forEachBroadcast, planBroadcast, type BroadcastPlan } from './broadcast.ts';
import { defineOp, type KernelIo, type ModuleLowering, type TensorData } from './op_module.ts';

/** Operation codes shared with comparison.c. */
const COMPARISONS = { EQUAL: 0, NOT_EQUAL: 1, GREATER: 2, GREATER_EQUAL: 3, LESS: 4, LESS_EQUAL: 5 } as const;
type Comparison = keyof typeof COMPARISONS;
type CompareType = 'bool' | 'int8' | 'int16' | 'int32' | 'float32';

const TYPES: Readonly<Record<Comparison, readonly CompareType[]>> = {
  EQUAL: ['bool', 'float32', 'int32', 'int8'],
  NOT_EQUAL: ['bool', 'float32', 'int32', 'int8'],
  GREATER: ['float32', 'int32', 'int8', 'int16'],
  GREATER_EQUAL: ['float32', 'int32', 'int8'],
  LESS: ['float32', 'int32', 'int8'],
  LESS_EQUAL: ['float32', 'int32', 'int8'],
};
const C_SUFFIX: Readonly<Record<CompareType, string>> = { bool: 'b', int8: 's8', int16: 's16', int32: 's32', float32: 'f32' };
const LEFT_SHIFT = 8;
const MICRO_BROADCAST_RANK = 4;

type Operand = { kind: 'constant'; tensor: number } | { kind: 'activation'; index: number };

interface Rescale {
  offset: number;
  multiplier: number;
  shift: number;
}

interface ComparisonParams {
  op: Comparison;
  dtype: CompareType;
  plan: BroadcastPlan;
  operands: [Operand, Operand];
  /** Micro's rescaling of each input (int8 / int16 only). */
  rescale: [Rescale, Rescale] | undefined;
}

function isComparison(name: string): name is Comparison {
  return name in COMPARISONS;
}

export function compare(op: Comparison, a: number, b: number): boolean {
  switch (op) {
    case 'EQUAL':
      return a === b;
    case 'NOT_EQUAL':
      return a !== b;
    case 'GREATER':
      return a > b;
    case 'GREATER_EQUAL':
      return a >= b;
    case 'LESS':
      return a < b;
    case 'LESS_EQUAL':
      return a <= b;
  }
}

function values(d: TensorData, dtype: CompareType): ArrayLike<number> {
  switch (dtype) {
    case 'bool':
      return d.u8();
    case 'int8':
      return d.s8();
    case 'int16':
      return d.s16();
    case 'int32':
      return d.s32();
    case 'float32':
      return d.f32();
  }
}

function operandData(io: KernelIo, o: Operand): TensorData {
  return o.kind === 'constant' ? constantData(io.graph.tensors[o.tensor] as Tensor) : io.input(o.index);
}

const scaled = (v: number, r: Rescale): number => multiplyByQuantizedMultiplier((v + r.offset) * 2 ** LEFT_SHIFT, r.multiplier, r.shift);

export const comparisonOps = defineOp({
  builtins: Object.keys(COMPARISONS),
  read(r, builtin) {
    r.arity(2, 2, 1);
    r.input(0, 'input 1');
    r.input(1, 'input 2');
    r.output(0);
    return { op: builtin };
  },
  lower(ctx, attrs): ModuleLowering<ComparisonParams> {
    const op = attrs.op;
    if (typeof op !== 'string' || !isComparison(op)) return ctx.fail(`internal: ${String(op)} is not a comparison`);
    const a = ctx.tensor(0);
    const b = ctx.tensor(1);
    const y = ctx.tensor(0, 'output');
    const allowed = TYPES[op];
    if (!(allowed as readonly string[]).includes(a.dtype)) ctx.fail(`input '${a.name}' is ${a.dtype}; TFLite Micro's ${op} takes ${allowed.join(', ')}${a.dtype === 'int64' ? ' (and int64, which tinyforge does not compute)' : ''}`);
    if (b.dtype !== a.dtype) ctx.fail(`input '${b.name}' is ${b.dtype} but input '${a.name}' is ${a.dtype}`);
    if (y.dtype !== 'bool') ctx.fail(`output '${y.name}' is ${y.dtype}; ${op} writes bool`);
    const dtype = a.dtype as CompareType;
    const shape = broadcastShape(a.shape, b.shape);
    if (!shape) return ctx.fail(`input shapes [${a.shape}] and [${b.shape}] do not broadcast`);
    if (elementCount(shape) !== elementCount(y.shape)) ctx.fail(`output '${y.name}' has shape [${y.shape}] but the inputs broadcast to [${shape}]`);
    if (a.shape.join() !== b.shape.join() && shape.length > MICRO_BROADCAST_RANK) ctx.fail(`broadcasting [${a.shape}] with [${b.shape}] has ${shape.length} dimensions; TFLite Micro's comparisons broadcast at most ${MICRO_BROADCAST_RANK}`);
    let rescale: [Rescale, Rescale] | undefined;
    if (dtype === 'int8' || dtype === 'int16') {
      const one = (t: Tensor, what: string): Rescale => {
        const q = ctx.quant(t, what);
        if (!(q.scale > 0 && q.scale < 1)) ctx.fail(`${what} '${t.name}' has scale ${q.scale}; TFLite Micro's comparisons use the scale as a multiplier below 1`);
        const m = quantizeMultiplier(q.scale);
        return { offset: -q.zeroPoint, multiplier: m.multiplier, shift: m.shift };
      };
      rescale = [one(a, 'input'), one(b, 'input')];
    }
    let activations = 0;
    const operand = (t: Tensor): Operand => (isConstant(t) ? { kind: 'constant', tensor: t.id } : { kind: 'activation', index: activations++ });
    const operands: [Operand, Operand] = [operand(a), operand(b)];
    const constants = [a, b].filter(isConstant).map((t) => t.id);
    return {
      params: { op, dtype, plan: planBroadcast(a.shape, b.shape, shape), operands, rescale },
      kernel: `${op.toLowerCase()}_${C_SUFFIX[dtype]}`,
      cFiles: ['portable/tf_broadcast.h', 'portable/comparison.c'],
      ...(constants.length > 0 ? { constants } : {}),
    };
  },
  run(p: ComparisonParams, io) {
    const x = values(operandData(io, p.operands[0]), p.dtype);
    const y = values(operandData(io, p.operands[1]), p.dtype);
    const out = io.output(0).u8();
    const r = p.rescale;
    forEachBroadcast(p.plan, (o, i1, i2) => {
      const u = x[i1] as number;
      const v = y[i2] as number;
      out[o] = (r ? compare(p.op, scaled(u, r[0]), scaled(v, r[1])) : compare(p.op, u, v)) ? 1 : 0;
    });
  },
  emitC(p: ComparisonParams, e) {
    const r = p.rescale ?? [{ offset: 0, multiplier: 0, shift: 0 }, { offset: 0, multiplier: 0, shift: 0 }];
    const params = e.params('tf_comparison_params', {
      shape: cBroadcast(p.plan),
      op: COMPARISONS[p.op],
      offset1: r[0].offset,
      multiplier1: r[0].multiplier,
      shift1: r[0].shift,
      offset2: r[1].offset,
      multiplier2: r[1].multiplier,
      shift2: r[1].shift,
    });
    const arg = (o: Operand): string => (o.kind === 'constant' ? e.constant(o.tensor) : e.input(o.index));
    e.call(`tf_compare_${C_SUFFIX[p.dtype]}(${params}, ${arg(p.operands[0])}, ${arg(p.operands[1])}, ${e.output(0)});`);
  },
});
