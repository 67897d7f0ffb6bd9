/* tinyforge kernel: int8 convolution as im2col + GEMM, two output pixels by two output channels
 * at a time. Compile-time preparation (compiler/passes/select_kernels.ts) folds the input offset
 * into the bias, pads the image with the input zero point, pads each filter row to a multiple of
 * 4 and the rows to an even count, and interleaves row pairs in steps of 4 bytes
 * (row 2i: k..k+3, row 2i+1: k..k+3, row 2i: k+4..k+7, ...). The two columns are int16,
 * interleaved the same way, each 4-step in the lane order SXTB16 gives the filter bytes:
 * (x0, x2), (x1, x3). */
#include "tf_simd.h"

typedef struct {
    int16_t in_h, in_w, in_c, out_h, out_w, out_c;
    int16_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t k4;          /* k_h * k_w * in_c rounded up to a multiple of 4 */
    int32_t pad_value;   /* input zero point */
    int32_t output_offset, act_min, act_max;
    int32_t requant;     /* TF_REQUANT_* */
    const int8_t *filter;      /* [(out_c + 1) / 2][k4 / 4][2][4] */
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
/* acc[0..3] += (col0, col1) x (row0, row1) over `steps` 4-element steps.
 * AAPCS: r0 = cols, r1 = filter pair, r2 = steps (>= 1), r3 = acc[4] (in/out). */
void tf_mac_2x2_q15_s8(const int16_t *cols, const int8_t *filter, int32_t steps, int32_t *acc);
__asm__(
    "    .text\n"
    "    .thumb\n"
    "    .syntax unified\n"
    "    .p2align 2\n"
    "    .type tf_mac_2x2_q15_s8, %function\n"
    "tf_mac_2x2_q15_s8:\n"
    "    push {r4-r11, lr}\n"
    "    ldm r3, {r4, r5, r6, r7}\n"          /* a00 a01 a10 a11 */
    "1:\n"
    "    ldm r0!, {r8, r9, r10, r11}\n"       /* col0 (x0,x2) (x1,x3), col1 (x0,x2) (x1,x3) */
    "    ldr r12, [r1], #4\n"                 /* row0 bytes */
    "    sxtb16 lr, r12\n"
    "    sxtb16 r12, r12, ror #8\n"
    "    smlad r4, r8, lr, r4\n"
    "    smlad r4, r9, r12, r4\n"
    "    smlad r5, r10, lr, r5\n"
    "    smlad r5, r11, r12, r5\n"
    "    ldr r12, [r1], #4\n"                 /* row1 bytes */
    "    sxtb16 lr, r12\n"
    "    sxtb16 r12, r12, ror #8\n"
    "    smlad r6, r8, lr, r6\n"
    "    smlad r6, r9, r12, r6\n"
    "    smlad r7, r10, lr, r7\n"
    "    smlad r7, r11, r12, r7\n"
    "    subs r2, r2, #1\n"
    "    bne 1b\n"
    "    stm r3, {r4, r5, r6, r7}\n"
    "    pop {r4-r11, pc}\n"
    "    .size tf_mac_2x2_q15_s8, . - tf_mac_2x2_q15_s8\n");
#else
static void tf_mac_2x2_q15_s8(const int16_t *cols, const int8_t *filter, int32_t steps, int32_t *acc) {
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    for (int32_t s = 0; s < steps; ++s, cols += 8, filter += 8) {
        /* Column lane j holds row element (0, 2, 1, 3)[j]. */
        a00 += cols[0] * filter[0] + cols[1] * filter[2] + cols[2] * filter[1] + cols[3] * filter[3];
        a01 += cols[4] * filter[0] + cols[5] * filter[2] + cols[6] * filter[1] + cols[7] * filter[3];
        a10 += cols[0] * filter[4] + cols[1] * filter[6] + cols[2] * filter[5] + cols[3] * filter[7];
        a11 += cols[4] * filter[4] + cols[5] * filter[6] + cols[6] * filter[5] + cols[7] * filter[7];
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}
#endif

/* Requantizes the 2x2 block for channels oc (and oc + 1 when it exists). */
static inline __attribute__((always_inline)) void tf_gemm_store_2x2(const tf_conv_gemm_s8_params *p, const int32_t acc[4], int32_t oc, int8_t *out0, int8_t *out1, int mode) {
    const int32_t out_offset = p->output_offset, act_min = p->act_min, act_max = p->act_max;
    for (int r = 0; r < 2 && oc + r < p->out_c; ++r) {
        const int32_t m = p->multiplier[oc + r], s = p->shift[oc + r];
        int32_t q0, q1;
        if (mode == TF_REQUANT_FAST) {
            q0 = tf_requantize_fast(acc[2 * r], m, -s);
            q1 = tf_requantize_fast(acc[2 * r + 1], m, -s);
        } else {
            q0 = tf_requantize_mode(mode, acc[2 * r], m, s);
            q1 = tf_requantize_mode(mode, acc[2 * r + 1], m, s);
        }
        out0[oc + r] = tf_clamp_s8(q0 + out_offset, act_min, act_max);
        if (out1) out1[oc + r] = tf_clamp_s8(q1 + out_offset, act_min, act_max);
    }
}

static inline __attribute__((always_inline)) void tf_gemm_pair_body(const tf_conv_gemm_s8_params *p, const int16_t *cols, int8_t *out0, int8_t *out1, int mode) {
    const int32_t k4 = p->k4, out_c = p->out_c, steps = k4 / 4;
    const int32_t *bias = p->bias;
    const int8_t *w = p->filter;
    for (int32_t oc = 0; oc < out_c; oc += 2, w += 2 * k4) {
        int32_t acc[4];
        acc[0] = acc[1] = bias[oc];
        acc[2] = acc[3] = oc + 1 < out_c ? bias[oc + 1] : 0;
        tf_mac_2x2_q15_s8(cols, w, steps, acc);
        tf_gemm_store_2x2(p, acc, oc, out0, out1, mode);
    }
}

/* All output channels of one or two pixels; out1 may be NULL. */
static void tf_gemm_pair_s8(const tf_conv_gemm_s8_params *p, const int16_t *cols, int8_t *out0, int8_t *out1) {
    if (p->requant == TF_REQUANT_FAST) {
        tf_gemm_pair_body(p, cols, out0, out1, TF_REQUANT_FAST);
    } else {
        tf_gemm_pair_body(p, cols, out0, out1, (int)p->requant);
    }
}

/* scratch: 2 * k4 int8 rows + 2 * k4 int16 columns, 8-byte aligned. */
static void tf_conv_gemm_s8(const tf_conv_gemm_s8_params *p, const int8_t *input, int8_t *output, void *scratch) {
    const int32_t k4 = p->k4, out_c = p->out_c, out_w = p->out_w;
    int8_t *row0 = (int8_t *)scratch;
    int8_t *row1 = row0 + k4;
    int16_t *cols = (int16_t *)(row1 + k4);
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
        tf_gemm_pair_s8(p, cols, output + px * out_c, second ? output + (px + 1) * out_c : 0);
    }
}
