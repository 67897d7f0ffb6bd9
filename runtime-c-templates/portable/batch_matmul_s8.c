/* tinyforge portable kernel: BATCH_MATMUL, int8 with an int32 accumulator. */
#include "batch_matmul.h"

static void tf_batch_matmul_s8(const tf_batch_matmul_params *p, const int8_t *lhs, const int8_t *rhs, int8_t *output) {
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *a = lhs + p->lhs_batch_offsets[b];
        const int8_t *bm = rhs + p->rhs_batch_offsets[b];
        for (int32_t m = 0; m < p->rows; ++m) {
            const int8_t *arow = a + m * p->lhs_row_stride;
            for (int32_t n = 0; n < p->cols; ++n) {
                const int8_t *bcol = bm + n * p->rhs_col_stride;
                int32_t acc = 0;
                for (int32_t k = 0; k < p->depth; ++k)
                    acc += (arow[k * p->lhs_depth_stride] + p->lhs_offset) * (bcol[k * p->rhs_depth_stride] + p->rhs_offset);
                const int32_t v = tf_requantize(acc, p->multiplier, p->shift) + p->output_offset;
                *output++ = tf_clamp_s8(v, p->act_min, p->act_max);
            }
        }
    }
}
