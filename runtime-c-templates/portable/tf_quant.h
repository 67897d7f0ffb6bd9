/* tinyforge: integer requantization helpers with TFLite's exact double-rounding semantics. */
#ifndef TF_QUANT_H
#define TF_QUANT_H

#include <stdint.h>
#include <string.h>

#define TF_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TF_MAX(a, b) ((a) > (b) ? (a) : (b))

/* (a * b * 2) >> 32 with rounding; saturates the single overflowing case. */
static inline int32_t tf_srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* x / 2^exponent rounded half away from zero (exponent 0..31). */
static inline int32_t tf_rounding_divide_by_pot(int32_t x, int exponent) {
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* Shift left by a non-negative amount with two's-complement wrap, as TFLite's int32 multiply does. */
static inline int32_t tf_shift_left(int32_t x, int shift) {
    return (int32_t)((uint32_t)x << shift);
}

static inline int32_t tf_requantize(int32_t x, int32_t multiplier, int32_t shift) {
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return tf_rounding_divide_by_pot(tf_srdhm(tf_shift_left(x, left), multiplier), right);
}

/* TFLite's MultiplyByQuantizedMultiplier for an int64 accumulator (int16x8 kernels): the
 * multiplier rounded to 16 bits, then a single rounding shift by 15 - shift. */
static inline int32_t tf_requantize_s64(int64_t x, int32_t multiplier, int32_t shift) {
    const int32_t reduced = multiplier < 0x7FFF0000 ? ((multiplier + (1 << 15)) >> 16) : 0x7FFF;
    const int total_shift = 15 - shift;
    const int64_t round = (int64_t)1 << (total_shift - 1);
    return (int32_t)((x * reduced + round) >> total_shift);
}

static inline int8_t tf_clamp_s8(int32_t x, int32_t lo, int32_t hi) {
    return (int8_t)(x < lo ? lo : (x > hi ? hi : x));
}

#endif /* TF_QUANT_H */
