/* tinyforge: parameter block of the float <-> int8 conversion kernels. */
#ifndef TF_AFFINE_H
#define TF_AFFINE_H
#include "tf_quant.h"

typedef struct {
    int32_t size, zero_point;
    float scale;
} tf_affine_params;

#endif /* TF_AFFINE_H */
