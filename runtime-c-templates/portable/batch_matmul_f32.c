/* tinyforge portable kernel: float32 BATCH_MATMUL as TFLite Micro's reference_ops::BatchMatMul
 * computes it: each output is a float32 total from 0.0f of lhs * rhs over the inner dimension in
 * order, each product and sum rounded separately (-std=c99: no fused multiply-add); no bias, no
 * activation. adj_x / adj_y and the broadcast batches are the strides and per-batch offsets the
 * compiler computed. Output [batch][rows][cols]. */
#include "tf_float.h"

typedef struct {
    int32_t batches, rows, cols, depth;
    int32_t lhs_row_stride, lhs_depth_stride, rhs_depth_stride, rhs_col_stride;
    const int32_t *lhs_batch_offsets, *rhs_batch_offsets;
} tf_batch_matmul_f32_params;

static void tf_batch_matmul_f32(const tf_batch_matmul_f32_params *p, const float *lhs, const float *rhs, float *output) {
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *l = lhs + p->lhs_batch_offsets[b];
        const float *r = rhs + p->rhs_batch_offsets[b];
        for (int32_t m = 0; m < p->rows; ++m) {
            for (int32_t n = 0; n < p->cols; ++n) {
                float total = 0.0f;
                for (int32_t k = 0; k < p->depth; ++k) total += l[m * p->lhs_row_stride + k * p->lhs_depth_stride] * r[k * p->rhs_depth_stride + n * p->rhs_col_stride];
                *output++ = total;
            }
        }
    }
}
