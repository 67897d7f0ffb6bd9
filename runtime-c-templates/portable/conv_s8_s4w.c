/* tinyforge kernel: int8 2-D convolution with int4 weights kept packed in flash (s4w.h), per-channel
 * requantization (TFLite ConvPerChannel). The sums are the same integers as TFLite Micro's over the
 * unpacked filter: taps outside the image are skipped and every product is w * (x + input_offset).
 * grouped (in_c a multiple of 8): the filter is in s4w.h's grouped layout, each tap's in_c weights
 * whole words, read with the DSP path on cores that have it. */
#include "s4w.h"

typedef struct {
    int16_t in_h, in_w, in_c, out_h, out_w, out_c;
    int16_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t input_offset, output_offset, act_min, act_max;
    int32_t grouped;
    const uint8_t *filter;     /* [out_c][k_h][k_w][in_c] int4 */
    const int32_t *bias;       /* [out_c] */
    const int32_t *multiplier; /* [out_c] */
    const int8_t *shift;       /* [out_c] */
} tf_conv_s8_s4w_params;

static void tf_conv_s8_s4w(const tf_conv_s8_s4w_params *p, const int8_t *input, int8_t *output) {
    const int32_t row = p->k_h * p->k_w * p->in_c; /* weights per output channel */
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t in_y0 = oy * p->stride_h - p->pad_top;
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t in_x0 = ox * p->stride_w - p->pad_left;
            for (int32_t oc = 0; oc < p->out_c; ++oc) {
                int32_t acc = p->bias[oc];
                for (int32_t ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = in_y0 + p->dilation_h * ky;
                    if (iy < 0 || iy >= p->in_h) continue;
                    for (int32_t kx = 0; kx < p->k_w; ++kx) {
                        const int32_t ix = in_x0 + p->dilation_w * kx;
                        if (ix < 0 || ix >= p->in_w) continue;
                        const int8_t *in = input + (iy * p->in_w + ix) * p->in_c;
                        const int32_t first = oc * row + (ky * p->k_w + kx) * p->in_c;
                        acc = p->grouped ? tf_s4w_dot_grouped(p->filter + (first >> 1), p->in_c, in, p->input_offset, acc)
                                         : tf_s4w_dot_flat(p->filter, first, p->in_c, in, p->input_offset, acc);
                    }
                }
                acc = tf_requantize(acc, p->multiplier[oc], p->shift[oc]) + p->output_offset;
                output[(oy * p->out_w + ox) * p->out_c + oc] = tf_clamp_s8(acc, p->act_min, p->act_max);
            }
        }
    }
}
