/* tinyforge portable kernel: LOG_SOFTMAX float32 over the last axis (TFLite Micro's
 * reference_ops::LogSoftmax): the row maximum from -FLT_MAX by std::max ((max < x) ? x : max, so
 * a NaN never becomes it), the float sum of expf(x - max) in order, then (x - max) - logf(sum), with
 * tf_expf / tf_logf (glibc's bits on every target). */
#include "tf_float.h"
#include "float_math.h"

typedef struct {
    int32_t outer, depth;
} tf_log_softmax_f32_params;

static void tf_log_softmax_f32(const tf_log_softmax_f32_params *p, const float *input, float *output) {
    for (int32_t o = 0; o < p->outer; ++o) {
        const float *x = input + o * p->depth;
        float *y = output + o * p->depth;
        float max = -FLT_MAX;
        for (int32_t i = 0; i < p->depth; ++i) max = (max < x[i]) ? x[i] : max;
        float sum = 0.0f;
        for (int32_t i = 0; i < p->depth; ++i) sum += tf_expf(x[i] - max);
        const float log_sum = tf_logf(sum);
        for (int32_t i = 0; i < p->depth; ++i) y[i] = (x[i] - max) - log_sum;
    }
}
