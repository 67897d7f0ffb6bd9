/* tinyforge portable kernel: float32 CONV_2D as TFLite Micro's reference computes it. Each output
 * is a float32 total over filter rows, columns and input channels in that order, taps outside the
 * image skipped, then + bias (0 without one), then the activation clamp; every product and sum is
 * rounded to float32 separately (-std=c99: no fused multiply-add), as in the TS reference. */
#include "tf_conv_f32.h"

static void tf_conv_f32(const tf_conv_f32_params *p, const float *input, float *output) {
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *in = input + b * p->in_h * p->in_w * p->in_c;
        float *out = output + b * p->out_h * p->out_w * p->out_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    float total = 0.0f;
                    for (int32_t ky = 0; ky < p->k_h; ++ky) {
                        const int32_t iy = y0 + p->dilation_h * ky;
                        for (int32_t kx = 0; kx < p->k_w; ++kx) {
                            const int32_t ix = x0 + p->dilation_w * kx;
                            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) continue;
                            const float *x = in + (iy * p->in_w + ix) * p->in_c;
                            const float *w = p->filter + ((oc * p->k_h + ky) * p->k_w + kx) * p->in_c;
                            for (int32_t ic = 0; ic < p->in_c; ++ic) total += x[ic] * w[ic];
                        }
                    }
                    const float bias = p->bias != NULL ? p->bias[oc] : 0.0f;
                    out[(oy * p->out_w + ox) * p->out_c + oc] = tf_act_f32(total + bias, p->act_min, p->act_max);
                }
            }
        }
    }
}
