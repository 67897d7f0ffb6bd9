/* tinyforge portable kernel: MEAN / SUM, int16. Sums go through uint32 so that they wrap like
 * TFLite's int32 accumulators without undefined behaviour. */
#include "reduce.h"

static void tf_reduce_s16(const tf_reduce_params *p, const int16_t *input, int16_t *output, void *scratch) {
    uint32_t *acc = (uint32_t *)scratch;
    const int32_t inner = p->dims[p->num_dims - 1];
    const int32_t rows = p->dims[0] == 0 ? 0 : p->output_size * p->count / inner;
    int32_t index[TF_REDUCE_MAX_DIMS] = { 0 };
    int32_t out = 0;
    memset(acc, 0, (size_t)p->output_size * sizeof(uint32_t));
    for (int32_t r = 0; r < rows; ++r, input += inner) {
        if (p->out_strides[p->num_dims - 1] == 0) {
            /* the innermost dimension is reduced: one sum per row */
            uint32_t s = 0;
            for (int32_t i = 0; i < inner; ++i) s += (uint32_t)input[i];
            acc[out] += s;
        } else {
            /* the innermost dimension is kept: a row adds into as many accumulators */
            uint32_t *a = acc + out;
            for (int32_t i = 0; i < inner; ++i) a[i] += (uint32_t)input[i];
        }
        out = tf_reduce_next_row(p, index, out);
    }
    for (int32_t o = 0; o < p->output_size; ++o) output[o] = (int16_t)tf_reduce_finish(p, acc[o]);
}
