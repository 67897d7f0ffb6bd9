/* tinyforge portable kernel: QUANTIZE int32 -> int16 (TFLite Requantize). */
#include "requantize.h"

static void tf_requantize_s32_s16(const tf_requantize_params *p, const int32_t *input, int16_t *output) {
    for (int32_t i = 0; i < p->size; ++i) output[i] = (int16_t)tf_requantize_one(p, input[i]);
}
