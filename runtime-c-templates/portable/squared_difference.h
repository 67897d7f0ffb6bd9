/* tinyforge: quantized SQUARED_DIFFERENCE with broadcasting (TFLite Micro's quantized path): both
 * inputs offset, shifted left and rescaled to twice the larger input scale; the square of their
 * difference is rescaled to the output and clamped to the type's range. */
#ifndef TF_SQUARED_DIFFERENCE_H
#define TF_SQUARED_DIFFERENCE_H
#include "tf_broadcast.h"

typedef struct {
    tf_broadcast shape;
    int32_t left_shift, input1_offset, input2_offset;
    int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift, output_offset, act_min, act_max;
} tf_squared_difference_params;

static inline int32_t tf_squared_difference_one(const tf_squared_difference_params *p, int32_t x, int32_t y) {
    const int32_t a = tf_requantize(tf_shift_left(x + p->input1_offset, p->left_shift), p->input1_multiplier, p->input1_shift);
    const int32_t b = tf_requantize(tf_shift_left(y + p->input2_offset, p->left_shift), p->input2_multiplier, p->input2_shift);
    /* |a - b| < 2^15 (each scaled input is at most half its shifted range), so the square fits. */
    const int32_t raw = tf_requantize((a - b) * (a - b), p->output_multiplier, p->output_shift) + p->output_offset;
    return TF_MIN(TF_MAX(raw, p->act_min), p->act_max);
}
#endif
