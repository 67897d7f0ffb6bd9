// expm1f, tanhf and TFLite's float logistic, bit for bit as runtime-c-templates/portable/
// float_math.h computes them (glibc 2.36's algorithms, the C library that made TFLite Micro's float
// goldens); expf is compiler/ops/expf.ts (tf_expf). Every float operation is a double operation
// rounded with Math.fround, which gives the float result exactly for +, -, * and / (double has
// more than 2 x 24 + 2 bits).

import { expf } from '../ops/expf.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const f = Math.fround;

function floatBits(x: number): number {
  f32[0] = x;
  return u32[0] as number;
}

function bitsFloat(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0] as number;
}

const LN2_HI = bitsFloat(0x3f317180);
const LN2_LO = bitsFloat(0x3717f7d1);
const INV_LN2 = bitsFloat(0x3fb8aa3b);
const Q1 = bitsFloat(0xbd088889);
const Q2 = bitsFloat(0x3ad00d01);
const Q3 = bitsFloat(0xb8a670cd);
const Q4 = bitsFloat(0x36867e54);
const Q5 = bitsFloat(0xb457edbb);
const EXPM1_OVERFLOW = bitsFloat(0x42b17180);

/** Adds k to the exponent field of float y (tf_expm1f's final scaling). */
function addExponent(y: number, k: number): number {
  return bitsFloat((floatBits(y) + (k << 23)) >>> 0);
}

/** tf_expm1f: exp(x) - 1 in float32 arithmetic. */
export function expm1f(xIn: number): number {
  let x = f(xIn);
  const bits = floatBits(x);
  const negative = bits >>> 31 !== 0;
  const absBits = bits & 0x7fffffff;
  if (absBits >= 0x4195b844) {
    if (absBits >= 0x42b17218) {
      if (absBits > 0x7f800000) return x + x;
      if (absBits === 0x7f800000) return negative ? -1 : x;
      if (x > EXPM1_OVERFLOW) return Infinity;
    }
    if (negative) return -1;
  }
  let hi: number;
  let lo: number;
  let c = 0;
  let k: number;
  if (absBits > 0x3eb17218) {
    if (absBits < 0x3f851592) {
      k = negative ? -1 : 1;
      hi = negative ? f(x + LN2_HI) : f(x - LN2_HI);
      lo = negative ? -LN2_LO : LN2_LO;
    } else {
      k = Math.trunc(f(f(INV_LN2 * x) + (negative ? -0.5 : 0.5)));
      hi = f(x - f(k * LN2_HI));
      lo = f(k * LN2_LO);
    }
    x = f(hi - lo);
    c = f(f(hi - x) - lo);
  } else if (absBits < 0x33000000) {
    return x;
  } else {
    k = 0;
  }
  const hfx = f(0.5 * x);
  const hxs = f(x * hfx);
  const r1 = f(1 + f(hxs * f(Q1 + f(hxs * f(Q2 + f(hxs * f(Q3 + f(hxs * f(Q4 + f(hxs * Q5))))))))));
  let t = f(3 - f(r1 * hfx));
  let e = f(hxs * f(f(r1 - t) / f(6 - f(x * t))));
  if (k === 0) return f(x - f(f(x * e) - hxs));
  e = f(f(x * f(e - c)) - c);
  e = f(e - hxs);
  if (k === -1) return f(f(0.5 * f(x - e)) - 0.5);
  if (k === 1) return x < -0.25 ? f(-2 * f(e - f(x + 0.5))) : f(1 + f(2 * f(x - e)));
  let y: number;
  if (k <= -2 || k > 56) {
    y = f(1 - f(e - x));
    return f(addExponent(y, k) - 1);
  }
  if (k < 23) {
    t = bitsFloat(0x3f800000 - (0x1000000 >>> k));
    y = f(t - f(e - x));
  } else {
    t = bitsFloat((0x7f - k) << 23);
    y = f(x - f(e + t));
    y = f(y + 1);
  }
  return addExponent(y, k);
}

/** tf_tanhf: tanh of a float32 through expm1f. */
export function tanhf(xIn: number): number {
  const x = f(xIn);
  const bits = floatBits(x);
  const absBits = bits & 0x7fffffff;
  const positive = bits >>> 31 === 0;
  if (absBits >= 0x7f800000) return positive ? f(f(1 / x) + 1) : f(f(1 / x) - 1);
  let z: number;
  if (absBits < 0x41b00000) {
    if (absBits === 0) return x;
    if (absBits < 0x24000000) return f(x * f(1 + x));
    const ax = Math.abs(x);
    if (absBits >= 0x3f800000) {
      const t = expm1f(f(2 * ax));
      z = f(1 - f(2 / f(t + 2)));
    } else {
      const t = expm1f(f(-2 * ax));
      z = f(-t / f(t + 2));
    }
  } else {
    z = 1;
  }
  return positive ? z : -z;
}

const LOGISTIC_UPPER = bitsFloat(0x4184f3cf); // 16.619047164916992188f

/** TFLite's float LOGISTIC (reference_ops::Logistic): 1 above 16.62, exp(x) below -9. */
export function logisticf(x: number): number {
  if (x > LOGISTIC_UPPER) return 1;
  if (x < -9) return expf(x);
  return f(1 / f(1 + expf(-x)));
}

/** A double from its IEEE-754 bits (the C runtime writes these constants as hex float literals). */
function doubleOf(bits: bigint): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, bits);
  return view.getFloat64(0);
}

/** tf_logf_table: 1/c and log(c) per 16th of [0x3f330000, 2 * 0x3f330000) (glibc's __logf_data). */
const LOGF_TABLE: ReadonlyArray<readonly [number, number]> = (
  [
    [0x3ff661ec79f8f3ben, 0xbfd57bf7808caaden], [0x3ff571ed4aaf883dn, 0xbfd2bef0a7c06ddbn],
    [0x3ff49539f0f010b0n, 0xbfd01eae7f513a67n], [0x3ff3c995b0b80385n, 0xbfcb31d8a68224e9n],
    [0x3ff30d190c8864a5n, 0xbfc6574f0ac07758n], [0x3ff25e227b0b8ea0n, 0xbfc1aa2bc79c8100n],
    [0x3ff1bb4a4a1a343fn, 0xbfba4e76ce8c0e5en], [0x3ff12358f08ae5ban, 0xbfb1973c5a611cccn],
    [0x3ff0953f419900a7n, 0xbfa252f438e10c1en], [0x3ff0000000000000n, 0x0000000000000000n],
    [0x3fee608cfd9a47acn, 0x3faaa5aa5df25984n], [0x3feca4b31f026aa0n, 0x3fbc5e53aa362eb4n],
    [0x3feb2036576afce6n, 0x3fc526e57720db08n], [0x3fe9c2d163a1aa2dn, 0x3fcbc2860d224770n],
    [0x3fe886e6037841edn, 0x3fd1058bc8a07ee1n], [0x3fe767dcf5534862n, 0x3fd4043057b6ee09n],
  ] as const
).map(([invc, logc]) => [doubleOf(invc), doubleOf(logc)] as const);
const LOGF_LN2 = doubleOf(0x3fe62e42fefa39efn);
const LOGF_A0 = doubleOf(0xbfd00ea348b88334n);
const LOGF_A1 = doubleOf(0x3fd5575b0be00b6an);
const LOGF_A2 = doubleOf(0xbfdffffef20a4123n);

/** tf_logf: glibc 2.36's logf (table-driven, every step one double operation, rounded to float once). */
export function logf(xIn: number): number {
  const x = f(xIn);
  let ix = floatBits(x);
  if (ix === 0x3f800000) return 0;
  if (((ix - 0x00800000) >>> 0) >= 0x7f800000 - 0x00800000) {
    if (((ix * 2) >>> 0) === 0) return -Infinity;
    if (ix === 0x7f800000) return x;
    if ((ix & 0x80000000) !== 0 || ((ix * 2) >>> 0) >= 0xff000000) return NaN;
    ix = (floatBits(f(x * 2 ** 23)) - (23 << 23)) >>> 0;
  }
  const tmp = (ix - 0x3f330000) >>> 0;
  const i = (tmp >>> 19) % 16;
  const k = tmp >> 23; // arithmetic shift of the int32 pattern, as the C's signed shift
  const z = bitsFloat((ix - (tmp & 0xff800000)) >>> 0);
  const [invc, logc] = LOGF_TABLE[i] as readonly [number, number];
  const r = z * invc - 1;
  const y0 = logc + k * LOGF_LN2;
  const r2 = r * r;
  let y = LOGF_A1 * r + LOGF_A2;
  y = LOGF_A0 * r2 + y;
  y = y * r2 + (y0 + r);
  return f(y);
}
