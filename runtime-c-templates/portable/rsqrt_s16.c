/* tinyforge portable kernel: RSQRT int16 (TFLite Micro's RsqrtEvalQuantized): 1/sqrt(x) as a
 * multiplier and shift by Newton-Raphson in Q3.28 (tf_fixedpoint.h's tf_inv_sqrt_multiplier_exp),
 * applied to 1 with 20 extra bits, then requantized to the output. Zero (and negative values,
 * which TFLite Micro rejects at run time) give the largest output. */
#include "tf_fixedpoint.h"

typedef struct {
    int32_t size, input_offset, output_offset, multiplier, shift;
} tf_rsqrt_params;

static void tf_rsqrt_s16(const tf_rsqrt_params *p, const int16_t *input, int16_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t value = input[i] - p->input_offset;
        if (value <= 0) {
            output[i] = 32767;
            continue;
        }
        int32_t inv_shift;
        const int32_t inv = tf_inv_sqrt_multiplier_exp(value, &inv_shift);
        const int32_t data = tf_requantize(1, inv, inv_shift + 20);
        const int32_t y = tf_requantize(data, p->multiplier, p->shift - 20) + p->output_offset;
        output[i] = (int16_t)TF_MIN(TF_MAX(y, -32768), 32767);
    }
}
