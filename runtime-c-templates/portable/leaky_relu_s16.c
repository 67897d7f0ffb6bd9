/* tinyforge portable kernel: LEAKY_RELU int16 (TFLite Micro's QuantizeLeakyRelu): one requantization
 * for non-negative inputs, another with alpha folded in for negative ones. */
#include "tf_quant.h"

typedef struct {
    int32_t size, input_offset, output_offset;
    int32_t identity_multiplier, identity_shift, alpha_multiplier, alpha_shift;
} tf_leaky_relu_params;

/* A negative alpha multiplier rounds like the product with its magnitude, negated (TFLite Micro's goldens). */
static inline int32_t tf_leaky_relu_alpha(const tf_leaky_relu_params *p, int32_t x) {
    return p->alpha_multiplier < 0 ? -tf_requantize(x, -p->alpha_multiplier, p->alpha_shift) : tf_requantize(x, p->alpha_multiplier, p->alpha_shift);
}

static void tf_leaky_relu_s16(const tf_leaky_relu_params *p, const int16_t *input, int16_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = input[i] - p->input_offset;
        const int32_t y = p->output_offset + (x >= 0 ? tf_requantize(x, p->identity_multiplier, p->identity_shift)
                                                     : tf_leaky_relu_alpha(p, x));
        output[i] = (int16_t)TF_MIN(TF_MAX(y, -32768), 32767);
    }
}
