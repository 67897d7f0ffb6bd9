/* tinyforge portable kernel: DEQUANTIZE int8 -> float32 (product in double, as TFLite, or in
 * float32 where the compiler proved it the same float). */
#include "affine.h"

static void tf_dequantize_s8_f32(const tf_affine_params *p, const int8_t *input, float *output) {
    if (p->single) {
        for (int i = 0; i < p->size; ++i) output[i] = p->scale * (float)(input[i] - p->zero_point);
        return;
    }
    for (int i = 0; i < p->size; ++i) output[i] = (float)((double)p->scale * (double)(input[i] - p->zero_point));
}
