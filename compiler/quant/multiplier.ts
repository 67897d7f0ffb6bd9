// Turning real-valued scales into the integer multiplier/shift pairs TFLite kernels use.
// Everything here runs at compile time; the device only sees the resulting integers.

import { TinyforgeError } from '../errors.ts';
import type { Activation } from '../ir/graph.ts';

export interface QuantizedMultiplier {
  multiplier: number;
  shift: number;
}

/** C's frexp for finite doubles: x = mantissa * 2^exponent with 0.5 <= |mantissa| < 1. */
export function frexp(x: number): { mantissa: number; exponent: number } {
  if (x === 0 || !Number.isFinite(x)) return { mantissa: x, exponent: 0 };
  let exponent = Math.floor(Math.log2(Math.abs(x))) + 1;
  let mantissa = x * 2 ** -exponent;
  while (Math.abs(mantissa) < 0.5) {
    mantissa *= 2;
    exponent -= 1;
  }
  while (Math.abs(mantissa) >= 1) {
    mantissa /= 2;
    exponent += 1;
  }
  return { mantissa, exponent };
}

/** std::round: half away from zero. */
export function roundHalfAwayFromZero(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/**
 * The largest left shift a requantization may use: the C helpers shift a 32-bit accumulator as
 * an unsigned 32-bit value (tf_shift_left), which C defines for 0..31 only. TFLite Micro does
 * not check it either; a scale that needs more (e.g. 1e38) gave undefined behaviour, and host and
 * Cortex-M disagreed. Such models are refused, naming the op and its tensors' scales.
 */
export const MAX_REQUANTIZATION_LEFT_SHIFT = 31;

/** A rescale factor that no 32-bit requantization can represent. Lowering adds the op and tensors. */
export class RequantizationRangeError extends TinyforgeError {
  constructor(readonly realMultiplier: number, detail: string) {
    super(`rescale factor ${Number(realMultiplier.toPrecision(7))} ${detail}`);
    this.name = 'RequantizationRangeError';
  }
}

function checkShift(realMultiplier: number, shift: number): void {
  if (shift > MAX_REQUANTIZATION_LEFT_SHIFT) {
    throw new RequantizationRangeError(realMultiplier, `needs a left shift of ${shift} bits; 32-bit requantization allows at most ${MAX_REQUANTIZATION_LEFT_SHIFT} (a quantization scale is out of range)`);
  }
}

/** TFLite QuantizeMultiplier (without TFLITE_SINGLE_ROUNDING). */
export function quantizeMultiplier(realMultiplier: number): QuantizedMultiplier {
  if (realMultiplier === 0) return { multiplier: 0, shift: 0 };
  if (!Number.isFinite(realMultiplier)) throw new RequantizationRangeError(realMultiplier, 'is not finite (a quantization scale is 0, infinite or out of range)');
  const { mantissa, exponent } = frexp(realMultiplier);
  let shift = exponent;
  let fixed = roundHalfAwayFromZero(mantissa * 2147483648);
  if (fixed === 2147483648) {
    fixed /= 2;
    shift += 1;
  }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  checkShift(realMultiplier, shift);
  return { multiplier: fixed, shift };
}

/** TFLite CalculateActivationRangeQuantized for int8 outputs; arithmetic in float32 as TFLite does. */
/** Value range of a quantized integer type. */
export function quantizedTypeRange(dtype: 'int8' | 'uint8' | 'int16'): { min: number; max: number } {
  return dtype === 'int8' ? { min: -128, max: 127 } : dtype === 'uint8' ? { min: 0, max: 255 } : { min: -32768, max: 32767 };
}

export function activationRangeInt8(activation: Activation, scale: number, zeroPoint: number): { min: number; max: number } {
  return activationRange(activation, scale, zeroPoint, 'int8');
}

/** TFLite's CalculateActivationRangeQuantized for int8, uint8 or int16 outputs. */
export function activationRange(activation: Activation, scale: number, zeroPoint: number, dtype: 'int8' | 'uint8' | 'int16'): { min: number; max: number } {
  const { min: qmin, max: qmax } = quantizedTypeRange(dtype);
  const quantize = (x: number): number => zeroPoint + roundHalfAwayFromZero(Math.fround(x / scale));
  switch (activation) {
    case 'none':
      return { min: qmin, max: qmax };
    case 'relu':
      return { min: Math.max(qmin, quantize(0)), max: qmax };
    case 'relu6':
      return { min: Math.max(qmin, quantize(0)), max: Math.min(qmax, quantize(6)) };
    case 'relu_n1_to_1':
      return { min: Math.max(qmin, quantize(-1)), max: Math.min(qmax, quantize(1)) };
  }
}

/** The requantization of TFLite's quantized ADD / SUB (and, with its own shift, SQUARED_DIFFERENCE). */
export interface AddSubRequantization {
  /** Inputs are shifted left by this many bits before rescaling, to keep precision. */
  leftShift: number;
  input1: QuantizedMultiplier;
  input2: QuantizedMultiplier;
  output: QuantizedMultiplier;
}

/**
 * TFLite Micro's ADD / SUB Prepare: both inputs are rescaled to twice the larger input scale after
 * a left shift of 20 bits (int8) or 15 bits (int16, where 65535 << 15 still fits in 32 bits), and
 * the sum is rescaled to the output. ADD computes the ratios in double, SUB divides the float32
 * scales in float32 first (`precision`). Returns a message instead when TFLite Micro's
 * QuantizeMultiplierSmallerThanOneExp would abort (a ratio not below one).
 */
export function addSubRequantization(
  scale1: number,
  scale2: number,
  outputScale: number,
  dtype: 'int8' | 'int16',
  precision: 'double' | 'float32',
): AddSubRequantization | string {
  const leftShift = dtype === 'int16' ? 15 : 20;
  const f = precision === 'float32' ? Math.fround : (x: number): number => x;
  const twiceMax = f(2 * Math.max(scale1, scale2));
  const real1 = f(scale1 / twiceMax);
  const real2 = f(scale2 / twiceMax);
  const realOut = f(twiceMax / f((1 << leftShift) * outputScale));
  // Scales are float32: seven significant digits show them as the file has them.
  const show = (x: number): number => Number(x.toPrecision(7));
  if (!(real1 > 0 && real2 > 0)) return `input scales ${show(scale1)} and ${show(scale2)} must both be positive`;
  if (!(realOut > 0 && realOut < 1)) {
    return `the output scale ${show(outputScale)} is too small for inputs of scale ${show(Math.max(scale1, scale2))} (rescale factor ${show(realOut)} must be below 1)`;
  }
  return { leftShift, input1: quantizeMultiplier(real1), input2: quantizeMultiplier(real2), output: quantizeMultiplier(realOut) };
}

/** TFLite CalculateInputRadius: the largest |input| (in input units) a fixed-point function still resolves. */
export function calculateInputRadius(inputIntegerBits: number, inputLeftShift: number, totalSignedBits = 31): number {
  const maxInputRescaled = ((2 ** inputIntegerBits - 1) * 2 ** (totalSignedBits - inputIntegerBits)) / 2 ** inputLeftShift;
  return Math.floor(maxInputRescaled);
}

/** TFLite CheckedLog2 (float32 arithmetic): the rounded log2 of x, and whether x is a power of two within 1e-3. */
export function checkedLog2(x: number): { log2: number; exact: boolean } {
  const f = Math.fround;
  const xLog2 = f(f(Math.log(f(x))) * f(1 / f(Math.log(2))));
  const rounded = roundHalfAwayFromZero(xLog2);
  return { log2: rounded, exact: Math.abs(f(xLog2 - rounded)) < f(1e-3) };
}

/** TFLite's frexp-based multiplier of the int8 LOGISTIC / TANH Prepare (no renormalisation of a rounded-up 2^31). */
export function frexpMultiplier(real: number): QuantizedMultiplier {
  if (!Number.isFinite(real)) throw new RequantizationRangeError(real, 'is not finite (a quantization scale is 0, infinite or out of range)');
  const { mantissa, exponent } = frexp(real);
  checkShift(real, exponent);
  return { multiplier: roundHalfAwayFromZero(mantissa * 2147483648), shift: exponent };
}

/**
 * TFLite PreprocessSoftmaxScaling + CalculateInputRadius for the int8-input softmax: beta times
 * the input scale as a multiplier greater than one for a Q(integerBits) scaled difference, and the
 * most negative input difference that still contributes (`diffMin`). Undefined when the scale is
 * too small for a non-negative shift.
 */
export function softmaxInt8Scaling(beta: number, inputScale: number, integerBits: number): { multiplier: number; leftShift: number; diffMin: number } | undefined {
  const real = Math.min(beta * inputScale * 2 ** (31 - integerBits), 2 ** 31 - 1);
  const q = quantizeMultiplier(real);
  if (q.shift < 0) return undefined;
  return { multiplier: q.multiplier, leftShift: q.shift, diffMin: -calculateInputRadius(integerBits, q.shift) };
}
