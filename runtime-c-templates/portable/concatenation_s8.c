/* tinyforge portable kernel: int8 concatenation along one axis (TFLite CONCATENATION). */
#include "tf_quant.h"

typedef struct {
    /* Product of the output dimensions before the axis. */
    int32_t outer;
    int32_t num_inputs;
    /* Per input: its extent along the axis times the product of the dimensions after it. */
    const int32_t *copy_sizes;
} tf_concatenation_s8_params;

/* TFLite reference Concatenation: for each outer slice, each input's contiguous slice in turn. The
 * inputs share the output's quantization, so this is a byte copy. */
static void tf_concatenation_s8(const tf_concatenation_s8_params *p, const int8_t *const *inputs, int8_t *output) {
    for (int32_t k = 0; k < p->outer; ++k) {
        for (int32_t i = 0; i < p->num_inputs; ++i) {
            const int32_t size = p->copy_sizes[i];
            memcpy(output, inputs[i] + k * size, (size_t)size);
            output += size;
        }
    }
}
