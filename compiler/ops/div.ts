// DIV on int8 with broadcasting (TFLite Micro's quantized Div): the offset divisor's reciprocal is
// computed in fixed point (gemmlowp's Newton-Raphson 1 / (1 + x)), the dividend is normalized to
// its headroom and multiplied by it, and the quotient is rescaled by s1 / (s2 s_out). TFLite Micro
// has no int16 DIV.
//
// TFLite Micro asserts on a zero divisor and when the final rounding shift exceeds 31 (dividends
// near 0 with output multipliers below 64); tinyforge's kernels define both instead of failing:
// a zero divisor gives the activation bound in the dividend's direction (the zero point for 0 / 0)
// and a longer shift rounds as the exact division would.

import { clamp, countLeadingSignBits, INT32_MIN, roundingDivideByPOT, saturatingRoundingDoublingHighMul } from '../quant/fixed_point.ts';
import { getReciprocal } from '../quant/fixed_point_math.ts';
import { activationRange, quantizeMultiplier } from '../quant/multiplier.ts';
import { emitArithS32, emitBinary, int32ActivationRange, lowerArithS32, lowerBinary, readBinary, runBinary, type BinaryParams } from './binary.ts';
import { BuiltinOptionsType } from '../frontends/tflite/schema.ts';
import { defineOp } from './op_module.ts';

interface DivParams extends BinaryParams {
  input1Offset: number;
  input2Offset: number;
  outputMultiplier: number;
  outputShift: number;
  outputOffset: number;
  actMin: number;
  actMax: number;
}

/** gemmlowp RoundingDivideByPOT, extended past its limit of 31 the way tf_div_rounding_shift (div_s8.c) is. */
function roundingShift(x: number, exponent: number): number {
  if (exponent <= 31) return roundingDivideByPOT(x, exponent);
  return exponent === 32 && x === INT32_MIN ? -1 : 0;
}

function divide(p: DivParams, x: number, y: number): number {
  let n = x + p.input1Offset;
  let d = y + p.input2Offset;
  if (d === 0) return clamp(n > 0 ? p.actMax : n < 0 ? p.actMin : p.outputOffset, p.actMin, p.actMax);
  if (d < 0) {
    n = -n;
    d = -d;
  }
  const { reciprocal, numBitsOverUnit } = getReciprocal(d, 31);
  const headroom = countLeadingSignBits(n);
  const unscaled = saturatingRoundingDoublingHighMul(Math.imul(n, 2 ** headroom), reciprocal);
  const exponent = headroom + numBitsOverUnit - p.outputShift;
  const raw = p.outputOffset + roundingShift(saturatingRoundingDoublingHighMul(unscaled, p.outputMultiplier), exponent);
  return clamp(raw, p.actMin, p.actMax);
}

export const divOp = defineOp({
  builtins: ['DIV'],
  read(r) {
    return readBinary(r, { type: BuiltinOptionsType.DivOptions, name: 'DivOptions' });
  },
  lower(ctx, attrs) {
    const { a, b, out, base, inPlace } = lowerBinary(ctx, ['int8', 'int32'], 5, true);
    const fixed = { input1Offset: 0, input2Offset: 0, outputMultiplier: 0, outputShift: 0, outputOffset: 0 };
    if (base.dtype === 'int32') {
      const act = int32ActivationRange(attrs.activation);
      return lowerArithS32({ ...base, ...fixed, actMin: act.min, actMax: act.max }, 'div', inPlace);
    }
    const q1 = ctx.quant(a, 'input 1');
    const q2 = ctx.quant(b, 'input 2');
    const qo = ctx.quant(out, 'output');
    // TFLite Micro divides the float32 scales in float32, then widens to double.
    const m = quantizeMultiplier(Math.fround(q1.scale / Math.fround(q2.scale * qo.scale)));
    // The rounding shift is at least 23 (int8 dividend headroom) minus the output shift.
    if (m.shift > 23) ctx.fail(`the rescale factor ${q1.scale} / (${q2.scale} * ${qo.scale}) is too large for TFLite Micro's int8 DIV (at most 2^23)`);
    const act = activationRange(attrs.activation, qo.scale, qo.zeroPoint, 'int8');
    const params: DivParams = { ...base, input1Offset: -q1.zeroPoint, input2Offset: -q2.zeroPoint, outputMultiplier: m.multiplier, outputShift: m.shift, outputOffset: qo.zeroPoint, actMin: act.min, actMax: act.max };
    return { params, kernel: 'div_s8', cFiles: ['portable/tf_broadcast.h', 'portable/tf_fixedpoint.h', 'portable/div_s8.c'], inPlace };
  },
  run(p: DivParams, io) {
    if (p.dtype === 'int32') {
      // C++ integer division truncates toward zero; INT32_MIN / -1 wraps. TFLite Micro traps on a
      // zero divisor, which tinyforge defines as 0 (as arith_s32.c does).
      runBinary(p, io, (x, y) => clamp(y === 0 ? 0 : Math.trunc(x / y) | 0, p.actMin, p.actMax));
      return;
    }
    runBinary(p, io, (x, y) => divide(p, x, y));
  },
  emitC(p: DivParams, e) {
    if (p.dtype === 'int32') return emitArithS32(e, p, 'div', p.actMin, p.actMax);
    emitBinary(e, p, 'tf_div', 'tf_div_params', {
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
