// Integer fixed-point primitives with exactly the semantics of gemmlowp / TFLite's reference kernels.
// JS numbers are doubles, so every 64-bit intermediate is split into parts that stay exact below 2^53.

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;
const TWO_POW_31 = 2147483648;

/** gemmlowp SaturatingRoundingDoublingHighMul: (a * b * 2 + rounding) >> 32, saturating the one overflow case. */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const productNonNegative = a === 0 || b === 0 || a > 0 === b > 0;
  const nudge = productNonNegative ? 1 << 30 : 1 - (1 << 30);
  // a * b = a * bHigh * 2^16 + a * bLow, each part below 2^47 in magnitude.
  const bHigh = b >> 16;
  const bLow = b & 0xffff;
  const high = a * bHigh;
  const highQuot = Math.floor(high / 32768);
  const rest = (high - highQuot * 32768) * 65536 + a * bLow + nudge;
  const restQuot = Math.floor(rest / TWO_POW_31);
  const remainder = rest - restQuot * TWO_POW_31;
  const floorQuot = highQuot + restQuot;
  // C++ integer division truncates toward zero.
  return floorQuot < 0 && remainder !== 0 ? floorQuot + 1 : floorQuot;
}

/** gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero. */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const divisor = 2 ** exponent;
  const floor = Math.floor(x / divisor);
  const remainder = x - floor * divisor;
  const threshold = Math.floor((divisor - 1) / 2) + (x < 0 ? 1 : 0);
  return remainder > threshold ? floor + 1 : floor;
}

/** TFLite MultiplyByQuantizedMultiplier (double-rounding variant). */
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const leftShift = shift > 0 ? shift : 0;
  const rightShift = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(Math.imul(x, 2 ** leftShift), multiplier), rightShift);
}

/** gemmlowp SaturatingRoundingMultiplyByPOT for int32 raw values. */
export function saturatingRoundingMultiplyByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  if (exponent < 0) return roundingDivideByPOT(x, -exponent);
  const threshold = 2 ** (31 - exponent) - 1;
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return Math.imul(x, 2 ** exponent);
}

/** Wrapping int32 addition, as the raw FixedPoint operators do. */
export function addInt32(a: number, b: number): number {
  return (a + b) | 0;
}

export function subInt32(a: number, b: number): number {
  return (a - b) | 0;
}

export function countLeadingZeros32(x: number): number {
  return Math.clz32(x);
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/**
 * TFLite's MultiplyByQuantizedMultiplier for an int64 accumulator (the int16x8 kernels): the
 * multiplier is rounded to 16 bits first, then one rounding shift; the int32 result wraps as C's
 * conversion does.
 */
export function multiplyByQuantizedMultiplierInt64(x: number | bigint, multiplier: number, shift: number): number {
  const reduced = multiplier < 0x7fff0000 ? (multiplier + (1 << 15)) >> 16 : 0x7fff;
  const totalShift = BigInt(15 - shift);
  const result = (BigInt(x) * BigInt(reduced) + (1n << (totalShift - 1n))) >> totalShift;
  return Number(BigInt.asIntN(32, result));
}

/** TFLite CountLeadingSignBits for int32: redundant sign bits (31 for 0 and -1). */
export function countLeadingSignBits(x: number): number {
  return Math.clz32(x >= 0 ? x : ~x) - 1;
}
