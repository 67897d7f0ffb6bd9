/* tinyforge portable kernel: QUANTIZE int16 -> int8 (TFLite Requantize). */
#include "requantize.h"

static void tf_requantize_s16_s8(const tf_requantize_params *p, const int16_t *input, int8_t *output) {
    for (int32_t i = 0; i < p->size; ++i) output[i] = (int8_t)tf_requantize_one(p, input[i]);
}
