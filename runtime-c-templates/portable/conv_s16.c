/* tinyforge portable kernel: int16x8 2-D and depthwise convolution (TFLite's int16 activation
 * mode): int16 input, int8 per-channel filter; 64-bit accumulation and requantization with an
 * int64 bias, 32-bit (wrapping) with an int32 bias or none, as TFLite Micro does. */
#include "tf_quant.h"

typedef struct {
    int16_t in_h, in_w, in_c, out_h, out_w, out_c;
    int16_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int16_t depth_multiplier; /* 0: a regular convolution, filter [out_c][k_h][k_w][in_c]; else depthwise, filter [k_h][k_w][out_c] */
    int32_t output_offset, act_min, act_max;
    const int8_t *filter;
    const int64_t *bias64; /* [out_c] or NULL */
    const int32_t *bias32; /* [out_c] or NULL */
    const int32_t *multiplier;
    const int32_t *shift;
} tf_conv_s16_params;

static void tf_conv_s16(const tf_conv_s16_params *p, const int16_t *input, int16_t *output) {
    const int depthwise = p->depth_multiplier > 0;
    for (int oy = 0; oy < p->out_h; ++oy) {
        const int y0 = oy * p->stride_h - p->pad_top;
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int x0 = ox * p->stride_w - p->pad_left;
            for (int oc = 0; oc < p->out_c; ++oc) {
                int64_t acc = 0;
                const int ic0 = depthwise ? oc / p->depth_multiplier : 0;
                const int ic_count = depthwise ? 1 : p->in_c;
                for (int ky = 0; ky < p->k_h; ++ky) {
                    const int iy = y0 + p->dilation_h * ky;
                    if (iy < 0 || iy >= p->in_h) continue;
                    for (int kx = 0; kx < p->k_w; ++kx) {
                        const int ix = x0 + p->dilation_w * kx;
                        if (ix < 0 || ix >= p->in_w) continue;
                        const int16_t *in = input + (iy * p->in_w + ix) * p->in_c + ic0;
                        if (depthwise) {
                            acc += (int32_t)p->filter[(ky * p->k_w + kx) * p->out_c + oc] * in[0];
                        } else {
                            const int8_t *f = p->filter + ((oc * p->k_h + ky) * p->k_w + kx) * p->in_c;
                            int32_t sum = 0; /* in_c * 2^15 * 2^7 fits 32 bits for in_c < 2^9 */
                            for (int k = 0; k < ic_count; ++k) {
                                sum += f[k] * in[k];
                                if ((k & 255) == 255) {
                                    acc += sum;
                                    sum = 0;
                                }
                            }
                            acc += sum;
                        }
                    }
                }
                int32_t v;
                if (p->bias64) {
                    v = tf_requantize_s64(acc + p->bias64[oc], p->multiplier[oc], p->shift[oc]);
                } else {
                    /* TFLite Micro accumulates in int32 (wrapping) when the bias is int32 or absent. */
                    const uint32_t acc32 = (uint32_t)acc + (p->bias32 ? (uint32_t)p->bias32[oc] : 0u);
                    v = tf_requantize((int32_t)acc32, p->multiplier[oc], p->shift[oc]);
                }
                v += p->output_offset;
                v = TF_MIN(TF_MAX(v, p->act_min), p->act_max);
                output[(oy * p->out_w + ox) * p->out_c + oc] = (int16_t)v;
            }
        }
    }
}
