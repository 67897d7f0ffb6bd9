/* tinyforge kernel: int8 average pooling; window clipped to the image, mean rounded half away
 * from zero. With the DSP extension, four channels per word are summed in 16-bit lanes (SXTAB16
 * on the even and the odd bytes) when the window holds at most 256 pixels (|sum| <= 256 * 128
 * fits a lane); larger windows, the last in_c % 4 channels and cores without DSP sum one channel
 * at a time in 32 bits. Every path divides each exact sum as TFLite's reference does. A pixel's
 * window is read before any of its outputs is written. */
#include "pool_s8.h"
#include "tf_simd.h"

static inline int8_t tf_avg_pool_mean(int32_t acc, int count, int32_t act_min, int32_t act_max) {
    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
    return tf_clamp_s8(acc, act_min, act_max);
}

static void tf_avg_pool_s8(const tf_pool_s8_params *p, const int8_t *input, int8_t *output) {
    const int channels = p->channels, row = p->in_w * channels;
    for (int oy = 0; oy < p->out_h; ++oy) {
        const int y0 = oy * p->stride_h - p->pad_top;
        const int fy_start = TF_MAX(0, -y0);
        const int fy_end = TF_MIN(p->filter_h, p->in_h - y0);
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int x0 = ox * p->stride_w - p->pad_left;
            const int fx_start = TF_MAX(0, -x0);
            const int fx_end = TF_MIN(p->filter_w, p->in_w - x0);
            const int rows = fy_end - fy_start, cols = fx_end - fx_start;
            const int count = rows * cols;
            int8_t *out = output + (oy * p->out_w + ox) * channels;
            if (rows <= 0 || cols <= 0) {
                memset(out, 0, (size_t)channels);
                continue;
            }
            const int8_t *window = input + (y0 + fy_start) * row + (x0 + fx_start) * channels;
            int c = 0;
#if TF_HAVE_DSP
            if (count <= 256) {
                for (; c + 4 <= channels; c += 4) {
                    int32_t even = 0, odd = 0; /* lanes: channels (c, c + 2) and (c + 1, c + 3) */
                    const int8_t *src = window + c;
                    const int8_t *const end = src + rows * row;
                    do {
                        const int8_t *s = src;
                        const int8_t *const row_end = src + cols * channels;
                        do {
                            const uint32_t v = tf_read_u32(s);
                            even = tf_sxtab16(even, v);
                            odd = tf_sxtab16_ror8(odd, v);
                            s += channels;
                        } while (s != row_end);
                        src += row;
                    } while (src != end);
                    out[c] = tf_avg_pool_mean((int16_t)even, count, p->act_min, p->act_max);
                    out[c + 1] = tf_avg_pool_mean((int16_t)odd, count, p->act_min, p->act_max);
                    out[c + 2] = tf_avg_pool_mean(even >> 16, count, p->act_min, p->act_max);
                    out[c + 3] = tf_avg_pool_mean(odd >> 16, count, p->act_min, p->act_max);
                }
            }
#endif
            for (; c < channels; ++c) {
                int32_t acc = 0;
                for (int fy = 0; fy < rows; ++fy) {
                    for (int fx = 0; fx < cols; ++fx) acc += window[fy * row + fx * channels + c];
                }
                out[c] = tf_avg_pool_mean(acc, count, p->act_min, p->act_max);
            }
        }
    }
}
