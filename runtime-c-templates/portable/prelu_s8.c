/* tinyforge portable kernel: PRELU int8 (int8 alpha). */
#include "prelu.h"

static void tf_prelu_s8(const tf_prelu_params *p, const int8_t *input, int8_t *output) {
    TF_PRELU_LOOP(p, input, output, -128, 127, int8_t);
}
