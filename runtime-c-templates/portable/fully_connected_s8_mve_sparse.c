/* tinyforge kernel: int8 fully connected over block-sparse weights in the Helium layout. The dense
 * kernel (fully_connected_s8_mve.c) walks each weight row in 16-byte steps, one VMLADAVA per row
 * and step; this one stores only the steps that are not all zero, in the lists of
 * conv_gemm_s8_mve_sparse.c (compiler/prune/sparse_layout.ts): per row (list_rows 1) or per group
 * of four rows (list_rows 4), a count byte, then per kept step its distance in steps from the
 * previous kept one (from step 0 for the first); the weights hold 16 bytes per kept step and row,
 * list after list. Each batch walks the lists once; rows are requantized a chunk at a time. */
#include "tf_mve.h"

typedef struct {
    int32_t batches, accum_depth, k16, out_depth;
    int32_t output_offset, multiplier, shift, act_min, act_max;
    const int8_t *filter;  /* the kept steps */
    const int32_t *bias;   /* [out_depth rounded up to 4], offset folded */
    const uint8_t *index;  /* per list: count, then its kept steps' distances */
    int32_t list_rows;     /* rows per list: 1 or 4 */
} tf_fully_connected_s8_mve_sparse_params;

/* Rows per chunk of accumulators (a multiple of 4). */
#define TF_FC_MVE_SPARSE_CHUNK 64

/* Where the next list's weights and index start. */
typedef struct {
    const int8_t *filter;
    const uint8_t *index;
} tf_mve_sparse_cursor;

#if TF_HAVE_MVE && defined(__thumb2__)
/* acc[r] = bias[r] + x . row r for `rows` (>= 1) lists of one row from the cursor, which advances
 * past them. AAPCS: r0 = x, r1 = cursor, r2 = rows, r3 = bias, [sp] = acc. A low-overhead loop
 * (WLS/LE) over each list: 6 instructions per kept step, 7 per row. */
void tf_mve_sparse_gemv_1(const int8_t *x, tf_mve_sparse_cursor *cursor, int32_t rows, const int32_t *bias, int32_t *acc);
__asm__(
    "    .pushsection .text.tf_mve_sparse_gemv_1,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .syntax unified\n"
    "    .p2align 2\n"
    "    .type tf_mve_sparse_gemv_1, %function\n"
    "tf_mve_sparse_gemv_1:\n"
    "    push {r4-r8, lr}\n"
    "    ldr r12, [sp, #24]\n"       /* acc */
    "    ldrd r4, r5, [r1]\n"        /* filter, index */
    "1:\n"
    "    ldr r6, [r3], #4\n"
    "    mov r7, r0\n"
    "    ldrb r8, [r5], #1\n"        /* kept steps of the row */
    "    wls lr, r8, 3f\n"
    "2:\n"
    "    ldrb r8, [r5], #1\n"        /* steps from the previous kept one */
    "    add r7, r7, r8, lsl #4\n"
    "    vldrb.8 q0, [r7]\n"
    "    vldrb.8 q1, [r4], #16\n"
    "    vmladava.s8 r6, q0, q1\n"
    "    le lr, 2b\n"
    "3:\n"
    "    str r6, [r12], #4\n"
    "    subs r2, r2, #1\n"
    "    bne 1b\n"
    "    strd r4, r5, [r1]\n"
    "    pop {r4-r8, pc}\n"
    "    .size tf_mve_sparse_gemv_1, . - tf_mve_sparse_gemv_1\n"
    "    .popsection\n");

/* The same for `groups` (>= 1) lists of four rows: acc[4g..4g+3]. 12 instructions per kept
 * step (the dense tf_mve_gemm_4x1: 10 per step), 7 per group. */
void tf_mve_sparse_gemv_4(const int8_t *x, tf_mve_sparse_cursor *cursor, int32_t groups, const int32_t *bias, int32_t *acc);
__asm__(
    "    .pushsection .text.tf_mve_sparse_gemv_4,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .syntax unified\n"
    "    .p2align 2\n"
    "    .type tf_mve_sparse_gemv_4, %function\n"
    "tf_mve_sparse_gemv_4:\n"
    "    push {r4-r11, lr}\n"
    "    ldr r12, [sp, #36]\n"       /* acc */
    "    ldrd r5, r7, [r1]\n"        /* filter, index */
    "1:\n"
    "    ldm r3!, {r4, r6, r8, r10}\n"
    "    mov r9, r0\n"
    "    ldrb r11, [r7], #1\n"       /* kept steps of the group */
    "    wls lr, r11, 3f\n"
    "2:\n"
    "    ldrb r11, [r7], #1\n"       /* steps from the previous kept one */
    "    add r9, r9, r11, lsl #4\n"
    "    vldrb.8 q0, [r9]\n"
    "    vldrb.8 q1, [r5], #16\n"
    "    vmladava.s8 r4, q0, q1\n"
    "    vldrb.8 q2, [r5], #16\n"
    "    vmladava.s8 r6, q0, q2\n"
    "    vldrb.8 q1, [r5], #16\n"
    "    vmladava.s8 r8, q0, q1\n"
    "    vldrb.8 q2, [r5], #16\n"
    "    vmladava.s8 r10, q0, q2\n"
    "    le lr, 2b\n"
    "3:\n"
    "    stm r12!, {r4, r6, r8, r10}\n"
    "    subs r2, r2, #1\n"
    "    bne 1b\n"
    "    strd r5, r7, [r1]\n"
    "    pop {r4-r11, pc}\n"
    "    .size tf_mve_sparse_gemv_4, . - tf_mve_sparse_gemv_4\n"
    "    .popsection\n");
#else
/* acc[r] = bias[r] + x . row r for `rows` lists of one row from the cursor, which advances past them. */
static void tf_mve_sparse_gemv_1(const int8_t *x, tf_mve_sparse_cursor *cursor, int32_t rows, const int32_t *bias, int32_t *acc) {
    const int8_t *f = cursor->filter;
    const uint8_t *e = cursor->index;
    for (int32_t r = 0; r < rows; ++r) {
        int32_t a = bias[r];
        const int8_t *u = x;
        for (uint32_t n = *e++; n > 0; --n, f += 16) {
            u += 16 * *e++;
            for (int j = 0; j < 16; ++j) a += u[j] * f[j];
        }
        acc[r] = a;
    }
    cursor->filter = f;
    cursor->index = e;
}

/* The same for `groups` lists of four rows: acc[4g..4g+3]. */
static void tf_mve_sparse_gemv_4(const int8_t *x, tf_mve_sparse_cursor *cursor, int32_t groups, const int32_t *bias, int32_t *acc) {
    const int8_t *f = cursor->filter;
    const uint8_t *e = cursor->index;
    for (int32_t g = 0; g < groups; ++g, bias += 4, acc += 4) {
        int32_t a[4];
        const int8_t *u = x;
        for (int r = 0; r < 4; ++r) a[r] = bias[r];
        for (uint32_t n = *e++; n > 0; --n, f += 64) {
            u += 16 * *e++;
            for (int r = 0; r < 4; ++r) {
                for (int j = 0; j < 16; ++j) a[r] += u[j] * f[16 * r + j];
            }
        }
        memcpy(acc, a, sizeof a);
    }
    cursor->filter = f;
    cursor->index = e;
}
#endif

/* scratch: min(out_depth rounded up to 4, 64) int32 accumulators, then (only when accum_depth is
 * not a multiple of 16) an int8 row of k16: the input zero-padded. */
static void tf_fully_connected_s8_mve_sparse(const tf_fully_connected_s8_mve_sparse_params *p, const int8_t *input, int8_t *output, void *scratch) {
    const int32_t depth = p->accum_depth, k16 = p->k16, out_depth = p->out_depth, n4 = (out_depth + 3) & ~3;
    const int32_t chunk = n4 < TF_FC_MVE_SPARSE_CHUNK ? n4 : TF_FC_MVE_SPARSE_CHUNK;
    int32_t *acc = (int32_t *)scratch;
    int8_t *row = (int8_t *)(acc + chunk);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * depth;
        if (depth != k16) {
            tf_mve_copy_padded(row, x, depth, k16);
            x = row;
        }
        tf_mve_sparse_cursor cursor = {p->filter, p->index};
        for (int32_t r0 = 0; r0 < out_depth; r0 += chunk) {
            /* Whole groups of four; the rows past out_depth are computed and not stored. */
            const int32_t n = n4 - r0 < chunk ? n4 - r0 : chunk;
            const int32_t rows = out_depth - r0 < n ? out_depth - r0 : n;
            if (p->list_rows == 4) tf_mve_sparse_gemv_4(x, &cursor, n / 4, p->bias + r0, acc);
            else tf_mve_sparse_gemv_1(x, &cursor, rows, p->bias + r0, acc);
            tf_mve_requantize_row_tensor(acc, rows, p->multiplier, p->shift, output + b * out_depth + r0, p->output_offset, p->act_min,
                                         p->act_max);
        }
    }
}
