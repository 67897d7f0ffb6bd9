/* tinyforge portable kernel: REDUCE_MAX, int8 (the output shares the input's quantization). */
#include "reduce.h"

static void tf_reduce_max_s8(const tf_reduce_params *p, const int8_t *input, int8_t *output, void *scratch) {
    int32_t *acc = (int32_t *)scratch;
    const int32_t inner = p->dims[p->num_dims - 1];
    const int32_t rows = p->dims[0] == 0 ? 0 : p->output_size * p->count / inner;
    int32_t index[TF_REDUCE_MAX_DIMS] = { 0 };
    int32_t out = 0;
    for (int32_t o = 0; o < p->output_size; ++o) acc[o] = INT8_MIN;
    for (int32_t r = 0; r < rows; ++r, input += inner) {
        if (p->out_strides[p->num_dims - 1] == 0) {
            int32_t m = acc[out];
            for (int32_t i = 0; i < inner; ++i) m = TF_MAX(m, input[i]);
            acc[out] = m;
        } else {
            int32_t *a = acc + out;
            for (int32_t i = 0; i < inner; ++i) a[i] = TF_MAX(a[i], input[i]);
        }
        out = tf_reduce_next_row(p, index, out);
    }
    for (int32_t o = 0; o < p->output_size; ++o) output[o] = (int8_t)acc[o];
}
