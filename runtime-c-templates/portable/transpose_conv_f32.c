/* tinyforge portable kernel: float32 TRANSPOSE_CONV as TFLite Micro's reference_ops::TransposeConv
 * computes it. The output is zeroed, then each input element (batch, row, column, input channel
 * in that order) adds input * filter into every output it reaches (filter row, filter column,
 * output channel); each product and sum is rounded to float32 separately (-std=c99: no fused
 * multiply-add), so each output sums its taps in TFLite's order. Then + bias (only with one) and
 * the activation clamp. Filters are [out_c][k_h][k_w][in_c], activations NHWC. */
#include "tf_float.h"

typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
    int32_t stride_h, stride_w, pad_top, pad_left;
    float act_min, act_max;
    const float *filter;
    const float *bias; /* [out_c] or NULL */
} tf_transpose_conv_f32_params;

static void tf_transpose_conv_f32(const tf_transpose_conv_f32_params *p, const float *input, float *output) {
    const int32_t count = p->batches * p->out_h * p->out_w * p->out_c;
    for (int32_t i = 0; i < count; ++i) output[i] = 0.0f;
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t iy = 0; iy < p->in_h; ++iy) {
            for (int32_t ix = 0; ix < p->in_w; ++ix) {
                const float *x = input + ((b * p->in_h + iy) * p->in_w + ix) * p->in_c;
                const int32_t oy0 = iy * p->stride_h - p->pad_top;
                const int32_t ox0 = ix * p->stride_w - p->pad_left;
                for (int32_t ic = 0; ic < p->in_c; ++ic) {
                    const float v = x[ic];
                    for (int32_t ky = 0; ky < p->k_h; ++ky) {
                        const int32_t oy = oy0 + ky;
                        if (oy < 0 || oy >= p->out_h) continue;
                        for (int32_t kx = 0; kx < p->k_w; ++kx) {
                            const int32_t ox = ox0 + kx;
                            if (ox < 0 || ox >= p->out_w) continue;
                            float *y = output + ((b * p->out_h + oy) * p->out_w + ox) * p->out_c;
                            const float *w = p->filter + (ky * p->k_w + kx) * p->in_c + ic;
                            const int32_t w_step = p->k_h * p->k_w * p->in_c;
                            for (int32_t oc = 0; oc < p->out_c; ++oc) y[oc] += v * w[oc * w_step];
                        }
                    }
                }
            }
        }
    }
    for (int32_t i = 0; i < count; ++i) {
        const float acc = p->bias != NULL ? output[i] + p->bias[i % p->out_c] : output[i];
        output[i] = tf_act_f32(acc, p->act_min, p->act_max);
    }
}
