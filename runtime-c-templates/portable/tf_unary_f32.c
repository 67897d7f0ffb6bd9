/* tinyforge portable kernel: element-wise float32 functions as TFLite Micro's reference kernels
 * compute them (compiler/ops/unary_f32.ts has the TS twin and the sources). 0 LOGISTIC:
 * float_math.h's tf_logisticf. 1 RSQRT: 1 / sqrtf(x), both IEEE correctly rounded (tf_sqrtf: no
 * libm needed). 2 TANH: float_math.h's tf_tanhf (glibc's tanhf bits on every target). 3 ABS,
 * 4 NEG, 5 SQUARE x * x, 6 SQRT tf_sqrtf, 7 RELU x < 0 ? 0 : x, 8 RELU6, 9 LEAKY_RELU
 * x > 0 ? x : x * alpha, 10 HARD_SWISH x * min(6, max(0, x + 3)) / 6 with std::min / std::max's
 * comparisons, 11 EXP tf_expf, 12 FLOOR, 13 CEIL (integer bit manipulation: no libm), 14 ROUND
 * TFLite's RoundToNearest (half to even, built on floor), 15 LOG float_math.h's tf_logf (glibc's
 * logf bits on every target). Element i is read before it is
 * written, so output may be input. */
#include "tf_float.h"
#include "float_math.h"

/* floorf / ceilf on the bits: clear the fraction bits below the binary point, first adding them
 * (a carry into the integer part) when that moves the value toward -inf (floor) / +inf (ceil). */
static float tf_round_toward_f32(float x, int up) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    const int32_t e = (int32_t)((u >> 23) & 0xffu) - 127;
    const int negative = (u >> 31) != 0u;
    if (e >= 23) return x; /* already an integer, infinity or NaN */
    if (e < 0) {           /* |x| < 1 */
        if ((u & 0x7fffffffu) == 0u) return x;
        if (up) return negative ? -0.0f : 1.0f;
        return negative ? -1.0f : 0.0f;
    }
    const uint32_t fraction = 0x007fffffu >> e;
    if ((u & fraction) == 0u) return x;
    if (negative != up) u += fraction;
    u &= ~fraction;
    memcpy(&x, &u, sizeof x);
    return x;
}

static float tf_floorf(float x) { return tf_round_toward_f32(x, 0); }
static float tf_ceilf(float x) { return tf_round_toward_f32(x, 1); }

/* reference_ops::RoundToNearest. The int conversion only runs when x - floor(x) is exactly 0.5,
 * so |x| < 2^23 and floor(x) fits an int32_t. */
static float tf_round_nearest_f32(float x) {
    const float fl = tf_floorf(x);
    const float diff = x - fl;
    if (diff < 0.5f || (diff == 0.5f && ((int32_t)fl) % 2 == 0)) return fl;
    return fl + 1.0f;
}

static float tf_hard_swish_f32(float x) {
    const float v = x + 3.0f;
    const float lo = (0.0f < v) ? v : 0.0f; /* std::max(0, v) */
    const float m = (lo < 6.0f) ? lo : 6.0f; /* std::min(6, lo) */
    return x * m / 6.0f;
}

/* fabsf without libm: the sign bit cleared (-0 gives +0). */
static float tf_absf(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    u &= 0x7fffffffu;
    memcpy(&x, &u, sizeof x);
    return x;
}

static float tf_unary_f32_apply(int32_t op, float alpha, float x) {
    switch (op) {
    case 0: return tf_logisticf(x);
    case 1: return 1.0f / tf_sqrtf(x);
    case 2: return tf_tanhf(x);
    case 3: return tf_absf(x);
    case 4: return -x;
    case 5: return x * x;
    case 6: return tf_sqrtf(x);
    case 7: return x < 0.0f ? 0.0f : x;
    case 8: return x > 6.0f ? 6.0f : x < 0.0f ? 0.0f : x;
    case 9: return x > 0.0f ? x : x * alpha;
    case 10: return tf_hard_swish_f32(x);
    case 11: return tf_expf(x);
    case 12: return tf_floorf(x);
    case 13: return tf_ceilf(x);
    case 14: return tf_round_nearest_f32(x);
    default: return tf_logf(x);
    }
}

static void tf_unary_f32(int32_t op, float alpha, const float *input, float *output, int32_t n) {
    for (int32_t i = 0; i < n; ++i) output[i] = tf_unary_f32_apply(op, alpha, input[i]);
}
