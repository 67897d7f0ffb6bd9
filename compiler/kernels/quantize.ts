import type { DequantizeS8F32Layer, QuantizeF32S8Layer, RequantizeS8Layer } from '../ir/layers.ts';
import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { roundHalfAwayFromZero } from '../quant/multiplier.ts';

/**
 * TFLite AffineQuantize: float32 division by the scale, rounded half away from zero.
 * NaN has no int32 value (TFLite's cast is undefined there; Arm's VCVT gives 0): like the C kernel,
 * it quantizes to the zero point.
 */
export function quantizeF32S8(l: QuantizeF32S8Layer, input: Float32Array, output: Int8Array): void {
  for (let i = 0; i < l.size; i++) {
    const scaled = Math.fround((input[i] as number) / l.scale);
    const q = (Number.isNaN(scaled) ? 0 : roundHalfAwayFromZero(scaled)) + l.zeroPoint;
    output[i] = clamp(q, -128, 127);
  }
}

/** TFLite Requantize between two int8 quantizations. */
export function requantizeS8(l: RequantizeS8Layer, input: Int8Array, output: Int8Array): void {
  for (let i = 0; i < l.size; i++) {
    const q = multiplyByQuantizedMultiplier((input[i] as number) + l.inputOffset, l.multiplier, l.shift) + l.outputOffset;
    output[i] = clamp(q, -128, 127);
  }
}

/** TFLite Dequantize: the product is formed in double, then stored as float32. */
export function dequantizeS8F32(l: DequantizeS8F32Layer, input: Int8Array, output: Float32Array): void {
  for (let i = 0; i < l.size; i++) output[i] = l.scale * ((input[i] as number) - l.zeroPoint);
}
