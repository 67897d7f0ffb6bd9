/* tinyforge kernel: int8 convolution as im2col + GEMM, two output pixels at a time against all
 * output channels, two channels per step. Compile-time preparation (compiler/passes/
 * select_kernels.ts) folds the input offset into the bias, pads the image with the input zero
 * point, pads each filter row to a multiple of 4 and the rows to an even count, and interleaves
 * row pairs in steps of 4 elements. Filters are int8 (row 2i: k..k+3, row 2i+1: k..k+3, ...) or,
 * where the flash budget allows, pre-widened int16 in SXTB16 lane order ((w0, w2), (w1, w3) of
 * row 2i, then of row 2i+1), which saves the widening in the inner loop. The two columns are
 * int16, interleaved the same way, each 4-step in lane order (x0, x2), (x1, x3). */
#include "conv_gemm_s8.h"

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
