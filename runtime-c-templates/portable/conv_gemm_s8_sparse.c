/* tinyforge kernel: int8 convolution as im2col + GEMM over block-sparse filters. The dense
 * kernel (conv_gemm_s8.c) multiplies two output pixels' columns by pairs of filter rows in steps
 * of 4 elements; this one stores only the [2 rows x 4] blocks of a row pair that are not all
 * zero, in the dense kernel's interleaved order (int8, or widened to int16 in SXTB16 lane order),
 * and skips the rest. Every weight loaded is still used for both pixels.
 *
 * Index: one byte per kept step, (distance in steps from the previous kept step, or from step 0
 * for the first) << 1 | (1 if it is the row group's last). A row group is one or two row pairs
 * (group_pairs) that share one list, so 4x4-pruned filters pay half a byte per 16-byte tile.
 * Gaps of more than 127 steps and row groups without any weight are bridged by all-zero blocks,
 * so every list has an entry. Zero weights add nothing and the folded bias was computed from the
 * full filter, so the integers are exactly the dense kernel's. */
#include "conv_gemm_s8.h"

typedef struct {
    tf_conv_gemm_s8_params gemm; /* filter: the kept blocks, int8 [blocks][2][4] or int16 [blocks][2][2][2] */
    const uint8_t *index;        /* per row group, its kept steps */
    int32_t group_pairs;         /* row pairs sharing one index list: 1 or 2 */
} tf_conv_gemm_s8_sparse_params;

#if TF_HAVE_DSP && defined(__thumb2__)
/* For each row pair: acc0[2p..2p+1] (column 0) and acc1[...] (column 1) = bias + the pair's kept
 * blocks times the columns at their steps. AAPCS: r0 = columns, r1 = blocks, r2 = index,
 * r3 = row pairs (>= 1), [sp] = group_pairs, [sp + 4] = bias, [sp + 8] = acc0 (acc1 follows at
 * acc0 + 2 * pairs). The index byte's low bit ends a list: LSRS moves it into the carry, which
 * nothing else in the block loop touches, so the loop needs no counter register. Each routine
 * has its own section, so the linker drops the width a model does not use. */
void tf_gemm_cols_sparse_s8w(const int16_t *cols, const int8_t *blocks, const uint8_t *index, int32_t pairs, int32_t group_pairs, const int32_t *bias, int32_t *acc);
void tf_gemm_cols_sparse_s16w(const int16_t *cols, const int16_t *blocks, const uint8_t *index, int32_t pairs, int32_t group_pairs, const int32_t *bias, int32_t *acc);
/* Stack: [0] columns, [4] group_pairs, [8] pairs left, [12] bias, [16] acc0, [20] acc1,
 * [24] the current group's index list, [28] pairs of the group still to run. */
#define TF_SPARSE_COLS_PROLOGUE(name)                                                            \
    "    .pushsection .text." name ",\"ax\",%progbits\n"                                        \
    "    .thumb\n"                                                                              \
    "    .syntax unified\n"                                                                     \
    "    .p2align 2\n"                                                                          \
    "    .type " name ", %function\n" name ":\n"                                                \
    "    push {r4-r11, lr}\n"                                                                   \
    "    sub sp, sp, #32\n"                                                                     \
    "    ldrd r4, r5, [sp, #68]\n"  /* group_pairs, bias */                                     \
    "    ldr r6, [sp, #76]\n"       /* acc0 */                                                  \
    "    add r7, r6, r3, lsl #3\n"  /* acc1 */                                                  \
    "    strd r0, r4, [sp, #0]\n"                                                               \
    "    str r3, [sp, #8]\n"                                                                    \
    "    strd r5, r6, [sp, #12]\n"                                                              \
    "    str r7, [sp, #20]\n"                                                                   \
    "    movs r3, #0\n"                                                                         \
    "    str r3, [sp, #28]\n"                                                                   \
    "1:\n"                                                                                      \
    "    ldr r3, [sp, #28]\n"                                                                   \
    "    cbnz r3, 2f\n"                                                                         \
    "    str r2, [sp, #24]\n"       /* a new group: its list starts here */                     \
    "    ldr r3, [sp, #4]\n"                                                                    \
    "2:\n"                                                                                      \
    "    subs r3, r3, #1\n"                                                                     \
    "    str r3, [sp, #28]\n"                                                                   \
    "    ldr r2, [sp, #24]\n"                                                                   \
    "    ldr r0, [sp, #0]\n"                                                                    \
    "    ldr r12, [sp, #12]\n"                                                                  \
    "    ldrd r4, r6, [r12], #8\n"                                                              \
    "    str r12, [sp, #12]\n"                                                                  \
    "    mov r5, r4\n"                                                                          \
    "    mov r7, r6\n"                                                                          \
    "3:\n"                                                                                      \
    "    ldrb r12, [r2], #1\n"                                                                  \
    "    lsrs r12, r12, #1\n"        /* carry: last of the list */                             \
    "    add r0, r0, r12, lsl #4\n"  /* 16 bytes of columns per step */                        \
    "    ldm r0, {r8, r9, r10, r11}\n"
#define TF_SPARSE_COLS_EPILOGUE(name)                                                            \
    "    bcc 3b\n"                                                                              \
    "    ldr r12, [sp, #16]\n"                                                                  \
    "    strd r4, r6, [r12], #8\n"                                                              \
    "    str r12, [sp, #16]\n"                                                                  \
    "    ldr r12, [sp, #20]\n"                                                                  \
    "    strd r5, r7, [r12], #8\n"                                                              \
    "    str r12, [sp, #20]\n"                                                                  \
    "    ldr r3, [sp, #8]\n"                                                                    \
    "    subs r3, r3, #1\n"                                                                     \
    "    str r3, [sp, #8]\n"                                                                    \
    "    bne 1b\n"                                                                              \
    "    add sp, sp, #32\n"                                                                     \
    "    pop {r4-r11, pc}\n"                                                                    \
    "    .size " name ", . - " name "\n"                                                        \
    "    .popsection\n"
__asm__(TF_SPARSE_COLS_PROLOGUE("tf_gemm_cols_sparse_s8w")
    "    ldrd r12, lr, [r1], #8\n"   /* rows 2p and 2p + 1 */
    "    sxtb16 r3, r12\n"
    "    sxtb16 r12, r12, ror #8\n"
    "    smlad r4, r8, r3, r4\n"
    "    smlad r4, r9, r12, r4\n"
    "    smlad r5, r10, r3, r5\n"
    "    smlad r5, r11, r12, r5\n"
    "    sxtb16 r3, lr\n"
    "    sxtb16 lr, lr, ror #8\n"
    "    smlad r6, r8, r3, r6\n"
    "    smlad r6, r9, lr, r6\n"
    "    smlad r7, r10, r3, r7\n"
    "    smlad r7, r11, lr, r7\n"
    TF_SPARSE_COLS_EPILOGUE("tf_gemm_cols_sparse_s8w"));
__asm__(TF_SPARSE_COLS_PROLOGUE("tf_gemm_cols_sparse_s16w")
    "    ldrd r12, lr, [r1], #8\n"   /* row 2p: (w0,w2) (w1,w3) */
    "    smlad r4, r8, r12, r4\n"
    "    smlad r4, r9, lr, r4\n"
    "    smlad r5, r10, r12, r5\n"
    "    smlad r5, r11, lr, r5\n"
    "    ldrd r12, lr, [r1], #8\n"   /* row 2p + 1 */
    "    smlad r6, r8, r12, r6\n"
    "    smlad r6, r9, lr, r6\n"
    "    smlad r7, r10, r12, r7\n"
    "    smlad r7, r11, lr, r7\n"
    TF_SPARSE_COLS_EPILOGUE("tf_gemm_cols_sparse_s16w"));
#else
/* Column lane j holds row element (0, 2, 1, 3)[j] of each 4-step. */
static void tf_gemm_cols_sparse_s8w(const int16_t *cols, const int8_t *blocks, const uint8_t *index, int32_t pairs, int32_t group_pairs, const int32_t *bias, int32_t *acc) {
    int32_t *acc1 = acc + 2 * pairs;
    const uint8_t *group = index, *e = index;
    for (int32_t p = 0; p < pairs; ++p) {
        if (p % group_pairs == 0) group = e; /* e ends the previous group's list */
        e = group;
        int32_t a00 = bias[2 * p], a01 = a00, a10 = bias[2 * p + 1], a11 = a10;
        const int16_t *c = cols;
        uint32_t v;
        do {
            v = *e++;
            c += 8 * (v >> 1);
            const int8_t *w = blocks;
            a00 += c[0] * w[0] + c[1] * w[2] + c[2] * w[1] + c[3] * w[3];
            a01 += c[4] * w[0] + c[5] * w[2] + c[6] * w[1] + c[7] * w[3];
            a10 += c[0] * w[4] + c[1] * w[6] + c[2] * w[5] + c[3] * w[7];
            a11 += c[4] * w[4] + c[5] * w[6] + c[6] * w[5] + c[7] * w[7];
            blocks += 8;
        } while ((v & 1) == 0);
        acc[2 * p] = a00;
        acc[2 * p + 1] = a10;
        acc1[2 * p] = a01;
        acc1[2 * p + 1] = a11;
    }
}
/* Block lanes are already in column lane order. */
static void tf_gemm_cols_sparse_s16w(const int16_t *cols, const int16_t *blocks, const uint8_t *index, int32_t pairs, int32_t group_pairs, const int32_t *bias, int32_t *acc) {
    int32_t *acc1 = acc + 2 * pairs;
    const uint8_t *group = index, *e = index;
    for (int32_t p = 0; p < pairs; ++p) {
        if (p % group_pairs == 0) group = e;
        e = group;
        int32_t a00 = bias[2 * p], a01 = a00, a10 = bias[2 * p + 1], a11 = a10;
        const int16_t *c = cols;
        uint32_t v;
        do {
            v = *e++;
            c += 8 * (v >> 1);
            for (int j = 0; j < 4; ++j) {
                a00 += c[j] * blocks[j];
                a01 += c[4 + j] * blocks[j];
                a10 += c[j] * blocks[4 + j];
                a11 += c[4 + j] * blocks[4 + j];
            }
            blocks += 8;
        } while ((v & 1) == 0);
        acc[2 * p] = a00;
        acc[2 * p + 1] = a10;
        acc1[2 * p] = a01;
        acc1[2 * p + 1] = a11;
    }
}
#endif

/* The pixel-pair loop repeats conv_gemm_s8's on purpose: moving it into shared inline helpers
 * cost 0.9% of micro_speech's instructions on the M4 (register allocation around the calls).
 * scratch: as conv_gemm_s8 (2 * k4 int8 rows, 2 * k4 int16 columns, 2 * out_c rounded up to even
 * int32 accumulators). */
static void tf_conv_gemm_s8_sparse(const tf_conv_gemm_s8_sparse_params *sp, const int8_t *input, int8_t *output, void *scratch) {
    const tf_conv_gemm_s8_params *p = &sp->gemm;
    const int32_t k4 = p->k4, out_c = p->out_c, out_w = p->out_w;
    const int mode = (int)p->requant;
    int8_t *row0 = (int8_t *)scratch;
    int8_t *row1 = row0 + k4;
    int16_t *cols = (int16_t *)(row1 + k4);
    int32_t *acc = (int32_t *)(cols + 2 * k4);
    const int pixels = p->out_h * out_w;
    const int32_t pairs = (out_c + 1) / 2;
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
        if (p->wide) tf_gemm_cols_sparse_s16w(cols, (const int16_t *)p->filter, sp->index, pairs, sp->group_pairs, p->bias, acc);
        else tf_gemm_cols_sparse_s8w(cols, (const int8_t *)p->filter, sp->index, pairs, sp->group_pairs, p->bias, acc);
        tf_requantize_row_s8(acc, out_c, p->multiplier, p->shift, output + px * out_c, p->output_offset, p->act_min, p->act_max, mode);
        if (second) tf_requantize_row_s8(acc + 2 * pairs, out_c, p->multiplier, p->shift, output + (px + 1) * out_c, p->output_offset, p->act_min, p->act_max, mode);
    }
}
