/* tinyforge portable kernel: float32 PAD / PADV2 (TFLite Micro's reference_ops::Pad), 4-D view:
 * the output in order, each element the next input element when its position is inside the
 * input, else the pad value. */
#include "tf_float.h"

typedef struct {
    int32_t in_dims[4], out_dims[4], before[4];
    float pad_value;
} tf_pad_f32_params;

static int tf_pad_f32_inside(const tf_pad_f32_params *p, int d, int32_t i) {
    return i >= p->before[d] && i < p->before[d] + p->in_dims[d];
}

static void tf_pad_f32(const tf_pad_f32_params *p, const float *input, float *output) {
    for (int32_t a = 0; a < p->out_dims[0]; ++a) {
        const int ia = tf_pad_f32_inside(p, 0, a);
        for (int32_t b = 0; b < p->out_dims[1]; ++b) {
            const int ib = ia && tf_pad_f32_inside(p, 1, b);
            for (int32_t c = 0; c < p->out_dims[2]; ++c) {
                const int ic = ib && tf_pad_f32_inside(p, 2, c);
                for (int32_t d = 0; d < p->out_dims[3]; ++d) {
                    *output++ = ic && tf_pad_f32_inside(p, 3, d) ? *input++ : p->pad_value;
                }
            }
        }
    }
}
