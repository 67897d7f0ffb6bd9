/* tinyforge: parameter block of the float <-> int8 conversion kernels. */
#ifndef TF_AFFINE_H
#define TF_AFFINE_H
#include "tf_quant.h"

typedef struct {
    int32_t size, zero_point;
    float scale;
    /* DEQUANTIZE: 1 when the compiler proved the float32 product equal to TFLite's double one for
     * every input value (compiler/quant/float_exact.ts), so the kernel multiplies in float32. */
    int32_t single;
} tf_affine_params;

/* std::round for |x| <= 1e6: x - trunc(x) is exact in float there. */
static inline int32_t tf_round_half_away(float x) {
    const int32_t t = (int32_t)x;
    const float frac = x - (float)t;
    return frac >= 0.5f ? t + 1 : (frac <= -0.5f ? t - 1 : t);
}

/* TFLite AffineQuantize's float step: x / scale rounded half away from zero, NaN as 0, kept
 * within +-1e6 so the int32 conversion is defined (any value that far out saturates anyway). */
static inline int32_t tf_affine_quantize(const tf_affine_params *p, float x) {
    float scaled = x / p->scale;
    if (scaled != scaled) scaled = 0.0f;
    if (scaled > 1e6f) scaled = 1e6f;
    if (scaled < -1e6f) scaled = -1e6f;
    return tf_round_half_away(scaled) + p->zero_point;
}

#endif /* TF_AFFINE_H */
