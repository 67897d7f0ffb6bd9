/* tinyforge: BATCH_MATMUL parameters. adj_x / adj_y are strides and broadcast batches are base
 * offsets, all computed at compile time. */
#ifndef TF_BATCH_MATMUL_H
#define TF_BATCH_MATMUL_H
#include "tf_quant.h"

typedef struct {
    int32_t batches, rows, cols, depth;
    int32_t lhs_row_stride, lhs_depth_stride, rhs_depth_stride, rhs_col_stride;
    int32_t lhs_offset, rhs_offset, output_offset, multiplier, shift, act_min, act_max;
    const int32_t *lhs_batch_offsets; /* [batches] */
    const int32_t *rhs_batch_offsets; /* [batches] */
} tf_batch_matmul_params;
#endif
