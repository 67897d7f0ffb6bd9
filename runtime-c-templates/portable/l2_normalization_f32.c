/* tinyforge portable kernel: L2_NORMALIZATION float32 over the last axis (TFLite Micro's
 * reference_ops::L2Normalization): the sum of x * x in float32, in order, its square root raised
 * to at least 1e-6f, and each element divided by it. Every step is one correctly rounded float
 * operation (the -std=c99 build does not fuse them), so every target gives the host's bits. */
#include "tf_float.h"

typedef struct {
    int32_t outer, depth;
} tf_l2_normalization_f32_params;

static void tf_l2_normalization_f32(const tf_l2_normalization_f32_params *p, const float *input, float *output) {
    for (int32_t o = 0; o < p->outer; ++o) {
        const float *x = input + o * p->depth;
        float *y = output + o * p->depth;
        float sum = 0.0f;
        for (int32_t i = 0; i < p->depth; ++i) sum += x[i] * x[i];
        float norm = tf_sqrtf(sum);
        if (norm < 1e-6f) norm = 1e-6f;
        for (int32_t i = 0; i < p->depth; ++i) y[i] = x[i] / norm;
    }
}
