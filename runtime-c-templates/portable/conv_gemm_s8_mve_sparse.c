/* tinyforge kernel: int8 convolution as a GEMM over block-sparse filters in the Helium layout.
 * The dense kernel (conv_gemm_s8_mve.c) walks each filter row in 16-byte steps, one VMLADAVA per
 * row, step and pixel; this one stores only the steps that are not all zero and skips the rest.
 *
 * Lists (prepared by compiler/prune/sparse_layout.ts): the rows are cut into lists of list_rows
 * rows, 1 (a list per filter row) or 4 (a list per group of four rows, the dense layout's
 * groups). A list is one count byte (at most 255 kept steps), then per kept step, ascending,
 * its distance in steps from the previous kept one (from step 0 for the first). The filter
 * holds, list after list, 16 bytes per kept step and row ([step][4][16] for groups of four). Zero
 * weights add nothing and the folded bias was computed from the full filter, so the integers are
 * exactly the dense kernel's.
 *
 * Inputs: a 1x1, stride 1, unpadded convolution with in_c a multiple of 16 (pack 1) reads the
 * input rows in place; any other convolution gathers each pixel's receptive field into a
 * zero-padded row of k16 bytes (tf_gather_pixel_mve), since kept steps may lie anywhere. */
#include "tf_mve.h"
#include "conv_gemm_s8_mve.c"

typedef struct {
    tf_conv_gemm_s8_mve_params gemm; /* filter: the kept steps; nseg, seg_len and gathers unused */
    const uint8_t *index;            /* per list: count, then its kept steps' distances */
    int32_t list_rows;               /* rows per list: 1 or 4 */
} tf_conv_gemm_s8_mve_sparse_params;

#if TF_HAVE_MVE && defined(__thumb2__)
/* acc0[r] = bias[r] + x0 . row r and acc1[r] likewise for x1, over the kept steps of each row's
 * list. AAPCS: r0 = x0, r1 = x1, r2 = filter, r3 = index, [sp] = rows (>= 1), [sp + 4] = bias,
 * [sp + 8] = acc0, [sp + 12] = acc1. A low-overhead loop (WLS/LE) over each list: 9 instructions
 * per kept step, 12 per row. */
void tf_mve_sparse_gemm_1x2(const int8_t *x0, const int8_t *x1, const int8_t *filter, const uint8_t *index, int32_t rows,
                            const int32_t *bias, int32_t *acc0, int32_t *acc1);
__asm__(
    "    .pushsection .text.tf_mve_sparse_gemm_1x2,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .syntax unified\n"
    "    .p2align 2\n"
    "    .type tf_mve_sparse_gemm_1x2, %function\n"
    "tf_mve_sparse_gemm_1x2:\n"
    "    push {r4-r11, lr}\n"
    "    ldrd r4, r5, [sp, #36]\n"   /* rows, bias */
    "    ldrd r6, r7, [sp, #44]\n"   /* acc0, acc1 */
    "1:\n"
    "    ldr r8, [r5], #4\n"
    "    mov r10, r8\n"
    "    mov r9, r0\n"
    "    mov r11, r1\n"
    "    ldrb r12, [r3], #1\n"       /* kept steps of the row */
    "    wls lr, r12, 3f\n"
    "2:\n"
    "    ldrb r12, [r3], #1\n"       /* steps from the previous kept one */
    "    add r9, r9, r12, lsl #4\n"
    "    add r11, r11, r12, lsl #4\n"
    "    vldrb.8 q2, [r2], #16\n"
    "    vldrb.8 q0, [r9]\n"
    "    vldrb.8 q1, [r11]\n"
    "    vmladava.s8 r8, q0, q2\n"
    "    vmladava.s8 r10, q1, q2\n"
    "    le lr, 2b\n"
    "3:\n"
    "    str r8, [r6], #4\n"
    "    str r10, [r7], #4\n"
    "    subs r4, r4, #1\n"
    "    bne 1b\n"
    "    pop {r4-r11, pc}\n"
    "    .size tf_mve_sparse_gemm_1x2, . - tf_mve_sparse_gemm_1x2\n"
    "    .popsection\n");

/* The same for lists of four rows (groups): acc0[4g..4g+3], acc1[4g..4g+3]. AAPCS as above with
 * [sp] = groups (>= 1). Eight accumulators take every even register, so the list loop counts in
 * r9: 19 instructions per kept step (the dense loop: 16 per step). Stack: [0] x0, [4] x1,
 * [8] groups left, [12] bias, [16] acc0, [20] acc1. */
void tf_mve_sparse_gemm_4x2(const int8_t *x0, const int8_t *x1, const int8_t *filter, const uint8_t *index, int32_t groups,
                            const int32_t *bias, int32_t *acc0, int32_t *acc1);
__asm__(
    "    .pushsection .text.tf_mve_sparse_gemm_4x2,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .syntax unified\n"
    "    .p2align 2\n"
    "    .type tf_mve_sparse_gemm_4x2, %function\n"
    "tf_mve_sparse_gemm_4x2:\n"
    "    push {r4-r11, lr}\n"
    "    sub sp, sp, #24\n"
    "    strd r0, r1, [sp, #0]\n"
    "    ldrd r4, r6, [sp, #60]\n"   /* groups, bias */
    "    ldrd r8, r10, [sp, #68]\n"  /* acc0, acc1 */
    "    str r4, [sp, #8]\n"
    "    str r6, [sp, #12]\n"
    "    strd r8, r10, [sp, #16]\n"
    "    mov r5, r2\n"               /* filter */
    "    mov r7, r3\n"               /* index */
    "1:\n"
    "    ldr r11, [sp, #12]\n"
    "    ldm r11, {r8, r10, r12, lr}\n"
    "    ldm r11!, {r0, r2, r4, r6}\n"
    "    str r11, [sp, #12]\n"
    "    ldrd r1, r3, [sp, #0]\n"
    "    ldrb r9, [r7], #1\n"        /* kept steps of the group */
    "    cmp r9, #0\n"
    "    beq 3f\n"
    "2:\n"
    "    ldrb r11, [r7], #1\n"       /* steps from the previous kept one */
    "    add r1, r1, r11, lsl #4\n"
    "    add r3, r3, r11, lsl #4\n"
    "    vldrb.8 q0, [r1]\n"
    "    vldrb.8 q1, [r3]\n"
    "    vldrb.8 q2, [r5], #16\n"
    "    vmladava.s8 r0, q0, q2\n"
    "    vmladava.s8 r8, q1, q2\n"
    "    vldrb.8 q3, [r5], #16\n"
    "    vmladava.s8 r2, q0, q3\n"
    "    vmladava.s8 r10, q1, q3\n"
    "    vldrb.8 q2, [r5], #16\n"
    "    vmladava.s8 r4, q0, q2\n"
    "    vmladava.s8 r12, q1, q2\n"
    "    vldrb.8 q3, [r5], #16\n"
    "    vmladava.s8 r6, q0, q3\n"
    "    vmladava.s8 lr, q1, q3\n"
    "    subs r9, r9, #1\n"
    "    bne 2b\n"
    "3:\n"
    "    ldr r11, [sp, #16]\n"
    "    stm r11!, {r0, r2, r4, r6}\n"
    "    str r11, [sp, #16]\n"
    "    ldr r11, [sp, #20]\n"
    "    stm r11!, {r8, r10, r12, lr}\n"
    "    str r11, [sp, #20]\n"
    "    ldr r11, [sp, #8]\n"
    "    subs r11, r11, #1\n"
    "    str r11, [sp, #8]\n"
    "    bne 1b\n"
    "    add sp, sp, #24\n"
    "    pop {r4-r11, pc}\n"
    "    .size tf_mve_sparse_gemm_4x2, . - tf_mve_sparse_gemm_4x2\n"
    "    .popsection\n");
#else
/* acc0[r] = bias[r] + x0 . row r and acc1[r] likewise for x1, over the kept steps of each row's list. */
static void tf_mve_sparse_gemm_1x2(const int8_t *x0, const int8_t *x1, const int8_t *filter, const uint8_t *index, int32_t rows,
                                   const int32_t *bias, int32_t *acc0, int32_t *acc1) {
    for (int32_t r = 0; r < rows; ++r) {
        int32_t a0 = bias[r], a1 = a0;
        const int8_t *u = x0, *v = x1;
        for (uint32_t n = *index++; n > 0; --n, filter += 16) {
            u += 16 * *index;
            v += 16 * *index++;
            for (int j = 0; j < 16; ++j) {
                a0 += u[j] * filter[j];
                a1 += v[j] * filter[j];
            }
        }
        acc0[r] = a0;
        acc1[r] = a1;
    }
}

/* The same for lists of four rows (groups): acc0[4g..4g+3], acc1[4g..4g+3]. */
static void tf_mve_sparse_gemm_4x2(const int8_t *x0, const int8_t *x1, const int8_t *filter, const uint8_t *index, int32_t groups,
                                   const int32_t *bias, int32_t *acc0, int32_t *acc1) {
    for (int32_t g = 0; g < groups; ++g, bias += 4, acc0 += 4, acc1 += 4) {
        int32_t a[4], b[4];
        const int8_t *u = x0, *v = x1;
        for (int r = 0; r < 4; ++r) a[r] = b[r] = bias[r];
        for (uint32_t n = *index++; n > 0; --n, filter += 64) {
            u += 16 * *index;
            v += 16 * *index++;
            for (int r = 0; r < 4; ++r) {
                for (int j = 0; j < 16; ++j) {
                    a[r] += u[j] * filter[16 * r + j];
                    b[r] += v[j] * filter[16 * r + j];
                }
            }
        }
        memcpy(acc0, a, sizeof a);
        memcpy(acc1, b, sizeof b);
    }
}
#endif

/* scratch: 2 * (out_c rounded up to 4) int32 accumulators, then (unless pack is 1) two gather
 * rows of k16 bytes. */
static void tf_conv_gemm_s8_mve_sparse(const tf_conv_gemm_s8_mve_sparse_params *sp, const int8_t *input, int8_t *output, void *scratch) {
    const tf_conv_gemm_s8_mve_params *p = &sp->gemm;
    (void)tf_conv_gemm_s8_mve;
    const int32_t k16 = p->k16, out_c = p->out_c, out_w = p->out_w, n4 = (out_c + 3) & ~3;
    int32_t *acc = (int32_t *)scratch;
    int8_t *row0 = (int8_t *)(acc + 2 * n4);
    int8_t *row1 = row0 + k16;
    const int direct = p->pack == 1;
    if (!direct) {
        /* Gathered rows hold k_h * k_w * in_c values; the rest up to k16 stays zero. */
        const int32_t k = p->k_h * p->k_w * p->in_c;
        tf_mve_fill(row0 + k, 0, k16 - k);
        tf_mve_fill(row1 + k, 0, k16 - k);
    }
    const int pixels = p->out_h * out_w;
    for (int px = 0; px < pixels; px += 2) {
        const int second = px + 1 < pixels;
        const int8_t *x0, *x1;
        if (direct) {
            x0 = input + px * k16;
            x1 = second ? x0 + k16 : x0;
        } else {
            const int oy = px / out_w, ox = px % out_w;
            tf_gather_pixel_mve(p, input, oy * p->stride_h - p->pad_top, ox * p->stride_w - p->pad_left, row0);
            x0 = row0;
            x1 = row0;
            if (second) {
                const int oy1 = (px + 1) / out_w, ox1 = (px + 1) % out_w;
                tf_gather_pixel_mve(p, input, oy1 * p->stride_h - p->pad_top, ox1 * p->stride_w - p->pad_left, row1);
                x1 = row1;
            }
        }
        if (sp->list_rows == 4) tf_mve_sparse_gemm_4x2(x0, x1, p->filter, sp->index, n4 / 4, p->bias, acc, acc + n4);
        else tf_mve_sparse_gemm_1x2(x0, x1, p->filter, sp->index, out_c, p->bias, acc, acc + n4);
        tf_mve_requantize_row(acc, out_c, p->multiplier, p->left, p->right, output + px * out_c, p->output_offset, p->act_min, p->act_max);
        if (second) {
            tf_mve_requantize_row(acc + n4, out_c, p->multiplier, p->left, p->right, output + (px + 1) * out_c, p->output_offset, p->act_min,
                                  p->act_max);
        }
    }
}
