/* tinyforge portable kernel: int8 softmax with gemmlowp fixed-point exp and reciprocal (TFLite reference Softmax). */
#include "softmax_s8.h"

static void tf_softmax_s8(const tf_softmax_s8_params *p, const int8_t *input, int8_t *output) {
    for (int row = 0; row < p->outer; ++row) {
        const int8_t *in = input + row * p->depth;
        int8_t *out = output + row * p->depth;
        int32_t max_in_row;
        int num_bits_over_unit;
        const int32_t reciprocal = tf_softmax_s8_row(p, in, &max_in_row, &num_bits_over_unit);
        for (int c = 0; c < p->depth; ++c) {
            const int32_t diff = in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t unsat = tf_rounding_divide_by_pot(tf_srdhm(reciprocal, tf_softmax_s8_exp(p, diff)), num_bits_over_unit + 31 - 8);
                out[c] = tf_clamp_s8(unsat - 128, -128, 127);
            } else {
                out[c] = -128;
            }
        }
    }
}
