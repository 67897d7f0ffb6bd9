/* tinyforge portable kernel: float32 SVDF as TFLite Micro's EvalFloatSvdfReference computes it.
 * The activation state (a static buffer kept across invokes) holds, per batch and filter, the last
 * `memory` feature values. Each invoke shifts the whole buffer left by one element, writes each
 * filter's new feature (dot product from 0.0f in input order) into its last slot, then per unit
 * starts from the bias (0.0f without one) and adds each of its `rank` filters' time dot products
 * (from 0.0f, oldest slot first); each product and sum rounded to float32 (-std=c99: no fused
 * multiply-add). The activation is ActivationValFloat's: 0 NONE passes (no clamp), 1 RELU
 * fmax(0, x), 2 RELU6 fmax(0, fmin(x, 6)), 3 RELU_N1_TO_1 fmax(-1, fmin(x, 1)), with C's fmaxf /
 * fminf as glibc computes them (a NaN operand gives the other; equal operands give the first). */
#include "tf_float.h"

typedef struct {
    int32_t batches, input_size, filters, rank, memory;
    int32_t activation; /* 0 NONE, 1 RELU, 2 RELU6, 3 RELU_N1_TO_1 */
    const float *weights_feature; /* [filters][input_size] */
    const float *weights_time;    /* [filters][memory] */
    const float *bias;            /* [filters / rank] or NULL */
} tf_svdf_f32_params;

static float tf_svdf_fmaxf(float x, float y) { return (x >= y || y != y) ? x : y; }
static float tf_svdf_fminf(float x, float y) { return (x <= y || y != y) ? x : y; }

static float tf_svdf_activation_f32(int32_t activation, float a) {
    switch (activation) {
    case 1: return tf_svdf_fmaxf(0.0f, a);
    case 2: return tf_svdf_fmaxf(0.0f, tf_svdf_fminf(a, 6.0f));
    case 3: return tf_svdf_fmaxf(-1.0f, tf_svdf_fminf(a, 1.0f));
    default: return a;
    }
}

static void tf_svdf_f32(const tf_svdf_f32_params *p, const float *input, float *state, float *output) {
    const int32_t units = p->filters / p->rank;
    const int32_t n = p->batches * p->filters * p->memory;
    for (int32_t i = 0; i + 1 < n; ++i) state[i] = state[i + 1];
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *x = input + b * p->input_size;
        for (int32_t j = 0; j < p->filters; ++j) {
            const float *w = p->weights_feature + j * p->input_size;
            float dot = 0.0f;
            for (int32_t k = 0; k < p->input_size; ++k) dot += w[k] * x[k];
            state[(b * p->filters + j) * p->memory + p->memory - 1] = dot;
        }
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t u = 0; u < units; ++u) {
            float acc = p->bias != NULL ? p->bias[u] : 0.0f;
            for (int32_t r = 0; r < p->rank; ++r) {
                const int32_t filter = u * p->rank + r;
                const float *s = state + (b * p->filters + filter) * p->memory;
                const float *w = p->weights_time + filter * p->memory;
                float dot = 0.0f;
                for (int32_t m = 0; m < p->memory; ++m) dot += w[m] * s[m];
                acc += dot;
            }
            output[b * units + u] = tf_svdf_activation_f32(p->activation, acc);
        }
    }
}
