// MUL on int8 / int16 with broadcasting (TFLite Micro's quantized Mul): the offset inputs are
// multiplied in 32 bits and the product is rescaled by s1 * s2 / s_out. int16 MUL requires zero
// points of 0, as TFLite Micro's Prepare does.
//
// Same-shape int8 MUL keeps the builtin mul_s8 kernel (in place); lower.ts routes every other MUL
// here through lowerMulModule.

import { elementCount, type Activation } from '../ir/graph.ts';
import { BuiltinOptionsType } from '../frontends/tflite/schema.ts';
import type { LoweringContext } from '../passes/lower.ts';
import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { activationRange, quantizeMultiplier } from '../quant/multiplier.ts';
import { emitArithS32, emitBinary, int32ActivationRange, lowerArithS32, lowerBinary, readBinary, runBinary, typeSuffix, type BinaryParams } from './binary.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

interface MulParams extends BinaryParams {
  input1Offset: number;
  input2Offset: number;
  outputMultiplier: number;
  outputShift: number;
  outputOffset: number;
  actMin: number;
  actMax: number;
}

/** TFLite Micro's MUL Prepare for every case but same-shape int8. */
export function lowerMulModule(ctx: LoweringContext, activation: Activation): ModuleLowering<MulParams> {
  const { a, b, out, base, inPlace } = lowerBinary(ctx, ['int8', 'int16', 'int32'], 6, true);
  if (base.dtype === 'int32') {
    const act = int32ActivationRange(activation);
    const params = { ...base, input1Offset: 0, input2Offset: 0, outputMultiplier: 0, outputShift: 0, outputOffset: 0, actMin: act.min, actMax: act.max };
    return { ...lowerArithS32(params, 'mul', inPlace), macs: elementCount(out.shape) };
  }
  const dtype = base.dtype;
  const q1 = ctx.quant(a, 'input 1');
  const q2 = ctx.quant(b, 'input 2');
  const qo = ctx.quant(out, 'output');
  if (dtype === 'int16') {
    for (const [t, q] of [[a, q1], [b, q2], [out, qo]] as const) {
      if (q.zeroPoint !== 0) ctx.fail(`int16 tensor '${t.name}' has zero point ${q.zeroPoint}; TFLite Micro's int16 MUL needs 0`);
    }
  }
  const m = quantizeMultiplier((q1.scale * q2.scale) / qo.scale);
  const act = activationRange(activation, qo.scale, qo.zeroPoint, dtype);
  const params: MulParams = {
    ...base,
    input1Offset: -q1.zeroPoint,
    input2Offset: -q2.zeroPoint,
    outputMultiplier: m.multiplier,
    outputShift: m.shift,
    outputOffset: qo.zeroPoint,
    actMin: act.min,
    actMax: act.max,
  };
  const t = typeSuffix(dtype);
  return { params, kernel: `mul_broadcast_${t}`, cFiles: ['portable/tf_broadcast.h', 'portable/mul_broadcast.h', `portable/mul_broadcast_${t}.c`], macs: elementCount(out.shape), inPlace };
}

export const mulOp = defineOp({
  builtins: ['MUL'],
  read(r) {
    // MUL normally reaches lowerMulModule through the builtin 'mul' op kind.
    return readBinary(r, { type: BuiltinOptionsType.MulOptions, name: 'MulOptions' });
  },
  lower(ctx, attrs) {
    return lowerMulModule(ctx, attrs.activation);
  },
  run(p: MulParams, io) {
    if (p.dtype === 'int32') {
      runBinary(p, io, (x, y) => clamp(Math.imul(x, y), p.actMin, p.actMax));
      return;
    }
    runBinary(p, io, (x, y) => {
      const product = (x + p.input1Offset) * (y + p.input2Offset);
      return clamp(p.outputOffset + multiplyByQuantizedMultiplier(product, p.outputMultiplier, p.outputShift), p.actMin, p.actMax);
    });
  },
  emitC(p: MulParams, e) {
    if (p.dtype === 'int32') return emitArithS32(e, p, 'mul', p.actMin, p.actMax);
    emitBinary(e, p, 'tf_mul_broadcast', 'tf_mul_broadcast_params', {
      input1_offset: p.input1Offset,
      input2_offset: p.input2Offset,
      output_multiplier: p.outputMultiplier,
      output_shift: p.outputShift,
      output_offset: p.outputOffset,
      act_min: p.actMin,
      act_max: p.actMax,
    });
  },
});
