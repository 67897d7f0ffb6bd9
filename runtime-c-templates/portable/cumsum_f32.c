/* tinyforge portable kernel: CUMSUM on float32 along one axis (TFLite Micro's reference_ops::CumSum):
 * each line is scanned forwards or, with reverse, backwards with a float accumulator from 0; an
 * exclusive output is the sum before its own element. One rounded float addition per element. */
#include "tf_float.h"

typedef struct {
    int32_t before, depth, after, exclusive, reverse;
} tf_cumsum_f32_params;

static void tf_cumsum_f32(const tf_cumsum_f32_params *p, const float *input, float *output) {
    for (int32_t b = 0; b < p->before; ++b) {
        for (int32_t a = 0; a < p->after; ++a) {
            float acc = 0.0f;
            for (int32_t k = 0; k < p->depth; ++k) {
                const int32_t d = p->reverse ? p->depth - 1 - k : k;
                const int32_t i = (b * p->depth + d) * p->after + a;
                const float x = input[i];
                if (p->exclusive) output[i] = acc;
                acc += x;
                if (!p->exclusive) output[i] = acc;
            }
        }
    }
}
