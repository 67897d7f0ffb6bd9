/* tinyforge: QUANTIZE between integer types (TFLite Requantize): subtract the input zero point,
 * multiply by input / output scale, add the output zero point, saturate to the output type. */
#ifndef TF_REQUANTIZE_H
#define TF_REQUANTIZE_H
#include "tf_quant.h"

typedef struct {
    int32_t size, input_offset, output_offset, multiplier, shift, out_min, out_max;
} tf_requantize_params;

static inline int32_t tf_requantize_one(const tf_requantize_params *p, int32_t x) {
    const int32_t v = (int32_t)((uint32_t)x - (uint32_t)p->input_offset);
    const int32_t q = tf_requantize(v, p->multiplier, p->shift) + p->output_offset;
    return TF_MIN(TF_MAX(q, p->out_min), p->out_max);
}
#endif
