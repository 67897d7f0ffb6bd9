// What the two-input element-wise op modules (ADD/SUB, MUL, MAXIMUM/MINIMUM, SQUARED_DIFFERENCE,
// DIV) share: reading the operator, checking types and broadcast shapes, resolving each operand to
// an activation or a constant, walking the broadcast in the reference kernel, and writing the call.
// int32 versions fold shape arithmetic at compile time (fold_constants.ts); ADD, SUB, MUL, DIV,
// MAXIMUM and MINIMUM also run on int32 activations (the audio front end's feature scaling) through
// one kernel, arith_s32.c.

import { TinyforgeError } from '../errors.ts';
import { elementCount, isConstant, type Activation, type Tensor } from '../ir/graph.ts';
import type { OpReader } from '../frontends/tflite/op_reader.ts';
import type { LoweringContext } from '../passes/lower.ts';
import { constantData } from '../reference/run_reference.ts';
import { broadcastShape, cBroadcast, forEachBroadcast, MAX_BROADCAST_RANK, planBroadcast, type BroadcastPlan } from './broadcast.ts';
import type { CEmitter, KernelIo, ModuleLowering, TensorData } from './op_module.ts';
import { int32Literal } from '../emit-c/c_literals.ts';

export type BinaryType = 'int8' | 'int16' | 'int32';

/** Where a kernel argument comes from: the layer's activation input `index`, or constant tensor `tensor`. */
export type Operand = { readonly kind: 'activation'; readonly index: number } | { readonly kind: 'constant'; readonly tensor: number };

/** The parameters every binary module layer has. */
export interface BinaryParams {
  dtype: BinaryType;
  plan: BroadcastPlan;
  operands: readonly [Operand, Operand];
}

export interface BinaryLowering {
  a: Tensor;
  b: Tensor;
  out: Tensor;
  base: BinaryParams;
  /** Activation inputs the output may overwrite (ModuleLowering.inPlace): those of the output's shape. */
  inPlace: number[];
}

/** Reads a two-input, one-output operator; the fused activation comes from field 0 of `options` when given. */
export function readBinary(r: OpReader, options?: { type: number; name: string }): { activation: Activation } {
  r.arity(2, 2, 1);
  const a = r.input(0, 'input 1');
  const b = r.input(1, 'input 2');
  r.output(0);
  if (a.dtype !== b.dtype) r.fail(`${r.label} input 2 is ${b.dtype} but input 1 is ${a.dtype}`);
  if (!options) return { activation: 'none' };
  return { activation: r.activation(r.options(options.type, options.name), 0) };
}

/**
 * Checks the operand types and shapes (TFLite Micro's Prepare) and plans the broadcast. `maxRank`
 * is the most dimensions TFLite Micro's broadcasting kernel of the op takes; same-shape inputs are
 * one flat loop at any rank.
 */
export function lowerBinary(ctx: LoweringContext, types: readonly BinaryType[], maxRank: number, int32AtRuntime = false): BinaryLowering {
  const a = ctx.tensor(0);
  const b = ctx.tensor(1);
  const out = ctx.tensor(0, 'output');
  if (!(types as readonly string[]).includes(a.dtype)) ctx.fail(`input 1 '${a.name}' is ${a.dtype}; this op takes ${types.join(' or ')}`);
  const dtype = a.dtype as BinaryType;
  if (b.dtype !== dtype) ctx.fail(`input 2 '${b.name}' is ${b.dtype} but input 1 is ${dtype}`);
  if (out.dtype !== dtype) ctx.fail(`output '${out.name}' is ${out.dtype} but the inputs are ${dtype}`);
  const shape = broadcastShape(a.shape, b.shape);
  if (!shape) ctx.fail(`input shapes [${a.shape}] and [${b.shape}] do not broadcast`);
  const sameShape = a.shape.join() === b.shape.join();
  const squeezed = (s: readonly number[]): string => s.slice(s.findIndex((d) => d !== 1)).join();
  if (elementCount(out.shape) !== elementCount(shape) || (!sameShape && squeezed(out.shape) !== squeezed(shape))) {
    ctx.fail(`output '${out.name}' has shape [${out.shape}] but the inputs broadcast to [${shape}]`);
  }
  const limit = Math.min(maxRank, MAX_BROADCAST_RANK);
  if (!sameShape && Math.max(a.shape.length, b.shape.length, out.shape.length) > limit) {
    ctx.fail(`broadcasting [${a.shape}] with [${b.shape}] has more than ${limit} dimensions, the most TFLite Micro supports`);
  }
  const plan = planBroadcast(a.shape, b.shape, shape);
  let activations = 0;
  const operand = (t: Tensor): Operand => (isConstant(t) ? { kind: 'constant', tensor: t.id } : { kind: 'activation', index: activations++ });
  const operands: [Operand, Operand] = [operand(a), operand(b)];
  // An input of the output's size is read at the output's own index (the walker visits in order).
  const inPlace = operands.flatMap((o, i) => (o.kind === 'activation' && elementCount((i === 0 ? a : b).shape) === elementCount(out.shape) ? [o.index] : []));
  if (dtype === 'int32' && !int32AtRuntime) {
    // This op's int32 form is shape arithmetic in the models tinyforge sees; it is folded.
    if (activations > 0) ctx.fail(`int32 inputs are supported only when both are constants (the op is then computed at compile time)`);
    if (ctx.graph.outputs.includes(out.id)) ctx.fail(`int32 output '${out.name}' is a model output; tinyforge computes int32 element-wise ops only at compile time`);
  }
  return { a, b, out, base: { dtype, plan, operands }, inPlace };
}

/** TFLite's CalculateActivationRange for int32 outputs. */
export function int32ActivationRange(activation: Activation): { min: number; max: number } {
  switch (activation) {
    case 'none':
      return { min: -2147483648, max: 2147483647 };
    case 'relu':
      return { min: 0, max: 2147483647 };
    case 'relu6':
      return { min: 0, max: 6 };
    case 'relu_n1_to_1':
      return { min: -1, max: 1 };
  }
}

function operandData(io: KernelIo, o: Operand): TensorData {
  return o.kind === 'constant' ? constantData(io.graph.tensors[o.tensor] as Tensor) : io.input(o.index);
}

/** The reference kernel's loop: out[o] = f(input1[i1], input2[i2]) over the planned broadcast. */
export function runBinary(p: BinaryParams, io: KernelIo, f: (x: number, y: number) => number): void {
  const view = (d: TensorData): Int8Array | Int16Array | Int32Array => (p.dtype === 'int8' ? d.s8() : p.dtype === 'int16' ? d.s16() : d.s32());
  const x = view(operandData(io, p.operands[0]));
  const y = view(operandData(io, p.operands[1]));
  const out = view(io.output(0));
  forEachBroadcast(p.plan, (o, i1, i2) => {
    out[o] = f(x[i1] as number, y[i2] as number);
  });
}

/** Writes `<fn>_s8|_s16(&params, input1, input2, output)` with the broadcast in the params' `shape` field. */
export function emitBinary(e: CEmitter, p: BinaryParams, fn: string, paramsType: string, fields: Record<string, string | number>): void {
  if (p.dtype === 'int32') throw new TinyforgeError(`internal: int32 ${fn} is computed at compile time`);
  const params = e.params(paramsType, { shape: cBroadcast(p.plan), ...fields });
  const arg = (o: Operand): string => (o.kind === 'constant' ? e.constant(o.tensor) : e.input(o.index));
  e.call(`${fn}_${p.dtype === 'int16' ? 's16' : 's8'}(${params}, ${arg(p.operands[0])}, ${arg(p.operands[1])}, ${e.output(0)});`);
}

/** Operation codes of the int32 kernel (arith_s32.c). */
export const ARITH_S32_OPS = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5 } as const;
export type ArithS32Op = keyof typeof ARITH_S32_OPS;

/** The lowering of an int32 element-wise op to arith_s32.c. */
export function lowerArithS32<P extends BinaryParams>(params: P, op: ArithS32Op, inPlace: number[]): ModuleLowering<P> {
  return { params, kernel: `${op}_s32`, cFiles: ['portable/tf_broadcast.h', 'portable/arith_s32.c'], inPlace };
}

/** Writes `tf_arith_s32(&params, input1, input2, output)`; results wrap as int32 and are clamped to [actMin, actMax]. */
export function emitArithS32(e: CEmitter, p: BinaryParams, op: ArithS32Op, actMin: number, actMax: number): void {
  const params = e.params('tf_arith_s32_params', { shape: cBroadcast(p.plan), op: ARITH_S32_OPS[op], act_min: int32Literal(actMin), act_max: int32Literal(actMax) });
  const arg = (o: Operand): string => (o.kind === 'constant' ? e.constant(o.tensor) : e.input(o.index));
  e.call(`tf_arith_s32(${params}, ${arg(p.operands[0])}, ${arg(p.operands[1])}, ${e.output(0)});`);
}

/** `s8` or `s16`: the suffix of a quantized binary kernel and its C file. */
export function typeSuffix(dtype: BinaryType): 's8' | 's16' {
  return dtype === 'int16' ? 's16' : 's8';
}
