/* tinyforge kernel: int8 depthwise convolution, depth multiplier 1, channels a multiple of 4.
 * Compile-time preparation (compiler/passes/select_kernels.ts selectDepthwise) lays out one
 * stream of int32 words per group of 4 channels, read front to back:
 *   bias[4]                          the input offset folded in
 *   taps x { (w0, w2), (w1, w3) }    int16 weight pairs, in the lane order SXTB16 splits input
 *                                    words into
 *   multiplier[4]
 *   shifts                           4 bytes, channel c0 in the lowest
 * In TF_REQUANT_FAST mode bias and weights are doubled (the accumulator arrives pre-scaled for the
 * rounding high multiply) and each shift byte is right_shift - 1; in the other modes they are the
 * model's values and the shift bytes are TFLite's int8 shifts.
 * Taps outside the image read a row of zero points, which contributes nothing after folding.
 * On Thumb-2 cores with the DSP extension, layers in TF_REQUANT_FAST mode run in assembly, 4
 * channels at a time with requantization fused in registers, on two routines that handle
 * different shapes:
 *   tf_dw_s8_fast_taps9  exactly 9 taps in any arrangement (3x3, 9x1, 1x9, dilated, strided):
 *                        it reads 9 tap pointers, so it never assumes where the taps lie;
 *   tf_dw_s8_fast_rows9  exactly k_h == 3 && k_w == 3 (any stride, any dilation), interior
 *                        pixels only: it walks three row pointers three columns each.
 *   tf_dw_s8_fast_tapsn  any other tap count from 1 to 16, in any arrangement, also off tap
 *                        pointers (it enters an unrolled run of 16 tap blocks at block 16 - n).
 * A 9x1 or 1x9 filter also has 9 taps but not three rows of three, so it must never reach
 * rows9 (issue 17): its interior pixels take taps9 with tap pointers instead. More than 16 taps,
 * or another requantization mode, takes tf_dw_s8_fast_pixel. Every path writes a pixel's channel
 * group only after reading that group's taps, and walks pixels in order (in_place.ts). */
#include "tf_simd.h"

typedef struct {
    int16_t in_h, in_w, channels, out_h, out_w;
    int16_t k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t pad_value, output_offset, act_min, act_max, requant;
    const int32_t *stream; /* [channels / 4][4 + 2 * k_h * k_w + 5] */
} tf_depthwise_conv_s8_fast_params;

/* TF_REQUANT_FAST on a doubled accumulator with rm1 = right_shift - 1, output offset added:
 * (x - (x < 0) + 2^(r-1) + off * 2^r) >> r computed as ((x - (x < 0)) >> (r - 1) + 2 off + 1) >> 1,
 * which is the same integer (floor of a floor) and cannot overflow. */
static inline int32_t tf_dw_fast_requant(int32_t acc2, int32_t multiplier, int32_t rm1, int32_t off2p1) {
#if TF_HAVE_DSP
    int32_t x = tf_smmulr(acc2, multiplier);
#else
    int32_t x = (int32_t)(((int64_t)acc2 * multiplier + ((int64_t)1 << 31)) >> 32);
#endif
    x += x >> 31;
    return ((x >> rm1) + off2p1) >> 1;
}

#if TF_HAVE_DSP && defined(__thumb2__)
#define TF_DW_FAST_ASM 1
/* A run of output pixels of a 9-tap layer (any arrangement of the taps) in TF_REQUANT_FAST mode,
 * all channel groups of each. Pixel i of the run reads tap[t] + i * delta (the driver passes runs
 * of one border pixel, or runs of interior pixels of a 9-tap layer that is not 3x3).
 * AAPCS: r0 = 9 tap pointers, r2 = output of the first pixel, r3 = ctx (pixels counts down to 0):
 * { groups, 2 * output_offset + 1, act_min x 4 bytes, act_max x 4 bytes, clamp, stream, pixels,
 *   delta - channels }.
 * Registers: r1 stream, r4-r7 accumulators c0..c3, lr = i * delta + channel byte offset, r12 groups left. */
void tf_dw_s8_fast_taps9(const int8_t *const *tap, int32_t unused, int8_t *out, int32_t *ctx);
/* Requantizes r4-r7 with the multipliers and shift bytes next in the stream (r1), packs the four
 * int8 results into r4 and clamps them when asked; off2p1, clamp and minmax are memory operands. */
#define TF_DW_REQUANT(off2p1, clamp, minmax) \
    "    ldm r1!, {r8-r11}\n" \
    "    smmulr r4, r4, r8\n" \
    "    smmulr r5, r5, r9\n" \
    "    smmulr r6, r6, r10\n" \
    "    smmulr r7, r7, r11\n" \
    "    ldr r8, [r1], #4\n" \
    "    ldr r9, " off2p1 "\n" \
    "    add r4, r4, r4, asr #31\n" \
    "    add r5, r5, r5, asr #31\n" \
    "    add r6, r6, r6, asr #31\n" \
    "    add r7, r7, r7, asr #31\n" \
    "    asr r4, r4, r8\n" \
    "    lsr r8, r8, #8\n" \
    "    asr r5, r5, r8\n" \
    "    lsr r8, r8, #8\n" \
    "    asr r6, r6, r8\n" \
    "    lsr r8, r8, #8\n" \
    "    asr r7, r7, r8\n" \
    "    add r4, r4, r9\n" \
    "    add r5, r5, r9\n" \
    "    add r6, r6, r9\n" \
    "    add r7, r7, r9\n" \
    "    ssat r4, #8, r4, asr #1\n" \
    "    ssat r5, #8, r5, asr #1\n" \
    "    ssat r6, #8, r6, asr #1\n" \
    "    ssat r7, #8, r7, asr #1\n" \
    "    bfi r4, r5, #8, #8\n" \
    "    bfi r4, r6, #16, #8\n" \
    "    bfi r4, r7, #24, #8\n" \
    "    ldr r5, " clamp "\n" \
    "    cbz r5, 2f\n" \
    "    ldrd r8, r9, " minmax "\n" \
    "    ssub8 r10, r4, r8\n" \
    "    sel r4, r4, r8\n" \
    "    ssub8 r10, r9, r4\n" \
    "    sel r4, r4, r9\n"
#define TF_DW_TAP(off)                     \
    "    ldr r8, [r0, #" #off "]\n"        \
    "    ldr r8, [r8, lr]\n"               \
    "    sxtb16 r9, r8\n"                  \
    "    sxtb16 r8, r8, ror #8\n"          \
    "    ldrd r10, r11, [r1], #8\n"        \
    "    smlabb r4, r9, r10, r4\n"         \
    "    smlatt r6, r9, r10, r6\n"         \
    "    smlabb r5, r8, r11, r5\n"         \
    "    smlatt r7, r8, r11, r7\n"
__asm__("    .pushsection .text.tf_dw_s8_fast_taps9,\"ax\",%progbits\n"
        "    .thumb\n"
        "    .syntax unified\n"
        "    .p2align 2\n"
        "    .type tf_dw_s8_fast_taps9, %function\n"
        "    .thumb_func\n"
        "tf_dw_s8_fast_taps9:\n"
        "    push {r4-r11, lr}\n"
        "    mov lr, #0\n"
        "0:\n"
        "    ldr r1, [r3, #20]\n"
        "    ldr r12, [r3]\n"
        "1:\n"
        "    ldm r1!, {r4-r7}\n"
        TF_DW_TAP(0) TF_DW_TAP(4) TF_DW_TAP(8) TF_DW_TAP(12) TF_DW_TAP(16)
        TF_DW_TAP(20) TF_DW_TAP(24) TF_DW_TAP(28) TF_DW_TAP(32)
        TF_DW_REQUANT("[r3, #4]", "[r3, #16]", "[r3, #8]")
        "2:\n"
        "    str r4, [r2], #4\n"
        "    add lr, lr, #4\n"
        "    subs r12, r12, #1\n"
        "    bne 1b\n"
        "    ldrd r4, r5, [r3, #24]\n"
        "    add lr, lr, r5\n"
        "    subs r4, r4, #1\n"
        "    str r4, [r3, #24]\n"
        "    bne 0b\n"
        "    pop {r4-r11, pc}\n"
        "    .size tf_dw_s8_fast_taps9, . - tf_dw_s8_fast_taps9\n"
        "    .popsection\n");
/* tf_dw_s8_fast_taps9 for any other tap count n from 1 to 16 (3x1, 5x1, 10x1, 15x1, 2x3, ...):
 * sixteen tap blocks of exactly 36 bytes each (nine 32-bit instructions; the assembler checks the
 * size), entered at block 16 - n, whose tap loads are then at offsets 4 * (16 - n) and up from the
 * tap array moved down by as much. ctx is tf_dw_s8_fast_taps9's followed by [9] the entry
 * address (written here) and [10] n. */
void tf_dw_s8_fast_tapsn(const int8_t *const *tap, int32_t unused, int8_t *out, int32_t *ctx);
#define TF_DW_TAPW(off)                    \
    "    ldr.w r8, [r0, #" #off "]\n"      \
    "    ldr.w r8, [r8, lr]\n"             \
    "    sxtb16 r9, r8\n"                  \
    "    sxtb16 r8, r8, ror #8\n"          \
    "    ldrd r10, r11, [r1], #8\n"        \
    "    smlabb r4, r9, r10, r4\n"         \
    "    smlatt r6, r9, r10, r6\n"         \
    "    smlabb r5, r8, r11, r5\n"         \
    "    smlatt r7, r8, r11, r7\n"
__asm__("    .pushsection .text.tf_dw_s8_fast_tapsn,\"ax\",%progbits\n"
        "    .thumb\n"
        "    .syntax unified\n"
        "    .p2align 2\n"
        "    .type tf_dw_s8_fast_tapsn, %function\n"
        "    .thumb_func\n"
        "tf_dw_s8_fast_tapsn:\n"
        "    push {r4-r11, lr}\n"
        "    ldr r8, [r3, #40]\n"
        "    rsb r9, r8, #16\n"
        "    sub r0, r0, r9, lsl #2\n"
        "    adr.w r10, 3f\n"
        "    mov r11, #36\n"
        "    mla r10, r9, r11, r10\n"
        "    orr r10, r10, #1\n"
        "    str r10, [r3, #36]\n"
        "    mov lr, #0\n"
        "0:\n"
        "    ldr r1, [r3, #20]\n"
        "    ldr r12, [r3]\n"
        "1:\n"
        "    ldm r1!, {r4-r7}\n"
        "    ldr r9, [r3, #36]\n"
        "    bx r9\n"
        "3:\n"
        TF_DW_TAPW(0) TF_DW_TAPW(4) TF_DW_TAPW(8) TF_DW_TAPW(12) TF_DW_TAPW(16) TF_DW_TAPW(20)
        TF_DW_TAPW(24) TF_DW_TAPW(28) TF_DW_TAPW(32) TF_DW_TAPW(36) TF_DW_TAPW(40) TF_DW_TAPW(44)
        TF_DW_TAPW(48) TF_DW_TAPW(52) TF_DW_TAPW(56) TF_DW_TAPW(60)
        "4:\n"
        "    .if (4b - 3b) != 16 * 36\n"
        "    .error \"tf_dw_s8_fast_tapsn: tap blocks are not 36 bytes each\"\n"
        "    .endif\n"
        TF_DW_REQUANT("[r3, #4]", "[r3, #16]", "[r3, #8]")
        "2:\n"
        "    str r4, [r2], #4\n"
        "    add lr, lr, #4\n"
        "    subs r12, r12, #1\n"
        "    bne 1b\n"
        "    ldrd r4, r5, [r3, #24]\n"
        "    add lr, lr, r5\n"
        "    subs r4, r4, #1\n"
        "    str r4, [r3, #24]\n"
        "    bne 0b\n"
        "    pop {r4-r11, pc}\n"
        "    .size tf_dw_s8_fast_tapsn, . - tf_dw_s8_fast_tapsn\n"
        "    .popsection\n");
/* A run of interior output pixels of a 3x3 layer (k_h == 3 && k_w == 3, not merely 9 taps) in
 * TF_REQUANT_FAST mode: every tap is inside the image, so each of the three filter rows reads
 * three columns off one row pointer. The stream's tap order is row-major, which this routine
 * hard-codes as rows of three: a 9x1 filter would be read as three rows of three taps.
 * AAPCS: r0 = first tap of the first pixel, r1 = bytes between filter rows (dilation_h * in_w *
 * channels), r2 = output of the first pixel, r3 = ctx as for tf_dw_s8_fast_taps9 followed by the
 * bytes between filter columns (dilation_w * channels).
 * Registers: r0, r2, r3 the three row pointers, r12 the column step, r1 stream, r4-r7 accumulators,
 * lr output. Frame: [sp] end of this pixel's output, then ctx[0..7] (pixels counts down). */
void tf_dw_s8_fast_rows9(const int8_t *first, int32_t row_step, int8_t *out, const int32_t *ctx);
#define TF_DW_COL(load, t)                  \
    "    ldr r8, " load "\n"                \
    "    sxtb16 r9, r8\n"                   \
    "    sxtb16 r8, r8, ror #8\n"           \
    "    ldrd r10, r11, [r1, #" #t "]\n"    \
    "    smlabb r4, r9, r10, r4\n"          \
    "    smlatt r6, r9, r10, r6\n"          \
    "    smlabb r5, r8, r11, r5\n"          \
    "    smlatt r7, r8, r11, r7\n"
/* Columns 1 and 2, then column 0 with the row pointer stepping to the next channel group. */
#define TF_DW_ROW(p, t0, t1, t2) \
    TF_DW_COL("[" p ", r12]", t1) TF_DW_COL("[" p ", r12, lsl #1]", t2) TF_DW_COL("[" p "], #4", t0)
__asm__("    .pushsection .text.tf_dw_s8_fast_rows9,\"ax\",%progbits\n"
        "    .thumb\n"
        "    .syntax unified\n"
        "    .p2align 2\n"
        "    .type tf_dw_s8_fast_rows9, %function\n"
        "    .thumb_func\n"
        "tf_dw_s8_fast_rows9:\n"
        "    push {r4-r11, lr}\n"
        "    ldm r3, {r4-r12}\n"
        "    push {r4-r11}\n"
        "    sub sp, sp, #4\n"
        "    mov lr, r2\n"
        "    add r2, r0, r1\n"
        "    add r3, r2, r1\n"
        "    add r4, lr, r4, lsl #2\n"
        "    str r4, [sp]\n"
        "0:\n"
        "    ldr r1, [sp, #24]\n"
        "1:\n"
        "    ldm r1!, {r4-r7}\n"
        TF_DW_ROW("r0", 0, 8, 16) TF_DW_ROW("r2", 24, 32, 40) TF_DW_ROW("r3", 48, 56, 64)
        "    add r1, r1, #72\n"
        TF_DW_REQUANT("[sp, #8]", "[sp, #20]", "[sp, #12]")
        "2:\n"
        "    str r4, [lr], #4\n"
        "    ldr r8, [sp]\n"
        "    cmp lr, r8\n"
        "    bne 1b\n"
        "    ldr r9, [sp, #32]\n"
        "    add r0, r0, r9\n"
        "    add r2, r2, r9\n"
        "    add r3, r3, r9\n"
        "    ldr r9, [sp, #4]\n"
        "    add r8, r8, r9, lsl #2\n"
        "    str r8, [sp]\n"
        "    ldr r8, [sp, #28]\n"
        "    subs r8, r8, #1\n"
        "    str r8, [sp, #28]\n"
        "    bne 0b\n"
        "    add sp, sp, #36\n"
        "    pop {r4-r11, pc}\n"
        "    .size tf_dw_s8_fast_rows9, . - tf_dw_s8_fast_rows9\n"
        "    .popsection\n");
#else
#define TF_DW_FAST_ASM 0
#endif

/* When every depthwise layer of the model is 3x3 (k_h == 3 && k_w == 3, not just 9 taps) in
 * TF_REQUANT_FAST mode (the emitter then defines TF_DW_FAST_3X3_ONLY), a DSP core never takes the
 * generic pixel path: it is left out of the image. */
#if TF_DW_FAST_ASM && defined(TF_DW_FAST_3X3_ONLY)
#define TF_DW_FAST_GENERIC 0
#else
#define TF_DW_FAST_GENERIC 1
#endif

#if TF_DW_FAST_GENERIC
/* One output pixel, any tap count and requantization mode. */
static void tf_dw_s8_fast_pixel(const int8_t *const *tap, int taps, const int32_t *s, int8_t *out, int C, int mode, int32_t out_offset,
                                int32_t act_min, int32_t act_max) {
    const int32_t off2p1 = 2 * out_offset + 1;
    for (int c = 0; c < C; c += 4, s += 5, out += 4) {
        int32_t a0 = s[0], a1 = s[1], a2 = s[2], a3 = s[3];
        s += 4;
        for (int k = 0; k < taps; ++k, s += 2) {
#if TF_HAVE_DSP
            const uint32_t x = tf_read_u32(tap[k] + c);
            const int32_t x02 = tf_sxtb16(x), x13 = tf_sxtb16_ror8(x);
            a0 = tf_smlabb(x02, s[0], a0);
            a2 = tf_smlatt(x02, s[0], a2);
            a1 = tf_smlabb(x13, s[1], a1);
            a3 = tf_smlatt(x13, s[1], a3);
#else
            const int8_t *x = tap[k] + c;
            int16_t w[4];
            memcpy(w, s, sizeof w);
            a0 += x[0] * w[0];
            a2 += x[2] * w[1];
            a1 += x[1] * w[2];
            a3 += x[3] * w[3];
#endif
        }
        const int32_t acc[4] = {a0, a1, a2, a3};
        int8_t shift[4];
        memcpy(shift, s + 4, sizeof shift);
        for (int j = 0; j < 4; ++j) {
            const int32_t v = mode == TF_REQUANT_FAST ? tf_dw_fast_requant(acc[j], s[j], shift[j], off2p1)
                                                      : tf_requantize_mode(mode, acc[j], s[j], shift[j]) + out_offset;
            out[j] = tf_clamp_s8(v, act_min, act_max);
        }
    }
}
#endif

/* scratch: channels bytes of padding (rounded up to 8), k_h * k_w tap pointers (8-byte slots),
 * k_h * k_w int32 tap offsets. */
static void tf_depthwise_conv_s8_fast(const tf_depthwise_conv_s8_fast_params *p, const int8_t *input, int8_t *output, void *scratch) {
    const int C = p->channels;
    const int taps = p->k_h * p->k_w;
    const int mode = (int)p->requant;
    int8_t *pad_row = (int8_t *)scratch;
    const int8_t **tap = (const int8_t **)((uint8_t *)scratch + ((C + 7) & ~7));
    int32_t *tap_offset = (int32_t *)((uint8_t *)tap + 8 * taps);
    const int span_h = (p->k_h - 1) * p->dilation_h, span_w = (p->k_w - 1) * p->dilation_w;
    /* Output columns [x_lo, x_hi) read no padding on the left or right. */
    const int x_lo = (p->pad_left + p->stride_w - 1) / p->stride_w;
    const int x_last = p->in_w - 1 - span_w + p->pad_left;
    int x_hi = x_last < 0 ? 0 : x_last / p->stride_w + 1;
    if (x_hi > p->out_w) x_hi = p->out_w;
    if (x_hi < x_lo) x_hi = x_lo;
#if TF_DW_FAST_ASM
    /* Each routine is keyed on exactly the shape it handles (see the top of this file). Without
     * the generic path every layer is 3x3 in fast mode (TF_DW_FAST_3X3_ONLY), so both hold. */
    const int use_taps9 = !TF_DW_FAST_GENERIC || (mode == TF_REQUANT_FAST && taps == 9);
    const int use_rows9 = !TF_DW_FAST_GENERIC || (mode == TF_REQUANT_FAST && p->k_h == 3 && p->k_w == 3);
    const int use_tapsn = TF_DW_FAST_GENERIC && mode == TF_REQUANT_FAST && taps != 9 && taps <= 16;
    const uint32_t bytes = 0x01010101u;
    int32_t ctx[11] = {C / 4,
                      2 * p->output_offset + 1,
                      (int32_t)((uint32_t)(uint8_t)p->act_min * bytes),
                      (int32_t)((uint32_t)(uint8_t)p->act_max * bytes),
                      p->act_min > -128 || p->act_max < 127,
                      (int32_t)(uintptr_t)p->stream,
                      1,
                      (p->stride_w - 1) * C,
                      p->dilation_w * C,
                      0,
                      taps};
#endif
    memset(pad_row, (int8_t)p->pad_value, (size_t)C);
    for (int ky = 0, t = 0; ky < p->k_h; ++ky) {
        for (int kx = 0; kx < p->k_w; ++kx, ++t) tap_offset[t] = (ky * p->dilation_h * p->in_w + kx * p->dilation_w) * C;
    }
    for (int oy = 0; oy < p->out_h; ++oy) {
        const int y0 = oy * p->stride_h - p->pad_top;
        const int rows_inside = y0 >= 0 && y0 + span_h < p->in_h;
        int8_t *out = output + oy * p->out_w * C;
        for (int ox = 0; ox < p->out_w; out += C) {
            const int x0 = ox * p->stride_w - p->pad_left;
#if TF_DW_FAST_ASM
            int run = 1;
#endif
            if (rows_inside && ox >= x_lo && ox < x_hi) {
                /* Interior pixels: every tap is inside the image. */
                const int8_t *base = input + (y0 * p->in_w + x0) * C;
#if TF_DW_FAST_ASM
                if (use_rows9) {
                    run = x_hi - ox;
                    ctx[6] = run;
                    tf_dw_s8_fast_rows9(base, p->dilation_h * p->in_w * C, out, ctx);
                    ox += run;
                    out += (run - 1) * C;
                    continue;
                }
                /* Other 9-tap shapes: the whole interior run off tap pointers (taps9 steps them). */
                if (use_taps9 || use_tapsn) run = x_hi - ox;
#endif
                for (int t = 0; t < taps; ++t) tap[t] = base + tap_offset[t];
            } else {
                int t = 0;
                for (int ky = 0; ky < p->k_h; ++ky) {
                    const int iy = y0 + ky * p->dilation_h;
                    const int8_t *row = iy >= 0 && iy < p->in_h ? input + iy * p->in_w * C : NULL;
                    for (int kx = 0; kx < p->k_w; ++kx, ++t) {
                        const int ix = x0 + kx * p->dilation_w;
                        tap[t] = row && ix >= 0 && ix < p->in_w ? row + ix * C : pad_row;
                    }
                }
            }
#if TF_DW_FAST_ASM
            if (use_taps9 || use_tapsn) {
                ctx[6] = run;
                if (use_taps9) tf_dw_s8_fast_taps9(tap, 0, out, ctx);
                else tf_dw_s8_fast_tapsn(tap, 0, out, ctx);
                ox += run;
                out += (run - 1) * C;
                continue;
            }
#endif
#if TF_DW_FAST_GENERIC
            tf_dw_s8_fast_pixel(tap, taps, p->stream, out, C, mode, p->output_offset, p->act_min, p->act_max);
            ++ox;
#endif
        }
    }
}
