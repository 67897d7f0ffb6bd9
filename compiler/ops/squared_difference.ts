// SQUARED_DIFFERENCE on int8 / int16 with broadcasting (TFLite Micro's quantized path): like SUB,
// both inputs are offset, shifted left (7 bits for int8, none for int16, so the square of the
// difference still fits in 32 bits) and rescaled to twice the larger input scale; the difference
// is squared and rescaled by (2 max scale)^2 / (2^(2 shift) s_out), which may exceed one. The
// output is clamped to its type's range (the op has no fused activation).

import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { quantizedTypeRange, quantizeMultiplier } from '../quant/multiplier.ts';
import { emitBinary, lowerBinary, readBinary, runBinary, typeSuffix, type BinaryParams } from './binary.ts';
import type { TwoInputRequantization } from './add_sub.ts';
import { defineOp } from './op_module.ts';

type SquaredDifferenceParams = BinaryParams & TwoInputRequantization;

const NO_REQUANT = { leftShift: 0, input1Offset: 0, input2Offset: 0, input1Multiplier: 0, input1Shift: 0, input2Multiplier: 0, input2Shift: 0, outputMultiplier: 0, outputShift: 0, outputOffset: 0 };

export const squaredDifferenceOp = defineOp({
  builtins: ['SQUARED_DIFFERENCE'],
  read(r) {
    readBinary(r);
    return {};
  },
  lower(ctx) {
    const { a, b, out, base, inPlace } = lowerBinary(ctx, ['int8', 'int16', 'int32'], 6);
    if (base.dtype === 'int32') return { params: { ...base, ...NO_REQUANT, actMin: -2147483648, actMax: 2147483647 }, kernel: 'squared_difference_s32', cFiles: [] };
    const dtype = base.dtype;
    const q1 = ctx.quant(a, 'input 1');
    const q2 = ctx.quant(b, 'input 2');
    const qo = ctx.quant(out, 'output');
    const range = quantizedTypeRange(dtype);
    for (const [t, q] of [[a, q1], [b, q2], [out, qo]] as const) {
      if (dtype === 'int16' && q.zeroPoint !== 0) ctx.fail(`int16 tensor '${t.name}' has zero point ${q.zeroPoint}; TFLite Micro's int16 SQUARED_DIFFERENCE needs 0`);
      if (q.zeroPoint < range.min || q.zeroPoint > range.max) ctx.fail(`tensor '${t.name}' has zero point ${q.zeroPoint}, outside the ${dtype} range`);
    }
    const leftShift = dtype === 'int8' ? 7 : 0;
    const twiceMax = 2 * Math.max(q1.scale, q2.scale);
    const real1 = q1.scale / twiceMax;
    const real2 = q2.scale / twiceMax;
    // (1 << 2 shift) * output scale is an int times a float32 in TFLite Micro: a float32 product.
    const realOut = (twiceMax * twiceMax) / Math.fround((1 << (2 * leftShift)) * qo.scale);
    if (!(real1 > 0 && real2 > 0)) ctx.fail(`input scales ${q1.scale} and ${q2.scale} must both be positive`);
    const m1 = quantizeMultiplier(real1);
    const m2 = quantizeMultiplier(real2);
    const mo = quantizeMultiplier(realOut);
    const params: SquaredDifferenceParams = {
      ...base,
      leftShift,
      input1Offset: -q1.zeroPoint,
      input2Offset: -q2.zeroPoint,
      input1Multiplier: m1.multiplier,
      input1Shift: m1.shift,
      input2Multiplier: m2.multiplier,
      input2Shift: m2.shift,
      outputMultiplier: mo.multiplier,
      outputShift: mo.shift,
      outputOffset: qo.zeroPoint,
      actMin: range.min,
      actMax: range.max,
    };
    const t = typeSuffix(dtype);
    return { params, kernel: `squared_difference_${t}`, cFiles: ['portable/tf_broadcast.h', 'portable/squared_difference.h', `portable/squared_difference_${t}.c`], inPlace };
  },
  run(p: SquaredDifferenceParams, io) {
    if (p.dtype === 'int32') {
      runBinary(p, io, (x, y) => Math.imul((x - y) | 0, (x - y) | 0));
      return;
    }
    const scale = 2 ** p.leftShift;
    runBinary(p, io, (x, y) => {
      const a = multiplyByQuantizedMultiplier((x + p.input1Offset) * scale, p.input1Multiplier, p.input1Shift);
      const b = multiplyByQuantizedMultiplier((y + p.input2Offset) * scale, p.input2Multiplier, p.input2Shift);
      const raw = multiplyByQuantizedMultiplier(Math.imul(a - b, a - b), p.outputMultiplier, p.outputShift) + p.outputOffset;
      return clamp(raw, p.actMin, p.actMax);
    });
  },
  emitC(p: SquaredDifferenceParams, e) {
    emitBinary(e, p, 'tf_squared_difference', 'tf_squared_difference_params', {
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
