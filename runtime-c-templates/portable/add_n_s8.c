/* tinyforge portable kernel: ADD_N on int8 (TFLite Micro's reference_ops::AddN, quantized): each
 * input's distance from the shared zero point, shifted left 20 bits and halved, is summed in int32
 * (starting, as Micro does, from the halved shifted input offset), then requantized to the output
 * and clamped. The compiler refuses input counts whose sum could overflow. */
#include "tf_quant.h"

typedef struct {
    int32_t size, input_offset, output_offset, input_multiplier, input_shift, output_multiplier, output_shift;
} tf_add_n_s8_params;

static void tf_add_n_s8(const tf_add_n_s8_params *p, const int8_t *const *inputs, int32_t count, int8_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        int32_t sum = tf_requantize(p->input_offset * (1 << 20), p->input_multiplier, p->input_shift);
        for (int32_t j = 0; j < count; ++j) {
            sum += tf_requantize((p->input_offset + inputs[j][i]) * (1 << 20), p->input_multiplier, p->input_shift);
        }
        const int32_t y = tf_requantize(sum, p->output_multiplier, p->output_shift) + p->output_offset;
        output[i] = (int8_t)TF_MIN(TF_MAX(y, -128), 127);
    }
}
