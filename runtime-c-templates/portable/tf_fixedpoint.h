/* tinyforge: gemmlowp fixed-point helpers (raw int32 values with a fixed number of integer bits)
 * shared by the kernels that need TFLite's exp / reciprocal / inverse square root arithmetic. */
#ifndef TF_FIXEDPOINT_H
#define TF_FIXEDPOINT_H
#include "tf_quant.h"

/* Saturating multiply by 2^exponent (exponent > 0) or rounding divide (exponent < 0). */
static inline int32_t tf_fx_mul_pot(int32_t x, int exponent) {
    if (exponent < 0) return tf_rounding_divide_by_pot(x, -exponent);
    if (exponent == 0) return x;
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return tf_shift_left(x, exponent);
}

static inline int32_t tf_fx_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t tf_fx_sub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static inline int32_t tf_exp_quarter_interval(int32_t a) {
    const int32_t constant_term = 1895147668; /* exp(-1/8) */
    const int32_t one_third = 715827883;
    const int32_t x = tf_fx_add(a, 1 << 28);
    const int32_t x2 = tf_srdhm(x, x);
    const int32_t x3 = tf_srdhm(x2, x);
    const int32_t x4 = tf_srdhm(x2, x2);
    const int32_t x4_over_4 = tf_fx_mul_pot(x4, -2);
    const int32_t poly = tf_fx_mul_pot(tf_fx_add(tf_srdhm(tf_fx_add(x4_over_4, x3), one_third), x2), -1);
    return tf_fx_add(constant_term, tf_srdhm(constant_term, tf_fx_add(x, poly)));
}

/* exp(a) for a <= 0 in Q5.26; result in Q0.31. */
static inline int32_t tf_exp_on_negative_values_q5(int32_t a) {
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t one_quarter = 1 << 24;
    const int32_t a_mod = tf_fx_sub(a & (one_quarter - 1), one_quarter);
    int32_t result = tf_exp_quarter_interval(tf_fx_mul_pot(a_mod, 5));
    const int32_t remainder = tf_fx_sub(a_mod, a);
    for (int i = 0; i < 7; ++i) {
        if (remainder & (1 << (24 + i))) result = tf_srdhm(result, barrel[i]);
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + x) for x in [0, 1), Q0.31 in and out (Newton-Raphson). */
static inline int32_t tf_one_over_one_plus_x(int32_t a) {
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = tf_fx_add(1515870810, tf_srdhm(half_denominator, -1010580540)); /* 48/17 - 32/17 d, Q2.29 */
    for (int i = 0; i < 3; ++i) {
        const int32_t one_minus = tf_fx_sub(1 << 29, tf_srdhm(half_denominator, x));
        x = tf_fx_add(x, tf_fx_mul_pot(tf_srdhm(x, one_minus), 2));
    }
    return tf_fx_mul_pot(x, 1);
}

static inline int tf_clz32(uint32_t x) {
    int n = 0;
    if (x == 0) return 32;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* TFLite CountLeadingSignBits: redundant sign bits of x (31 for 0 and -1). */
static inline int tf_count_leading_sign_bits(int32_t x) {
    return tf_clz32(x >= 0 ? (uint32_t)x : ~(uint32_t)x) - 1;
}

/* TFLite GetReciprocal: 1 / x for x > 0 with x_integer_digits integer bits, as a Q0.31 value
 * scaled by 2^-bits_over_unit. */
static inline int32_t tf_get_reciprocal(int32_t x, int x_integer_digits, int *bits_over_unit) {
    const int headroom_plus_one = tf_clz32((uint32_t)x);
    *bits_over_unit = x_integer_digits - headroom_plus_one;
    const int32_t shifted_minus_one = (int32_t)(((uint32_t)x << headroom_plus_one) - ((uint32_t)1 << 31));
    return tf_one_over_one_plus_x(shifted_minus_one);
}

/* TFLite GetInvSqrtQuantizedMultiplierExp (reverse shift): 1 / sqrt(input) for input > 1 as a
 * Q0.31 multiplier and a shift (left shift positive), by five Newton-Raphson steps in Q3.28; inputs
 * up to 1 give INT32_MAX, shift 0. RSQRT and L2_NORMALIZATION share it. */
static inline int32_t tf_inv_sqrt_multiplier_exp(int32_t input, int32_t *shift_out) {
    int32_t shift = 11;
    if (input <= 1) {
        *shift_out = 0;
        return INT32_MAX;
    }
    while (input >= (1 << 29)) {
        input /= 4;
        ++shift;
    }
    const int pairs = (tf_clz32((uint32_t)input) - 1) / 2 - 1;
    shift -= pairs;
    input = tf_shift_left(input, 2 * pairs);
    const int32_t half_input = tf_rounding_divide_by_pot(input >> 1, 1);
    const int32_t half_three = (1 << 28) + (1 << 27);
    int32_t x = 1 << 28;
    for (int i = 0; i < 5; ++i) {
        const int32_t x3 = tf_fx_mul_pot(tf_srdhm(tf_srdhm(x, x), x), 6);
        x = tf_fx_mul_pot(tf_fx_sub(tf_srdhm(half_three, x), tf_srdhm(half_input, x3)), 3);
    }
    int32_t multiplier = tf_srdhm(x, 1518500250);
    if (shift < 0) {
        multiplier = tf_shift_left(multiplier, -shift);
        shift = 0;
    }
    *shift_out = -shift;
    return multiplier;
}

#endif /* TF_FIXEDPOINT_H */
