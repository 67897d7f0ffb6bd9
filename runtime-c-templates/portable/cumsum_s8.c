/* tinyforge portable kernel: CUMSUM on int8 along one axis (TFLite Micro's reference_ops::CumSum,
 * quantized). Each line (a position before and after the axis) is scanned forwards or, with
 * reverse, backwards; every distance from the zero point is shifted left 20 bits and halved, the
 * running int32 sum starts at Micro's halved shifted input offset and wraps as Micro's does on
 * overflow (done in uint32 here, so it is defined C); each output is the running sum (without the
 * element itself when exclusive) requantized to the output and clamped. */
#include "tf_quant.h"

typedef struct {
    int32_t before, depth, after, exclusive, reverse;
    int32_t input_offset, output_offset, input_multiplier, input_shift, output_multiplier, output_shift;
} tf_cumsum_s8_params;

static void tf_cumsum_s8(const tf_cumsum_s8_params *p, const int8_t *input, int8_t *output) {
    for (int32_t b = 0; b < p->before; ++b) {
        for (int32_t a = 0; a < p->after; ++a) {
            int32_t acc = tf_requantize(p->input_offset * (1 << 20), p->input_multiplier, p->input_shift);
            for (int32_t k = 0; k < p->depth; ++k) {
                const int32_t d = p->reverse ? p->depth - 1 - k : k;
                const int32_t i = (b * p->depth + d) * p->after + a;
                const int32_t term = tf_requantize((p->input_offset + input[i]) * (1 << 20), p->input_multiplier, p->input_shift);
                const int32_t prior = acc;
                acc = (int32_t)((uint32_t)acc + (uint32_t)term);
                const int32_t y = tf_requantize(p->exclusive ? prior : acc, p->output_multiplier, p->output_shift) + p->output_offset;
                output[i] = (int8_t)TF_MIN(TF_MAX(y, -128), 127);
            }
        }
    }
}
