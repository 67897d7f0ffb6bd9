/* tinyforge portable kernel: int8 element-wise multiply (TFLite Mul). */
#include "tf_quant.h"

typedef struct {
    int32_t size, input1_offset, input2_offset;
    int32_t output_multiplier, output_shift, output_offset, act_min, act_max;
} tf_mul_s8_params;

static void tf_mul_s8(const tf_mul_s8_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    for (int i = 0; i < p->size; ++i) {
        const int32_t product = (input1[i] + p->input1_offset) * (input2[i] + p->input2_offset);
        const int32_t raw = tf_requantize(product, p->output_multiplier, p->output_shift) + p->output_offset;
        output[i] = tf_clamp_s8(raw, p->act_min, p->act_max);
    }
}
