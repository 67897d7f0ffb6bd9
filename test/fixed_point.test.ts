// The double-based fixed-point primitives against a BigInt model of the C++ int64 arithmetic.

import { describe, expect, it } from 'vitest';
import {
  multiplyByQuantizedMultiplier,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
} from '../compiler/quant/fixed_point.ts';
import { frexp, quantizeMultiplier } from '../compiler/quant/multiplier.ts';

function srdhmBig(a: number, b: number): number {
  if (a === -2147483648 && b === -2147483648) return 2147483647;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates like C++
}

function rdbpotBig(x: number, e: number): number {
  const mask = (1n << BigInt(e)) - 1n;
  const bx = BigInt(x);
  const remainder = bx & mask;
  const threshold = (mask >> 1n) + (bx < 0n ? 1n : 0n);
  return Number((bx >> BigInt(e)) + (remainder > threshold ? 1n : 0n));
}

function xorshift(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s | 0;
  };
}

describe('fixed-point primitives', () => {
  it('saturatingRoundingDoublingHighMul equals the int64 definition', () => {
    const next = xorshift(12345);
    const edge = [0, 1, -1, 2147483647, -2147483648, 1 << 30, -(1 << 30), 65535, -65536, 32768];
    for (const a of edge) for (const b of edge) expect(saturatingRoundingDoublingHighMul(a, b), `${a}*${b}`).toBe(srdhmBig(a, b));
    for (let i = 0; i < 20000; i++) {
      const a = next();
      const b = i % 3 === 0 ? next() >> (i % 31) : next();
      expect(saturatingRoundingDoublingHighMul(a, b)).toBe(srdhmBig(a, b));
    }
  });

  it('roundingDivideByPOT rounds half away from zero for every exponent', () => {
    const next = xorshift(777);
    for (let e = 0; e <= 31; e++) {
      for (const x of [0, 1, -1, 2147483647, -2147483648, 3, -3, 1 << Math.min(e, 30)]) expect(roundingDivideByPOT(x, e), `${x}>>${e}`).toBe(rdbpotBig(x, e));
      for (let i = 0; i < 500; i++) {
        const x = next();
        expect(roundingDivideByPOT(x, e)).toBe(rdbpotBig(x, e));
      }
    }
  });

  it('multiplyByQuantizedMultiplier composes left shift, high multiply and right shift', () => {
    expect(multiplyByQuantizedMultiplier(1000, 1 << 30, 0)).toBe(500);
    expect(multiplyByQuantizedMultiplier(1000, 1 << 30, 1)).toBe(1000);
    expect(multiplyByQuantizedMultiplier(-1001, 1 << 30, -1)).toBe(-250);
    expect(multiplyByQuantizedMultiplier(-1002, 1 << 30, -1)).toBe(-251);
  });

  it('frexp and quantizeMultiplier follow the C library and TFLite', () => {
    expect(frexp(1)).toEqual({ mantissa: 0.5, exponent: 1 });
    expect(frexp(0.75)).toEqual({ mantissa: 0.75, exponent: 0 });
    expect(frexp(3e-10).mantissa).toBeGreaterThanOrEqual(0.5);
    expect(quantizeMultiplier(0.5)).toEqual({ multiplier: 1 << 30, shift: 0 });
    expect(quantizeMultiplier(1)).toEqual({ multiplier: 1 << 30, shift: 1 });
    // The mantissa rounds up to 2^31: TFLite halves it and bumps the shift.
    expect(quantizeMultiplier(1 - 2 ** -40)).toEqual({ multiplier: 1 << 30, shift: 1 });
    expect(quantizeMultiplier(0)).toEqual({ multiplier: 0, shift: 0 });
    expect(quantizeMultiplier(2 ** -40)).toEqual({ multiplier: 0, shift: 0 });
  });
});
