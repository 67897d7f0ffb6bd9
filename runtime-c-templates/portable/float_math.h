/* tinyforge: tanhf (through expm1f) and TFLite's float LOGISTIC as the C library that made TFLite
 * Micro's float goldens computes them (glibc 2.36 on x86-64), written out so that every target
 * computes the same bits: the boards' C libraries are not glibc, and a float kernel's result
 * depends on every last bit of these functions. tf_expm1f and tf_tanhf are the float algorithms
 * of glibc's (fdlibm-derived) s_expm1f.c and s_tanhf.c, equal to glibc 2.36 on all 2^32 inputs;
 * expf is tf_float.h's tf_expf. Only IEEE-754 float +, -, *, / are used, which every target
 * (hardware FPU or soft float) rounds the same way, and the build's -std=c99 keeps GCC from fusing
 * multiply-adds. compiler/reference/float_math.ts is the TypeScript twin, operation for operation. */
#ifndef TF_FLOAT_MATH_H
#define TF_FLOAT_MATH_H
#include <stdint.h>
#include <string.h>
#include "tf_float.h"

static inline uint32_t tf_float_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline float tf_bits_float(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static inline float tf_expm1f(float x) {
    const float ln2_hi = 0x1.62e300p-1f, ln2_lo = 0x1.2fefa2p-17f, inv_ln2 = 0x1.715476p0f;
    const float q1 = -0x1.111112p-5f, q2 = 0x1.a01a02p-10f, q3 = -0x1.4ce19ap-14f, q4 = 0x1.0cfca8p-18f, q5 = -0x1.afdb76p-23f;
    const uint32_t bits = tf_float_bits(x);
    const int negative = (bits >> 31) != 0;
    const uint32_t abs_bits = bits & 0x7fffffffu;
    if (abs_bits >= 0x4195b844u) { /* |x| >= 27 ln 2 */
        if (abs_bits >= 0x42b17218u) { /* |x| >= 88.72 */
            if (abs_bits > 0x7f800000u) return x + x;
            if (abs_bits == 0x7f800000u) return negative ? -1.0f : x;
            if (x > 0x1.62e300p6f) return tf_bits_float(0x7f800000u);
        }
        if (negative) return -1.0f;
    }
    float hi, lo, c = 0.0f;
    int32_t k;
    if (abs_bits > 0x3eb17218u) { /* |x| > ln 2 / 2: x = k ln 2 + r */
        if (abs_bits < 0x3f851592u) { /* and |x| < 1.5 ln 2 */
            k = negative ? -1 : 1;
            hi = negative ? x + ln2_hi : x - ln2_hi;
            lo = negative ? -ln2_lo : ln2_lo;
        } else {
            k = (int32_t)(inv_ln2 * x + (negative ? -0.5f : 0.5f));
            const float t = (float)k;
            hi = x - t * ln2_hi; /* exact */
            lo = t * ln2_lo;
        }
        x = hi - lo;
        c = (hi - x) - lo;
    } else if (abs_bits < 0x33000000u) { /* |x| < 2^-25 */
        return x;
    } else {
        k = 0;
    }
    const float hfx = 0.5f * x;
    const float hxs = x * hfx;
    const float r1 = 1.0f + hxs * (q1 + hxs * (q2 + hxs * (q3 + hxs * (q4 + hxs * q5))));
    float t = 3.0f - r1 * hfx;
    float e = hxs * ((r1 - t) / (6.0f - x * t));
    if (k == 0) return x - (x * e - hxs);
    e = x * (e - c) - c;
    e -= hxs;
    if (k == -1) return 0.5f * (x - e) - 0.5f;
    if (k == 1) return x < -0.25f ? -2.0f * (e - (x + 0.5f)) : 1.0f + 2.0f * (x - e);
    /* Scale y by 2^k through its exponent field. */
    float y;
    if (k <= -2 || k > 56) {
        y = 1.0f - (e - x);
        return tf_bits_float(tf_float_bits(y) + ((uint32_t)k << 23)) - 1.0f;
    }
    if (k < 23) {
        t = tf_bits_float(0x3f800000u - (0x1000000u >> k)); /* 1 - 2^-k */
        y = t - (e - x);
    } else {
        t = tf_bits_float((uint32_t)(0x7f - k) << 23); /* 2^-k */
        y = x - (e + t);
        y += 1.0f;
    }
    return tf_bits_float(tf_float_bits(y) + ((uint32_t)k << 23));
}

static inline float tf_tanhf(float x) {
    const uint32_t bits = tf_float_bits(x);
    const uint32_t abs_bits = bits & 0x7fffffffu;
    if (abs_bits >= 0x7f800000u) return (bits >> 31) == 0 ? 1.0f / x + 1.0f : 1.0f / x - 1.0f;
    float z;
    if (abs_bits < 0x41b00000u) { /* |x| < 22 */
        if (abs_bits == 0) return x;
        if (abs_bits < 0x24000000u) return x * (1.0f + x); /* |x| < 2^-55 */
        const float ax = tf_bits_float(abs_bits);
        if (abs_bits >= 0x3f800000u) { /* |x| >= 1 */
            const float t = tf_expm1f(2.0f * ax);
            z = 1.0f - 2.0f / (t + 2.0f);
        } else {
            const float t = tf_expm1f(-2.0f * ax);
            z = -t / (t + 2.0f);
        }
    } else {
        z = 1.0f; /* 1 - 1e-30 rounds to 1 */
    }
    return (bits >> 31) == 0 ? z : -z;
}

/* TFLite's float LOGISTIC (reference_ops::Logistic): 1 above 16.62, exp(x) below -9. */
static inline float tf_logisticf(float x) {
    if (x > 0x1.09e79ep4f) return 1.0f;
    if (x < -9.0f) return tf_expf(x);
    return 1.0f / (1.0f + tf_expf(-x));
}
/* logf as glibc 2.36 computes it (sysdeps/ieee754/flt-32/e_logf.c, Arm's optimized-routines
 * algorithm): x = 2^k z with z in [0x3f330000, 2 * 0x3f330000) as bits, c from a 16-entry table
 * of 1/c and log(c) in double, log(x) = log1p(z/c - 1) + log(c) + k ln2 with a cubic for log1p,
 * each step one double operation, rounded to float once. Equal to this machine's glibc logf on all
 * 2^32 inputs (NaN as NaN; `npm run test:float-math`), FMA build included. */
static const double tf_logf_table[16][2] = {
    {0x1.661ec79f8f3bep+0, -0x1.57bf7808caadep-2}, {0x1.571ed4aaf883dp+0, -0x1.2bef0a7c06ddbp-2},
    {0x1.49539f0f010bp+0, -0x1.01eae7f513a67p-2},  {0x1.3c995b0b80385p+0, -0x1.b31d8a68224e9p-3},
    {0x1.30d190c8864a5p+0, -0x1.6574f0ac07758p-3}, {0x1.25e227b0b8eap+0, -0x1.1aa2bc79c81p-3},
    {0x1.1bb4a4a1a343fp+0, -0x1.a4e76ce8c0e5ep-4}, {0x1.12358f08ae5bap+0, -0x1.1973c5a611cccp-4},
    {0x1.0953f419900a7p+0, -0x1.252f438e10c1ep-5}, {0x1p+0, 0x0p+0},
    {0x1.e608cfd9a47acp-1, 0x1.aa5aa5df25984p-5},  {0x1.ca4b31f026aap-1, 0x1.c5e53aa362eb4p-4},
    {0x1.b2036576afce6p-1, 0x1.526e57720db08p-3},  {0x1.9c2d163a1aa2dp-1, 0x1.bc2860d22477p-3},
    {0x1.886e6037841edp-1, 0x1.1058bc8a07ee1p-2},  {0x1.767dcf5534862p-1, 0x1.4043057b6ee09p-2},
};

static inline float tf_logf(float x) {
    uint32_t ix = tf_float_bits(x);
    if (ix == 0x3f800000u) return 0.0f;
    if (ix - 0x00800000u >= 0x7f800000u - 0x00800000u) {
        /* subnormal, zero, negative, infinity or NaN */
        if (ix * 2u == 0u) return -TF_F32_INF;
        if (ix == 0x7f800000u) return x;
        if ((ix & 0x80000000u) != 0u || ix * 2u >= 0xff000000u) return (x - x) / (x - x);
        ix = tf_float_bits(x * 0x1p23f) - (23u << 23); /* normalize a subnormal */
    }
    const uint32_t tmp = ix - 0x3f330000u;
    const uint32_t i = (tmp >> 19) % 16u;
    /* k = tmp >> 23 as a signed (arithmetic) shift, written without implementation-defined shifts. */
    const int32_t k = (int32_t)(tmp >> 23) - ((tmp & 0x80000000u) != 0u ? 512 : 0);
    const double z = (double)tf_bits_float(ix - (tmp & 0xff800000u));
    const double r = z * tf_logf_table[i][0] - 1.0;
    const double y0 = tf_logf_table[i][1] + (double)k * 0x1.62e42fefa39efp-1;
    const double r2 = r * r;
    double y = 0x1.5575b0be00b6ap-2 * r + -0x1.ffffef20a4123p-2;
    y = -0x1.00ea348b88334p-2 * r2 + y;
    y = y * r2 + (y0 + r);
    return (float)y;
}
/* A finite, nonzero |x| (its bits without the sign): the significand with its leading 1 at bit 23,
 * and the biased exponent, which goes below 1 for subnormals once they are normalized. */
static inline uint32_t tf_f32_significand(uint32_t abs_bits, int32_t *exponent) {
    int32_t e = (int32_t)(abs_bits >> 23);
    uint32_t m = abs_bits & 0x007fffffu;
    if (e == 0) {
        e = 1;
        while ((m & 0x00800000u) == 0u) { m <<= 1; --e; }
    } else {
        m |= 0x00800000u;
    }
    *exponent = e;
    return m;
}

/* fmodf, exact as the C library's (the remainder of x / y truncated toward zero, with x's sign;
 * NaN for y = 0, x infinite or a NaN operand; x itself when |x| < |y|), by long division on the
 * significands: no rounding happens, so every target gets the C library's bits. */
static inline float tf_fmodf(float x, float y) {
    const uint32_t ux = tf_float_bits(x);
    const uint32_t ax = ux & 0x7fffffffu;
    const uint32_t ay = tf_float_bits(y) & 0x7fffffffu;
    const uint32_t sign = ux & 0x80000000u;
    if (ay == 0u || ax >= 0x7f800000u || ay > 0x7f800000u) return (x * y) / (x * y);
    if (ax < ay) return x;
    if (ax == ay) return tf_bits_float(sign);
    int32_t ex, ey;
    uint32_t mx = tf_f32_significand(ax, &ex);
    uint32_t my = tf_f32_significand(ay, &ey);
    /* mx * 2^(ex - ey) mod my, one bit at a time; mx stays below 2 * my < 2^25. */
    for (; ex > ey; --ex) {
        if (mx >= my) mx -= my;
        mx <<= 1;
    }
    if (mx >= my) mx -= my;
    if (mx == 0u) return tf_bits_float(sign);
    while ((mx & 0x00800000u) == 0u) { mx <<= 1; --ey; }
    if (ey > 0) return tf_bits_float(sign | ((uint32_t)ey << 23) | (mx & 0x007fffffu));
    return tf_bits_float(sign | (mx >> (1 - ey))); /* a subnormal remainder (exact) */
}

/* floor on a double, on the bits (no libm): clear the fraction bits below the binary point,
 * first adding them (a carry into the integer part) for a negative non-integer. */
static inline double tf_floor_f64(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    const int32_t e = (int32_t)((u >> 52) & 0x7ffu) - 1023;
    if (e >= 52) return x; /* an integer, an infinity or NaN */
    if (e < 0) {
        if ((u << 1) == 0u) return x; /* +-0 */
        return (u >> 63) != 0u ? -1.0 : 0.0;
    }
    const uint64_t fraction = UINT64_C(0x000fffffffffffff) >> e;
    if ((u & fraction) == 0u) return x;
    if ((u >> 63) != 0u) u += fraction;
    u &= ~fraction;
    memcpy(&x, &u, sizeof u);
    return x;
}

/* (double)x / (double)y for float x, y, correctly rounded (as an IEEE double division), computed
 * on the bits with 32-bit integer long division: the Xtensa lx106's libgcc has no double division
 * (__divdf3), and FLOOR_DIV divides in double. Two float significands give a quotient whose double
 * exponent stays within [-277, 277], so no double subnormal, overflow or underflow can occur. */
static inline double tf_div_f32_as_f64(float x, float y) {
    const uint32_t ux = tf_float_bits(x);
    const uint32_t uy = tf_float_bits(y);
    const uint64_t sign = (uint64_t)((ux ^ uy) & 0x80000000u) << 32;
    const uint32_t ax = ux & 0x7fffffffu;
    const uint32_t ay = uy & 0x7fffffffu;
    uint64_t u;
    double d;
    if (ax > 0x7f800000u || ay > 0x7f800000u || (ax == 0u && ay == 0u) || (ax == 0x7f800000u && ay == 0x7f800000u)) {
        return (double)((x * y) / (x * y) + (x + y)); /* NaN: a NaN operand, 0 / 0, inf / inf */
    }
    if (ax == 0x7f800000u || ay == 0u) {
        u = sign | UINT64_C(0x7ff0000000000000); /* inf / finite, finite / 0 */
    } else if (ax == 0u || ay == 0x7f800000u) {
        u = sign; /* 0 / finite, finite / inf */
    } else {
        int32_t ex, ey;
        uint32_t mx = tf_f32_significand(ax, &ex);
        uint32_t my = tf_f32_significand(ay, &ey);
        int32_t e = ex - ey;
        if (mx < my) { mx <<= 1; --e; } /* now 1 <= mx / my < 2 */
        /* 54 quotient bits (1 integer, 53 fraction), then the remainder as a sticky bit. */
        uint64_t q = 0u;
        uint32_t r = mx;
        for (int32_t i = 0; i < 54; ++i) {
            q <<= 1;
            if (r >= my) { r -= my; q |= 1u; }
            r <<= 1;
        }
        const uint32_t guard = (uint32_t)(q & 1u);
        q >>= 1; /* 53 significant bits */
        if (guard != 0u && (r != 0u || (q & 1u) != 0u)) ++q;
        if (q == (UINT64_C(1) << 53)) { q >>= 1; ++e; }
        u = sign | ((uint64_t)(e + 1023) << 52) | (q & UINT64_C(0x000fffffffffffff));
    }
    memcpy(&d, &u, sizeof d);
    return d;
}

#endif
