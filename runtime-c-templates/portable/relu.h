/* tinyforge: RELU / RELU6 parameters (TFLite Micro's ReluQuantized): requantize to the output
 * scale, then clamp to the activation range. */
#ifndef TF_RELU_H
#define TF_RELU_H
#include "tf_quant.h"

typedef struct {
    int32_t requantize; /* 0: RELU6, which only clamps the input to its own quantized [0, 6] */
    int32_t size, input_offset, output_offset, multiplier, shift, act_min, act_max;
} tf_relu_params;

static inline int32_t tf_relu_one(const tf_relu_params *p, int32_t x) {
    const int32_t v = p->requantize ? p->output_offset + tf_requantize(x - p->input_offset, p->multiplier, p->shift) : x;
    return TF_MIN(TF_MAX(v, p->act_min), p->act_max);
}
#endif
