/* tinyforge: the few SIMD operations the optimized kernels use. On cores with the Arm DSP
 * extension (Cortex-M4/M7/M33/M55) they are single instructions; elsewhere the kernels take
 * their portable branch, which computes the same integers. */
#ifndef TF_SIMD_H
#define TF_SIMD_H

#include <stdint.h>
#include <string.h>

#include "tf_quant.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define TF_HAVE_DSP 1
/* Two sign-extended bytes (0 and 2) as 16-bit lanes. */
static inline int32_t tf_sxtb16(uint32_t x) {
    int32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r;
}
/* Bytes 1 and 3 as 16-bit lanes. */
static inline int32_t tf_sxtb16_ror8(uint32_t x) {
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
/* acc + lo(a)*lo(b) + hi(a)*hi(b) */
static inline int32_t tf_smlad(int32_t a, int32_t b, int32_t acc) {
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
static inline int32_t tf_smlabb(int32_t a, int32_t b, int32_t acc) {
    int32_t r;
    __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
static inline int32_t tf_smlatt(int32_t a, int32_t b, int32_t acc) {
    int32_t r;
    __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
/* acc + (bytes 0 and 2 of x, sign-extended) per 16-bit lane. */
static inline int32_t tf_sxtab16(int32_t acc, uint32_t x) {
    int32_t r;
    __asm__("sxtab16 %0, %1, %2" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}
/* acc + (bytes 1 and 3 of x, sign-extended) per 16-bit lane. */
static inline int32_t tf_sxtab16_ror8(int32_t acc, uint32_t x) {
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}
/* Per signed byte lane max(a, b): SSUB8 sets a GE flag per lane where a - b >= 0, SEL picks. */
static inline uint32_t tf_max_s8x4(uint32_t a, uint32_t b) {
    uint32_t r, t;
    __asm__("ssub8 %1, %2, %3\n\tsel %0, %2, %3" : "=r"(r), "=&r"(t) : "r"(a), "r"(b) : "cc");
    return r;
}
/* Per signed byte lane min(a, b). */
static inline uint32_t tf_min_s8x4(uint32_t a, uint32_t b) {
    uint32_t r, t;
    __asm__("ssub8 %1, %2, %3\n\tsel %0, %3, %2" : "=r"(r), "=&r"(t) : "r"(a), "r"(b) : "cc");
    return r;
}
/* (a * b + 2^31) >> 32 */
static inline int32_t tf_smmulr(int32_t a, int32_t b) {
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
#else
#define TF_HAVE_DSP 0
#endif

static inline uint32_t tf_read_u32(const void *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* TFLite's requantization, for accumulators the compiler proved small enough:
 * |acc| * 2^(max(shift, 0) + 1) < 2^31. Then the saturating doubling high multiply is one
 * rounding high multiply, and the rounding divide by 2^-shift (half away from zero) is an add
 * and an arithmetic shift. Equal to tf_requantize() for every such input. */
static inline int32_t tf_requantize_small(int32_t acc, int32_t multiplier, int32_t shift) {
    const int left = shift > 0 ? shift + 1 : 1;
    const int right = shift > 0 ? 0 : -shift;
    const int32_t scaled = (int32_t)((uint32_t)acc << left);
#if TF_HAVE_DSP
    int32_t x = tf_smmulr(scaled, multiplier);
#else
    int32_t x = (int32_t)(((int64_t)scaled * multiplier + ((int64_t)1 << 31)) >> 32);
#endif
    if (right > 0) x = (x + (1 << (right - 1)) - (x < 0)) >> right;
    return x;
}

/* Requantization modes chosen per layer at compile time. */
#define TF_REQUANT_EXACT 0 /* tf_requantize: any accumulator */
#define TF_REQUANT_SMALL 1 /* tf_requantize_small: bounded accumulators */
#define TF_REQUANT_FAST 2  /* tf_requantize_fast: bounded accumulators and every shift <= -1 */

/* tf_requantize_small for shift = -right_shift with right_shift >= 1: the common case of
 * multipliers below one half. */
static inline int32_t tf_requantize_fast(int32_t acc, int32_t multiplier, int32_t right_shift) {
    const int32_t scaled = (int32_t)((uint32_t)acc << 1);
#if TF_HAVE_DSP
    const int32_t x = tf_smmulr(scaled, multiplier);
#else
    const int32_t x = (int32_t)(((int64_t)scaled * multiplier + ((int64_t)1 << 31)) >> 32);
#endif
    return (x + (1 << (right_shift - 1)) - (int32_t)((uint32_t)x >> 31)) >> right_shift;
}

static inline int32_t tf_requantize_mode(int mode, int32_t acc, int32_t multiplier, int32_t shift) {
    if (mode == TF_REQUANT_FAST) return tf_requantize_fast(acc, multiplier, -shift);
    if (mode == TF_REQUANT_SMALL) return tf_requantize_small(acc, multiplier, shift);
    return tf_requantize(acc, multiplier, shift);
}

#if TF_HAVE_DSP
/* tf_requantize_fast plus the output offset, saturated to int8 (SSAT). */
static inline int32_t tf_requantize_fast_ssat8(int32_t acc, int32_t multiplier, int32_t shift, int32_t out_offset) {
    int32_t x = tf_smmulr((int32_t)((uint32_t)acc << 1), multiplier);
    x += x >> 31;
    x = ((x >> (-shift - 1)) + 1) >> 1;
    int32_t r;
    __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(x + out_offset));
    return r;
}
#endif

/* Requantizes n per-channel accumulators to int8 in one tight loop. */
static inline void tf_requantize_row_s8(const int32_t *acc, int32_t n, const int32_t *multiplier, const int8_t *shift,
                                        int8_t *out, int32_t out_offset, int32_t act_min, int32_t act_max, int mode) {
#if TF_HAVE_DSP
    /* Fast mode four channels at a time: tf_requantize_fast with the rounding divide written as
     * ((x - (x < 0)) >> (rs - 1)) + 1) >> 1, the offset added, each saturated to int8 (SSAT), and
     * the four bytes clamped to the activation range with SSUB8/SEL and stored as one word. */
    if (mode == TF_REQUANT_FAST) {
        const uint32_t lo4 = 0x01010101u * (uint8_t)act_min, hi4 = 0x01010101u * (uint8_t)act_max;
        for (; n >= 4; n -= 4, acc += 4, multiplier += 4, shift += 4, out += 4) {
            uint32_t packed = (uint32_t)tf_requantize_fast_ssat8(acc[0], multiplier[0], shift[0], out_offset) & 0xffu;
            packed |= ((uint32_t)tf_requantize_fast_ssat8(acc[1], multiplier[1], shift[1], out_offset) & 0xffu) << 8;
            packed |= ((uint32_t)tf_requantize_fast_ssat8(acc[2], multiplier[2], shift[2], out_offset) & 0xffu) << 16;
            packed |= (uint32_t)tf_requantize_fast_ssat8(acc[3], multiplier[3], shift[3], out_offset) << 24;
            packed = tf_min_s8x4(tf_max_s8x4(packed, lo4), hi4);
            memcpy(out, &packed, 4);
        }
    }
#endif
    if (mode == TF_REQUANT_FAST) {
        for (int32_t i = 0; i < n; ++i) {
            out[i] = tf_clamp_s8(tf_requantize_fast(acc[i], multiplier[i], -shift[i]) + out_offset, act_min, act_max);
        }
    } else {
        for (int32_t i = 0; i < n; ++i) {
            out[i] = tf_clamp_s8(tf_requantize_mode(mode, acc[i], multiplier[i], shift[i]) + out_offset, act_min, act_max);
        }
    }
}

#endif /* TF_SIMD_H */
