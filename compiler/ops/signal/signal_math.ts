// Integer helpers of TFLite Micro's signal library (signal/src): most significant bit, integer
// square roots and the fixed-point natural log, with the library's exact rounding and its
// unsigned 32-bit wrap-arounds. The C twins live in runtime-c-templates/portable/signal.h.

/** Bit length of a uint32; 32 for 0, as the library's GCC build (__builtin_clz) defines it. */
export function msb32(x: number): number {
  return x === 0 ? 32 : 32 - Math.clz32(x);
}

/** Bit length of a uint64; 64 for 0 (GCC build). */
export function msb64(x: bigint): number {
  if (x === 0n) return 64;
  const hi = Number(x >> 32n);
  return hi !== 0 ? 64 - Math.clz32(hi) : 32 - Math.clz32(Number(x & 0xffffffffn));
}

/** Rounded integer square root of a uint32 (digit by digit, then +1 when the remainder exceeds the root). */
export function sqrt32(num: number): number {
  if (num === 0) return 0;
  let n = num >>> 0;
  let res = 0;
  const maxBit = (32 - msb32(n)) | 1;
  let bit = 2 ** (31 - maxBit);
  for (let k = Math.trunc((31 - maxBit) / 2) + 1; k > 0; k--) {
    if (n >= res + bit) {
      n -= res + bit;
      res = Math.floor(res / 2) + bit;
    } else {
      res = Math.floor(res / 2);
    }
    bit = Math.floor(bit / 4);
  }
  if (n > res && res !== 0xffff) res++;
  // The library returns uint16_t.
  return res & 0xffff;
}

/** Rounded integer square root of a uint64, returned as uint32; values below 2^32 take the 32-bit path. */
export function sqrt64(num: bigint): number {
  if (num >> 32n === 0n) return sqrt32(Number(num));
  let n = num;
  let res = 0n;
  const maxBit = (64 - msb64(n)) | 1;
  let bit = 1n << BigInt(63 - maxBit);
  for (let k = Math.trunc((63 - maxBit) / 2) + 1; k > 0; k--) {
    if (n >= res + bit) {
      n -= res + bit;
      res = (res >> 1n) + bit;
    } else {
      res >>= 1n;
    }
    bit >>= 2n;
  }
  if (n > res && res !== 0xffffffffn) res++;
  return Number(BigInt.asUintN(32, res));
}

/** Piecewise-linear correction of log2's fractional part, in 1/65536 units (signal/src/log.cc). */
export const LOG_LUT: readonly number[] = [
  0, 224, 442, 654, 861, 1063, 1259, 1450, 1636, 1817, 1992, 2163, 2329, 2490, 2646, 2797, 2944, 3087, 3224, 3358, 3487, 3611, 3732, 3848, 3960, 4068, 4172, 4272, 4368, 4460, 4549, 4633,
  4714, 4791, 4864, 4934, 5001, 5063, 5123, 5178, 5231, 5280, 5326, 5368, 5408, 5444, 5477, 5507, 5533, 5557, 5578, 5595, 5610, 5622, 5631, 5637, 5640, 5641, 5638, 5633, 5626, 5615, 5602, 5586,
  5568, 5547, 5524, 5498, 5470, 5439, 5406, 5370, 5332, 5291, 5249, 5203, 5156, 5106, 5054, 5000, 4944, 4885, 4825, 4762, 4697, 4630, 4561, 4490, 4416, 4341, 4264, 4184, 4103, 4020, 3935, 3848,
  3759, 3668, 3575, 3481, 3384, 3286, 3186, 3084, 2981, 2875, 2768, 2659, 2549, 2437, 2323, 2207, 2090, 1971, 1851, 1729, 1605, 1480, 1353, 1224, 1094, 963, 830, 695, 559, 421, 282, 142, 0, 0,
];

/** ln(x) * outScale, rounded, for a uint32 x > 0 (the library's Log32; `outScale * ln` wraps at 32 bits). */
export function log32(x: number, outScale: number): number {
  const integer = msb32(x) - 1;
  let frac = (x - 2 ** integer) | 0;
  frac = integer < 16 ? frac << (16 - integer) : frac >> (integer - 16);
  const seg = frac >>> 9;
  const c0 = LOG_LUT[seg] as number;
  const c1 = LOG_LUT[seg + 1] as number;
  const relPos = ((c1 - c0) * (frac - 512 * seg)) >> 16;
  const fraction = (frac + c0 + relPos) >>> 0;
  const log2 = ((integer << 16) + fraction) >>> 0;
  // 45426 / 65536 = ln 2; the product stays below 2^53, so plain numbers are exact here.
  const loge = Math.floor((45426 * log2 + 32768) / 65536) >>> 0;
  return (((Math.imul(outScale, loge) >>> 0) + 32768) >>> 0) >>> 16;
}
