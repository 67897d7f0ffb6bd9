/* tinyforge portable kernel: softmax int8 -> int16 (scale 1/65536, zero point -32768; TFLite reference Softmax). */
#include "softmax_s8.h"

static void tf_softmax_s8_s16(const tf_softmax_s8_params *p, const int8_t *input, int16_t *output) {
    for (int row = 0; row < p->outer; ++row) {
        const int8_t *in = input + row * p->depth;
        int16_t *out = output + row * p->depth;
        int32_t max_in_row;
        int num_bits_over_unit;
        const int32_t reciprocal = tf_softmax_s8_row(p, in, &max_in_row, &num_bits_over_unit);
        for (int c = 0; c < p->depth; ++c) {
            const int32_t diff = in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t unsat = tf_rounding_divide_by_pot(tf_srdhm(reciprocal, tf_softmax_s8_exp(p, diff)), num_bits_over_unit + 31 - 16);
                out[c] = (int16_t)TF_MIN(TF_MAX(unsat - 32768, -32768), 32767);
            } else {
                out[c] = -32768;
            }
        }
    }
}
