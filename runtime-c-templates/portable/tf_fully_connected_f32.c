/* tinyforge portable kernel: float32 FULLY_CONNECTED as TFLite Micro's reference computes it. Each
 * output is a float32 sum over the depth in order from 0, then + bias (0 without one), then the
 * activation clamp; every product and sum is rounded to float32 separately (the build's -std=c99
 * implies -ffp-contract=off, so gcc does not fuse them), as in the TS reference. */
#include "tf_float.h"

typedef struct {
    int32_t batches, accum_depth, out_depth;
    float act_min, act_max;
    const float *weights; /* [out_depth][accum_depth] */
    const float *bias;    /* [out_depth] or NULL */
} tf_fully_connected_f32_params;

static void tf_fully_connected_f32(const tf_fully_connected_f32_params *p, const float *input, float *output) {
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *x = input + b * p->accum_depth;
        for (int32_t o = 0; o < p->out_depth; ++o) {
            const float *w = p->weights + o * p->accum_depth;
            float total = 0.0f;
            for (int32_t d = 0; d < p->accum_depth; ++d) total += x[d] * w[d];
            const float bias = p->bias != NULL ? p->bias[o] : 0.0f;
            output[o + p->out_depth * b] = tf_act_f32(total + bias, p->act_min, p->act_max);
        }
    }
}
