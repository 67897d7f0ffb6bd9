/* tinyforge: the building blocks of the kernels with Helium (M-profile Vector Extension) data
 * layouts. On a core with MVE (Cortex-M55, -mcpu=cortex-m55) they are vector code; elsewhere the
 * portable branch computes the same integers from the same layouts, so host builds test the
 * layouts and the emulated M55 tests the vector code.
 *
 * Layouts (prepared at compile time by compiler/passes/select_kernels.ts):
 *   GEMM filters: groups of 4 rows, each row zero-padded to k16 (a multiple of 16), interleaved
 *     in 16-byte steps: [groups][k16 / 16][4][16]. One VMLADAVA per row and step.
 *   Requantization tables: int32 multiplier[], int32 right[] = min(shift, 0), and int32 left[] =
 *     max(shift, 0) only when some shift is positive (NULL otherwise), padded to a multiple of 4.
 */
#ifndef TF_MVE_H
#define TF_MVE_H

#include <stdint.h>
#include <string.h>

#include "tf_quant.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define TF_HAVE_MVE 1
#include <arm_mve.h>
#else
#define TF_HAVE_MVE 0
#endif

#if TF_HAVE_MVE
/* TFLite's MultiplyByQuantizedMultiplier on four lanes, for any accumulator:
 *   VQRDMULH is gemmlowp's SaturatingRoundingDoublingHighMul exactly: floor((2ab + 2^31) / 2^32)
 *   equals TFLite's (ab + nudge) / 2^31 truncated for either sign of ab, and both saturate only
 *   for INT32_MIN * INT32_MIN;
 *   VRSHL by -e rounds half up, RoundingDivideByPOT rounds half away from zero: for negative x
 *   (and e > 0) subtract 1 first, which moves exact negative halves down and nothing else.
 *   x & right has its sign bit set exactly when x < 0 and e > 0; the saturating add keeps
 *   INT32_MIN, whose quotient is exact anyway. */
static inline int32x4_t tf_mve_requantize(int32x4_t acc, int32x4_t multiplier, int32x4_t right) {
    int32x4_t x = vqrdmulhq_s32(acc, multiplier);
    x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, right), 31));
    return vrshlq_s32(x, right);
}
#endif

/* The output offset is added in wrapping int32 arithmetic on both paths, as TFLite's int32
 * `acc += output_offset` behaves on every compiler (it matters only for requantized values
 * within 255 of the int32 limits). */
static inline int32_t tf_add_wrap(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* out[i] = clamp(requantize(acc[i], multiplier[i], left[i] + right[i]) + out_offset) for i < n.
 * acc and the tables hold at least n rounded up to 4 entries. */
static inline void tf_mve_requantize_row(const int32_t *acc, int32_t n, const int32_t *multiplier, const int32_t *left,
                                         const int32_t *right, int8_t *out, int32_t out_offset, int32_t act_min,
                                         int32_t act_max) {
#if TF_HAVE_MVE
    const int32x4_t lo = vdupq_n_s32(act_min), hi = vdupq_n_s32(act_max);
    int32_t i = 0;
    if (left) {
        for (; i + 4 <= n; i += 4) {
            const int32x4_t a = vshlq_s32(vldrwq_s32(acc + i), vldrwq_s32(left + i));
            const int32x4_t q = tf_mve_requantize(a, vldrwq_s32(multiplier + i), vldrwq_s32(right + i));
            vstrbq_s32(out + i, vminq_s32(vmaxq_s32(vaddq_n_s32(q, out_offset), lo), hi));
        }
    } else {
        for (; i + 4 <= n; i += 4) {
            const int32x4_t q = tf_mve_requantize(vldrwq_s32(acc + i), vldrwq_s32(multiplier + i), vldrwq_s32(right + i));
            vstrbq_s32(out + i, vminq_s32(vmaxq_s32(vaddq_n_s32(q, out_offset), lo), hi));
        }
    }
    if (i < n) {
        const mve_pred16_t p = vctp32q((uint32_t)(n - i));
        int32x4_t a = vldrwq_s32(acc + i);
        if (left) a = vshlq_s32(a, vldrwq_s32(left + i));
        const int32x4_t q = tf_mve_requantize(a, vldrwq_s32(multiplier + i), vldrwq_s32(right + i));
        vstrbq_p_s32(out + i, vminq_s32(vmaxq_s32(vaddq_n_s32(q, out_offset), lo), hi), p);
    }
#else
    for (int32_t i = 0; i < n; ++i) {
        const int32_t shift = (left ? left[i] : 0) + right[i];
        out[i] = tf_clamp_s8(tf_add_wrap(tf_requantize(acc[i], multiplier[i], shift), out_offset), act_min, act_max);
    }
#endif
}

/* The same with one multiplier and shift for every channel (fully connected). */
static inline void tf_mve_requantize_row_tensor(const int32_t *acc, int32_t n, int32_t multiplier, int32_t shift, int8_t *out,
                                                int32_t out_offset, int32_t act_min, int32_t act_max) {
#if TF_HAVE_MVE
    const int32x4_t lo = vdupq_n_s32(act_min), hi = vdupq_n_s32(act_max);
    const int32x4_t m = vdupq_n_s32(multiplier), right = vdupq_n_s32(shift < 0 ? shift : 0);
    const int32_t left = shift > 0 ? shift : 0;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const int32x4_t q = tf_mve_requantize(vshlq_r_s32(vldrwq_s32(acc + i), left), m, right);
        vstrbq_s32(out + i, vminq_s32(vmaxq_s32(vaddq_n_s32(q, out_offset), lo), hi));
    }
    if (i < n) {
        const mve_pred16_t p = vctp32q((uint32_t)(n - i));
        const int32x4_t q = tf_mve_requantize(vshlq_r_s32(vldrwq_s32(acc + i), left), m, right);
        vstrbq_p_s32(out + i, vminq_s32(vmaxq_s32(vaddq_n_s32(q, out_offset), lo), hi), p);
    }
#else
    for (int32_t i = 0; i < n; ++i) out[i] = tf_clamp_s8(tf_add_wrap(tf_requantize(acc[i], multiplier, shift), out_offset), act_min, act_max);
#endif
}

/* Copies n bytes (n >= 0); on MVE 16 at a time, the last step predicated so nothing past src + n is read. */
static inline void tf_mve_copy(int8_t *dst, const int8_t *src, int32_t n) {
#if TF_HAVE_MVE
    for (; n > 16; n -= 16, dst += 16, src += 16) vstrbq_s8(dst, vldrbq_s8(src));
    if (n > 0) {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
    }
#else
    for (int32_t i = 0; i < n; ++i) dst[i] = src[i];
#endif
}

/* dst[0..n) = src[0..n), dst[n..total) = 0. */
static inline void tf_mve_copy_padded(int8_t *dst, const int8_t *src, int32_t n, int32_t total) {
#if TF_HAVE_MVE
    for (int32_t i = 0; i < total; i += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(n > i ? n - i : 0));
        vstrbq_s8(dst + i, vldrbq_z_s8(src + i, p));
    }
#else
    for (int32_t i = 0; i < total; ++i) dst[i] = i < n ? src[i] : 0;
#endif
}

static inline void tf_mve_fill(int8_t *dst, int8_t value, int32_t n) {
#if TF_HAVE_MVE
    const int8x16_t v = vdupq_n_s8(value);
    for (; n > 16; n -= 16, dst += 16) vstrbq_s8(dst, v);
    if (n > 0) vstrbq_p_s8(dst, v, vctp8q((uint32_t)n));
#else
    for (int32_t i = 0; i < n; ++i) dst[i] = value;
#endif
}

/* A GEMM whose two input rows are each `nseg` segments of 16 * seg_steps bytes anywhere in
 * memory (the rows of a receptive field inside the image, a row of padding, a gathered row). */
typedef struct {
    const int8_t *const *segs; /* [nseg][2]: segment s of row 0, of row 1 */
    int32_t nseg, seg_steps;
    const int8_t *filter; /* [groups][nseg * seg_steps][4][16] */
    int32_t groups;
    const int32_t *bias; /* [4 * groups] */
    int32_t *acc;        /* [2][4 * groups]: row 0, then row 1 */
} tf_mve_seg_gemm;

#if TF_HAVE_MVE && defined(__thumb2__)
/* acc0[4g..4g+3] = bias[4g..] + x0 . rows 4g..4g+3 and acc1[...] likewise for x1, for each of
 * `groups` row groups, over `steps` 16-byte steps. AAPCS: r0 = x0, r1 = x1, r2 = filter,
 * r3 = steps (>= 1), [sp] = groups (>= 1), [sp + 4] = bias, [sp + 8] = acc0 (acc1 = acc0 + 4 * groups).
 * Eight accumulators need eight even registers (r0-r12 and lr), so the step loop counts in r7. */
void tf_mve_gemm_4x2(const int8_t *x0, const int8_t *x1, const int8_t *filter, int32_t steps, int32_t groups,
                     const int32_t *bias, int32_t *acc);
__asm__(
    "    .section .text.tf_mve_gemm_4x2,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .syntax unified\n"
    "    .p2align 2\n"
    "    .type tf_mve_gemm_4x2, %function\n"
    "tf_mve_gemm_4x2:\n"
    "    push {r4-r11, lr}\n"
    "    sub sp, sp, #20\n"
    "    ldr r4, [sp, #56]\n"        /* groups */
    "    ldr r6, [sp, #60]\n"        /* bias */
    "    ldr r9, [sp, #64]\n"        /* acc0 */
    "    add r11, r9, r4, lsl #4\n"  /* acc1 */
    "    strd r0, r1, [sp, #0]\n"    /* x0, x1 */
    "    str r3, [sp, #8]\n"         /* steps */
    "    strd r6, r4, [sp, #12]\n"   /* bias, groups left */
    "    mov r5, r2\n"               /* filter, advances through every group */
    "1:\n"
    "    ldr r1, [sp, #12]\n"
    "    ldm r1, {r8, r10, r12, lr}\n"
    "    ldm r1!, {r0, r2, r4, r6}\n"
    "    str r1, [sp, #12]\n"
    "    ldrd r1, r3, [sp, #0]\n"
    "    ldr r7, [sp, #8]\n"
    "2:\n"
    "    vldrb.8 q0, [r1], #16\n"
    "    vldrb.8 q1, [r3], #16\n"
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
    "    subs r7, r7, #1\n"
    "    bne 2b\n"
    "    stm r9!, {r0, r2, r4, r6}\n"
    "    stm r11!, {r8, r10, r12, lr}\n"
    "    ldr r1, [sp, #16]\n"
    "    subs r1, r1, #1\n"
    "    str r1, [sp, #16]\n"
    "    bne 1b\n"
    "    add sp, sp, #20\n"
    "    pop {r4-r11, pc}\n"
    "    .size tf_mve_gemm_4x2, . - tf_mve_gemm_4x2\n"
    "    .text\n");

/* tf_mve_gemm_4x2 over segmented rows. AAPCS: r0 = the descriptor. */
void tf_mve_gemm_4x2_seg(const tf_mve_seg_gemm *g);
__asm__(
    "    .section .text.tf_mve_gemm_4x2_seg,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .syntax unified\n"
    "    .p2align 2\n"
    "    .type tf_mve_gemm_4x2_seg, %function\n"
    "tf_mve_gemm_4x2_seg:\n"
    "    push {r4-r11, lr}\n"
    "    sub sp, sp, #28\n"
    "    ldm r0, {r1-r7}\n"         /* segs, nseg, seg_steps, filter, groups, bias, acc */
    "    strd r1, r2, [sp, #0]\n"
    "    str r3, [sp, #8]\n"
    "    str r6, [sp, #12]\n"
    "    str r7, [sp, #16]\n"       /* acc0 */
    "    add r7, r7, r5, lsl #4\n"
    "    str r7, [sp, #20]\n"       /* acc1 */
    "    str r5, [sp, #24]\n"       /* groups left */
    "    mov r5, r4\n"              /* filter */
    "1:\n"
    "    ldr r1, [sp, #12]\n"
    "    ldm r1, {r8, r10, r12, lr}\n"
    "    ldm r1!, {r0, r2, r4, r6}\n"
    "    str r1, [sp, #12]\n"
    "    ldrd r9, r11, [sp, #0]\n"
    "2:\n"
    "    ldrd r1, r3, [r9], #8\n"
    "    ldr r7, [sp, #8]\n"
    "3:\n"
    "    vldrb.8 q0, [r1], #16\n"
    "    vldrb.8 q1, [r3], #16\n"
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
    "    subs r7, r7, #1\n"
    "    bne 3b\n"
    "    subs r11, r11, #1\n"
    "    bne 2b\n"
    "    ldr r9, [sp, #16]\n"
    "    stm r9!, {r0, r2, r4, r6}\n"
    "    str r9, [sp, #16]\n"
    "    ldr r9, [sp, #20]\n"
    "    stm r9!, {r8, r10, r12, lr}\n"
    "    str r9, [sp, #20]\n"
    "    ldr r9, [sp, #24]\n"
    "    subs r9, r9, #1\n"
    "    str r9, [sp, #24]\n"
    "    bne 1b\n"
    "    add sp, sp, #28\n"
    "    pop {r4-r11, pc}\n"
    "    .size tf_mve_gemm_4x2_seg, . - tf_mve_gemm_4x2_seg\n"
    "    .text\n");

/* acc[4g..4g+3] = bias[4g..] + x . rows 4g..4g+3 for each of `groups` row groups, over `steps`
 * 16-byte steps. AAPCS: r0 = x, r1 = filter, r2 = steps (>= 1), r3 = groups (>= 1), [sp] = bias,
 * [sp + 4] = acc. A low-overhead loop (lr) over the steps. */
void tf_mve_gemm_4x1(const int8_t *x, const int8_t *filter, int32_t steps, int32_t groups, const int32_t *bias, int32_t *acc);
__asm__(
    "    .section .text.tf_mve_gemm_4x1,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .syntax unified\n"
    "    .p2align 2\n"
    "    .type tf_mve_gemm_4x1, %function\n"
    "tf_mve_gemm_4x1:\n"
    "    push {r4-r9, lr}\n"
    "    ldr r8, [sp, #28]\n"        /* bias */
    "    ldr r9, [sp, #32]\n"        /* acc */
    "    mov r12, r2\n"              /* steps */
    "    mov r5, r0\n"               /* x */
    "1:\n"
    "    ldm r8!, {r0, r2, r4, r6}\n"
    "    mov r7, r5\n"
    "    dls lr, r12\n"
    "2:\n"
    "    vldrb.8 q0, [r7], #16\n"
    "    vldrb.8 q1, [r1], #16\n"
    "    vmladava.s8 r0, q0, q1\n"
    "    vldrb.8 q2, [r1], #16\n"
    "    vmladava.s8 r2, q0, q2\n"
    "    vldrb.8 q1, [r1], #16\n"
    "    vmladava.s8 r4, q0, q1\n"
    "    vldrb.8 q2, [r1], #16\n"
    "    vmladava.s8 r6, q0, q2\n"
    "    le lr, 2b\n"
    "    stm r9!, {r0, r2, r4, r6}\n"
    "    subs r3, r3, #1\n"
    "    bne 1b\n"
    "    pop {r4-r9, pc}\n"
    "    .size tf_mve_gemm_4x1, . - tf_mve_gemm_4x1\n"
    "    .text\n");
#else
static inline void tf_mve_gemm_4x2(const int8_t *x0, const int8_t *x1, const int8_t *filter, int32_t steps, int32_t groups,
                                   const int32_t *bias, int32_t *acc) {
    int32_t *acc1 = acc + 4 * groups;
    for (int32_t g = 0; g < groups; ++g) {
        int32_t a0[4], a1[4];
        for (int r = 0; r < 4; ++r) a0[r] = a1[r] = bias[4 * g + r];
        for (int32_t s = 0; s < steps; ++s, filter += 64) {
            for (int r = 0; r < 4; ++r) {
                for (int j = 0; j < 16; ++j) {
                    a0[r] += x0[16 * s + j] * filter[16 * r + j];
                    a1[r] += x1[16 * s + j] * filter[16 * r + j];
                }
            }
        }
        memcpy(acc + 4 * g, a0, sizeof a0);
        memcpy(acc1 + 4 * g, a1, sizeof a1);
    }
}

static inline void tf_mve_gemm_4x2_seg(const tf_mve_seg_gemm *g) {
    const int8_t *filter = g->filter;
    int32_t *acc1 = g->acc + 4 * g->groups;
    for (int32_t grp = 0; grp < g->groups; ++grp) {
        int32_t a0[4], a1[4];
        for (int r = 0; r < 4; ++r) a0[r] = a1[r] = g->bias[4 * grp + r];
        for (int32_t s = 0; s < g->nseg; ++s) {
            const int8_t *x0 = g->segs[2 * s], *x1 = g->segs[2 * s + 1];
            for (int32_t k = 0; k < g->seg_steps; ++k, filter += 64) {
                for (int r = 0; r < 4; ++r) {
                    for (int j = 0; j < 16; ++j) {
                        a0[r] += x0[16 * k + j] * filter[16 * r + j];
                        a1[r] += x1[16 * k + j] * filter[16 * r + j];
                    }
                }
            }
        }
        memcpy(g->acc + 4 * grp, a0, sizeof a0);
        memcpy(acc1 + 4 * grp, a1, sizeof a1);
    }
}

static inline void tf_mve_gemm_4x1(const int8_t *x, const int8_t *filter, int32_t steps, int32_t groups, const int32_t *bias, int32_t *acc) {
    for (int32_t g = 0; g < groups; ++g) {
        int32_t a[4];
        for (int r = 0; r < 4; ++r) a[r] = bias[4 * g + r];
        for (int32_t s = 0; s < steps; ++s, filter += 64) {
            for (int r = 0; r < 4; ++r) {
                for (int j = 0; j < 16; ++j) a[r] += x[16 * s + j] * filter[16 * r + j];
            }
        }
        memcpy(acc + 4 * g, a, sizeof a);
    }
}
#endif

#endif /* TF_MVE_H */
