/* tinyforge portable kernel: int16 max pooling; window clipped to the image (the parameter block is
 * shared with the int8 kernels). */
#include "pool_s8.h"

static void tf_max_pool_s16(const tf_pool_s8_params *p, const int16_t *input, int16_t *output) {
    for (int oy = 0; oy < p->out_h; ++oy) {
        const int y0 = oy * p->stride_h - p->pad_top;
        const int fy_start = TF_MAX(0, -y0);
        const int fy_end = TF_MIN(p->filter_h, p->in_h - y0);
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int x0 = ox * p->stride_w - p->pad_left;
            const int fx_start = TF_MAX(0, -x0);
            const int fx_end = TF_MIN(p->filter_w, p->in_w - x0);
            for (int c = 0; c < p->channels; ++c) {
                int32_t max = -32768;
                for (int fy = fy_start; fy < fy_end; ++fy) {
                    for (int fx = fx_start; fx < fx_end; ++fx) max = TF_MAX(max, input[((y0 + fy) * p->in_w + (x0 + fx)) * p->channels + c]);
                }
                output[(oy * p->out_w + ox) * p->channels + c] = (int16_t)TF_MIN(TF_MAX(max, p->act_min), p->act_max);
            }
        }
    }
}
