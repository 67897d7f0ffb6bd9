/* tinyforge portable kernel: BATCH_MATMUL, int16 with an int64 accumulator (zero points are 0). */
#include "batch_matmul.h"

static void tf_batch_matmul_s16(const tf_batch_matmul_params *p, const int16_t *lhs, const int16_t *rhs, int16_t *output) {
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *a = lhs + p->lhs_batch_offsets[b];
        const int16_t *bm = rhs + p->rhs_batch_offsets[b];
        for (int32_t m = 0; m < p->rows; ++m) {
            const int16_t *arow = a + m * p->lhs_row_stride;
            for (int32_t n = 0; n < p->cols; ++n) {
                const int16_t *bcol = bm + n * p->rhs_col_stride;
                int64_t acc = 0;
                for (int32_t k = 0; k < p->depth; ++k) acc += (int32_t)arow[k * p->lhs_depth_stride] * bcol[k * p->rhs_depth_stride];
                const int32_t v = tf_requantize_s64(acc, p->multiplier, p->shift) + p->output_offset;
                *output++ = (int16_t)TF_MIN(TF_MAX(v, p->act_min), p->act_max);
            }
        }
    }
}
