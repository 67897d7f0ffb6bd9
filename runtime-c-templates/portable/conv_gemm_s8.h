/* tinyforge: what the dense and the sparse GEMM convolutions share: their parameter block, the
 * im2col gather of one output pixel's receptive field and the expansion of two gathered rows
 * into the interleaved int16 columns both GEMM loops read. */
#ifndef TF_CONV_GEMM_S8_H
#define TF_CONV_GEMM_S8_H

#include "tf_simd.h"

typedef struct {
    int16_t in_h, in_w, in_c, out_h, out_w, out_c;
    int16_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t k4;          /* k_h * k_w * in_c rounded up to a multiple of 4 */
    int32_t pad_value;   /* input zero point */
    int32_t output_offset, act_min, act_max;
    int32_t requant;     /* TF_REQUANT_* */
    int32_t wide;        /* 1: filter is int16 */
    int32_t offsets;     /* 1: interior pixel pairs are read through a table of k4 input offsets (scratch) */
    const void *filter;        /* int8 [(out_c + 1) / 2][k4 / 4][2][4] or int16 [..][2][2][2] */
    const int32_t *bias;       /* [out_c], offset folded (NULL when rq is set) */
    const int32_t *multiplier; /* [out_c] (NULL when rq is set) */
    const int8_t *shift;       /* [out_c] (NULL when rq is set) */
    /* TF_REQUANT_FAST only (dense kernel): per row pair bias[2], multiplier[2], then the two right
     * shifts - 1 as bytes 0 and 1 of one word; else NULL */
    const int32_t *rq;
} tf_conv_gemm_s8_params;

/* Copies n bytes; the receptive-field rows are short, so a word loop beats a memcpy call. */
static inline void tf_copy_bytes(int8_t *dst, const int8_t *src, int n) {
    for (; n >= 4; n -= 4, dst += 4, src += 4) {
        const uint32_t w = tf_read_u32(src);
        memcpy(dst, &w, 4);
    }
    for (; n > 0; --n) *dst++ = *src++;
}

static inline void tf_fill_bytes(int8_t *dst, int8_t value, int n) {
    for (; n > 0; --n) *dst++ = value;
}

/* One output pixel's receptive field as an int8 row of k4 values (padding = zero point). */
static void tf_gather_s8(const tf_conv_gemm_s8_params *p, const int8_t *input, int oy, int ox, int8_t *row) {
    const int in_c = p->in_c, in_h = p->in_h, in_w = p->in_w, k_w = p->k_w, dil_w = p->dilation_w;
    const int8_t pad = (int8_t)p->pad_value;
    const int y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
    /* Whole filter rows can be copied at once when they lie inside the image and are dense. */
    const int x_inside = x0 >= 0 && x0 + (k_w - 1) * dil_w < in_w && dil_w == 1;
    int8_t *dst = row;
    for (int ky = 0; ky < p->k_h; ++ky) {
        const int iy = y0 + ky * p->dilation_h;
        if (iy < 0 || iy >= in_h) {
            tf_fill_bytes(dst, pad, k_w * in_c);
        } else if (x_inside) {
            tf_copy_bytes(dst, input + (iy * in_w + x0) * in_c, k_w * in_c);
        } else {
            for (int kx = 0; kx < k_w; ++kx) {
                const int ix = x0 + kx * dil_w;
                if (ix < 0 || ix >= in_w) {
                    tf_fill_bytes(dst + kx * in_c, pad, in_c);
                } else {
                    tf_copy_bytes(dst + kx * in_c, input + (iy * in_w + ix) * in_c, in_c);
                }
            }
        }
        dst += k_w * in_c;
    }
    while (dst < row + p->k4) *dst++ = 0;
}

/* Whether pixel (oy, ox)'s whole receptive field lies inside the image. */
static inline int tf_gemm_interior(const tf_conv_gemm_s8_params *p, int oy, int ox) {
    const int y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
    return y0 >= 0 && y0 + (p->k_h - 1) * p->dilation_h < p->in_h && x0 >= 0 && x0 + (p->k_w - 1) * p->dilation_w < p->in_w;
}

/* The receptive field's element k of a pixel whose window starts at `base` is base[off[k]];
 * offsets past the field point at base[0], whose products with the zero weights there vanish. */
static inline void tf_gemm_offsets(const tf_conv_gemm_s8_params *p, int32_t *off) {
    const int32_t row = p->k_w * p->in_c, field = p->k_h * row;
    for (int32_t k = 0; k < p->k4; ++k) {
        const int32_t ky = k / row, kx = (k % row) / p->in_c, c = k % p->in_c;
        off[k] = k < field ? (ky * p->dilation_h * p->in_w + kx * p->dilation_w) * p->in_c + c : 0;
    }
}

/* Two interior pixels' receptive fields, read through the offsets straight into the interleaved
 * int16 column pair (the layout tf_expand_pair_q15 writes): for short kernel rows this beats
 * copying each row and widening it afterwards. */
static inline void tf_gather_pair_q15(const int8_t *base0, const int8_t *base1, const int32_t *off, int16_t *cols, int32_t k4) {
    for (int32_t k = 0; k < k4; k += 4, cols += 8, off += 4) {
        const int32_t o0 = off[0], o1 = off[1], o2 = off[2], o3 = off[3];
        cols[0] = base0[o0];
        cols[1] = base0[o2];
        cols[2] = base0[o1];
        cols[3] = base0[o3];
        cols[4] = base1[o0];
        cols[5] = base1[o2];
        cols[6] = base1[o1];
        cols[7] = base1[o3];
    }
}

/* Two int8 rows -> the interleaved int16 column pair. n is a multiple of 4. */
static void tf_expand_pair_q15(const int8_t *row0, const int8_t *row1, int16_t *cols, int32_t n) {
    for (int32_t k = 0; k < n; k += 4, cols += 8) {
#if TF_HAVE_DSP
        const uint32_t a = tf_read_u32(row0 + k), b = tf_read_u32(row1 + k);
        const int32_t v[4] = {tf_sxtb16(a), tf_sxtb16_ror8(a), tf_sxtb16(b), tf_sxtb16_ror8(b)};
        memcpy(cols, v, sizeof v);
#else
        cols[0] = row0[k];
        cols[1] = row0[k + 2];
        cols[2] = row0[k + 1];
        cols[3] = row0[k + 3];
        cols[4] = row1[k];
        cols[5] = row1[k + 2];
        cols[6] = row1[k + 1];
        cols[7] = row1[k + 3];
#endif
    }
}

#endif /* TF_CONV_GEMM_S8_H */
