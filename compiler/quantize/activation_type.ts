// The one place that decides how activations are quantized: int8 (TFLite's default full-integer
// mode) or int16 (TFLite's 16x8 mode: int16 activations, int8 weights). Everything in the
// post-training quantizer that depends on the activation type asks this object.
//
//   int8:  asymmetric; the calibrated range (widened to contain 0) spread over [-128, 127].
//          Biases int32. SOFTMAX output 1/256, zero point -128.
//   int16: symmetric, zero point 0, scale max(|min|, |max|) / 32767 (TFLite's quantizer; TFLite
//          Micro's int16 kernels require zero point 0). Biases int64, which the int16x8 CONV_2D /
//          DEPTHWISE_CONV_2D / FULLY_CONNECTED kernels accumulate in 64 bits. SOFTMAX output
//          1/32768, zero point 0 (what TFLite Micro's int16 SOFTMAX Prepare demands).

import { roundHalfAwayFromZero } from '../quant/multiplier.ts';

export type ActivationDType = 'int8' | 'int16';

export const ACTIVATION_DTYPES: readonly ActivationDType[] = ['int8', 'int16'];

export interface QParams {
  scale: number;
  zeroPoint: number;
}

export interface ActivationType {
  dtype: ActivationDType;
  /** Integer range of the type. */
  qmin: number;
  qmax: number;
  /** Quantization of an activation whose calibrated float range is [min, max]. */
  fromRange(min: number, max: number): QParams;
  /** TFLite's fixed SOFTMAX output quantization for this type. */
  softmaxOutput: QParams;
  /** Type of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED biases. */
  bias: 'int32' | 'int64';
  /** Little-endian bytes of integer values of this type (already in range). */
  bytes(values: ArrayLike<number>): Uint8Array;
  /** The integer values held in `bytes`. */
  values(bytes: Uint8Array): Int8Array | Int16Array;
}

/** TFLite QUANTIZE: clamp(round(x / scale) + zero_point) to the type's range. */
export function quantizeValue(x: number, q: QParams, type: ActivationType): number {
  return Math.max(type.qmin, Math.min(type.qmax, roundHalfAwayFromZero(x / q.scale) + q.zeroPoint));
}

/** Smallest scale a range may get, so that an all-zero activation still has a valid (positive) scale. */
const MIN_SPAN = 1e-8;

const INT8: ActivationType = {
  dtype: 'int8',
  qmin: -128,
  qmax: 127,
  fromRange(min, max) {
    const lo = Math.min(min, 0);
    let hi = Math.max(max, 0);
    if (hi - lo < MIN_SPAN) hi = lo + MIN_SPAN;
    const scale = Math.fround((hi - lo) / 255);
    const zeroPoint = Math.max(-128, Math.min(127, roundHalfAwayFromZero(-128 - lo / scale)));
    return { scale, zeroPoint };
  },
  softmaxOutput: { scale: 1 / 256, zeroPoint: -128 },
  bias: 'int32',
  bytes(values) {
    const v = Int8Array.from(values);
    return new Uint8Array(v.buffer);
  },
  values(bytes) {
    return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  },
};

const INT16: ActivationType = {
  dtype: 'int16',
  qmin: -32768,
  qmax: 32767,
  fromRange(min, max) {
    const bound = Math.max(Math.abs(min), Math.abs(max), MIN_SPAN / 2);
    return { scale: Math.fround(bound / 32767), zeroPoint: 0 };
  },
  softmaxOutput: { scale: 1 / 32768, zeroPoint: 0 },
  bias: 'int64',
  bytes(values) {
    const out = new Uint8Array(values.length * 2);
    const view = new DataView(out.buffer);
    for (let i = 0; i < values.length; i++) view.setInt16(i * 2, values[i] as number, true);
    return out;
  },
  values(bytes) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return Int16Array.from({ length: bytes.byteLength / 2 }, (_, i) => view.getInt16(i * 2, true));
  },
};

export function activationType(dtype: ActivationDType = 'int8'): ActivationType {
  return dtype === 'int16' ? INT16 : INT8;
}
