/* tinyforge portable kernel: L2_NORMALIZATION int8 over the last axis (TFLite Micro's
 * reference_integer_ops::L2Normalization): the int32 sum of squared distances from the input zero
 * point (the compiler refuses depths where it could overflow) gives 1/sqrt(sum) as a multiplier
 * and shift; each distance is requantized by it with 7 more bits of left shift (output in 1/128
 * steps) and clamped to int8. */
#include "tf_fixedpoint.h"

typedef struct {
    int32_t outer, depth, input_zero_point;
} tf_l2_normalization_s8_params;

static void tf_l2_normalization_s8(const tf_l2_normalization_s8_params *p, const int8_t *input, int8_t *output) {
    for (int32_t o = 0; o < p->outer; ++o) {
        const int8_t *x = input + o * p->depth;
        int8_t *y = output + o * p->depth;
        int32_t acc = 0;
        for (int32_t i = 0; i < p->depth; ++i) {
            const int32_t d = x[i] - p->input_zero_point;
            acc += d * d;
        }
        int32_t shift;
        const int32_t multiplier = tf_inv_sqrt_multiplier_exp(acc, &shift);
        for (int32_t i = 0; i < p->depth; ++i) {
            const int32_t v = tf_requantize(x[i] - p->input_zero_point, multiplier, shift + 7);
            y[i] = (int8_t)TF_MIN(TF_MAX(v, -128), 127);
        }
    }
}
