/* tinyforge kernel: int8 convolution as im2col + GEMM in the Helium layout, two output pixels
 * against four output channels per inner loop (tf_mve_gemm_4x2: 6 loads and 8 VMLADAVA per 16
 * input values). Compile-time preparation (compiler/passes/select_kernels.ts) folds the input
 * offset into the bias, pads each filter row with zeros to k16 (a multiple of 16) and the rows to
 * a multiple of 4, and interleaves groups of four rows in 16-byte steps. Padding pixels read the
 * input zero point, which contributes nothing after folding. */
#include "tf_mve.h"

typedef struct {
    int16_t in_h, in_w, in_c, out_h, out_w, out_c;
    int16_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t k16;        /* k_h * k_w * in_c rounded up to a multiple of 16 */
    int32_t pad_value;  /* input zero point */
    int32_t output_offset, act_min, act_max;
    const int8_t *filter;      /* [(out_c + 3) / 4][k16 / 16][4][16] */
    const int32_t *bias;       /* [out_c rounded up to 4], offset folded */
    const int32_t *multiplier; /* [out_c rounded up to 4] */
    const int32_t *left;       /* [..] max(shift, 0), or NULL when no shift is positive */
    const int32_t *right;      /* [..] min(shift, 0) */
} tf_conv_gemm_s8_mve_params;

/* One output pixel's receptive field as an int8 row of k16 values (padding = zero point, then zeros). */
static void tf_gather_mve(const tf_conv_gemm_s8_mve_params *p, const int8_t *input, int oy, int ox, int8_t *row) {
    const int in_c = p->in_c, in_h = p->in_h, in_w = p->in_w, k_w = p->k_w, dil_w = p->dilation_w;
    const int8_t pad = (int8_t)p->pad_value;
    const int y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
    /* Whole filter rows can be copied at once when they lie inside the image and are dense. */
    const int x_inside = x0 >= 0 && x0 + (k_w - 1) * dil_w < in_w && dil_w == 1;
    int8_t *dst = row;
    for (int ky = 0; ky < p->k_h; ++ky) {
        const int iy = y0 + ky * p->dilation_h;
        if (iy < 0 || iy >= in_h) {
            tf_mve_fill(dst, pad, k_w * in_c);
        } else if (x_inside) {
            tf_mve_copy(dst, input + (iy * in_w + x0) * in_c, k_w * in_c);
        } else {
            for (int kx = 0; kx < k_w; ++kx) {
                const int ix = x0 + kx * dil_w;
                if (ix < 0 || ix >= in_w) {
                    tf_mve_fill(dst + kx * in_c, pad, in_c);
                } else {
                    tf_mve_copy(dst + kx * in_c, input + (iy * in_w + ix) * in_c, in_c);
                }
            }
        }
        dst += k_w * in_c;
    }
    tf_mve_fill(dst, 0, (int32_t)(row + p->k16 - dst));
}

/* scratch: 2 * (out_c rounded up to 4) int32 accumulators, then two int8 rows of k16. */
static void tf_conv_gemm_s8_mve(const tf_conv_gemm_s8_mve_params *p, const int8_t *input, int8_t *output, void *scratch) {
    const int32_t k16 = p->k16, out_c = p->out_c, out_w = p->out_w, steps = k16 / 16, groups = (out_c + 3) / 4;
    int32_t *acc = (int32_t *)scratch;
    int8_t *row0 = (int8_t *)(acc + 8 * groups);
    int8_t *row1 = row0 + k16;
    const int pixels = p->out_h * out_w;
    /* An unpadded 1x1 convolution whose channels fill whole steps reads its rows from the input. */
    const int direct = p->k_h == 1 && p->k_w == 1 && p->pad_top == 0 && p->pad_left == 0 && p->in_c == k16;
    const int8_t *r0 = row0, *r1 = row1;
    for (int px = 0; px < pixels; px += 2) {
        const int second = px + 1 < pixels;
        const int oy0 = px / out_w, ox0 = px % out_w;
        const int oy1 = (px + 1) / out_w, ox1 = (px + 1) % out_w;
        if (direct) {
            r0 = input + (oy0 * p->stride_h * p->in_w + ox0 * p->stride_w) * k16;
            r1 = second ? input + (oy1 * p->stride_h * p->in_w + ox1 * p->stride_w) * k16 : r0;
        } else {
            tf_gather_mve(p, input, oy0, ox0, row0);
            if (second) tf_gather_mve(p, input, oy1, ox1, row1);
            r1 = second ? row1 : row0;
        }
        tf_mve_gemm_4x2(r0, r1, p->filter, steps, groups, p->bias, acc);
        tf_mve_requantize_row(acc, out_c, p->multiplier, p->left, p->right, output + px * out_c, p->output_offset, p->act_min, p->act_max);
        if (second) {
            tf_mve_requantize_row(acc + 4 * groups, out_c, p->multiplier, p->left, p->right, output + (px + 1) * out_c, p->output_offset,
                                  p->act_min, p->act_max);
        }
    }
}
