/* tinyforge: TRANSPOSE_CONV parameters (TFLite Micro's reference scatter formulation). */
#ifndef TF_TRANSPOSE_CONV_H
#define TF_TRANSPOSE_CONV_H
#include "tf_quant.h"

typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
    int32_t stride_h, stride_w, pad_top, pad_left;
    int32_t input_offset, output_offset, act_min, act_max;
    const int8_t *filter;       /* [out_c][k_h][k_w][in_c] */
    const void *bias;           /* int32 (int8 kernel) or int64 (int16x8 kernel) [out_c], or NULL */
    const int32_t *multipliers; /* [out_c] */
    const int32_t *shifts;      /* [out_c] */
} tf_transpose_conv_params;
#endif
