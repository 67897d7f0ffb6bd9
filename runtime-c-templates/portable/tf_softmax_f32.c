/* tinyforge portable kernel: float32 SOFTMAX as TFLite Micro's reference computes it: per row the
 * maximum (from -FLT_MAX, std::max's comparison), exp((x - max) * beta) stored and summed in order,
 * then each divided by the sum. tf_expf (tf_float.h) gives glibc's expf bits on every target. */
#include "tf_float.h"

typedef struct {
    int32_t outer, depth;
    float beta;
} tf_softmax_f32_params;

static void tf_softmax_f32(const tf_softmax_f32_params *p, const float *input, float *output) {
    for (int32_t i = 0; i < p->outer; ++i) {
        const float *x = input + i * p->depth;
        float *y = output + i * p->depth;
        float max = -FLT_MAX;
        for (int32_t c = 0; c < p->depth; ++c) max = (max < x[c]) ? x[c] : max;
        float sum = 0.0f;
        for (int32_t c = 0; c < p->depth; ++c) {
            const float e = tf_expf((x[c] - max) * p->beta);
            y[c] = e;
            sum += e;
        }
        for (int32_t c = 0; c < p->depth; ++c) y[c] = y[c] / sum;
    }
}
