/* tinyforge portable kernel: MAXIMUM / MINIMUM with broadcasting, int16. */
#include "maximum_minimum.h"

static void tf_maximum_minimum_row_s16(const void *params, const void *in1, int32_t step1, const void *in2, int32_t step2, void *out, int32_t n) {
    const tf_maximum_minimum_params *p = (const tf_maximum_minimum_params *)params;
    const int16_t *a = (const int16_t *)in1;
    const int16_t *b = (const int16_t *)in2;
    int16_t *o = (int16_t *)out;
    if (p->max) {
        for (int32_t i = 0; i < n; ++i) o[i] = TF_MAX(a[i * step1], b[i * step2]);
    } else {
        for (int32_t i = 0; i < n; ++i) o[i] = TF_MIN(a[i * step1], b[i * step2]);
    }
}

static void tf_maximum_minimum_s16(const tf_maximum_minimum_params *p, const int16_t *input1, const int16_t *input2, int16_t *output) {
    tf_broadcast_rows(&p->shape, 2, input1, input2, output, p, tf_maximum_minimum_row_s16);
}
