// When a double-precision product rounded to float32 equals the float32 product.
//
// TFLite Micro's DEQUANTIZE forms scale * (q - zero_point) in double and stores it as float32. If
// that double product is exact (no rounding), storing it rounds the exact product once to float32,
// which is also what one IEEE single-precision multiply returns (without flush-to-zero, which
// neither the Cortex-M FPU nor the host enables by default). So the cheap float32 multiply is
// bit-identical exactly when every double product of the layer is exact; that is checked here for
// every possible input value with Dekker's error-free product, not assumed.

/** Veltkamp's split: a = hi + lo with hi holding the upper 26 significand bits. */
function split(a: number): [number, number] {
  const c = 134217729 * a; // 2^27 + 1
  const hi = c - (c - a);
  return [hi, a - hi];
}

/** The rounding error of the double product a * b (Dekker's TwoProduct), 0 when it is exact. */
export function productRoundingError(a: number, b: number): number {
  const p = a * b;
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/**
 * True when, for every integer q in [min, max], the double product scale * (q - zeroPoint) is exact,
 * so DEQUANTIZE in float32 gives TFLite's result bit for bit. `scale` must be a float32 value.
 */
export function float32DequantizeExact(scale: number, zeroPoint: number, min: number, max: number): boolean {
  if (Math.fround(scale) !== scale || !Number.isFinite(scale)) return false;
  for (let q = min; q <= max; q++) {
    const d = q - zeroPoint;
    if (!Number.isFinite(scale * d) || productRoundingError(scale, d) !== 0) return false;
  }
  return true;
}
