/* tinyforge portable kernels: the parameter block of the float32 convolutions (tf_conv_f32.c,
 * tf_depthwise_conv_f32.c). NHWC activations; CONV_2D filters [out_c][k_h][k_w][in_c],
 * DEPTHWISE_CONV_2D filters [1][k_h][k_w][out_c]. */
#ifndef TF_CONV_F32_H
#define TF_CONV_F32_H
#include "tf_float.h"

typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
    int32_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t depth_multiplier; /* depthwise: output channels per input channel */
    float act_min, act_max;
    const float *filter;
    const float *bias; /* [out_c] or NULL */
} tf_conv_f32_params;
#endif
