/* tinyforge portable kernel: PRELU int16 (int8 alpha, as TFLite Micro requires). */
#include "prelu.h"

static void tf_prelu_s16(const tf_prelu_params *p, const int16_t *input, int16_t *output) {
    TF_PRELU_LOOP(p, input, output, -32768, 32767, int16_t);
}
