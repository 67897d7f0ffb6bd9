/* tinyforge portable kernel: float32 RESIZE_BILINEAR as TFLite Micro's
 * reference_ops::ResizeBilinear<float> computes it. The source rows / columns and the weights
 * (1 - d, d) were computed at compile time with TFLite's float32 operations; per pixel:
 * ((((in00 * wy0) * wx0 + (in10 * wy1) * wx0) + (in01 * wy0) * wx1) + (in11 * wy1) * wx1) + 0.0f,
 * each operation rounded to float32 (-std=c99: no fused multiply-add). The final + 0.0f is
 * TFLite's rounding offset for float: it turns a -0 sum into +0, and gcc keeps it (signed zeros). */
#include "tf_float.h"

typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w;
    const int32_t *ys, *xs;   /* per output row / column: lower, upper source index */
    const uint32_t *wys, *wxs; /* per output row / column: float32 bits of 1 - d, d */
} tf_resize_bilinear_f32_params;

static float tf_resize_weight_f32(uint32_t bits) {
    union { uint32_t u; float f; } v;
    v.u = bits;
    return v.f;
}

static void tf_resize_bilinear_f32(const tf_resize_bilinear_f32_params *p, const float *input, float *output) {
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *in = input + b * p->in_h * p->in_w * p->channels;
        for (int32_t i = 0; i < p->out_h; ++i) {
            const float *r0 = in + p->ys[2 * i] * p->in_w * p->channels;
            const float *r1 = in + p->ys[2 * i + 1] * p->in_w * p->channels;
            const float wy0 = tf_resize_weight_f32(p->wys[2 * i]);
            const float wy1 = tf_resize_weight_f32(p->wys[2 * i + 1]);
            for (int32_t j = 0; j < p->out_w; ++j) {
                const int32_t c0 = p->xs[2 * j] * p->channels;
                const int32_t c1 = p->xs[2 * j + 1] * p->channels;
                const float wx0 = tf_resize_weight_f32(p->wxs[2 * j]);
                const float wx1 = tf_resize_weight_f32(p->wxs[2 * j + 1]);
                for (int32_t ch = 0; ch < p->channels; ++ch) {
                    const float t00 = r0[c0 + ch] * wy0 * wx0;
                    const float t10 = r1[c0 + ch] * wy1 * wx0;
                    const float t01 = r0[c1 + ch] * wy0 * wx1;
                    const float t11 = r1[c1 + ch] * wy1 * wx1;
                    *output++ = t00 + t10 + t01 + t11 + 0.0f;
                }
            }
        }
    }
}
