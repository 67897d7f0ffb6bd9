/* tinyforge portable kernel: RESIZE_NEAREST_NEIGHBOR, any element size (one pixel = one copy). */
#include "resize.h"

static void tf_resize_nearest_neighbor(const tf_resize_params *p, const void *input, void *output) {
    const size_t pixel = (size_t)p->channels * (size_t)p->element_bytes;
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    for (int32_t b = 0; b < p->batches; ++b) {
        const uint8_t *image = in + (size_t)b * (size_t)p->in_h * (size_t)p->in_w * pixel;
        for (int32_t y = 0; y < p->out_h; ++y) {
            const uint8_t *row = image + (size_t)p->ys[y] * (size_t)p->in_w * pixel;
            for (int32_t x = 0; x < p->out_w; ++x, out += pixel) memcpy(out, row + (size_t)p->xs[x] * pixel, pixel);
        }
    }
}
