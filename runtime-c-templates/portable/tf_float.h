/* tinyforge portable kernels: what the float32 kernels share. tf_act_f32 is TFLite's
 * ActivationFunctionWithMinMax, std::min(std::max(x, lo), hi) with its comparison order (NaN
 * passes, infinities clamp to +-FLT_MAX under NONE). tf_expf is expf as glibc >= 2.27 (the
 * TFLite Micro goldens' libm) computes it, carried here so every target computes the same bits
 * whatever its libm: k = round(x * 32 / ln 2), exp(x) = 2^(k/32) * 2^(r/32) with 2^(j/32) from a
 * table of doubles (j = k mod 32; the power of two added to the exponent bits) and 2^(r/32) a cubic
 * in r, each step one double operation (the build's -std=c99 keeps gcc from fusing them), rounded
 * to float once. compiler/ops/expf.ts is the same function in TypeScript; the table there is
 * computed from 2^(j/32) with exact integers and test/float_kernels.test.ts checks it equals this one. */
#ifndef TF_FLOAT_H
#define TF_FLOAT_H
#include <float.h>
#include <string.h>
#include "tf_quant.h"

#define TF_F32_INF (3.40282347e+38f * 2.0f)

static inline float tf_act_f32(float x, float lo, float hi) {
    const float y = (x < lo) ? lo : x;
    return (hi < y) ? hi : y;
}

/* 2^(j/32) as double bits, minus j << 47 so that adding k << 47 scales it by 2^floor(k/32). */
static const uint64_t tf_exp2f_table[32] = {
    UINT64_C(0x3ff0000000000000), UINT64_C(0x3fefd9b0d3158574), UINT64_C(0x3fefb5586cf9890f), UINT64_C(0x3fef9301d0125b51),
    UINT64_C(0x3fef72b83c7d517b), UINT64_C(0x3fef54873168b9aa), UINT64_C(0x3fef387a6e756238), UINT64_C(0x3fef1e9df51fdee1),
    UINT64_C(0x3fef06fe0a31b715), UINT64_C(0x3feef1a7373aa9cb), UINT64_C(0x3feedea64c123422), UINT64_C(0x3feece086061892d),
    UINT64_C(0x3feebfdad5362a27), UINT64_C(0x3feeb42b569d4f82), UINT64_C(0x3feeab07dd485429), UINT64_C(0x3feea47eb03a5585),
    UINT64_C(0x3feea09e667f3bcd), UINT64_C(0x3fee9f75e8ec5f74), UINT64_C(0x3feea11473eb0187), UINT64_C(0x3feea589994cce13),
    UINT64_C(0x3feeace5422aa0db), UINT64_C(0x3feeb737b0cdc5e5), UINT64_C(0x3feec49182a3f090), UINT64_C(0x3feed503b23e255d),
    UINT64_C(0x3feee89f995ad3ad), UINT64_C(0x3feeff76f2fb5e47), UINT64_C(0x3fef199bdd85529c), UINT64_C(0x3fef3720dcef9069),
    UINT64_C(0x3fef5818dcfba487), UINT64_C(0x3fef7c97337b9b5f), UINT64_C(0x3fefa4afa2a490da), UINT64_C(0x3fefd0765b6e4540),
};

static inline float tf_expf(float x) {
    uint32_t ux;
    memcpy(&ux, &x, sizeof ux);
    const uint32_t abstop = (ux >> 20) & 0x7ffu;
    if (abstop >= 0x42bu) {
        /* |x| >= 88, or NaN or infinity */
        if (ux == 0xff800000u) return 0.0f;
        if (abstop >= 0x7f8u) return x + x;
        if (x > 0x1.62e42ep6f) return TF_F32_INF; /* overflows float */
        if (x < -0x1.9fe368p6f) return 0.0f;     /* underflows to 0 */
    }
    const double z = 0x1.71547652b82fep+5 * (double)x;
    /* Adding 1.5 * 2^52 rounds z to an integer k held in the low bits of kd's representation. */
    double kd = z + 0x1.8p52;
    uint64_t ki;
    memcpy(&ki, &kd, sizeof ki);
    kd -= 0x1.8p52;
    const double r = z - kd;
    const uint64_t t = tf_exp2f_table[ki % 32u] + (ki << 47);
    double s;
    memcpy(&s, &t, sizeof s);
    const double p = 0x1.c6af84b912394p-20 * r + 0x1.ebfce50fac4f3p-13;
    const double r2 = r * r;
    double y = 0x1.62e42ff0c52d6p-6 * r + 1.0;
    y = p * r2 + y;
    y = y * s;
    return (float)y;
}
#endif
