/* tinyforge portable kernel: QUANTIZE between two int8 scales (TFLite Requantize). */
#include "tf_quant.h"

typedef struct {
    int32_t size, input_offset, output_offset, multiplier, shift;
} tf_requantize_s8_params;

static void tf_requantize_s8(const tf_requantize_s8_params *p, const int8_t *input, int8_t *output) {
    for (int i = 0; i < p->size; ++i) {
        const int32_t q = tf_requantize(input[i] + p->input_offset, p->multiplier, p->shift) + p->output_offset;
        output[i] = tf_clamp_s8(q, -128, 127);
    }
}
