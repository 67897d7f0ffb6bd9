/* tinyforge: expf, expm1f and tanhf as the C library that made TFLite Micro's float goldens computes
 * them (glibc 2.36 on x86-64), written out so that every target computes the same bits. The C
 * libraries of the boards differ from glibc (newlib's expf is another algorithm), and a float
 * kernel's result depends on every last bit of these functions. Only IEEE-754 +, -, *, / on
 * float and double are used, which every target (hardware FPU or soft float) rounds the same way;
 * the generated code is built with -std=c99, so GCC contracts nothing into fused multiply-adds.
 * compiler/ops/float_math.ts is the TypeScript twin, operation for operation.
 *
 * tf_expf: exp(x) = 2^(k/32) * 2^(r/32), k the nearest integer to x * 32 / ln 2 and |r| <= 1/2,
 * with 2^(k/32) from a table of 32 doubles and 2^(r/32) from a cubic, evaluated in double and
 * rounded to float once (the algorithm of glibc's expf since 2.27). x86-64 glibc runs it with fused
 * multiply-adds where the CPU has FMA; that changes the rounded result for exactly two of the 2^32
 * float inputs (checked exhaustively against glibc 2.36), which tf_expf returns as glibc does.
 * tf_expm1f, tf_tanhf: the float algorithms of glibc's (fdlibm-derived) s_expm1f.c and s_tanhf.c. */
#ifndef TF_FLOAT_MATH_H
#define TF_FLOAT_MATH_H
#include <stdint.h>
#include <string.h>

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

/* Bit patterns of 2^(i/32) rounded to double, minus i << 47, so that adding k << 47 (any integer k
 * with k mod 32 = i) gives the bit pattern of 2^(k/32). */
static const uint64_t tf_exp2_fraction_bits[32] = {
    0x3ff0000000000000u, 0x3fefd9b0d3158574u, 0x3fefb5586cf9890fu, 0x3fef9301d0125b51u,
    0x3fef72b83c7d517bu, 0x3fef54873168b9aau, 0x3fef387a6e756238u, 0x3fef1e9df51fdee1u,
    0x3fef06fe0a31b715u, 0x3feef1a7373aa9cbu, 0x3feedea64c123422u, 0x3feece086061892du,
    0x3feebfdad5362a27u, 0x3feeb42b569d4f82u, 0x3feeab07dd485429u, 0x3feea47eb03a5585u,
    0x3feea09e667f3bcdu, 0x3fee9f75e8ec5f74u, 0x3feea11473eb0187u, 0x3feea589994cce13u,
    0x3feeace5422aa0dbu, 0x3feeb737b0cdc5e5u, 0x3feec49182a3f090u, 0x3feed503b23e255du,
    0x3feee89f995ad3adu, 0x3feeff76f2fb5e47u, 0x3fef199bdd85529cu, 0x3fef3720dcef9069u,
    0x3fef5818dcfba487u, 0x3fef7c97337b9b5fu, 0x3fefa4afa2a490dau, 0x3fefd0765b6e4540u,
};

static inline float tf_expf(float x) {
    /* 32 / ln 2; 1.5 * 2^52, whose addition rounds to an integer (ties to even) in the low bits. */
    const double scaled_inv_ln2 = 0x1.71547652b82fep+0 * 32;
    const double round_shift = 0x1.8p52;
    /* 2^(r/32) ~ 1 + c2 r + c1 r^2 + c0 r^3 */
    const double c0 = 0x1.c6af84b912394p-5 / (32.0 * 32.0 * 32.0);
    const double c1 = 0x1.ebfce50fac4f3p-3 / (32.0 * 32.0);
    const double c2 = 0x1.62e42ff0c52d6p-1 / 32.0;
    const uint32_t abs_top = (tf_float_bits(x) >> 20) & 0x7ffu;
    if (abs_top >= 0x42bu) { /* |x| >= 88, or NaN */
        if (tf_float_bits(x) == 0xff800000u) return 0.0f;
        if (abs_top >= 0x7f8u) return x + x;
        if (x > 0x1.62e42ep6f) return tf_bits_float(0x7f800000u);
        if (x < -0x1.9fe368p6f) return 0.0f;
    }
    /* The two inputs whose result glibc's fused multiply-adds round the other way. */
    if (tf_float_bits(x) == 0x4202422fu) return 0x1.f93e38p+46f;
    if (tf_float_bits(x) == 0xc27c65d9u) return 0x1.f45326p-92f;
    const double z = scaled_inv_ln2 * (double)x;
    double kd = z + round_shift;
    uint64_t ki;
    memcpy(&ki, &kd, sizeof ki);
    kd -= round_shift;
    const double r = z - kd;
    const uint64_t s_bits = tf_exp2_fraction_bits[ki % 32u] + (ki << 47);
    double s;
    memcpy(&s, &s_bits, sizeof s);
    const double p = c0 * r + c1;
    const double r2 = r * r;
    double y = c2 * r + 1.0;
    y = p * r2 + y;
    y = y * s;
    return (float)y;
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
#endif
