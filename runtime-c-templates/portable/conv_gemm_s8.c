/* tinyforge kernel: int8 convolution as im2col + GEMM, two output pixels at a time against all
 * output channels, two channels per step. Compile-time preparation (compiler/passes/
 * select_kernels.ts) folds the input offset into the bias, pads the image with the input zero
 * point, pads each filter row to a multiple of 4 and the rows to an even count, and interleaves
 * row pairs in steps of 4 elements. Filters are int8 (row 2i: k..k+3, row 2i+1: k..k+3, ...) or,
 * where the flash budget allows, pre-widened int16 in SXTB16 lane order ((w0, w2), (w1, w3) of
 * row 2i, then of row 2i+1), which saves the widening in the inner loop. The two columns are
 * int16, interleaved the same way, each 4-step in lane order (x0, x2), (x1, x3). */
#include "tf_simd.h"

typedef struct {
    int16_t in_h, in_w, in_c, out_h, out_w, out_c;
    int16_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t k4;          /* k_h * k_w * in_c rounded up to a multiple of 4 */
    int32_t pad_value;   /* input zero point */
    int32_t output_offset, act_min, act_max;
    int32_t requant;     /* TF_REQUANT_* */
    int32_t wide;        /* 1: filter is int16 */
    const void *filter;        /* int8 [(out_c + 1) / 2][k4 / 4][2][4] or int16 [..][2][2][2] */
    const int32_t *bias;       /* [out_c], offset folded */
    const int32_t *multiplier; /* [out_c] */
    const int8_t *shift;       /* [out_c] */
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

#if TF_HAVE_DSP && defined(__thumb2__)
/* For each pair of filter rows: acc0[2p..2p+1] (column 0) and acc1[...] (column 1) = bias +
 * dot products over `steps` 4-element steps. AAPCS: r0 = columns, r1 = filter, r2 = steps (>= 1),
 * r3 = row pairs (>= 1), [sp] = bias (2 * pairs), [sp + 4] = acc0 (acc1 follows at acc0 + 2 * pairs). */
void tf_gemm_cols_s8w(const int16_t *cols, const int8_t *filter, int32_t steps, int32_t pairs, const int32_t *bias, int32_t *acc);
void tf_gemm_cols_s16w(const int16_t *cols, const int16_t *filter, int32_t steps, int32_t pairs, const int32_t *bias, int32_t *acc);
#define TF_GEMM_COLS_PROLOGUE(name)                                                              \
    "    .text\n"                                                                               \
    "    .thumb\n"                                                                              \
    "    .syntax unified\n"                                                                     \
    "    .p2align 2\n"                                                                          \
    "    .type " name ", %function\n" name ":\n"                                                \
    "    push {r4-r11, lr}\n"                                                                   \
    "    sub sp, sp, #24\n"                                                                     \
    "    ldr r4, [sp, #60]\n"      /* bias */                                                   \
    "    ldr r5, [sp, #64]\n"      /* acc0 */                                                   \
    "    add r6, r5, r3, lsl #3\n" /* acc1 */                                                   \
    "    strd r0, r2, [sp, #0]\n"  /* columns, steps */                                         \
    "    str r3, [sp, #8]\n"       /* pairs left */                                             \
    "    strd r4, r5, [sp, #12]\n" /* bias, acc0 */                                             \
    "    str r6, [sp, #20]\n"      /* acc1 */                                                   \
    "1:\n"                                                                                      \
    "    ldrd r0, r2, [sp, #0]\n"                                                               \
    "    ldr r12, [sp, #12]\n"                                                                  \
    "    ldrd r4, r6, [r12], #8\n"                                                              \
    "    str r12, [sp, #12]\n"                                                                  \
    "    mov r5, r4\n"                                                                          \
    "    mov r7, r6\n"                                                                          \
    "2:\n"
#define TF_GEMM_COLS_EPILOGUE(name)                                                              \
    "    subs r2, r2, #1\n"                                                                     \
    "    bne 2b\n"                                                                              \
    "    ldr r12, [sp, #16]\n"                                                                  \
    "    strd r4, r6, [r12], #8\n"                                                              \
    "    str r12, [sp, #16]\n"                                                                  \
    "    ldr r12, [sp, #20]\n"                                                                  \
    "    strd r5, r7, [r12], #8\n"                                                              \
    "    str r12, [sp, #20]\n"                                                                  \
    "    ldr r12, [sp, #8]\n"                                                                   \
    "    subs r12, r12, #1\n"                                                                   \
    "    str r12, [sp, #8]\n"                                                                   \
    "    bne 1b\n"                                                                              \
    "    add sp, sp, #24\n"                                                                     \
    "    pop {r4-r11, pc}\n"                                                                    \
    "    .size " name ", . - " name "\n"
__asm__(TF_GEMM_COLS_PROLOGUE("tf_gemm_cols_s8w")
    "    ldm r0!, {r8, r9, r10, r11}\n" /* column 0 (x0,x2) (x1,x3), column 1 (x0,x2) (x1,x3) */
    "    ldr r12, [r1], #4\n"           /* row 2p */
    "    sxtb16 lr, r12\n"
    "    sxtb16 r12, r12, ror #8\n"
    "    smlad r4, r8, lr, r4\n"
    "    smlad r4, r9, r12, r4\n"
    "    smlad r5, r10, lr, r5\n"
    "    smlad r5, r11, r12, r5\n"
    "    ldr r12, [r1], #4\n"           /* row 2p + 1 */
    "    sxtb16 lr, r12\n"
    "    sxtb16 r12, r12, ror #8\n"
    "    smlad r6, r8, lr, r6\n"
    "    smlad r6, r9, r12, r6\n"
    "    smlad r7, r10, lr, r7\n"
    "    smlad r7, r11, r12, r7\n"
    TF_GEMM_COLS_EPILOGUE("tf_gemm_cols_s8w"));
__asm__(TF_GEMM_COLS_PROLOGUE("tf_gemm_cols_s16w")
    "    ldm r0!, {r8, r9, r10, r11}\n"
    "    ldrd r12, lr, [r1], #8\n"      /* row 2p: (w0,w2) (w1,w3) */
    "    smlad r4, r8, r12, r4\n"
    "    smlad r4, r9, lr, r4\n"
    "    smlad r5, r10, r12, r5\n"
    "    smlad r5, r11, lr, r5\n"
    "    ldrd r12, lr, [r1], #8\n"      /* row 2p + 1 */
    "    smlad r6, r8, r12, r6\n"
    "    smlad r6, r9, lr, r6\n"
    "    smlad r7, r10, r12, r7\n"
    "    smlad r7, r11, lr, r7\n"
    TF_GEMM_COLS_EPILOGUE("tf_gemm_cols_s16w"));
#else
/* Column lane j holds row element (0, 2, 1, 3)[j] of each 4-step. */
static void tf_gemm_cols_s8w(const int16_t *cols, const int8_t *filter, int32_t steps, int32_t pairs, const int32_t *bias, int32_t *acc) {
    int32_t *acc1 = acc + 2 * pairs;
    for (int32_t p = 0; p < pairs; ++p) {
        int32_t a00 = bias[2 * p], a01 = a00, a10 = bias[2 * p + 1], a11 = a10;
        const int16_t *c = cols;
        for (int32_t s = 0; s < steps; ++s, c += 8, filter += 8) {
            a00 += c[0] * filter[0] + c[1] * filter[2] + c[2] * filter[1] + c[3] * filter[3];
            a01 += c[4] * filter[0] + c[5] * filter[2] + c[6] * filter[1] + c[7] * filter[3];
            a10 += c[0] * filter[4] + c[1] * filter[6] + c[2] * filter[5] + c[3] * filter[7];
            a11 += c[4] * filter[4] + c[5] * filter[6] + c[6] * filter[5] + c[7] * filter[7];
        }
        acc[2 * p] = a00;
        acc[2 * p + 1] = a10;
        acc1[2 * p] = a01;
        acc1[2 * p + 1] = a11;
    }
}
/* Filter lanes are already in column lane order. */
static void tf_gemm_cols_s16w(const int16_t *cols, const int16_t *filter, int32_t steps, int32_t pairs, const int32_t *bias, int32_t *acc) {
    int32_t *acc1 = acc + 2 * pairs;
    for (int32_t p = 0; p < pairs; ++p) {
        int32_t a00 = bias[2 * p], a01 = a00, a10 = bias[2 * p + 1], a11 = a10;
        const int16_t *c = cols;
        for (int32_t s = 0; s < steps; ++s, c += 8, filter += 8) {
            for (int j = 0; j < 4; ++j) {
                a00 += c[j] * filter[j];
                a01 += c[4 + j] * filter[j];
                a10 += c[j] * filter[4 + j];
                a11 += c[4 + j] * filter[4 + j];
            }
        }
        acc[2 * p] = a00;
        acc[2 * p + 1] = a10;
        acc1[2 * p] = a01;
        acc1[2 * p + 1] = a11;
    }
}
#endif

/* scratch: 2 * k4 int8 rows, 2 * k4 int16 columns, 2 * out_c (rounded up to even) int32 accumulators. */
static void tf_conv_gemm_s8(const tf_conv_gemm_s8_params *p, const int8_t *input, int8_t *output, void *scratch) {
    const int32_t k4 = p->k4, out_c = p->out_c, out_w = p->out_w, steps = k4 / 4;
    const int mode = (int)p->requant;
    int8_t *row0 = (int8_t *)scratch;
    int8_t *row1 = row0 + k4;
    int16_t *cols = (int16_t *)(row1 + k4);
    int32_t *acc = (int32_t *)(cols + 2 * k4);
    const int pixels = p->out_h * out_w;
    /* A 1x1, stride-1, unpadded convolution reads its rows straight from the input. */
    const int direct = p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 &&
                       p->pad_left == 0 && p->in_c == k4;
    for (int px = 0; px < pixels; px += 2) {
        const int second = px + 1 < pixels;
        const int8_t *r0 = row0, *r1 = row1;
        if (direct) {
            r0 = input + px * k4;
            r1 = second ? r0 + k4 : r0;
        } else {
            tf_gather_s8(p, input, px / out_w, px % out_w, row0);
            if (second) tf_gather_s8(p, input, (px + 1) / out_w, (px + 1) % out_w, row1);
            else r1 = row0;
        }
        tf_expand_pair_q15(r0, r1, cols, k4);
        const int32_t pairs = (out_c + 1) / 2;
        if (p->wide) tf_gemm_cols_s16w(cols, (const int16_t *)p->filter, steps, pairs, p->bias, acc);
        else tf_gemm_cols_s8w(cols, (const int8_t *)p->filter, steps, pairs, p->bias, acc);
        tf_requantize_row_s8(acc, out_c, p->multiplier, p->shift, output + px * out_c, p->output_offset, p->act_min, p->act_max, mode);
        if (second) tf_requantize_row_s8(acc + 2 * pairs, out_c, p->multiplier, p->shift, output + (px + 1) * out_c, p->output_offset, p->act_min, p->act_max, mode);
    }
}
