/* tinyforge portable kernel: float32 MAX_POOL_2D, AVERAGE_POOL_2D and L2_POOL_2D as TFLite
 * Micro's reference computes them. The window is clipped to the image; max starts from -FLT_MAX
 * with std::max's comparison; average sums in float32 in row order and divides by the number of
 * taps as a float; L2 sums v * v in float32 in row order, divides by the count and takes
 * tf_sqrtf (correctly rounded, as sqrtf); then the activation clamp. */
#include "tf_float.h"

typedef struct {
    int32_t kind; /* 0: MAX_POOL_2D, 1: AVERAGE_POOL_2D, 2: L2_POOL_2D */
    int32_t batches, in_h, in_w, channels, out_h, out_w, filter_h, filter_w, stride_h, stride_w, pad_top, pad_left;
    float act_min, act_max;
} tf_pool_f32_params;

static void tf_pool_f32(const tf_pool_f32_params *p, const float *input, float *output) {
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t y0 = oy * p->stride_h - p->pad_top;
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int32_t fy0 = TF_MAX(0, -y0), fy1 = TF_MIN(p->filter_h, p->in_h - y0);
                const int32_t fx0 = TF_MAX(0, -x0), fx1 = TF_MIN(p->filter_w, p->in_w - x0);
                for (int32_t c = 0; c < p->channels; ++c) {
                    float acc = p->kind == 0 ? -FLT_MAX : 0.0f;
                    int32_t count = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            const float v = input[((b * p->in_h + y0 + fy) * p->in_w + x0 + fx) * p->channels + c];
                            if (p->kind == 1) acc += v;
                            else if (p->kind == 2) acc += v * v;
                            else acc = (acc < v) ? v : acc;
                            ++count;
                        }
                    }
                    const float value = p->kind == 0 ? acc : p->kind == 1 ? acc / (float)count : tf_sqrtf(acc / (float)count);
                    output[((b * p->out_h + oy) * p->out_w + ox) * p->channels + c] = tf_act_f32(value, p->act_min, p->act_max);
                }
            }
        }
    }
}
