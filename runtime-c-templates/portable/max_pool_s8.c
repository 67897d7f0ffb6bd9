/* tinyforge portable kernel: int8 max pooling; window clipped to the image. */
#include "pool_s8.h"

static void tf_max_pool_s8(const tf_pool_s8_params *p, const int8_t *input, int8_t *output) {
    for (int oy = 0; oy < p->out_h; ++oy) {
        const int y0 = oy * p->stride_h - p->pad_top;
        const int fy_start = TF_MAX(0, -y0);
        const int fy_end = TF_MIN(p->filter_h, p->in_h - y0);
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int x0 = ox * p->stride_w - p->pad_left;
            const int fx_start = TF_MAX(0, -x0);
            const int fx_end = TF_MIN(p->filter_w, p->in_w - x0);
            for (int c = 0; c < p->channels; ++c) {
                int32_t max = -128;
                for (int fy = fy_start; fy < fy_end; ++fy) {
                    for (int fx = fx_start; fx < fx_end; ++fx) {
                        const int32_t v = input[((y0 + fy) * p->in_w + (x0 + fx)) * p->channels + c];
                        max = TF_MAX(max, v);
                    }
                }
                output[(oy * p->out_w + ox) * p->channels + c] = tf_clamp_s8(max, p->act_min, p->act_max);
            }
        }
    }
}
