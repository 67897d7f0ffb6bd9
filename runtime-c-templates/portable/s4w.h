/* tinyforge: int4 weights kept packed in flash (TFLite's INT4: two values per byte, element e in
 * the low nibble of byte e / 2 when e is even, the high nibble when odd), and the grouped layout of
 * the DSP paths: per 8 weights e0..e7 the bytes (e0 | e1 << 4), (e4 | e5 << 4), (e2 | e3 << 4),
 * (e6 | e7 << 4), whose nibbles line up with the SXTB16 input lanes (x0, x2), (x4, x6), (x1, x3),
 * (x5, x7). Values are the ones TFLite Micro's UnpackDenseInt4IntoInt8 gives. */
#ifndef TF_S4W_H
#define TF_S4W_H

#include "tf_simd.h"

/* Sign-extends a nibble without shifting a negative value: (n ^ 8) - 8 maps 8..15 to -8..-1. */
#define TF_S4_LO(byte) ((int32_t)(((byte) & 0x0F) ^ 0x08) - 8)
#define TF_S4_HI(byte) ((int32_t)(((byte) >> 4) ^ 0x08) - 8)

/* acc + sum of w[first + d] * (in[d] + offset) for d < n, in TFLite's order. */
static inline int32_t tf_s4w_dot_flat(const uint8_t *filter, int32_t first, int32_t n, const int8_t *in, int32_t offset, int32_t acc) {
    const uint8_t *w = filter + (first >> 1);
    int32_t d = 0;
    if (first & 1) { /* starts in a high nibble */
        acc += TF_S4_HI(*w) * (in[0] + offset);
        ++w;
        d = 1;
    }
    for (; d + 1 < n; d += 2, ++w) {
        const uint32_t byte = *w;
        acc += TF_S4_LO(byte) * (in[d] + offset) + TF_S4_HI(byte) * (in[d + 1] + offset);
    }
    if (d < n) acc += TF_S4_LO(*w) * (in[d] + offset); /* ends in a low nibble */
    return acc;
}

/* The same over n / 8 words of the grouped layout (n a multiple of 8). */
static inline int32_t tf_s4w_dot_grouped(const uint8_t *w, int32_t n, const int8_t *in, int32_t offset, int32_t acc) {
#if TF_HAVE_DSP
    /* Flipping bit 3 of every nibble maps n to n ^ 8 in 0..15; SXTAB16 onto lanes holding -8
     * subtracts 8 per 16-bit lane (no carry between lanes). The input offset is added the same way:
     * x + offset stays within int16 for int8 x and |offset| <= 256. */
    const int32_t minus8 = (int32_t)0xFFF8FFF8u;
    const int32_t offsets = (int32_t)(((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16));
    for (int32_t d = 0; d < n; d += 8, w += 4, in += 8) {
        const uint32_t flipped = tf_read_u32(w) ^ 0x88888888u;
        const uint32_t lo = flipped & 0x0F0F0F0Fu;
        const uint32_t hi = (flipped >> 4) & 0x0F0F0F0Fu;
        const uint32_t xa = tf_read_u32(in);
        const uint32_t xb = tf_read_u32(in + 4);
        acc = tf_smlad(tf_sxtab16(minus8, lo), tf_sxtab16(offsets, xa), acc);
        acc = tf_smlad(tf_sxtab16_ror8(minus8, lo), tf_sxtab16(offsets, xb), acc);
        acc = tf_smlad(tf_sxtab16(minus8, hi), tf_sxtab16_ror8(offsets, xa), acc);
        acc = tf_smlad(tf_sxtab16_ror8(minus8, hi), tf_sxtab16_ror8(offsets, xb), acc);
    }
#else
    for (int32_t d = 0; d < n; d += 8, w += 4, in += 8) {
        const uint32_t b0 = w[0], b1 = w[1], b2 = w[2], b3 = w[3];
        acc += TF_S4_LO(b0) * (in[0] + offset) + TF_S4_HI(b0) * (in[1] + offset) + TF_S4_LO(b2) * (in[2] + offset) + TF_S4_HI(b2) * (in[3] + offset);
        acc += TF_S4_LO(b1) * (in[4] + offset) + TF_S4_HI(b1) * (in[5] + offset) + TF_S4_LO(b3) * (in[6] + offset) + TF_S4_HI(b3) * (in[7] + offset);
    }
#endif
    return acc;
}

#endif /* TF_S4W_H */
