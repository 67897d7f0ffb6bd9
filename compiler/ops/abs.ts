// ABS on int8 and int16, as TFLite Micro's elementwise.cc computes it. Quantized: the
// distance from the input zero point, |x - zin|, is requantized by input scale / output scale only
// when the two scales differ (compared as float32, exactly as Micro's needs_rescale), then the
// output zero point is added and the result clamped. int16 needs zero points 0 when quantized;
// an unquantized int16 tensor takes the plain integer |x|, which wraps -32768 to itself as Micro's
// cast back to int16 does. int8 runs through a compile-time table (lut8.ts). float32 ABS is
// unary_f32's (lower.ts hands it there), so this module only ever lowers the integer forms.

import { elementCount, type Tensor } from '../ir/graph.ts';
import type { LoweringContext } from '../passes/lower.ts';
import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { quantizeMultiplier } from '../quant/multiplier.ts';
import { buildLut8, emitLut8, isLut8, lut8Lowering, runLut8, type Lut8Params } from './lut8.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

/** How the int16 kernel maps |x|; the codes are shared with abs_s16.c. */
const ABS_S16_MODES = { same_scale: 0, rescale: 1, unquantized: 2 } as const;
type AbsS16Mode = keyof typeof ABS_S16_MODES;

interface AbsS16Params {
  kind: 'abs_s16';
  size: number;
  mode: AbsS16Mode;
  multiplier: number;
  shift: number;
}

type Params = Lut8Params | AbsS16Params;

/** TFLite Micro's AbsEvalQuantized for one value, before the cast to the output type. */
export function absQuantized(value: number, inputOffset: number, outputOffset: number, rescale: { multiplier: number; shift: number } | undefined, min: number, max: number): number {
  const distance = Math.abs(value - inputOffset);
  const scaled = rescale === undefined ? distance : multiplyByQuantizedMultiplier(distance, rescale.multiplier, rescale.shift);
  return clamp(scaled + outputOffset, min, max);
}

/** The requantization Micro's Prepare sets up, or undefined when the float32 scales are equal. */
function rescaleOf(ctx: LoweringContext, x: Tensor, y: Tensor): { multiplier: number; shift: number } | undefined {
  const inScale = ctx.quant(x, 'input').scale;
  const outScale = ctx.quant(y, 'output').scale;
  return Math.fround(inScale) === Math.fround(outScale) ? undefined : quantizeMultiplier(inScale / outScale);
}

function absS16(p: AbsS16Params, v: number): number {
  if (p.mode === 'unquantized') return (Math.abs(v) << 16) >> 16;
  return absQuantized(v, 0, 0, p.mode === 'rescale' ? p : undefined, -32768, 32767);
}

export const absOp = defineOp({
  builtins: ['ABS'],
  read(r) {
    r.elementwise();
    return {};
  },
  lower(ctx): ModuleLowering<Params> {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    if (y.dtype !== x.dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${x.dtype}; TFLite Micro's ABS keeps the type`);
    const size = elementCount(x.shape);
    const dtype = ctx.quantizedType(x, 'input', ['int8', 'int16']);
    if (dtype === 'int16' && (x.quant?.scale.length ?? 0) === 0) {
      return { params: { kind: 'abs_s16', size, mode: 'unquantized', multiplier: 0, shift: 0 }, kernel: 'abs_s16', cFiles: ['portable/tf_quant.h', 'portable/abs_s16.c'], inPlace: [0] };
    }
    const inQ = ctx.quant(x, 'input');
    const outQ = ctx.quant(y, 'output');
    const rescale = rescaleOf(ctx, x, y);
    if (dtype === 'int8') return lut8Lowering(buildLut8('int8', (v) => absQuantized(v, inQ.zeroPoint, outQ.zeroPoint, rescale, -128, 127)), size, 'int8', 'abs_s8_lut');
    if (inQ.zeroPoint !== 0 || outQ.zeroPoint !== 0) ctx.fail(`int16 ABS needs zero points 0, as TFLite Micro requires (input ${inQ.zeroPoint}, output ${outQ.zeroPoint})`);
    const params: AbsS16Params = rescale === undefined ? { kind: 'abs_s16', size, mode: 'same_scale', multiplier: 0, shift: 0 } : { kind: 'abs_s16', size, mode: 'rescale', ...rescale };
    return { params, kernel: 'abs_s16', cFiles: ['portable/tf_quant.h', 'portable/abs_s16.c'], inPlace: [0] };
  },
  run(p: Params, io) {
    if (isLut8(p)) {
      runLut8(p, io);
      return;
    }
    const x = io.input(0).s16();
    const y = io.output(0).s16();
    for (let i = 0; i < p.size; i++) y[i] = absS16(p, x[i] as number);
  },
  emitC(p: Params, e) {
    if (isLut8(p)) {
      emitLut8(p, e);
      return;
    }
    const params = e.params('tf_abs_s16_params', { size: p.size, mode: ABS_S16_MODES[p.mode], multiplier: p.multiplier, shift: p.shift });
    e.call(`tf_abs_s16(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
