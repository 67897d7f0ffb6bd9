/* tinyforge portable kernel: float32 MEAN, SUM and REDUCE_MAX as TFLite Micro's reference computes
 * them, visiting the inputs in the input's row-major order (the compiler merges dimensions without
 * changing that order). SUM: the float32 sum from 0; MEAN: that sum divided by the input count as a
 * float; REDUCE_MAX: from std::numeric_limits<float>::lowest(), current = in > current ? in : current
 * (so NaN inputs are skipped, the first of equal values (+0 / -0) stays, and all -inf gives
 * -FLT_MAX). The input is walked once; out_strides is 0 along reduced dimensions. */
#include "tf_float.h"

#define TF_REDUCE_F32_MAX_DIMS 6

typedef struct {
    int32_t op; /* 0 SUM, 1 MEAN, 2 REDUCE_MAX */
    int32_t num_dims;
    int32_t dims[TF_REDUCE_F32_MAX_DIMS];
    int32_t out_strides[TF_REDUCE_F32_MAX_DIMS];
    int32_t output_size;
    float count; /* inputs per output, as TFLite's static_cast<float> */
} tf_reduce_f32_params;

static void tf_reduce_f32(const tf_reduce_f32_params *p, const float *input, float *output) {
    int32_t idx[TF_REDUCE_F32_MAX_DIMS] = {0};
    int32_t total = 1;
    const int max = p->op == 2;
    for (int32_t d = 0; d < p->num_dims; ++d) total *= p->dims[d];
    for (int32_t o = 0; o < p->output_size; ++o) output[o] = max ? -FLT_MAX : 0.0f;
    int32_t out = 0;
    for (int32_t i = 0; i < total; ++i) {
        if (max) {
            const float in = input[i];
            if (in > output[out]) output[out] = in;
        } else {
            output[out] += input[i];
        }
        for (int32_t d = p->num_dims - 1; d >= 0; --d) {
            out += p->out_strides[d];
            if (++idx[d] < p->dims[d]) break;
            out -= p->out_strides[d] * p->dims[d];
            idx[d] = 0;
        }
    }
    if (p->op == 1 && p->count > 0.0f) {
        for (int32_t o = 0; o < p->output_size; ++o) output[o] = output[o] / p->count;
    }
}
