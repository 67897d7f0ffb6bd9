/* tinyforge portable kernel: QUANTIZE float32 -> int8 (TFLite AffineQuantize). */
#include "affine.h"

/* std::round for |x| <= 1e6: x - trunc(x) is exact in float there. */
static int32_t tf_round_half_away(float x) {
    const int32_t t = (int32_t)x;
    const float frac = x - (float)t;
    return frac >= 0.5f ? t + 1 : (frac <= -0.5f ? t - 1 : t);
}

static void tf_quantize_f32_s8(const tf_affine_params *p, const float *input, int8_t *output) {
    for (int i = 0; i < p->size; ++i) {
        float scaled = input[i] / p->scale;
        if (scaled != scaled) scaled = 0.0f; /* NaN */
        if (scaled > 1e6f) scaled = 1e6f;
        if (scaled < -1e6f) scaled = -1e6f;
        const int32_t q = tf_round_half_away(scaled) + p->zero_point;
        output[i] = tf_clamp_s8(q, -128, 127);
    }
}
