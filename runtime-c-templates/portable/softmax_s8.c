/* tinyforge portable kernel: int8 softmax with gemmlowp fixed-point exp and reciprocal (TFLite reference Softmax). */
#include "tf_fixedpoint.h"

typedef struct {
    int32_t outer, depth, input_multiplier, input_left_shift, diff_min;
} tf_softmax_s8_params;

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
