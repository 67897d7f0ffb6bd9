/* tinyforge kernel: int8 max pooling; window clipped to the image. Each output pixel's channels
 * are taken 16 at a time with Helium (predicated tail), 4 at a time with the DSP extension (one
 * SSUB8 + SEL per quad of byte lanes; when in_c % 4 != 0 the last quad ends at the last channel
 * and recomputes a few outputs with the same values), and one at a time elsewhere or when
 * in_c < 4. Every path is the max over the clipped window starting from -128, then the activation
 * clamp, for any window, stride, padding and channel count. The in-place planner keeps a pixel's
 * outputs clear of every input byte its own window reads, so the order within a pixel is free. */
#include "pool_s8.h"
#include "tf_simd.h"
#include "tf_mve.h"

#if !TF_HAVE_MVE && TF_HAVE_DSP
/* Max of one channel quad over a window of rows x cols pixels (both >= 1); 2x2 unrolled. */
static inline uint32_t tf_max_pool_quad(const int8_t *src, int rows, int cols, int row, int channels) {
    if (rows == 2 && cols == 2) {
        const uint32_t a = tf_max_s8x4(tf_read_u32(src), tf_read_u32(src + channels));
        const uint32_t b = tf_max_s8x4(tf_read_u32(src + row), tf_read_u32(src + row + channels));
        return tf_max_s8x4(a, b);
    }
    uint32_t m = 0x80808080u;
    const int8_t *const end = src + rows * row;
    const int span = cols * channels;
    do {
        const int8_t *s = src;
        const int8_t *const row_end = src + span;
        do {
            m = tf_max_s8x4(m, tf_read_u32(s));
            s += channels;
        } while (s != row_end);
        src += row;
    } while (src != end);
    return m;
}
#endif

static void tf_max_pool_s8(const tf_pool_s8_params *p, const int8_t *input, int8_t *output) {
    const int channels = p->channels, row = p->in_w * channels;
#if !TF_HAVE_MVE && TF_HAVE_DSP
    const uint32_t lo4 = 0x01010101u * (uint8_t)p->act_min, hi4 = 0x01010101u * (uint8_t)p->act_max;
    const int clamp_lo = p->act_min > -128, clamp_hi = p->act_max < 127;
#endif
    for (int oy = 0; oy < p->out_h; ++oy) {
        const int y0 = oy * p->stride_h - p->pad_top;
        const int fy_start = TF_MAX(0, -y0);
        const int fy_end = TF_MIN(p->filter_h, p->in_h - y0);
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int x0 = ox * p->stride_w - p->pad_left;
            const int fx_start = TF_MAX(0, -x0);
            const int fx_end = TF_MIN(p->filter_w, p->in_w - x0);
            const int rows = fy_end - fy_start, cols = fx_end - fx_start;
            const int8_t *window = input + (rows > 0 && cols > 0 ? (y0 + fy_start) * row + (x0 + fx_start) * channels : 0);
            int8_t *out = output + (oy * p->out_w + ox) * channels;
            int c = 0;
#if TF_HAVE_MVE
            for (; c < channels; c += 16) {
                const mve_pred16_t lanes = vctp8q((uint32_t)(channels - c));
                int8x16_t m = vdupq_n_s8(-128);
                for (int fy = 0; fy < rows; ++fy) {
                    const int8_t *src = window + fy * row + c;
                    for (int fx = 0; fx < cols; ++fx, src += channels) m = vmaxq_s8(m, vldrbq_z_s8(src, lanes));
                }
                m = vminq_s8(vmaxq_s8(m, vdupq_n_s8((int8_t)p->act_min)), vdupq_n_s8((int8_t)p->act_max));
                vstrbq_p_s8(out + c, m, lanes);
            }
#elif TF_HAVE_DSP
            while (channels >= 4 && c < channels && rows > 0 && cols > 0) {
                if (c + 4 > channels) c = channels - 4;
                uint32_t m = tf_max_pool_quad(window + c, rows, cols, row, channels);
                if (clamp_lo) m = tf_max_s8x4(m, lo4);
                if (clamp_hi) m = tf_min_s8x4(m, hi4);
                memcpy(out + c, &m, 4);
                c += 4;
            }
#endif
            for (; c < channels; ++c) {
                int32_t max = -128;
                for (int fy = 0; fy < rows; ++fy) {
                    for (int fx = 0; fx < cols; ++fx) max = TF_MAX(max, window[fy * row + fx * channels + c]);
                }
                out[c] = tf_clamp_s8(max, p->act_min, p->act_max);
            }
        }
    }
}
