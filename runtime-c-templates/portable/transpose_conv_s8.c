/* tinyforge portable kernel: TRANSPOSE_CONV, int8 with an int32 accumulator (sums wrap through uint32 like TFLite's int32 scratch). */
#include "transpose_conv.h"

static void tf_transpose_conv_s8(const tf_transpose_conv_params *p, const int8_t *input, int8_t *output, void *scratch) {
    uint32_t *acc = (uint32_t *)scratch;
    const int32_t *bias = (const int32_t *)p->bias;
    const int32_t n = p->batches * p->out_h * p->out_w * p->out_c;
    memset(acc, 0, (size_t)n * sizeof(uint32_t));
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t iy = 0; iy < p->in_h; ++iy) {
            for (int32_t ix = 0; ix < p->in_w; ++ix, input += p->in_c) {
                for (int32_t ky = 0; ky < p->k_h; ++ky) {
                    const int32_t oy = iy * p->stride_h - p->pad_top + ky;
                    if (oy < 0 || oy >= p->out_h) continue;
                    for (int32_t kx = 0; kx < p->k_w; ++kx) {
                        const int32_t ox = ix * p->stride_w - p->pad_left + kx;
                        if (ox < 0 || ox >= p->out_w) continue;
                        uint32_t *out = acc + ((b * p->out_h + oy) * p->out_w + ox) * p->out_c;
                        const int8_t *w = p->filter + (ky * p->k_w + kx) * p->in_c;
                        for (int32_t oc = 0; oc < p->out_c; ++oc, w += p->k_h * p->k_w * p->in_c) {
                            int32_t s = 0;
                            for (int32_t ic = 0; ic < p->in_c; ++ic) s += (input[ic] + p->input_offset) * w[ic];
                            out[oc] += (uint32_t)s;
                        }
                    }
                }
            }
        }
    }
    for (int32_t i = 0; i < n; ++i) {
        const int32_t oc = i % p->out_c;
        const int32_t v = tf_requantize((int32_t)((uint32_t)acc[i] + (uint32_t)(bias ? bias[oc] : 0)), p->multipliers[oc], p->shifts[oc]) + p->output_offset;
        output[i] = (int8_t)TF_MIN(TF_MAX(v, p->act_min), p->act_max);
    }
}
