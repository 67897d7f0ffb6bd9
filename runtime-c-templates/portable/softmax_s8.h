/* tinyforge: the int8-input softmax (TFLite reference Softmax): per row, the exp of each scaled
 * difference to the row maximum (gemmlowp, Q5.26 in) and the reciprocal of their sum. */
#ifndef TF_SOFTMAX_S8_H
#define TF_SOFTMAX_S8_H
#include "tf_fixedpoint.h"

typedef struct {
    int32_t outer, depth, input_multiplier, input_left_shift, diff_min;
} tf_softmax_s8_params;

/* exp(beta * scale * diff) in Q0.31 for diff <= 0. */
static inline int32_t tf_softmax_s8_exp(const tf_softmax_s8_params *p, int32_t diff) {
    return tf_exp_on_negative_values_q5(tf_srdhm(tf_shift_left(diff, p->input_left_shift), p->input_multiplier));
}

/* The row's maximum, and 1 / (sum of exps) as a Q0.31 reciprocal with its extra exponent. */
static inline int32_t tf_softmax_s8_row(const tf_softmax_s8_params *p, const int8_t *in, int32_t *max_out, int *num_bits_over_unit) {
    int32_t max_in_row = -128;
    for (int c = 0; c < p->depth; ++c) max_in_row = TF_MAX(max_in_row, in[c]);
    int32_t sum_of_exps = 0; /* Q12.19 */
    for (int c = 0; c < p->depth; ++c) {
        const int32_t diff = in[c] - max_in_row;
        if (diff >= p->diff_min) sum_of_exps = tf_fx_add(sum_of_exps, tf_rounding_divide_by_pot(tf_softmax_s8_exp(p, diff), 12));
    }
    const int headroom_plus_one = tf_clz32((uint32_t)sum_of_exps);
    *num_bits_over_unit = 12 - headroom_plus_one;
    *max_out = max_in_row;
    const int32_t shifted_sum_minus_one = (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - 0x80000000u);
    return tf_one_over_one_plus_x(shifted_sum_minus_one);
}
#endif
