/* tinyforge kernel: int8 depthwise convolution, depth multiplier 1, any channel count, in the
 * Helium layout. Eight channels per vector as int16 lanes: VMULLB/VMULLT multiply the even and the
 * odd lanes into two int32 accumulators. Compile-time preparation folds the input offset into the
 * bias, widens the filter to int16 grouped by 8 channels and then by tap ([groups][taps][8],
 * channel order, zero-padded), and permutes bias and requantization tables within each group to
 * the accumulator order: c0 c2 c4 c6 c1 c3 c5 c7. Taps outside the image read a row of zero
 * points, which contributes nothing after folding. */
#include "tf_mve.h"

typedef struct {
    int16_t in_h, in_w, channels, out_h, out_w;
    int16_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t pad_value, output_offset, act_min, act_max;
    const int16_t *filter;     /* [(channels + 7) / 8][k_h * k_w][8] */
    const int32_t *bias;       /* [(channels + 7) / 8][8] permuted, offset folded */
    const int32_t *multiplier; /* [(channels + 7) / 8][8] permuted */
    const int32_t *left;       /* [..] max(shift, 0), or NULL when no shift is positive */
    const int32_t *right;      /* [..] min(shift, 0) */
} tf_depthwise_conv_s8_mve_params;

/* Eight channels (n of them valid, 1..8) of one output pixel: taps[t] + c is tap t's input. */
static inline void tf_depthwise_group_mve(const tf_depthwise_conv_s8_mve_params *p, const int8_t *const *tap, int taps, int c,
                                          int n, const int16_t *w, int8_t *out) {
    const int32_t *bias = p->bias + c, *mult = p->multiplier + c, *right = p->right + c;
#if TF_HAVE_MVE
    int32x4_t even = vldrwq_s32(bias), odd = vldrwq_s32(bias + 4);
    if (n == 8) {
        for (int t = 0; t < taps; ++t, w += 8) {
            const int16x8_t x = vldrbq_s16(tap[t] + c), k = vldrhq_s16(w);
            even = vaddq_s32(even, vmullbq_int_s16(x, k));
            odd = vaddq_s32(odd, vmulltq_int_s16(x, k));
        }
    } else {
        /* The last channels: nothing past the pixel's end is read (the filter lanes are zero). */
        const mve_pred16_t valid = vctp16q((uint32_t)n);
        for (int t = 0; t < taps; ++t, w += 8) {
            const int16x8_t x = vldrbq_z_s16(tap[t] + c, valid), k = vldrhq_s16(w);
            even = vaddq_s32(even, vmullbq_int_s16(x, k));
            odd = vaddq_s32(odd, vmulltq_int_s16(x, k));
        }
    }
    if (p->left) {
        even = vshlq_s32(even, vldrwq_s32(p->left + c));
        odd = vshlq_s32(odd, vldrwq_s32(p->left + c + 4));
    }
    even = tf_mve_requantize(even, vldrwq_s32(mult), vldrwq_s32(right));
    odd = tf_mve_requantize(odd, vldrwq_s32(mult + 4), vldrwq_s32(right + 4));
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    even = vminq_s32(vmaxq_s32(vaddq_n_s32(even, p->output_offset), lo), hi);
    odd = vminq_s32(vmaxq_s32(vaddq_n_s32(odd, p->output_offset), lo), hi);
    const int16x8_t both = vmovntq_s32(vmovnbq_s32(vreinterpretq_s16_s32(even), even), odd);
    if (n == 8) vstrbq_s16(out + c, both);
    else vstrbq_p_s16(out + c, both, vctp16q((uint32_t)n));
#else
    /* Lane j of the group is channel c + j; its accumulator slot is (j even ? j / 2 : 4 + j / 2). */
    for (int j = 0; j < n; ++j) {
        const int slot = (j & 1) ? 4 + j / 2 : j / 2;
        int32_t acc = bias[slot];
        for (int t = 0; t < taps; ++t) acc += tap[t][c + j] * w[8 * t + j];
        const int32_t shift = (p->left ? p->left[c + slot] : 0) + right[slot];
        out[c + j] = tf_clamp_s8(tf_requantize(acc, mult[slot], shift) + p->output_offset, p->act_min, p->act_max);
    }
#endif
}

/* scratch: channels bytes of padding (rounded up to 8), then k_h * k_w tap pointers. */
static void tf_depthwise_conv_s8_mve(const tf_depthwise_conv_s8_mve_params *p, const int8_t *input, int8_t *output, void *scratch) {
    const int C = p->channels;
    const int taps = p->k_h * p->k_w;
    int8_t *pad_row = (int8_t *)scratch;
    const int8_t **tap = (const int8_t **)((uint8_t *)scratch + ((C + 7) & ~7));
    const int span_h = (p->k_h - 1) * p->dilation_h, span_w = (p->k_w - 1) * p->dilation_w;
    memset(pad_row, (int8_t)p->pad_value, (size_t)C);
    for (int oy = 0; oy < p->out_h; ++oy) {
        const int y0 = oy * p->stride_h - p->pad_top;
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int x0 = ox * p->stride_w - p->pad_left;
            const int inside = y0 >= 0 && y0 + span_h < p->in_h && x0 >= 0 && x0 + span_w < p->in_w;
            int t = 0;
            for (int ky = 0; ky < p->k_h; ++ky) {
                const int iy = y0 + ky * p->dilation_h;
                for (int kx = 0; kx < p->k_w; ++kx, ++t) {
                    const int ix = x0 + kx * p->dilation_w;
                    tap[t] = inside || (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) ? input + (iy * p->in_w + ix) * C : pad_row;
                }
            }
            int8_t *out = output + (oy * p->out_w + ox) * C;
            const int16_t *w = p->filter;
            int c = 0;
            for (; c + 8 <= C; c += 8, w += 8 * taps) tf_depthwise_group_mve(p, tap, taps, c, 8, w, out);
            if (c < C) tf_depthwise_group_mve(p, tap, taps, c, C - c, w, out);
        }
    }
}
