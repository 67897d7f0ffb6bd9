// RSQRT on int8 / int16 (TFLite Micro's RsqrtEvalQuantized): 1/sqrt of the input by gemmlowp
// Newton-Raphson, then one requantization by 1 / (sqrt(input scale) * output scale). int8 runs
// through a compile-time lookup table (lut8.ts). TFLite Micro fails at run time on an input below
// its zero point; tinyforge gives the largest output there, as for the zero point itself.

import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { invSqrtQuantizedMultiplierExp } from '../quant/fixed_point_math.ts';
import { quantizedTypeRange, quantizeMultiplier } from '../quant/multiplier.ts';
import { buildLut8, emitLut8, isLut8, lut8Lowering, runLut8, type Lut8Params } from './lut8.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

interface Rsqrt16Params {
  size: number;
  inputOffset: number;
  outputOffset: number;
  multiplier: number;
  shift: number;
}

type Params = Lut8Params | Rsqrt16Params;

/** Extra bits of 1/sqrt(x) kept before the final requantization (TFLite's kShift). */
const SHIFT = 20;

function rsqrt(p: Rsqrt16Params, q: number, min: number, max: number): number {
  const value = q - p.inputOffset;
  if (value <= 0) return max;
  const inv = invSqrtQuantizedMultiplierExp(value);
  const data = multiplyByQuantizedMultiplier(1, inv.multiplier, inv.shift + SHIFT);
  return clamp(multiplyByQuantizedMultiplier(data, p.multiplier, p.shift - SHIFT) + p.outputOffset, min, max);
}

export const rsqrtOp = defineOp({
  builtins: ['RSQRT'],
  read(r) {
    r.elementwise();
    return {};
  },
  lower(ctx): ModuleLowering<Params> {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    const dtype = ctx.quantizedType(x, 'input', ['int8', 'int16']);
    if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype}`);
    const inQ = ctx.quant(x, 'input');
    const outQ = ctx.quant(y, 'output');
    if (dtype === 'int16' && (inQ.zeroPoint !== 0 || outQ.zeroPoint !== 0)) ctx.fail(`int16 RSQRT needs zero points 0 (input ${inQ.zeroPoint}, output ${outQ.zeroPoint})`);
    const q = quantizeMultiplier(1 / (Math.sqrt(inQ.scale) * outQ.scale));
    if (q.shift - SHIFT < -31) ctx.fail(`output scale ${outQ.scale} is too large for RSQRT of input scale ${inQ.scale} (TFLite's final shift would exceed 31 bits)`);
    const p: Rsqrt16Params = {
      size: x.shape.reduce((a, b) => a * b, 1),
      inputOffset: inQ.zeroPoint,
      outputOffset: outQ.zeroPoint,
      multiplier: q.multiplier,
      shift: q.shift,
    };
    if (dtype === 'int8') return lut8Lowering(buildLut8('int8', (v) => rsqrt(p, v, -128, 127)), p.size, 'int8', 'rsqrt_s8_lut');
    return { params: p, kernel: 'rsqrt_s16', cFiles: ['portable/tf_fixedpoint.h', 'portable/rsqrt_s16.c'] };
  },
  run(p: Params, io) {
    if (isLut8(p)) {
      runLut8(p, io);
      return;
    }
    const x = io.input(0).s16();
    const y = io.output(0).s16();
    const { min, max } = quantizedTypeRange('int16');
    for (let i = 0; i < p.size; i++) y[i] = rsqrt(p, x[i] as number, min, max);
  },
  emitC(p: Params, e) {
    if (isLut8(p)) {
      emitLut8(p, e);
      return;
    }
    const params = e.params('tf_rsqrt_params', { size: p.size, input_offset: p.inputOffset, output_offset: p.outputOffset, multiplier: p.multiplier, shift: p.shift });
    e.call(`tf_rsqrt_s16(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
