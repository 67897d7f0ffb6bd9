/* tinyforge: quantized MUL with broadcasting (TFLite Micro's Mul): offset inputs multiplied in
 * 32 bits, rescaled by s1 * s2 / s_out, clamped to the activation range. */
#ifndef TF_MUL_BROADCAST_H
#define TF_MUL_BROADCAST_H
#include "tf_broadcast.h"

typedef struct {
    tf_broadcast shape;
    int32_t input1_offset, input2_offset;
    int32_t output_multiplier, output_shift, output_offset, act_min, act_max;
} tf_mul_broadcast_params;

static inline int32_t tf_mul_broadcast_one(const tf_mul_broadcast_params *p, int32_t x, int32_t y) {
    const int32_t raw = p->output_offset + tf_requantize((x + p->input1_offset) * (y + p->input2_offset), p->output_multiplier, p->output_shift);
    return TF_MIN(TF_MAX(raw, p->act_min), p->act_max);
}
#endif
