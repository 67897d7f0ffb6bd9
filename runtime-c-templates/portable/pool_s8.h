/* tinyforge: shared parameter block of the int8 pooling kernels. */
#ifndef TF_POOL_S8_H
#define TF_POOL_S8_H
#include "tf_quant.h"

typedef struct {
    int16_t in_h, in_w, channels, out_h, out_w;
    int16_t filter_h, filter_w, stride_h, stride_w, pad_top, pad_left;
    int32_t act_min, act_max;
} tf_pool_s8_params;

#endif /* TF_POOL_S8_H */
