/* tinyforge portable kernel: QUANTIZE float32 -> int16 (TFLite AffineQuantize). */
#include "affine.h"

static void tf_quantize_f32_s16(const tf_affine_params *p, const float *input, int16_t *output) {
    for (int i = 0; i < p->size; ++i) output[i] = (int16_t)TF_MIN(TF_MAX(tf_affine_quantize(p, input[i]), -32768), 32767);
}
