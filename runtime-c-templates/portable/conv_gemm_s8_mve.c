/* tinyforge kernel: int8 convolution as a GEMM in the Helium layout, two output pixels against
 * four output channels per inner loop (6 loads and 8 VMLADAVA per 16 input values).
 * Compile-time preparation (compiler/passes/select_kernels.ts) folds the input offset into the
 * bias, pads each filter row with zeros to k16 (a multiple of 16) and the rows to a multiple of 4,
 * and interleaves groups of four rows in 16-byte steps.
 *
 * When a filter row splits into segments of whole 16-byte steps (seg_len > 0: one per kernel row
 * when k_w * in_c is a multiple of 16, else one per tap when in_c is), the GEMM reads each
 * segment where it lies: in the input, in a row of zero points (padding), or, for a kernel row
 * cut by the image's left or right edge, in a gathered copy. Otherwise (seg_len == 0) each pixel's
 * receptive field is gathered into one zero-padded row. Padding reads the input zero point, which
 * contributes nothing after folding. */
#include "tf_mve.h"

typedef struct {
    int16_t in_h, in_w, in_c, out_h, out_w, out_c;
    int16_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t k16;        /* k_h * k_w * in_c rounded up to a multiple of 16 */
    int32_t nseg;       /* segments per row (1 when seg_len == 0) */
    int32_t seg_len;    /* bytes per segment (a multiple of 16), or 0: gather whole rows */
    int32_t gathers;    /* 1 when some pixel gathers (whole rows, or kernel rows cut by an image edge) */
    int32_t pack;       /* 1x1 stride 1 unpadded: pixels per 16-byte input vector (16 / in_c) or 1 (in_c a multiple of 16); else 0 */
    int32_t pad_value;  /* input zero point */
    int32_t output_offset, act_min, act_max;
    const int8_t *filter;      /* [(out_c + 3) / 4][k16 / 16][4][16] */
    const int32_t *bias;       /* [out_c rounded up to 4], offset folded */
    const int32_t *multiplier; /* [out_c rounded up to 4] */
    const int32_t *left;       /* [..] max(shift, 0), or NULL when no shift is positive */
    const int32_t *right;      /* [..] min(shift, 0) */
} tf_conv_gemm_s8_mve_params;

/* The taps of input row iy from column x0 on (k_w of them, dilation_w apart) as k_w * in_c bytes
 * at dst; taps outside the image are zero points. */
static void tf_gather_row_mve(const tf_conv_gemm_s8_mve_params *p, const int8_t *input, int iy, int x0, int8_t *dst) {
    const int in_c = p->in_c, k_w = p->k_w, in_w = p->in_w, dil_w = p->dilation_w;
    const int8_t pad = (int8_t)p->pad_value;
    if (iy < 0 || iy >= p->in_h) {
        tf_mve_fill(dst, pad, k_w * in_c);
    } else if (dil_w == 1) {
        /* Taps [lo, hi) lie inside the image: one copy between two fills. */
        const int lo = x0 < 0 ? TF_MIN(-x0, k_w) : 0;
        const int hi = TF_MAX(lo, TF_MIN(k_w, in_w - x0));
        tf_mve_fill(dst, pad, lo * in_c);
        if (hi > lo) tf_mve_copy(dst + lo * in_c, input + (iy * in_w + x0 + lo) * in_c, (hi - lo) * in_c);
        tf_mve_fill(dst + hi * in_c, pad, (k_w - hi) * in_c);
    } else {
        for (int kx = 0; kx < k_w; ++kx) {
            const int ix = x0 + kx * dil_w;
            if (ix < 0 || ix >= in_w) tf_mve_fill(dst + kx * in_c, pad, in_c);
            else tf_mve_copy(dst + kx * in_c, input + (iy * in_w + ix) * in_c, in_c);
        }
    }
}

/* Output pixel (oy, ox)'s receptive field gathered into row (k_h * k_w * in_c bytes). */
static void tf_gather_pixel_mve(const tf_conv_gemm_s8_mve_params *p, const int8_t *input, int y0, int x0, int8_t *row) {
    const int in_c = p->in_c, k_w = p->k_w, row_len = k_w * in_c, dil_h = p->dilation_h;
    if (p->dilation_w == 1 && row_len <= 16 && x0 >= 0 && x0 + k_w <= p->in_w) {
        /* Short kernel rows inside the image columns: one predicated copy per row. */
#if TF_HAVE_MVE
        const mve_pred16_t valid = vctp8q((uint32_t)row_len);
        const int8x16_t pad = vdupq_n_s8((int8_t)p->pad_value);
#endif
        for (int ky = 0, iy = y0; ky < p->k_h; ++ky, iy += dil_h, row += row_len) {
            if (iy >= 0 && iy < p->in_h) {
                const int8_t *src = input + (iy * p->in_w + x0) * in_c;
#if TF_HAVE_MVE
                vstrbq_p_s8(row, vldrbq_z_s8(src, valid), valid);
#else
                for (int i = 0; i < row_len; ++i) row[i] = src[i];
#endif
            } else {
#if TF_HAVE_MVE
                vstrbq_p_s8(row, pad, valid);
#else
                for (int i = 0; i < row_len; ++i) row[i] = (int8_t)p->pad_value;
#endif
            }
        }
        return;
    }
    for (int ky = 0; ky < p->k_h; ++ky) tf_gather_row_mve(p, input, y0 + ky * dil_h, x0, row + ky * row_len);
}

/* Output pixel (oy, ox) as GEMM segments: segs[2 * s] for s < nseg (row: its gather buffer). */
static inline void tf_conv_segments_mve(const tf_conv_gemm_s8_mve_params *p, const int8_t *input, int oy, int ox, int8_t *row,
                                        const int8_t *pad_seg, const int8_t **segs) {
    const int in_c = p->in_c, k_w = p->k_w, in_w = p->in_w, row_len = k_w * in_c;
    const int y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
    if (p->seg_len == 0) {
        tf_gather_pixel_mve(p, input, y0, x0, row);
        segs[0] = row;
        return;
    }
    const int x_inside = x0 >= 0 && x0 + (k_w - 1) * p->dilation_w < in_w;
    if (x_inside && y0 >= 0 && y0 + (p->k_h - 1) * p->dilation_h < p->in_h) {
        /* Every tap inside the image. */
        const int8_t *base = input + (y0 * in_w + x0) * in_c;
        const int32_t row_stride = p->dilation_h * in_w * in_c;
        if (p->seg_len == row_len) {
            for (int ky = 0; ky < p->k_h; ++ky) segs[2 * ky] = base + ky * row_stride;
        } else {
            for (int ky = 0, s = 0; ky < p->k_h; ++ky) {
                for (int kx = 0; kx < k_w; ++kx, ++s) segs[2 * s] = base + ky * row_stride + kx * p->dilation_w * in_c;
            }
        }
        return;
    }
    if (p->seg_len == row_len) {
        for (int ky = 0; ky < p->k_h; ++ky) {
            const int iy = y0 + ky * p->dilation_h;
            if (iy < 0 || iy >= p->in_h) {
                segs[2 * ky] = pad_seg;
            } else if (x_inside) {
                segs[2 * ky] = input + (iy * in_w + x0) * in_c;
            } else {
                tf_gather_row_mve(p, input, iy, x0, row + ky * row_len);
                segs[2 * ky] = row + ky * row_len;
            }
        }
    } else {
        for (int ky = 0, s = 0; ky < p->k_h; ++ky) {
            const int iy = y0 + ky * p->dilation_h;
            for (int kx = 0; kx < k_w; ++kx, ++s) {
                const int ix = x0 + kx * p->dilation_w;
                segs[2 * s] = iy >= 0 && iy < p->in_h && ix >= 0 && ix < in_w ? input + (iy * in_w + ix) * in_c : pad_seg;
            }
        }
    }
}

/* A 1x1, stride 1, unpadded convolution reads the input as a matrix of 16-byte vectors (k16 bytes
 * when pack is 1). A vector holds `pack` pixels and the filter pack * out_c rows ([pixel][channel],
 * each row zero outside its pixel's lanes), so one GEMM row of accumulators is `pack` pixels of
 * output. The pixels that do not fill a last vector are copied into a zero-padded one (row). */
static void tf_conv_direct_mve(const tf_conv_gemm_s8_mve_params *p, const int8_t *input, int8_t *output, void *scratch) {
    const int32_t pack = p->pack, k16 = p->k16, n = pack * p->out_c, groups = (n + 3) / 4, steps = k16 / 16;
    int32_t *acc = (int32_t *)scratch;
    int8_t *row = (int8_t *)(acc + 8 * groups);
    const int32_t pixels = p->out_h * p->out_w, vectors = pixels / pack;
    for (int32_t v = 0; v < vectors; v += 2) {
        const int8_t *x0 = input + v * k16;
        const int second = v + 1 < vectors;
        tf_mve_gemm_4x2(x0, second ? x0 + k16 : x0, p->filter, steps, groups, p->bias, acc);
        tf_mve_requantize_row(acc, n, p->multiplier, p->left, p->right, output + v * n, p->output_offset, p->act_min, p->act_max);
        if (second) {
            tf_mve_requantize_row(acc + 4 * groups, n, p->multiplier, p->left, p->right, output + (v + 1) * n, p->output_offset, p->act_min,
                                  p->act_max);
        }
    }
    const int32_t rest = pixels - vectors * pack;
    if (rest > 0) {
        tf_mve_copy_padded(row, input + vectors * k16, rest * p->in_c, 16);
        tf_mve_gemm_4x2(row, row, p->filter, steps, groups, p->bias, acc);
        tf_mve_requantize_row(acc, rest * p->out_c, p->multiplier, p->left, p->right, output + vectors * n, p->output_offset, p->act_min,
                              p->act_max);
    }
}

/* scratch, direct (pack > 0): 2 * (pack * out_c rounded up to 4) int32 accumulators, then a
 * 16-byte vector when pack > 1. Otherwise: 2 * (out_c rounded up to 4) int32 accumulators,
 * 2 * nseg segment pointers (8 bytes each), a segment of zero points (seg_len rounded up to 16),
 * then two rows of k16 bytes for gathers (only when some pixel gathers: whole-row mode, or kernel
 * rows cut by an image edge). */
static void tf_conv_gemm_s8_mve(const tf_conv_gemm_s8_mve_params *p, const int8_t *input, int8_t *output, void *scratch) {
    const int32_t k16 = p->k16, out_c = p->out_c, out_w = p->out_w, groups = (out_c + 3) / 4;
    int32_t *acc = (int32_t *)scratch;
    if (p->pack > 0) {
        tf_conv_direct_mve(p, input, output, scratch);
        return;
    }
    const int8_t **segs = (const int8_t **)(void *)(acc + 8 * groups);
    int8_t *pad_seg = (int8_t *)scratch + 32 * groups + 16 * p->nseg;
    int8_t *row0 = p->gathers ? pad_seg + ((p->seg_len + 15) & ~15) : NULL;
    int8_t *row1 = p->gathers ? row0 + k16 : NULL;
    tf_mve_fill(pad_seg, (int8_t)p->pad_value, p->seg_len);
    if (p->seg_len == 0) {
        /* Gathered rows hold k_h * k_w * in_c values; the rest up to k16 stays zero. */
        const int32_t k = p->k_h * p->k_w * p->in_c;
        tf_mve_fill(row0 + k, 0, k16 - k);
        tf_mve_fill(row1 + k, 0, k16 - k);
    }
    const tf_mve_seg_gemm gemm = {segs, p->nseg, (p->seg_len ? p->seg_len : k16) / 16, p->filter, groups, p->bias, acc};
    const int pixels = p->out_h * out_w;
    for (int px = 0; px < pixels; px += 2) {
        const int second = px + 1 < pixels;
        tf_conv_segments_mve(p, input, px / out_w, px % out_w, row0, pad_seg, segs);
        if (second) {
            tf_conv_segments_mve(p, input, (px + 1) / out_w, (px + 1) % out_w, row1, pad_seg, segs + 1);
        } else {
            for (int s = 0; s < p->nseg; ++s) segs[2 * s + 1] = segs[2 * s];
        }
        if (p->nseg == 1) tf_mve_gemm_4x2(segs[0], segs[1], p->filter, gemm.seg_steps, groups, p->bias, acc);
        else tf_mve_gemm_4x2_seg(&gemm);
        tf_mve_requantize_row(acc, out_c, p->multiplier, p->left, p->right, output + px * out_c, p->output_offset, p->act_min, p->act_max);
        if (second) {
            tf_mve_requantize_row(acc + 4 * groups, out_c, p->multiplier, p->left, p->right, output + (px + 1) * out_c, p->output_offset,
                                  p->act_min, p->act_max);
        }
    }
}
