// expf, expm1f, tanhf and TFLite's float logistic, bit for bit as runtime-c-templates/portable/
// float_math.h computes them (glibc 2.36's algorithms, the C library that made TFLite Micro's float
// goldens). JavaScript numbers are doubles, so tf_expf's double steps carry over as they are and
// every float operation of tf_expm1f / tf_tanhf is a double operation rounded with Math.fround,
// which gives the float result exactly for +, -, * and / (double has more than 2 x 24 + 2 bits).

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

/** 2^(i/32) rounded to double (float_math.h keeps these as bit patterns less i << 47). */
const EXP2_FRACTIONS: readonly number[] = (() => {
  const bits = [
    0x3ff0000000000000n, 0x3fefd9b0d3158574n, 0x3fefb5586cf9890fn, 0x3fef9301d0125b51n, 0x3fef72b83c7d517bn, 0x3fef54873168b9aan, 0x3fef387a6e756238n, 0x3fef1e9df51fdee1n,
    0x3fef06fe0a31b715n, 0x3feef1a7373aa9cbn, 0x3feedea64c123422n, 0x3feece086061892dn, 0x3feebfdad5362a27n, 0x3feeb42b569d4f82n, 0x3feeab07dd485429n, 0x3feea47eb03a5585n,
    0x3feea09e667f3bcdn, 0x3fee9f75e8ec5f74n, 0x3feea11473eb0187n, 0x3feea589994cce13n, 0x3feeace5422aa0dbn, 0x3feeb737b0cdc5e5n, 0x3feec49182a3f090n, 0x3feed503b23e255dn,
    0x3feee89f995ad3adn, 0x3feeff76f2fb5e47n, 0x3fef199bdd85529cn, 0x3fef3720dcef9069n, 0x3fef5818dcfba487n, 0x3fef7c97337b9b5fn, 0x3fefa4afa2a490dan, 0x3fefd0765b6e4540n,
  ];
  const view = new DataView(new ArrayBuffer(8));
  return bits.map((b, i) => {
    view.setBigUint64(0, b + (BigInt(i) << 47n));
    return view.getFloat64(0);
  });
})();

/** The table float_math.h holds: bit patterns of 2^(i/32) less i << 47 (for the test that checks it). */
export function exp2FractionBits(): bigint[] {
  const view = new DataView(new ArrayBuffer(8));
  return EXP2_FRACTIONS.map((v, i) => {
    view.setFloat64(0, v);
    return view.getBigUint64(0) - (BigInt(i) << 47n);
  });
}

/** 2^m for m in POW2_MIN .. 128, by exact halving and doubling (k / 32 stays in -151 .. 128 here). */
const POW2_MIN = -152;
const POW2: readonly number[] = Array.from({ length: 128 - POW2_MIN + 1 }, (_, i) => {
  let v = 1;
  for (let m = i + POW2_MIN; m < 0; m++) v /= 2;
  for (let m = i + POW2_MIN; m > 0; m--) v *= 2;
  return v;
});

const SCALED_INV_LN2 = 0x171547652b82fe / 2 ** 52 * 32;
const ROUND_SHIFT = 1.5 * 2 ** 52;
const EXP_C0 = 0x1c6af84b912394 / 2 ** 52 / 2 ** 5 / 32 ** 3;
const EXP_C1 = 0x1ebfce50fac4f3 / 2 ** 52 / 2 ** 3 / 32 ** 2;
const EXP_C2 = 0x162e42ff0c52d6 / 2 ** 52 / 2 / 32;
const EXPF_OVERFLOW = bitsFloat(0x42b17217); // 0x1.62e42ep6
const EXPF_UNDERFLOW = -bitsFloat(0x42cff1b4); // -0x1.9fe368p6

/** tf_expf: exp of a float32, rounded to float32 once from a double evaluation. */
export function expf(x: number): number {
  const bits = floatBits(x);
  const absTop = (bits >>> 20) & 0x7ff;
  if (absTop >= 0x42b) {
    if (bits === 0xff800000) return 0;
    if (absTop >= 0x7f8) return x + x;
    if (x > EXPF_OVERFLOW) return Infinity;
    if (x < EXPF_UNDERFLOW) return 0;
  }
  // The two inputs whose result glibc's fused multiply-adds (x86-64 with FMA) round the other way.
  if (bits === 0x4202422f) return bitsFloat(0x56fc9f1c);
  if (bits === 0xc27c65d9) return bitsFloat(0x11fa2993);
  const z = SCALED_INV_LN2 * x;
  // z + 1.5 * 2^52 rounds z to an integer k (ties to even); subtracting it back is exact.
  const k = z + ROUND_SHIFT - ROUND_SHIFT;
  const r = z - k;
  // 2^(k/32) = 2^(k mod 32 / 32) * 2^floor(k/32): the table entry with its exponent moved, exactly.
  const s = (EXP2_FRACTIONS[k & 31] as number) * (POW2[Math.floor(k / 32) - POW2_MIN] as number);
  const p = EXP_C0 * r + EXP_C1;
  const r2 = r * r;
  let y = EXP_C2 * r + 1;
  y = p * r2 + y;
  y = y * s;
  return f(y);
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
