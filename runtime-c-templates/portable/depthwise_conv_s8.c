/* tinyforge portable kernel: int8 depthwise convolution, any depth multiplier (TFLite DepthwiseConvPerChannel). */
#include "tf_quant.h"

typedef struct {
    int16_t in_h, in_w, in_c, out_h, out_w, out_c, depth_multiplier;
    int16_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t input_offset, output_offset, act_min, act_max;
    const int8_t *filter;      /* [k_h][k_w][out_c] */
    const int32_t *bias;       /* [out_c] or NULL */
    const int32_t *multiplier; /* [out_c] */
    const int8_t *shift;       /* [out_c] */
} tf_depthwise_conv_s8_params;

static void tf_depthwise_conv_s8(const tf_depthwise_conv_s8_params *p, const int8_t *input, int8_t *output) {
    for (int oy = 0; oy < p->out_h; ++oy) {
        const int in_y0 = oy * p->stride_h - p->pad_top;
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int in_x0 = ox * p->stride_w - p->pad_left;
            for (int ic = 0; ic < p->in_c; ++ic) {
                for (int m = 0; m < p->depth_multiplier; ++m) {
                    const int oc = ic * p->depth_multiplier + m;
                    int32_t acc = 0;
                    for (int ky = 0; ky < p->k_h; ++ky) {
                        const int iy = in_y0 + p->dilation_h * ky;
                        if (iy < 0 || iy >= p->in_h) continue;
                        for (int kx = 0; kx < p->k_w; ++kx) {
                            const int ix = in_x0 + p->dilation_w * kx;
                            if (ix < 0 || ix >= p->in_w) continue;
                            const int32_t in = input[(iy * p->in_w + ix) * p->in_c + ic] + p->input_offset;
                            acc += p->filter[(ky * p->k_w + kx) * p->out_c + oc] * in;
                        }
                    }
                    if (p->bias) acc += p->bias[oc];
                    acc = tf_requantize(acc, p->multiplier[oc], p->shift[oc]) + p->output_offset;
                    output[(oy * p->out_w + ox) * p->out_c + oc] = tf_clamp_s8(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}
