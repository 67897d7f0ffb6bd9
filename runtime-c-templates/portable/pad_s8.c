/* tinyforge portable kernel: int8 constant padding (TFLite PAD / PADV2), 4-D NHWC view. */
#include "tf_quant.h"

typedef struct {
    int32_t in_dims[4], out_dims[4], before[4], after[4];
    int32_t pad_value;
} tf_pad_s8_params;

/* Fills n bytes with the pad value. */
static inline int8_t *tf_pad_fill(int8_t *out, int value, int32_t n) {
    if (n > 0) memset(out, value, (size_t)n);
    return out + n;
}

/* Writes the output in order, one (n, h) row at a time: rows wholly in the padding are one memset;
 * a row that maps to an input row is its left padding, the input row (one memcpy when the channel
 * dimension is not padded, else one per pixel between its channel paddings), then its right padding. */
static void tf_pad_s8(const tf_pad_s8_params *p, const int8_t *input, int8_t *output) {
    const int value = p->pad_value;
    const int32_t in_h = p->in_dims[1], in_w = p->in_dims[2], in_c = p->in_dims[3];
    const int32_t out_h = p->out_dims[1], out_c = p->out_dims[3];
    const int32_t out_row = p->out_dims[2] * out_c;
    const int32_t in_row = in_w * in_c;
    const int channel_pad = p->before[3] != 0 || p->after[3] != 0;
    for (int32_t n = 0; n < p->out_dims[0]; ++n) {
        const int32_t src_n = n - p->before[0];
        if (src_n < 0 || src_n >= p->in_dims[0]) {
            output = tf_pad_fill(output, value, out_h * out_row);
            continue;
        }
        for (int32_t h = 0; h < out_h; ++h) {
            const int32_t src_h = h - p->before[1];
            if (src_h < 0 || src_h >= in_h) {
                output = tf_pad_fill(output, value, out_row);
                continue;
            }
            const int8_t *src = input + (src_n * in_h + src_h) * in_row;
            output = tf_pad_fill(output, value, p->before[2] * out_c);
            if (!channel_pad) {
                memcpy(output, src, (size_t)in_row);
                output += in_row;
            } else {
                for (int32_t w = 0; w < in_w; ++w) {
                    output = tf_pad_fill(output, value, p->before[3]);
                    memcpy(output, src, (size_t)in_c);
                    output += in_c;
                    src += in_c;
                    output = tf_pad_fill(output, value, p->after[3]);
                }
            }
            output = tf_pad_fill(output, value, p->after[2] * out_c);
        }
    }
}
