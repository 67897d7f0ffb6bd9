// LEAKY_RELU on int8 / int16 (TFLite Micro's QuantizeLeakyRelu): x >= 0 is requantized with
// input/output scale, x < 0 with alpha * input/output scale (either may exceed 1; alpha may be
// negative). int8 runs through a compile-time lookup table (lut8.ts).

import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { quantizedTypeRange, quantizeMultiplier } from '../quant/multiplier.ts';
import { BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';
import { buildLut8, emitLut8, isLut8, lut8Lowering, runLut8, type Lut8Params } from './lut8.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

interface LeakyRelu16Params {
  size: number;
  inputOffset: number;
  outputOffset: number;
  identityMultiplier: number;
  identityShift: number;
  alphaMultiplier: number;
  alphaShift: number;
}

type Params = Lut8Params | LeakyRelu16Params;

const f = Math.fround;

/**
 * The negative side's requantization. With a negative alpha the multiplier is negative, and TFLite
 * Micro's goldens round the (positive) product's ties downward, i.e. like the product with the
 * multiplier's magnitude, negated; gemmlowp's doubling high multiply with a negative multiplier
 * would round them upward instead.
 */
function alphaProduct(x: number, multiplier: number, shift: number): number {
  return multiplier < 0 ? -multiplyByQuantizedMultiplier(x, -multiplier, shift) : multiplyByQuantizedMultiplier(x, multiplier, shift);
}

function leakyRelu(p: LeakyRelu16Params, q: number, min: number, max: number): number {
  const x = q - p.inputOffset;
  const y = x >= 0 ? multiplyByQuantizedMultiplier(x, p.identityMultiplier, p.identityShift) : alphaProduct(x, p.alphaMultiplier, p.alphaShift);
  return clamp(p.outputOffset + y, min, max);
}

export const leakyReluOp = defineOp({
  builtins: ['LEAKY_RELU'],
  read(r) {
    r.elementwise();
    const t = r.options(BuiltinOptionsType.LeakyReluOptions, 'LeakyReluOptions');
    const alpha = t ? t.f32(F.LeakyReluOptions.alpha, 0, 'alpha') : 0;
    if (!Number.isFinite(alpha)) r.fail(`${r.label} has alpha ${alpha} (must be finite)`);
    return { alpha };
  },
  lower(ctx, attrs): ModuleLowering<Params> {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    const dtype = ctx.quantizedType(x, 'input', ['int8', 'int16']);
    if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype}`);
    const inQ = ctx.quant(x, 'input');
    const outQ = ctx.quant(y, 'output');
    // TFLite divides in float32: (input scale * alpha) / output scale, and input / output scale.
    const alpha = quantizeMultiplier(f(f(f(inQ.scale) * f(attrs.alpha)) / f(outQ.scale)));
    const identity = quantizeMultiplier(f(f(inQ.scale) / f(outQ.scale)));
    const p: LeakyRelu16Params = {
      size: x.shape.reduce((a, b) => a * b, 1),
      inputOffset: inQ.zeroPoint,
      outputOffset: outQ.zeroPoint,
      identityMultiplier: identity.multiplier,
      identityShift: identity.shift,
      alphaMultiplier: alpha.multiplier,
      alphaShift: alpha.shift,
    };
    if (dtype === 'int8') return lut8Lowering(buildLut8('int8', (v) => leakyRelu(p, v, -128, 127)), p.size, 'int8', 'leaky_relu_s8_lut');
    return { params: p, kernel: 'leaky_relu_s16', cFiles: ['portable/leaky_relu_s16.c'] };
  },
  run(p: Params, io) {
    if (isLut8(p)) {
      runLut8(p, io);
      return;
    }
    const x = io.input(0).s16();
    const y = io.output(0).s16();
    const { min, max } = quantizedTypeRange('int16');
    for (let i = 0; i < p.size; i++) y[i] = leakyRelu(p, x[i] as number, min, max);
  },
  emitC(p: Params, e) {
    if (isLut8(p)) {
      emitLut8(p, e);
      return;
    }
    const params = e.params('tf_leaky_relu_params', {
      size: p.size,
      input_offset: p.inputOffset,
      output_offset: p.outputOffset,
      identity_multiplier: p.identityMultiplier,
      identity_shift: p.identityShift,
      alpha_multiplier: p.alphaMultiplier,
      alpha_shift: p.alphaShift,
    });
    e.call(`tf_leaky_relu_s16(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
