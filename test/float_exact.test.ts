// DEQUANTIZE's float32 path is taken only where the compiler proves it equal to TFLite's double
// product (compiler/quant/float_exact.ts): these pin the proof's pieces, which the conformance
// goldens (host and M4) then confirm end to end.

import { describe, expect, it } from 'vitest';
import { float32DequantizeExact, productRoundingError } from '../compiler/quant/float_exact.ts';

describe('float32 DEQUANTIZE proof', () => {
  it('finds the rounding error of an inexact double product and none for exact ones', () => {
    expect(productRoundingError(1 + 2 ** -52, 3)).not.toBe(0);
    expect(productRoundingError(0.1, 0.1)).not.toBe(0);
    expect(productRoundingError(Math.fround(0.1), 255)).toBe(0);
    expect(productRoundingError(Math.fround(3.4e38), -255)).toBe(0);
  });

  it('holds for float32 scales over every int8, uint8 and int16 input', () => {
    for (const scale of [Math.fround(0.1), Math.fround(1 / 3), 2 ** -126, Math.fround(1e-45), Math.fround(0.00390625)]) {
      expect(float32DequantizeExact(scale, -128, -128, 127)).toBe(true);
      expect(float32DequantizeExact(scale, 127, 0, 255)).toBe(true);
      expect(float32DequantizeExact(scale, 0, -32768, 32767)).toBe(true);
    }
  });

  it('is refused for a scale float32 cannot hold', () => {
    expect(float32DequantizeExact(0.1, 0, -128, 127)).toBe(false);
    expect(float32DequantizeExact(Number.NaN, 0, -128, 127)).toBe(false);
  });

  it('holds for random float32 scales and zero points', () => {
    let s = 12345;
    for (let n = 0; n < 200; n++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const scale = Math.fround(2 ** ((s % 60) - 40) * (1 + (s >>> 8) / 2 ** 24));
      const zp = (s % 256) - 128;
      expect(float32DequantizeExact(scale, zp, -128, 127)).toBe(true);
    }
  });
});
