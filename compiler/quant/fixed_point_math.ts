// gemmlowp's fixed-point transcendental functions used by TFLite's int8 softmax, on raw int32 values.
// A FixedPoint<int32, I> value is its raw integer with 31 - I fractional bits.

import {
  INT32_MAX,
  addInt32,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul as mul,
  saturatingRoundingMultiplyByPOT,
  subInt32,
} from './fixed_point.ts';

/** Raw value of 2^exponent in a FixedPoint with `integerBits` integer bits. */
function constantPOT(integerBits: number, exponent: number): number {
  return 2 ** (31 - integerBits + exponent);
}

/** Rescale a raw value from `srcIntegerBits` to `dstIntegerBits`. */
export function rescale(raw: number, srcIntegerBits: number, dstIntegerBits: number): number {
  return saturatingRoundingMultiplyByPOT(raw, srcIntegerBits - dstIntegerBits);
}

/** exp(a) for a in [-1/4, 0), a in Q0.31; result in Q0.31. */
function expOnIntervalBetweenNegativeOneQuarterAnd0Excl(a: number): number {
  const constantTerm = 1895147668; // exp(-1/8)
  const constantOneThird = 715827883;
  const x = addInt32(a, constantPOT(0, -3));
  const x2 = mul(x, x);
  const x3 = mul(x2, x);
  const x4 = mul(x2, x2);
  const x4Over4 = saturatingRoundingMultiplyByPOT(x4, -2);
  const poly = saturatingRoundingMultiplyByPOT(addInt32(mul(addInt32(x4Over4, x3), constantOneThird), x2), -1);
  return addInt32(constantTerm, mul(constantTerm, addInt32(x, poly)));
}

const EXP_BARREL: ReadonlyArray<readonly [number, number]> = [
  [-2, 1672461947],
  [-1, 1302514674],
  [0, 790015084],
  [1, 290630308],
  [2, 39332535],
  [3, 720401],
  [4, 242],
];

/** exp(a) for a <= 0 given with `integerBits` integer bits; result in Q0.31. */
export function expOnNegativeValues(a: number, integerBits: number): number {
  const fractionalBits = 31 - integerBits;
  const oneQuarter = constantPOT(integerBits, -2);
  const mask = oneQuarter - 1;
  const aModQuarterMinusOneQuarter = subInt32(a & mask, oneQuarter);
  let result = expOnIntervalBetweenNegativeOneQuarterAnd0Excl(rescale(aModQuarterMinusOneQuarter, integerBits, 0));
  const remainder = subInt32(aModQuarterMinusOneQuarter, a);
  for (const [exponent, multiplier] of EXP_BARREL) {
    if (integerBits > exponent) {
      const bit = 2 ** (fractionalBits + exponent);
      if ((remainder & bit) !== 0) result = mul(result, multiplier);
    }
  }
  if (integerBits > 5) {
    const clampRaw = -(2 ** (36 - integerBits));
    if (a < clampRaw) result = 0;
  }
  return a === 0 ? INT32_MAX : result;
}

/** 1 / (1 + x) for x in [0, 1), x in Q0.31; result in Q0.31 (Newton-Raphson, three steps). */
export function oneOverOnePlusXForXIn01(a: number): number {
  // RoundingHalfSum(a, One): (a + INT32_MAX) / 2 rounded away from zero, in 64 bits.
  const sum = a + INT32_MAX;
  const halfDenominator = Math.trunc((sum + (sum >= 0 ? 1 : -1)) / 2);
  const constant48Over17 = 1515870810; // Q2.29
  const constantNeg32Over17 = -1010580540; // Q2.29
  let x = addInt32(constant48Over17, mul(halfDenominator, constantNeg32Over17));
  const oneQ2 = constantPOT(2, 0);
  for (let i = 0; i < 3; i++) {
    const halfDenominatorTimesX = mul(halfDenominator, x);
    const oneMinus = subInt32(oneQ2, halfDenominatorTimesX);
    x = addInt32(x, rescale(mul(x, oneMinus), 4, 2));
  }
  // ExactMulByPot<-1> keeps the raw value and drops one integer bit: Q2.29 -> Q1.30, then rescale to Q0.31.
  return rescale(x, 1, 0);
}

/** TFLite GetReciprocal: 1/x for a positive Q(xIntegerDigits) value, with the extra exponent returned. */
export function getReciprocal(x: number, xIntegerDigits: number): { reciprocal: number; numBitsOverUnit: number } {
  const headroomPlusOne = Math.clz32(x);
  const numBitsOverUnit = xIntegerDigits - headroomPlusOne;
  const shiftedSumMinusOne = ((x << headroomPlusOne) - 2147483648) | 0;
  return { reciprocal: oneOverOnePlusXForXIn01(shiftedSumMinusOne), numBitsOverUnit };
}

export { roundingDivideByPOT };

/** (1 - x) / (1 + x) for x in [0, 1), Q0.31 in and out (gemmlowp, Newton-Raphson as above). */
export function oneMinusXOverOnePlusXForXIn01(a: number): number {
  const sum = a + INT32_MAX;
  const halfDenominator = Math.trunc((sum + (sum >= 0 ? 1 : -1)) / 2);
  let x = addInt32(1515870810, mul(halfDenominator, -1010580540));
  const oneQ2 = constantPOT(2, 0);
  for (let i = 0; i < 3; i++) {
    const oneMinus = subInt32(oneQ2, mul(halfDenominator, x));
    x = addInt32(x, rescale(mul(x, oneMinus), 4, 2));
  }
  return rescale(subInt32(x, oneQ2), 2, 0);
}

/** gemmlowp logistic(a) for a raw FixedPoint with `integerBits` integer bits; result in Q0.31. */
export function logisticQ0(a: number, integerBits: number): number {
  if (a === 0) return 1 << 30;
  const positive = a > 0;
  const abs = positive ? a : -a;
  const resultIfPositive = oneOverOnePlusXForXIn01(expOnNegativeValues(-abs, integerBits));
  return positive ? resultIfPositive : subInt32(INT32_MAX, resultIfPositive);
}

/** gemmlowp tanh(a) for a raw FixedPoint with `integerBits` integer bits; result in Q0.31. */
export function tanhQ0(a: number, integerBits: number): number {
  if (a === 0) return 0;
  const negative = a < 0;
  const n = negative ? a : -a;
  // ExactMulByPot<1>: the raw value is kept, the number of integer bits grows by one.
  const t = oneMinusXOverOnePlusXForXIn01(expOnNegativeValues(n, integerBits + 1));
  return negative ? -t : t;
}

/**
 * TFLite GetInvSqrtQuantizedMultiplierExp: 1/sqrt(input) as a multiplier and a shift (left shift
 * positive, as with reverse_shift = -1), by five Newton-Raphson steps in Q3.28.
 */
export function invSqrtQuantizedMultiplierExp(input: number): { multiplier: number; shift: number } {
  if (input <= 1) return { multiplier: INT32_MAX, shift: 0 };
  let shift = 11;
  while (input >= 1 << 29) {
    input = Math.trunc(input / 4);
    shift++;
  }
  const maxLeftShiftBits = Math.clz32(input) - 1;
  const leftShiftBitPairs = Math.floor(maxLeftShiftBits / 2) - 1;
  shift -= leftShiftBitPairs;
  input = input << (2 * leftShiftBitPairs);
  const fixedInput = input >> 1; // Q3.28
  const halfInput = roundingDivideByPOT(fixedInput, 1);
  const halfThree = (1 << 28) + (1 << 27);
  let x = 1 << 28; // Q3.28 one
  for (let i = 0; i < 5; i++) {
    // x * x * x is Q9.22; Rescale<3> multiplies by 2^6 with saturation.
    const x3 = saturatingRoundingMultiplyByPOT(mul(mul(x, x), x), 6);
    // Both products are Q6.25; their difference goes back to Q3.28.
    x = saturatingRoundingMultiplyByPOT(subInt32(mul(halfThree, x), mul(halfInput, x3)), 3);
  }
  let multiplier = mul(x, 1518500250); // times sqrt(2)/2, still Q3.28
  if (shift < 0) {
    multiplier = multiplier << -shift;
    shift = 0;
  }
  return { multiplier, shift: -shift };
}
