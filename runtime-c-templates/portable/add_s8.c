/* tinyforge portable kernel: int8 element-wise add with both inputs rescaled to a common scale (TFLite Add). */
#include "tf_quant.h"

typedef struct {
    int32_t size, input1_offset, input2_offset, left_shift;
    int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift, output_offset, act_min, act_max;
} tf_add_s8_params;

static void tf_add_s8(const tf_add_s8_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    for (int i = 0; i < p->size; ++i) {
        const int32_t a = tf_shift_left(input1[i] + p->input1_offset, p->left_shift);
        const int32_t b = tf_shift_left(input2[i] + p->input2_offset, p->left_shift);
        const int32_t sum = tf_requantize(a, p->input1_multiplier, p->input1_shift) +
                            tf_requantize(b, p->input2_multiplier, p->input2_shift);
        const int32_t raw = tf_requantize(sum, p->output_multiplier, p->output_shift) + p->output_offset;
        output[i] = tf_clamp_s8(raw, p->act_min, p->act_max);
    }
}
