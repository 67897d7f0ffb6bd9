/* IEEE 754 soft-float helpers that Debian's xtensa-lx106-elf libgcc.a leaves out (the ESP8266 has
 * them in ROM; the lx106 has no FPU). The kernels use float only at a model's float inputs and
 * outputs (QUANTIZE / DEQUANTIZE), so this is the few operations those need, correctly rounded
 * (round to nearest, ties to even) with subnormals, infinities and NaN.
 *
 * Float add, subtract and multiply are done in double and rounded once more to float: for these
 * operations a double result (53 bits >= 2 * 24 + 2) rounded to float is the correctly rounded
 * float result, so no separate float code path is needed. Everything works on the bit patterns;
 * nothing here may use float or double arithmetic (it would call itself). */
#include <stdint.h>
#include <string.h>

float __addsf3(float a, float b);
float __subsf3(float a, float b);
float __mulsf3(float a, float b);
float __floatsisf(int32_t i);
float __floatunsisf(uint32_t i);
double __adddf3(double a, double b);
double __subdf3(double a, double b);
double __muldf3(double a, double b);
double __extendsfdf2(float a);
float __truncdfsf2(double a);
double __floatsidf(int32_t i);
double __floatunsidf(uint32_t i);
int32_t __fixdfsi(double a);

#define D_SIG_BITS 52
#define D_EXP_MAX 0x7FF
#define D_BIAS 1023
#define D_SIGN ((uint64_t)1 << 63)
#define D_ABS (D_SIGN - 1u)
#define D_IMPLICIT ((uint64_t)1 << D_SIG_BITS)
#define D_SIG_MASK (D_IMPLICIT - 1u)
#define D_INF ((uint64_t)D_EXP_MAX << D_SIG_BITS)
#define D_QUIET ((uint64_t)1 << (D_SIG_BITS - 1))
#define D_QNAN (D_INF | D_QUIET)

#define F_SIG_BITS 23
#define F_BIAS 127
#define F_INF 0x7F800000u
#define F_QUIET 0x00400000u

static uint64_t d_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}
static double d_from(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}
static uint32_t f_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
static float f_from(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static int clz64(uint64_t x) {
  const uint32_t hi = (uint32_t)(x >> 32);
  return hi ? __builtin_clz(hi) : 32 + __builtin_clz((uint32_t)x);
}

/* Shifts a subnormal significand up to the implicit bit; returns the exponent it then has. */
static int d_normalize(uint64_t *sig) {
  const int shift = clz64(*sig) - clz64(D_IMPLICIT);
  *sig <<= shift;
  return 1 - shift;
}

/* x >> n with every shifted-out bit ORed into bit 0 (the sticky bit), 0 < n. */
static uint64_t shr_sticky(uint64_t x, int n) {
  if (n >= 64) return x != 0u;
  return (x >> n) | ((x << (64 - n)) != 0u);
}

/* The result of adding or subtracting two finite doubles given as significands with three extra
 * low bits (guard, round, sticky), rounded to nearest even. */
static uint64_t d_round_pack(uint64_t sign, int exp, uint64_t sig3) {
  if (exp >= D_EXP_MAX) return sign | D_INF;
  if (exp <= 0) {
    sig3 = shr_sticky(sig3, 1 - exp);
    exp = 0;
  }
  const unsigned grs = (unsigned)(sig3 & 7u);
  uint64_t r = sign | ((uint64_t)exp << D_SIG_BITS) | ((sig3 >> 3) & D_SIG_MASK);
  /* A carry out of the significand correctly bumps the exponent (up to infinity). */
  if (grs > 4u || (grs == 4u && (r & 1u))) r += 1u;
  return r;
}

static uint64_t d_add_bits(uint64_t a, uint64_t b) {
  const uint64_t a_abs = a & D_ABS, b_abs = b & D_ABS;
  if (a_abs - 1u >= D_INF - 1u || b_abs - 1u >= D_INF - 1u) {
    if (a_abs > D_INF) return a | D_QUIET;
    if (b_abs > D_INF) return b | D_QUIET;
    if (a_abs == D_INF) return ((a ^ b) == D_SIGN) ? D_QNAN : a; /* inf - inf is NaN */
    if (b_abs == D_INF) return b;
    if (a_abs == 0u) return b_abs == 0u ? (a & b) : b; /* -0 + -0 = -0, else +0 */
    return a;
  }
  if (b_abs > a_abs) {
    const uint64_t t = a;
    a = b;
    b = t;
  }
  int a_exp = (int)((a >> D_SIG_BITS) & D_EXP_MAX);
  int b_exp = (int)((b >> D_SIG_BITS) & D_EXP_MAX);
  uint64_t a_sig = a & D_SIG_MASK, b_sig = b & D_SIG_MASK;
  if (a_exp == 0) a_exp = d_normalize(&a_sig);
  if (b_exp == 0) b_exp = d_normalize(&b_sig);
  a_sig = (a_sig | D_IMPLICIT) << 3;
  b_sig = (b_sig | D_IMPLICIT) << 3;
  if (a_exp != b_exp) b_sig = shr_sticky(b_sig, a_exp - b_exp);
  if ((a ^ b) & D_SIGN) {
    a_sig -= b_sig;
    if (a_sig == 0u) return 0u; /* x - x is +0 in round to nearest */
    const int shift = clz64(a_sig) - clz64(D_IMPLICIT << 3);
    if (shift > 0) {
      a_sig <<= shift;
      a_exp -= shift;
    }
  } else {
    a_sig += b_sig;
    if (a_sig & (D_IMPLICIT << 4)) {
      a_sig = shr_sticky(a_sig, 1);
      a_exp += 1;
    }
  }
  return d_round_pack(a & D_SIGN, a_exp, a_sig);
}

double __adddf3(double a, double b) { return d_from(d_add_bits(d_bits(a), d_bits(b))); }
double __subdf3(double a, double b) { return d_from(d_add_bits(d_bits(a), d_bits(b) ^ D_SIGN)); }

/* 64 x 64 -> 128-bit product from 32-bit halves. */
static void mul_64x64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo) {
  const uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
  const uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  const uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
  *lo = (mid << 32) | (uint32_t)ll;
  *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

double __muldf3(double x, double y) {
  const uint64_t a = d_bits(x), b = d_bits(y);
  const uint64_t sign = (a ^ b) & D_SIGN;
  const uint64_t a_abs = a & D_ABS, b_abs = b & D_ABS;
  int a_exp = (int)(a_abs >> D_SIG_BITS), b_exp = (int)(b_abs >> D_SIG_BITS);
  uint64_t a_sig = a & D_SIG_MASK, b_sig = b & D_SIG_MASK;
  int scale = 0;
  if (a_exp == 0 || a_exp == D_EXP_MAX || b_exp == 0 || b_exp == D_EXP_MAX) {
    if (a_abs > D_INF) return d_from(a | D_QUIET);
    if (b_abs > D_INF) return d_from(b | D_QUIET);
    if (a_abs == D_INF) return d_from(b_abs ? (D_INF | sign) : D_QNAN); /* inf * 0 is NaN */
    if (b_abs == D_INF) return d_from(a_abs ? (D_INF | sign) : D_QNAN);
    if (a_abs == 0u || b_abs == 0u) return d_from(sign);
    if (a_exp == 0) scale += d_normalize(&a_sig) - 1;
    if (b_exp == 0) scale += d_normalize(&b_sig) - 1;
    if (a_exp == 0) a_exp = 1;
    if (b_exp == 0) b_exp = 1;
  }
  /* a's implicit bit at 52, b's at 63: the product's leading bit is at 115 or 116 (hi bit 51 or 52). */
  uint64_t hi, lo;
  mul_64x64(a_sig | D_IMPLICIT, (b_sig | D_IMPLICIT) << 11, &hi, &lo);
  int exp = a_exp + b_exp - D_BIAS + scale;
  if (hi & D_IMPLICIT) {
    exp += 1;
  } else {
    hi = (hi << 1) | (lo >> 63);
    lo <<= 1;
  }
  if (exp >= D_EXP_MAX) return d_from(sign | D_INF);
  if (exp <= 0) {
    /* Subnormal result: shift the 128-bit product right, keeping a sticky bit in lo. From 64
     * on, hi (< 2^53) ends up in lo below the rounding point: the result is a signed zero. */
    const int shift = 1 - exp;
    if (shift >= 64) return d_from(sign);
    lo = (hi << (64 - shift)) | (lo >> shift) | ((lo << (64 - shift)) != 0u);
    hi >>= shift;
  } else {
    hi = (hi & D_SIG_MASK) | ((uint64_t)exp << D_SIG_BITS);
  }
  hi |= sign;
  if (lo > D_SIGN || (lo == D_SIGN && (hi & 1u))) hi += 1u;
  return d_from(hi);
}

double __extendsfdf2(float f) {
  const uint32_t a = f_bits(f);
  const uint64_t sign = (uint64_t)(a & 0x80000000u) << 32;
  const uint32_t abs = a & 0x7FFFFFFFu;
  if (abs >= F_INF) return d_from(sign | D_INF | ((uint64_t)(abs & 0x007FFFFFu) << 29)); /* inf, NaN */
  if (abs == 0u) return d_from(sign);
  int exp = (int)(abs >> F_SIG_BITS);
  uint64_t sig = (uint64_t)(abs & 0x007FFFFFu) << 29;
  if (exp == 0) {
    exp = d_normalize(&sig);
    sig &= D_SIG_MASK;
  }
  return d_from(sign | ((uint64_t)(exp - F_BIAS + D_BIAS) << D_SIG_BITS) | sig);
}

float __truncdfsf2(double d) {
  const uint64_t a = d_bits(d);
  const uint32_t sign = (uint32_t)(a >> 32) & 0x80000000u;
  const uint64_t abs = a & D_ABS;
  if (abs > D_INF) return f_from(sign | F_INF | F_QUIET | (uint32_t)((abs & D_SIG_MASK) >> 29));
  const int exp = (int)(abs >> D_SIG_BITS) - D_BIAS + F_BIAS; /* the float exponent field */
  if (exp >= 0xFF) return f_from(sign | F_INF);
  /* 29 extra bits below the float significand (more for subnormal results), rounded at once. */
  uint64_t sig = (abs & D_SIG_MASK) | D_IMPLICIT;
  int shift = 29;
  uint32_t e = (uint32_t)exp;
  if (exp <= 0) {
    if (abs == 0u) return f_from(sign);
    shift += 1 - exp;
    e = 0u;
    if (shift > 60) return f_from(sign); /* below half the smallest subnormal */
  }
  const uint64_t rest = sig & (((uint64_t)1 << shift) - 1u);
  const uint64_t half = (uint64_t)1 << (shift - 1);
  /* A subnormal result (e = 0) is below 2^23: the mask only hides a normal one's implicit bit. */
  uint32_t r = sign | (e << F_SIG_BITS) | ((uint32_t)(sig >> shift) & 0x007FFFFFu);
  if (rest > half || (rest == half && (r & 1u))) r += 1u; /* may carry into the exponent (or to inf) */
  return f_from(r);
}

double __floatunsidf(uint32_t i) {
  if (i == 0u) return d_from(0u);
  const int top = 31 - __builtin_clz(i);
  const uint64_t sig = ((uint64_t)i << (D_SIG_BITS - top)) & D_SIG_MASK;
  return d_from(((uint64_t)(top + D_BIAS) << D_SIG_BITS) | sig);
}

double __floatsidf(int32_t i) {
  const uint32_t mag = i < 0 ? 0u - (uint32_t)i : (uint32_t)i;
  return d_from(d_bits(__floatunsidf(mag)) | (i < 0 ? D_SIGN : 0u));
}

/* Truncates toward zero; out of range (undefined in C) saturates, NaN gives 0. */
int32_t __fixdfsi(double d) {
  const uint64_t a = d_bits(d);
  const uint64_t abs = a & D_ABS;
  if (abs > D_INF) return 0;
  const int exp = (int)(abs >> D_SIG_BITS) - D_BIAS;
  if (exp < 0) return 0;
  if (exp >= 31) return (a & D_SIGN) ? INT32_MIN : INT32_MAX;
  const uint32_t mag = (uint32_t)(((abs & D_SIG_MASK) | D_IMPLICIT) >> (D_SIG_BITS - exp));
  return (a & D_SIGN) ? (int32_t)(0u - mag) : (int32_t)mag;
}

float __addsf3(float a, float b) { return __truncdfsf2(__adddf3(__extendsfdf2(a), __extendsfdf2(b))); }
float __subsf3(float a, float b) { return __truncdfsf2(__subdf3(__extendsfdf2(a), __extendsfdf2(b))); }
float __mulsf3(float a, float b) { return __truncdfsf2(__muldf3(__extendsfdf2(a), __extendsfdf2(b))); }
float __floatsisf(int32_t i) { return __truncdfsf2(__floatsidf(i)); }
float __floatunsisf(uint32_t i) { return __truncdfsf2(__floatunsidf(i)); }
