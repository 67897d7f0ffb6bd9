/* tinyforge: quantized ADD / SUB with broadcasting (TFLite Micro's general quantized path): both
 * inputs offset, shifted left and rescaled to twice the larger input scale, added or subtracted,
 * rescaled to the output and clamped to the activation range. */
#ifndef TF_ADD_SUB_H
#define TF_ADD_SUB_H
#include "tf_broadcast.h"

typedef struct {
    tf_broadcast shape;
    int32_t sub; /* 1: input1 - input2 */
    int32_t left_shift, input1_offset, input2_offset;
    int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift, output_offset, act_min, act_max;
} tf_add_sub_params;

static inline int32_t tf_add_sub_one(const tf_add_sub_params *p, int32_t x, int32_t y) {
    const int32_t a = tf_requantize(tf_shift_left(x + p->input1_offset, p->left_shift), p->input1_multiplier, p->input1_shift);
    const int32_t b = tf_requantize(tf_shift_left(y + p->input2_offset, p->left_shift), p->input2_multiplier, p->input2_shift);
    const int32_t raw = tf_requantize(p->sub ? a - b : a + b, p->output_multiplier, p->output_shift) + p->output_offset;
    return TF_MIN(TF_MAX(raw, p->act_min), p->act_max);
}
#endif
