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

/* The fused GEMM + requantization of TF_REQUANT_FAST layers (the compiler proved every
 * accumulator small and every shift <= -1): each row pair's four accumulators (two rows x two
 * pixels) are requantized in registers as tf_requantize_fast does, with the rounding divide by
 * 2^rs written as ((x - (x < 0)) >> (rs - 1)) + 1) >> 1, then offset, saturated to int8, packed
 * and clamped to the activation range four bytes at a time, and stored as one halfword per pixel
 * (one byte for the last pair of an odd out_c). Nothing but the columns is read, so the two
 * pixels' outputs may overwrite their own inputs. */
typedef struct {
    const int16_t *cols;   /* [0]  */
    int32_t steps;         /* [4]  4-element steps (>= 1) */
    int32_t pairs;         /* [8]  row pairs left (>= 1) */
    const int32_t *rq;     /* [12] per pair: bias[2], multiplier[2], right shifts - 1 (bytes 0, 1) */
    int8_t *out0;          /* [16] pixel 0, channel 2p */
    int8_t *out1;          /* [20] pixel 1 (pixel 0 again for a lone last pixel) */
    int32_t output_offset; /* [24] */
    uint32_t lo4, hi4;     /* [28] [32] act_min, act_max in every byte */
    int32_t odd;           /* [36] out_c is odd: the last pair writes one channel per pixel */
} tf_gemm_rq_args;

#if TF_HAVE_DSP && defined(__thumb2__)
/* AAPCS: r0 = columns, r1 = filter, r2 = args (kept in r3, which the step loops leave alone). */
void tf_gemm_rq_s8w(const int16_t *cols, const int8_t *filter, tf_gemm_rq_args *args);
void tf_gemm_rq_s16w(const int16_t *cols, const int16_t *filter, tf_gemm_rq_args *args);
#define TF_GEMM_RQ_PROLOGUE(name)                                                                \
    "    .pushsection .text." name ",\"ax\",%progbits\n"                                        \
    "    .thumb\n"                                                                              \
    "    .syntax unified\n"                                                                     \
    "    .p2align 2\n"                                                                          \
    "    .type " name ", %function\n" name ":\n"                                                \
    "    push {r4-r11, lr}\n"                                                                   \
    "    mov r3, r2\n"                                                                          \
    "1:\n"                                                                                      \
    "    ldr r12, [r3, #12]\n"                                                                  \
    "    ldrd r4, r6, [r12]\n"      /* bias of rows 2p, 2p + 1 */                               \
    "    mov r5, r4\n"                                                                          \
    "    mov r7, r6\n"                                                                          \
    "    ldrd r0, r2, [r3]\n"       /* columns, steps */                                        \
    "    lsrs r2, r2, #1\n"         /* step pairs; an odd step first (carry) */                 \
    "    bcc 5f\n"
/* Between the prologue and the epilogue: the step body once (the odd step), then
 * TF_GEMM_RQ_LOOP, then the body twice (two steps per turn). */
#define TF_GEMM_RQ_LOOP                                                                          \
    "5:\n"                                                                                      \
    "    cbz r2, 6f\n"                                                                          \
    "2:\n"
/* r4 = (row 2p, pixel 0), r5 = (2p, 1), r6 = (2p + 1, 0), r7 = (2p + 1, 1). */
#define TF_GEMM_RQ_ONE(acc, mul, rs)                                                             \
    "    lsl " acc ", " acc ", #1\n"                                                            \
    "    smmulr " acc ", " acc ", " mul "\n"                                                    \
    "    add " acc ", " acc ", " acc ", asr #31\n"                                              \
    "    asr " acc ", " acc ", " rs "\n"                                                        \
    "    add " acc ", " acc ", #1\n"                                                            \
    "    asr " acc ", " acc ", #1\n"
#define TF_GEMM_RQ_EPILOGUE(name)                                                                \
    "    subs r2, r2, #1\n"                                                                     \
    "    bne 2b\n"                                                                              \
    "6:\n"                                                                                      \
    "    ldr r12, [r3, #12]\n"                                                                  \
    "    ldrd r8, r9, [r12, #8]\n"  /* multipliers */                                           \
    "    ldr r10, [r12, #16]\n"     /* right shifts - 1: row 2p in byte 0, 2p + 1 in byte 1 */  \
    "    lsr r11, r10, #8\n"        /* ASR by register reads the low byte only */               \
    "    add r12, r12, #20\n"                                                                   \
    "    str r12, [r3, #12]\n"                                                                  \
    TF_GEMM_RQ_ONE("r4", "r8", "r10")                                                           \
    TF_GEMM_RQ_ONE("r5", "r8", "r10")                                                           \
    TF_GEMM_RQ_ONE("r6", "r9", "r11")                                                           \
    TF_GEMM_RQ_ONE("r7", "r9", "r11")                                                           \
    "    ldr r12, [r3, #24]\n"                                                                  \
    "    add r4, r4, r12\n"                                                                     \
    "    add r5, r5, r12\n"                                                                     \
    "    add r6, r6, r12\n"                                                                     \
    "    add r7, r7, r12\n"                                                                     \
    "    ssat r4, #8, r4\n"                                                                     \
    "    ssat r5, #8, r5\n"                                                                     \
    "    ssat r6, #8, r6\n"                                                                     \
    "    ssat r7, #8, r7\n"                                                                     \
    "    bfi r4, r6, #8, #8\n"      /* pixel 0: channels 2p, 2p + 1 */                          \
    "    bfi r5, r7, #8, #8\n"      /* pixel 1 */                                               \
    "    pkhbt r4, r4, r5, lsl #16\n"                                                           \
    "    ldrd r8, r9, [r3, #28]\n"                                                              \
    "    ssub8 r10, r4, r8\n"                                                                   \
    "    sel r4, r4, r8\n"          /* max(act_min) */                                          \
    "    ssub8 r10, r4, r9\n"                                                                   \
    "    sel r4, r9, r4\n"          /* min(act_max) */                                          \
    "    ldrd r8, r9, [r3, #16]\n"                                                              \
    "    ldr r12, [r3, #8]\n"                                                                   \
    "    subs r12, r12, #1\n"                                                                   \
    "    beq 3f\n"                                                                              \
    "    str r12, [r3, #8]\n"                                                                   \
    "    strh r4, [r8], #2\n"                                                                   \
    "    lsrs r4, r4, #16\n"                                                                    \
    "    strh r4, [r9], #2\n"                                                                   \
    "    strd r8, r9, [r3, #16]\n"                                                              \
    "    b 1b\n"                                                                                \
    "3:\n"                                                                                      \
    "    ldr r2, [r3, #36]\n"                                                                   \
    "    cbnz r2, 4f\n"                                                                         \
    "    strh r4, [r8]\n"                                                                       \
    "    lsrs r4, r4, #16\n"                                                                    \
    "    strh r4, [r9]\n"                                                                       \
    "    pop {r4-r11, pc}\n"                                                                    \
    "4:\n"                                                                                      \
    "    strb r4, [r8]\n"                                                                       \
    "    lsrs r4, r4, #16\n"                                                                    \
    "    strb r4, [r9]\n"                                                                       \
    "    pop {r4-r11, pc}\n"                                                                    \
    "    .size " name ", . - " name "\n"                                                        \
    "    .popsection\n"
#define TF_GEMM_RQ_STEP_S8W                                                                      \
    "    ldm r0!, {r8, r9, r10, r11}\n" /* column 0 (x0,x2) (x1,x3), column 1 (x0,x2) (x1,x3) */ \
    "    ldr r12, [r1], #4\n"           /* row 2p */                                            \
    "    sxtb16 lr, r12\n"                                                                      \
    "    sxtb16 r12, r12, ror #8\n"                                                             \
    "    smlad r4, r8, lr, r4\n"                                                                \
    "    smlad r4, r9, r12, r4\n"                                                               \
    "    smlad r5, r10, lr, r5\n"                                                               \
    "    smlad r5, r11, r12, r5\n"                                                              \
    "    ldr r12, [r1], #4\n"           /* row 2p + 1 */                                        \
    "    sxtb16 lr, r12\n"                                                                      \
    "    sxtb16 r12, r12, ror #8\n"                                                             \
    "    smlad r6, r8, lr, r6\n"                                                                \
    "    smlad r6, r9, r12, r6\n"                                                               \
    "    smlad r7, r10, lr, r7\n"                                                               \
    "    smlad r7, r11, r12, r7\n"
#define TF_GEMM_RQ_STEP_S16W                                                                     \
    "    ldm r0!, {r8, r9, r10, r11}\n"                                                         \
    "    ldrd r12, lr, [r1], #8\n"      /* row 2p: (w0,w2) (w1,w3) */                           \
    "    smlad r4, r8, r12, r4\n"                                                               \
    "    smlad r4, r9, lr, r4\n"                                                                \
    "    smlad r5, r10, r12, r5\n"                                                              \
    "    smlad r5, r11, lr, r5\n"                                                               \
    "    ldrd r12, lr, [r1], #8\n"      /* row 2p + 1 */                                        \
    "    smlad r6, r8, r12, r6\n"                                                               \
    "    smlad r6, r9, lr, r6\n"                                                                \
    "    smlad r7, r10, r12, r7\n"                                                              \
    "    smlad r7, r11, lr, r7\n"
__asm__(TF_GEMM_RQ_PROLOGUE("tf_gemm_rq_s8w") TF_GEMM_RQ_STEP_S8W TF_GEMM_RQ_LOOP TF_GEMM_RQ_STEP_S8W TF_GEMM_RQ_STEP_S8W TF_GEMM_RQ_EPILOGUE("tf_gemm_rq_s8w"));
__asm__(TF_GEMM_RQ_PROLOGUE("tf_gemm_rq_s16w") TF_GEMM_RQ_STEP_S16W TF_GEMM_RQ_LOOP TF_GEMM_RQ_STEP_S16W TF_GEMM_RQ_STEP_S16W TF_GEMM_RQ_EPILOGUE("tf_gemm_rq_s16w"));
#define tf_gemm_rq(cols, filter, wide, args)                                                     \
    ((wide) ? tf_gemm_rq_s16w((cols), (const int16_t *)(filter), (args)) : tf_gemm_rq_s8w((cols), (const int8_t *)(filter), (args)))
#else
/* The same integers in C: filter lanes as the step loops above read them. */
static int32_t tf_gemm_rq_one(int32_t acc, int32_t multiplier, int32_t rs_minus_1, int32_t offset) {
    int32_t x = tf_requantize_fast(acc, multiplier, rs_minus_1 + 1);
    x += offset;
    return x < -128 ? -128 : (x > 127 ? 127 : x);
}
static void tf_gemm_rq(const int16_t *cols, const void *filter, int wide, tf_gemm_rq_args *a) {
    const int8_t *f8 = (const int8_t *)filter;
    const int16_t *f16 = (const int16_t *)filter;
    const int8_t lo = (int8_t)(a->lo4 & 0xff), hi = (int8_t)(a->hi4 & 0xff);
    for (int32_t p = 0; p < a->pairs; ++p, a->rq += 5) {
        int32_t acc[4] = {a->rq[0], a->rq[0], a->rq[1], a->rq[1]}; /* (row, pixel): 00 01 10 11 */
        const int16_t *c = cols;
        for (int32_t s = 0; s < a->steps; ++s, c += 8) {
            for (int r = 0; r < 2; ++r) {
                int32_t w[4]; /* column lane order: elements 0, 2, 1, 3 */
                if (wide) {
                    for (int j = 0; j < 4; ++j) w[j] = f16[4 * r + j];
                } else {
                    w[0] = f8[4 * r];
                    w[1] = f8[4 * r + 2];
                    w[2] = f8[4 * r + 1];
                    w[3] = f8[4 * r + 3];
                }
                for (int j = 0; j < 4; ++j) {
                    acc[2 * r] += c[j] * w[j];
                    acc[2 * r + 1] += c[4 + j] * w[j];
                }
            }
            f8 += 8;
            f16 += 8;
        }
        const int last_single = p + 1 == a->pairs && a->odd;
        for (int px = 0; px < 2; ++px) {
            int8_t *out = (px ? a->out1 : a->out0) + 2 * p;
            for (int r = 0; r < (last_single ? 1 : 2); ++r) {
                const int32_t v = tf_gemm_rq_one(acc[2 * r + px], a->rq[2 + r], (a->rq[4] >> (8 * r)) & 0xff, a->output_offset);
                out[r] = (int8_t)(v < lo ? lo : (v > hi ? hi : v));
            }
        }
    }
}
#endif

/* scratch: 2 * k4 int8 rows, 2 * k4 int16 columns, 2 * out_c (rounded up to even) int32
 * accumulators, and with `offsets` k4 int32 input offsets. */
static void tf_conv_gemm_s8(const tf_conv_gemm_s8_params *p, const int8_t *input, int8_t *output, void *scratch) {
    const int32_t k4 = p->k4, out_c = p->out_c, out_w = p->out_w, steps = k4 / 4;
    const int mode = (int)p->requant;
    int8_t *row0 = (int8_t *)scratch;
    int8_t *row1 = row0 + k4;
    int16_t *cols = (int16_t *)(row1 + k4);
    int32_t *acc = (int32_t *)(cols + 2 * k4);
    const int pixels = p->out_h * out_w;
    const int32_t pairs = (out_c + 1) / 2;
    int32_t *off = acc + 4 * pairs;
    if (p->offsets) tf_gemm_offsets(p, off);
    /* A 1x1, stride-1, unpadded convolution reads its rows straight from the input. */
    const int direct = p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 &&
                       p->pad_left == 0 && p->in_c == k4;
    tf_gemm_rq_args args;
    args.cols = cols;
    args.steps = steps;
    args.output_offset = p->output_offset;
    args.lo4 = 0x01010101u * (uint8_t)p->act_min;
    args.hi4 = 0x01010101u * (uint8_t)p->act_max;
    args.odd = out_c & 1;
    for (int px = 0; px < pixels; px += 2) {
        const int second = px + 1 < pixels;
        const int8_t *r0 = row0, *r1 = row1;
        const int oy = px / out_w, ox = px % out_w, oy1 = (px + 1) / out_w, ox1 = (px + 1) % out_w;
        if (direct) {
            r0 = input + px * k4;
            r1 = second ? r0 + k4 : r0;
        } else if (p->offsets && tf_gemm_interior(p, oy, ox) && (!second || tf_gemm_interior(p, oy1, ox1))) {
            const int8_t *b0 = input + ((oy * p->stride_h - p->pad_top) * p->in_w + ox * p->stride_w - p->pad_left) * p->in_c;
            const int8_t *b1 = second ? input + ((oy1 * p->stride_h - p->pad_top) * p->in_w + ox1 * p->stride_w - p->pad_left) * p->in_c : b0;
            tf_gather_pair_q15(b0, b1, off, cols, k4);
            r0 = NULL;
        } else {
            tf_gather_s8(p, input, oy, ox, row0);
            if (second) tf_gather_s8(p, input, oy1, ox1, row1);
            else r1 = row0;
        }
        if (r0) tf_expand_pair_q15(r0, r1, cols, k4);
        if (p->rq) {
            args.pairs = pairs;
            args.rq = p->rq;
            args.out0 = output + px * out_c;
            args.out1 = second ? args.out0 + out_c : args.out0;
            tf_gemm_rq(cols, p->filter, p->wide, &args);
            continue;
        }
        if (p->wide) tf_gemm_cols_s16w(cols, (const int16_t *)p->filter, steps, pairs, p->bias, acc);
        else tf_gemm_cols_s8w(cols, (const int8_t *)p->filter, steps, pairs, p->bias, acc);
        tf_requantize_row_s8(acc, out_c, p->multiplier, p->shift, output + px * out_c, p->output_offset, p->act_min, p->act_max, mode);
        if (second) tf_requantize_row_s8(acc + 2 * pairs, out_c, p->multiplier, p->shift, output + (px + 1) * out_c, p->output_offset, p->act_min, p->act_max, mode);
    }
}
