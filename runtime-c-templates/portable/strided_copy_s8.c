/* tinyforge portable kernel: strided copy of 8-bit elements. */
#include "strided_copy.h"

static void tf_strided_copy_s8(const tf_strided_copy_params *p, const int8_t *input, int8_t *output) {
    int32_t index[TF_COPY_DIMS - 1] = { 0 };
    int32_t in = p->in_offset, out = p->out_offset;
    const int32_t n = p->count[TF_COPY_DIMS - 1];
    const int32_t is = p->in_stride[TF_COPY_DIMS - 1], os = p->out_stride[TF_COPY_DIMS - 1];
    const int32_t runs = tf_strided_copy_runs(p);
    for (int32_t r = 0; r < runs; ++r) {
        const int8_t *src = input + in;
        int8_t *dst = output + out;
        if (is == 1 && os == 1) {
            memcpy(dst, src, (size_t)n * sizeof(*dst));
        } else {
            for (int32_t i = 0; i < n; ++i) dst[i * os] = src[i * is];
        }
        tf_strided_copy_next(p, index, &in, &out);
    }
}
