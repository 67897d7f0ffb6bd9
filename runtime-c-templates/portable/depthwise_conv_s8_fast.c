/* tinyforge kernel: int8 depthwise convolution, depth multiplier 1, channels a multiple of 4.
 * Compile-time preparation folds the input offset into the bias and widens the filter to int16,
 * grouped by 4 channels and then by tap ([channels / 4][taps][4]), in the lane order SXTB16
 * gives the input bytes: (c0, c2), (c1, c3).
 * Taps outside the image read a row of zero points, which contributes nothing after folding. */
#include "tf_simd.h"

typedef struct {
    int16_t in_h, in_w, channels, out_h, out_w;
    int16_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t pad_value, output_offset, act_min, act_max, requant;
    const int16_t *filter;     /* [channels / 4][k_h * k_w][4], lanes c0 c2 c1 c3 */
    const int32_t *bias;       /* [channels], offset folded */
    const int32_t *multiplier; /* [channels] */
    const int8_t *shift;       /* [channels] */
} tf_depthwise_conv_s8_fast_params;

/* scratch: channels bytes of padding, k_h * k_w pointers (pointer-aligned), channels int32
 * accumulators, k_h * k_w int32 tap offsets. Accumulating a whole pixel first keeps the
 * requantization loop tight. */
static void tf_depthwise_conv_s8_fast(const tf_depthwise_conv_s8_fast_params *p, const int8_t *input, int8_t *output, void *scratch) {
    const int C = p->channels;
    const int taps = p->k_h * p->k_w;
    const int mode = (int)p->requant;
    const int32_t out_offset = p->output_offset, act_min = p->act_min, act_max = p->act_max;
    const int32_t *bias = p->bias, *mult = p->multiplier;
    const int8_t *shift = p->shift;
    int8_t *pad_row = (int8_t *)scratch;
    const int8_t **tap = (const int8_t **)((uint8_t *)scratch + ((C + 7) & ~7));
    int32_t *accs = (int32_t *)(tap + taps);
    int32_t *tap_offset = accs + C;
    const int span_h = (p->k_h - 1) * p->dilation_h, span_w = (p->k_w - 1) * p->dilation_w;
    memset(pad_row, (int8_t)p->pad_value, (size_t)C);
    for (int ky = 0, t = 0; ky < p->k_h; ++ky) {
        for (int kx = 0; kx < p->k_w; ++kx, ++t) tap_offset[t] = (ky * p->dilation_h * p->in_w + kx * p->dilation_w) * C;
    }
    for (int oy = 0; oy < p->out_h; ++oy) {
        const int y0 = oy * p->stride_h - p->pad_top;
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int x0 = ox * p->stride_w - p->pad_left;
            if (y0 >= 0 && y0 + span_h < p->in_h && x0 >= 0 && x0 + span_w < p->in_w) {
                /* Interior pixel: every tap is inside the image. */
                const int8_t *base = input + (y0 * p->in_w + x0) * C;
                for (int t = 0; t < taps; ++t) tap[t] = base + tap_offset[t];
            } else {
                int t = 0;
                for (int ky = 0; ky < p->k_h; ++ky) {
                    const int iy = y0 + ky * p->dilation_h;
                    for (int kx = 0; kx < p->k_w; ++kx, ++t) {
                        const int ix = x0 + kx * p->dilation_w;
                        const int inside = iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w;
                        tap[t] = inside ? input + (iy * p->in_w + ix) * C : pad_row;
                    }
                }
            }
            int8_t *out = output + (oy * p->out_w + ox) * C;
            const int16_t *w = p->filter;
            for (int c = 0; c < C; c += 4) {
                int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
                const int8_t *const *tp = tap;
                for (int k = 0; k < taps; ++k, w += 4) {
#if TF_HAVE_DSP
                    const uint32_t x = tf_read_u32(*tp++ + c);
                    const int32_t x02 = tf_sxtb16(x), x13 = tf_sxtb16_ror8(x);
                    int32_t w02, w13;
                    memcpy(&w02, w, 4);
                    memcpy(&w13, w + 2, 4);
                    a0 = tf_smlabb(x02, w02, a0);
                    a2 = tf_smlatt(x02, w02, a2);
                    a1 = tf_smlabb(x13, w13, a1);
                    a3 = tf_smlatt(x13, w13, a3);
#else
                    const int8_t *x = *tp++ + c;
                    a0 += x[0] * w[0];
                    a2 += x[2] * w[1];
                    a1 += x[1] * w[2];
                    a3 += x[3] * w[3];
#endif
                }
                accs[c] = a0;
                accs[c + 1] = a1;
                accs[c + 2] = a2;
                accs[c + 3] = a3;
            }
            tf_requantize_row_s8(accs, C, mult, shift, out, out_offset, act_min, act_max, mode);
        }
    }
}
