// ADD and SUB on int8 / int16 with broadcasting (TFLite Micro's quantized Add / Sub): each input
// is offset, shifted left (20 bits for int8, 15 for int16) and rescaled to twice the larger input
// scale, the two are added or subtracted, and the result is rescaled to the output. TFLite Micro
// ignores AddOptions / SubOptions.pot_scale_int16 and always takes this general path.
//
// Same-shape int8 ADD keeps the builtin add_s8 kernel (Helium variant, in place); lower.ts routes
// every other ADD here through lowerAddSub. SUB is read as a module op.

import type { Activation } from '../ir/graph.ts';
import { BuiltinOptionsType } from '../frontends/tflite/schema.ts';
import type { LoweringContext } from '../passes/lower.ts';
import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { activationRange, addSubRequantization } from '../quant/multiplier.ts';
import { emitArithS32, emitBinary, int32ActivationRange, lowerArithS32, lowerBinary, readBinary, runBinary, typeSuffix, type BinaryParams } from './binary.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

/** Offsets and the three rescalings of TFLite's ADD / SUB (SQUARED_DIFFERENCE uses the same fields). */
export interface TwoInputRequantization {
  leftShift: number;
  input1Offset: number;
  input2Offset: number;
  input1Multiplier: number;
  input1Shift: number;
  input2Multiplier: number;
  input2Shift: number;
  outputMultiplier: number;
  outputShift: number;
  outputOffset: number;
  actMin: number;
  actMax: number;
}

interface AddSubParams extends BinaryParams, TwoInputRequantization {
  /** 1: input 1 - input 2. */
  sub: number;
}

/** TFLite Micro's ADD / SUB Prepare for every case but same-shape int8 ADD. */
export function lowerAddSub(ctx: LoweringContext, kind: 'add' | 'sub', activation: Activation): ModuleLowering<AddSubParams> {
  const { a, b, out, base, inPlace } = lowerBinary(ctx, ['int8', 'int16', 'int32'], 6, true);
  const fixed = { sub: kind === 'sub' ? 1 : 0, leftShift: 0, input1Offset: 0, input2Offset: 0, input1Multiplier: 0, input1Shift: 0, input2Multiplier: 0, input2Shift: 0, outputMultiplier: 0, outputShift: 0, outputOffset: 0 };
  if (base.dtype === 'int32') {
    // TFLite Micro's int32 ADD ignores the fused activation; SUB applies it.
    const act = kind === 'add' ? int32ActivationRange('none') : int32ActivationRange(activation);
    return lowerArithS32({ ...base, ...fixed, actMin: act.min, actMax: act.max }, kind, inPlace);
  }
  const dtype = base.dtype;
  const q1 = ctx.quant(a, 'input 1');
  const q2 = ctx.quant(b, 'input 2');
  const qo = ctx.quant(out, 'output');
  // ADD's Prepare divides in double, SUB's in float32.
  const rq = addSubRequantization(q1.scale, q2.scale, qo.scale, dtype, kind === 'add' ? 'double' : 'float32');
  if (typeof rq === 'string') ctx.fail(rq);
  const act = activationRange(activation, qo.scale, qo.zeroPoint, dtype);
  const params: AddSubParams = {
    ...base,
    ...fixed,
    leftShift: rq.leftShift,
    input1Offset: -q1.zeroPoint,
    input2Offset: -q2.zeroPoint,
    input1Multiplier: rq.input1.multiplier,
    input1Shift: rq.input1.shift,
    input2Multiplier: rq.input2.multiplier,
    input2Shift: rq.input2.shift,
    outputMultiplier: rq.output.multiplier,
    outputShift: rq.output.shift,
    outputOffset: qo.zeroPoint,
    actMin: act.min,
    actMax: act.max,
  };
  const t = typeSuffix(dtype);
  return { params, kernel: `add_sub_${t}`, cFiles: ['portable/tf_broadcast.h', 'portable/add_sub.h', `portable/add_sub_${t}.c`], inPlace };
}

export const addSubOps = defineOp({
  builtins: ['ADD', 'SUB'],
  read(r, builtin) {
    // ADD normally reaches lowerAddSub through the builtin 'add' op kind; both read the same way.
    return builtin === 'SUB'
      ? readBinary(r, { type: BuiltinOptionsType.SubOptions, name: 'SubOptions' })
      : readBinary(r, { type: BuiltinOptionsType.AddOptions, name: 'AddOptions' });
  },
  lower(ctx, attrs, op) {
    return lowerAddSub(ctx, op.module === 'SUB' ? 'sub' : 'add', attrs.activation);
  },
  run(p: AddSubParams, io) {
    if (p.dtype === 'int32') {
      runBinary(p, io, (x, y) => clamp(p.sub ? (x - y) | 0 : (x + y) | 0, p.actMin, p.actMax));
      return;
    }
    const scale = 2 ** p.leftShift;
    runBinary(p, io, (x, y) => {
      const a = multiplyByQuantizedMultiplier((x + p.input1Offset) * scale, p.input1Multiplier, p.input1Shift);
      const b = multiplyByQuantizedMultiplier((y + p.input2Offset) * scale, p.input2Multiplier, p.input2Shift);
      const raw = multiplyByQuantizedMultiplier(p.sub ? (a - b) | 0 : (a + b) | 0, p.outputMultiplier, p.outputShift) + p.outputOffset;
      return clamp(raw, p.actMin, p.actMax);
    });
  },
  emitC(p: AddSubParams, e) {
    if (p.dtype === 'int32') return emitArithS32(e, p, p.sub ? 'sub' : 'add', p.actMin, p.actMax);
    emitBinary(e, p, 'tf_add_sub', 'tf_add_sub_params', {
      sub: p.sub,
      left_shift: p.leftShift,
      input1_offset: p.input1Offset,
      input2_offset: p.input2Offset,
      input1_multiplier: p.input1Multiplier,
      input1_shift: p.input1Shift,
      input2_multiplier: p.input2Multiplier,
      input2_shift: p.input2Shift,
      output_multiplier: p.outputMultiplier,
      output_shift: p.outputShift,
      output_offset: p.outputOffset,
      act_min: p.actMin,
      act_max: p.actMax,
    });
  },
});
