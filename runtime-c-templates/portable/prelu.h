/* tinyforge: PRELU parameters (TFLite Micro's BroadcastPrelu4DSlow): x >= 0 is requantized to the
 * output, x < 0 is multiplied by alpha (a constant, broadcast over the output's 4 dimensions) and
 * requantized with the product scale. */
#ifndef TF_PRELU_H
#define TF_PRELU_H
#include "tf_quant.h"

typedef struct {
    int32_t dims[4], in_strides[4], alpha_strides[4];
    int32_t input_offset, output_offset, multiplier_pos, shift_pos, multiplier_neg, shift_neg;
    const int16_t *alpha; /* alpha values minus alpha's zero point */
} tf_prelu_params;

static inline int32_t tf_prelu_one(const tf_prelu_params *p, int32_t x, int32_t alpha) {
    const int32_t v = p->input_offset + x;
    const int32_t y = v >= 0 ? tf_requantize(v, p->multiplier_pos, p->shift_pos) : tf_requantize(v * alpha, p->multiplier_neg, p->shift_neg);
    return y + p->output_offset;
}

#define TF_PRELU_LOOP(p, input, output, lo, hi, out_type)                                                   \
    do {                                                                                                    \
        int32_t o = 0;                                                                                      \
        for (int32_t i0 = 0; i0 < (p)->dims[0]; ++i0)                                                       \
            for (int32_t i1 = 0; i1 < (p)->dims[1]; ++i1)                                                   \
                for (int32_t i2 = 0; i2 < (p)->dims[2]; ++i2)                                               \
                    for (int32_t i3 = 0; i3 < (p)->dims[3]; ++i3, ++o) {                                    \
                        const int32_t xi = i0 * (p)->in_strides[0] + i1 * (p)->in_strides[1] +              \
                                           i2 * (p)->in_strides[2] + i3 * (p)->in_strides[3];               \
                        const int32_t ai = i0 * (p)->alpha_strides[0] + i1 * (p)->alpha_strides[1] +        \
                                           i2 * (p)->alpha_strides[2] + i3 * (p)->alpha_strides[3];         \
                        const int32_t y = tf_prelu_one((p), (input)[xi], (p)->alpha[ai]);                   \
                        (output)[o] = (out_type)TF_MIN(TF_MAX(y, (lo)), (hi));                              \
                    }                                                                                       \
    } while (0)
#endif
