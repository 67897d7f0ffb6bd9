/* tinyforge portable kernel: RELU / RELU6, int16. */
#include "relu.h"

static void tf_relu_s16(const tf_relu_params *p, const int16_t *input, int16_t *output) {
    for (int32_t i = 0; i < p->size; ++i) output[i] = (int16_t)tf_relu_one(p, input[i]);
}
