/* tinyforge: shared integer helpers of TFLite Micro's signal-library kernels (signal/src): bit
 * length and rounded integer square roots, with the library's results (its GCC build: the bit
 * length of 0 is 32, resp. 64). */
#ifndef TF_SIGNAL_H
#define TF_SIGNAL_H
#include "tf_quant.h"

static inline int32_t tf_signal_msb32(uint32_t x) {
#if defined(__GNUC__)
    return x ? 32 - __builtin_clz(x) : 32;
#else
    int32_t n = 0;
    if (!x) return 32;
    while (x) { x >>= 1; ++n; }
    return n;
#endif
}

static inline int32_t tf_signal_msb64(uint64_t x) {
    const uint32_t hi = (uint32_t)(x >> 32);
    if (hi) return 32 + tf_signal_msb32(hi);
    return x ? tf_signal_msb32((uint32_t)x) : 64;
}

/* Digit-by-digit square root, +1 when the remainder exceeds the root (Sqrt32). */
static inline uint16_t tf_signal_sqrt32(uint32_t num) {
    uint32_t res = 0;
    int32_t max_bit, iterations;
    uint32_t bit;
    if (num == 0) return 0;
    max_bit = (32 - tf_signal_msb32(num)) | 1;
    bit = (uint32_t)1 << (31 - max_bit);
    iterations = (31 - max_bit) / 2 + 1;
    while (iterations--) {
        if (num >= res + bit) {
            num -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    if (num > res && res != 0xFFFF) ++res;
    return (uint16_t)res;
}

/* Sqrt64: values below 2^32 take the 32-bit path, as in the library. */
static inline uint32_t tf_signal_sqrt64(uint64_t num) {
    uint64_t res = 0, bit;
    int32_t max_bit, iterations;
    if ((num >> 32) == 0) return tf_signal_sqrt32((uint32_t)num);
    max_bit = (64 - tf_signal_msb64(num)) | 1;
    bit = (uint64_t)1 << (63 - max_bit);
    iterations = (63 - max_bit) / 2 + 1;
    while (iterations--) {
        if (num >= res + bit) {
            num -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    if (num > res && res != 0xFFFFFFFFu) ++res;
    return (uint32_t)res;
}
#endif
