/* tinyforge portable kernel: int8 softmax with gemmlowp fixed-point exp and reciprocal (TFLite reference Softmax). */
#include "tf_fixed_point.h"

typedef struct {
    int32_t outer, depth, input_multiplier, input_left_shift, diff_min;
} tf_softmax_s8_params;

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static int32_t tf_exp_quarter_interval(int32_t a) {
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
static int32_t tf_exp_on_negative_values_q5(int32_t a) {
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

static void tf_softmax_s8(const tf_softmax_s8_params *p, const int8_t *input, int8_t *output) {
    for (int row = 0; row < p->outer; ++row) {
        const int8_t *in = input + row * p->depth;
        int8_t *out = output + row * p->depth;
        int32_t max_in_row = -128;
        for (int c = 0; c < p->depth; ++c) max_in_row = TF_MAX(max_in_row, in[c]);
        int32_t sum_of_exps = 0; /* Q12.19 */
        for (int c = 0; c < p->depth; ++c) {
            const int32_t diff = in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = tf_srdhm(tf_shift_left(diff, p->input_left_shift), p->input_multiplier);
                sum_of_exps = tf_fx_add(sum_of_exps, tf_rounding_divide_by_pot(tf_exp_on_negative_values_q5(scaled), 12));
            }
        }
        const int headroom_plus_one = tf_clz32((uint32_t)sum_of_exps);
        const int num_bits_over_unit = 12 - headroom_plus_one;
        const int32_t shifted_sum_minus_one = (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - 0x80000000u);
        const int32_t reciprocal = tf_one_over_one_plus_x(shifted_sum_minus_one);
        for (int c = 0; c < p->depth; ++c) {
            const int32_t diff = in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = tf_srdhm(tf_shift_left(diff, p->input_left_shift), p->input_multiplier);
                const int32_t e = tf_exp_on_negative_values_q5(scaled);
                const int32_t unsat = tf_rounding_divide_by_pot(tf_srdhm(reciprocal, e), num_bits_over_unit + 31 - 8);
                out[c] = tf_clamp_s8(unsat - 128, -128, 127);
            } else {
                out[c] = -128;
            }
        }
    }
}
