/* tinyforge portable kernel: RESIZE_BILINEAR, int8 (TFLite's ResizeBilinearInteger). The weights
 * are 10-bit fixed point, so a weighted sum of four int8 values stays well inside int32. */
#include "resize.h"

static void tf_resize_bilinear_s8(const tf_resize_params *p, const int8_t *input, int8_t *output) {
    const int32_t c = p->channels;
    const int32_t row_stride = p->in_w * c;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *image = input + b * p->in_h * row_stride;
        for (int32_t y = 0; y < p->out_h; ++y) {
            const int8_t *r0 = image + p->ys[3 * y] * row_stride;
            const int8_t *r1 = image + p->ys[3 * y + 1] * row_stride;
            const int32_t wy = p->ys[3 * y + 2];
            for (int32_t x = 0; x < p->out_w; ++x) {
                const int32_t x0 = p->xs[3 * x] * c, x1 = p->xs[3 * x + 1] * c, wx = p->xs[3 * x + 2];
                const int32_t w00 = (1024 - wy) * (1024 - wx), w10 = wy * (1024 - wx);
                const int32_t w01 = (1024 - wy) * wx, w11 = wy * wx;
                for (int32_t ch = 0; ch < c; ++ch) {
                    const int32_t v = r0[x0 + ch] * w00 + r1[x0 + ch] * w10 + r0[x1 + ch] * w01 + r1[x1 + ch] * w11;
                    *output++ = (int8_t)((v + (v > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
                }
            }
        }
    }
}
