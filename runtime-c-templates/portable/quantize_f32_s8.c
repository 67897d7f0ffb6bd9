/* tinyforge portable kernel: QUANTIZE float32 -> int8 (TFLite AffineQuantize). */
#include "affine.h"

static void tf_quantize_f32_s8(const tf_affine_params *p, const float *input, int8_t *output) {
    for (int i = 0; i < p->size; ++i) output[i] = tf_clamp_s8(tf_affine_quantize(p, input[i]), -128, 127);
}
