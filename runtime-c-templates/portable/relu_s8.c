/* tinyforge portable kernel: RELU / RELU6, int8. */
#include "relu.h"

static void tf_relu_s8(const tf_relu_params *p, const int8_t *input, int8_t *output) {
    for (int32_t i = 0; i < p->size; ++i) output[i] = (int8_t)tf_relu_one(p, input[i]);
}
