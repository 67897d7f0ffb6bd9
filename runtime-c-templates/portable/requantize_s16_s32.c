/* tinyforge portable kernel: QUANTIZE int16 -> int32 (TFLite Requantize). Nothing to saturate; the
 * output zero point is added with two's-complement wrap like TFLite's int32 sum. */
#include "requantize.h"

static void tf_requantize_s16_s32(const tf_requantize_params *p, const int16_t *input, int32_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = tf_requantize((int32_t)input[i] - p->input_offset, p->multiplier, p->shift);
        output[i] = (int32_t)((uint32_t)v + (uint32_t)p->output_offset);
    }
}
