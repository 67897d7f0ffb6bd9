/* tinyforge kernel: int8 fully connected with int4 weights kept packed in flash (two per byte),
 * per-tensor requantization. The weights are the values TFLite Micro unpacks with
 * UnpackDenseInt4IntoInt8 and the sums are the same integers as
 * reference_integer_ops::FullyConnected's, so outputs are bit-exact with the unpacked kernels; the
 * filter takes half the flash of an int8 one. Preconditions (select_kernels.ts): filter offset 0
 * and the input offset folded into the bias at compile time (bias[o] + input_offset * sum_d w[o][d],
 * which the compiler checked cannot overflow int32).
 *
 * Two layouts of the [out_depth][accum_depth] weights:
 * - grouped == 0 (any depth): TFLite's INT4 order over the flattened tensor, element e in the low
 *   nibble of byte e / 2 when e is even, the high nibble when odd; rows may start mid-byte.
 * - grouped == 1 (depth a multiple of 8): each row's 8 weights e0..e7 per 4-byte word as the bytes
 *   (e0 | e1 << 4), (e4 | e5 << 4), (e2 | e3 << 4), (e6 | e7 << 4), so that on DSP cores the low
 *   nibbles of bytes 0/2 and 1/3 and the high nibbles of bytes 0/2 and 1/3 line up with the SXTB16
 *   lanes of the inputs (x0, x2), (x4, x6), (x1, x3), (x5, x7) for SMLAD. */
#include "s4w.h"

typedef struct {
    int32_t batches, accum_depth, out_depth;
    int32_t output_offset, multiplier, shift, act_min, act_max;
    int32_t grouped;
    const uint8_t *filter; /* out_depth * accum_depth int4 values, laid out as above */
    const int32_t *bias;   /* [out_depth], the input offset folded in */
} tf_fully_connected_s8_s4w_params;

/* One row in TFLite's order starting at element `first` of the tensor. */
static int32_t tf_s4w_row_flat(const uint8_t *filter, int32_t first, int32_t depth, const int8_t *in, int32_t acc) {
    const uint8_t *w = filter + (first >> 1);
    int32_t d = 0;
    if (first & 1) { /* the row starts in a high nibble */
        acc += TF_S4_HI(*w) * in[0];
        ++w;
        d = 1;
    }
    for (; d + 1 < depth; d += 2, ++w) {
        const uint32_t byte = *w;
        acc += TF_S4_LO(byte) * in[d] + TF_S4_HI(byte) * in[d + 1];
    }
    if (d < depth) acc += TF_S4_LO(*w) * in[d]; /* the row ends in a low nibble */
    return acc;
}

/* One row of the grouped layout: depth / 8 words. */
static int32_t tf_s4w_row_grouped(const uint8_t *w, int32_t depth, const int8_t *in, int32_t acc) {
#if TF_HAVE_DSP
    /* Flipping bit 3 of every nibble maps n to n ^ 8 in 0..15; SXTAB16 onto lanes holding -8 then
     * subtracts 8 per 16-bit lane: the nibble sign-extended, with no carry between lanes. */
    const int32_t minus8 = (int32_t)0xFFF8FFF8u;
    for (int32_t d = 0; d < depth; d += 8, w += 4, in += 8) {
        const uint32_t flipped = tf_read_u32(w) ^ 0x88888888u;
        const uint32_t lo = flipped & 0x0F0F0F0Fu;
        const uint32_t hi = (flipped >> 4) & 0x0F0F0F0Fu;
        const uint32_t xa = tf_read_u32(in);
        const uint32_t xb = tf_read_u32(in + 4);
        acc = tf_smlad(tf_sxtab16(minus8, lo), tf_sxtb16(xa), acc);             /* e0 x0 + e2 x2 */
        acc = tf_smlad(tf_sxtab16_ror8(minus8, lo), tf_sxtb16(xb), acc);        /* e4 x4 + e6 x6 */
        acc = tf_smlad(tf_sxtab16(minus8, hi), tf_sxtb16_ror8(xa), acc);        /* e1 x1 + e3 x3 */
        acc = tf_smlad(tf_sxtab16_ror8(minus8, hi), tf_sxtb16_ror8(xb), acc);   /* e5 x5 + e7 x7 */
    }
#else
    for (int32_t d = 0; d < depth; d += 8, w += 4, in += 8) {
        const uint32_t b0 = w[0], b1 = w[1], b2 = w[2], b3 = w[3];
        acc += TF_S4_LO(b0) * in[0] + TF_S4_HI(b0) * in[1] + TF_S4_LO(b2) * in[2] + TF_S4_HI(b2) * in[3];
        acc += TF_S4_LO(b1) * in[4] + TF_S4_HI(b1) * in[5] + TF_S4_LO(b3) * in[6] + TF_S4_HI(b3) * in[7];
    }
#endif
    return acc;
}

#if TF_HAVE_DSP
/* Two rows of the grouped layout at once, sharing each input word's SXTB16 lanes. */
static void tf_s4w_rows2_grouped(const uint8_t *w0, const uint8_t *w1, int32_t depth, const int8_t *in, int32_t *acc0, int32_t *acc1) {
    const int32_t minus8 = (int32_t)0xFFF8FFF8u;
    int32_t a0 = *acc0, a1 = *acc1;
    for (int32_t d = 0; d < depth; d += 8, w0 += 4, w1 += 4, in += 8) {
        const uint32_t xa = tf_read_u32(in);
        const uint32_t xb = tf_read_u32(in + 4);
        const int32_t x02 = tf_sxtb16(xa), x46 = tf_sxtb16(xb), x13 = tf_sxtb16_ror8(xa), x57 = tf_sxtb16_ror8(xb);
        const uint32_t f0 = tf_read_u32(w0) ^ 0x88888888u;
        const uint32_t lo0 = f0 & 0x0F0F0F0Fu, hi0 = (f0 >> 4) & 0x0F0F0F0Fu;
        a0 = tf_smlad(tf_sxtab16(minus8, lo0), x02, a0);
        a0 = tf_smlad(tf_sxtab16_ror8(minus8, lo0), x46, a0);
        a0 = tf_smlad(tf_sxtab16(minus8, hi0), x13, a0);
        a0 = tf_smlad(tf_sxtab16_ror8(minus8, hi0), x57, a0);
        const uint32_t f1 = tf_read_u32(w1) ^ 0x88888888u;
        const uint32_t lo1 = f1 & 0x0F0F0F0Fu, hi1 = (f1 >> 4) & 0x0F0F0F0Fu;
        a1 = tf_smlad(tf_sxtab16(minus8, lo1), x02, a1);
        a1 = tf_smlad(tf_sxtab16_ror8(minus8, lo1), x46, a1);
        a1 = tf_smlad(tf_sxtab16(minus8, hi1), x13, a1);
        a1 = tf_smlad(tf_sxtab16_ror8(minus8, hi1), x57, a1);
    }
    *acc0 = a0;
    *acc1 = a1;
}
#endif

static int8_t tf_s4w_output(const tf_fully_connected_s8_s4w_params *p, int32_t acc) {
    acc = tf_requantize(acc, p->multiplier, p->shift) + p->output_offset;
    return tf_clamp_s8(acc, p->act_min, p->act_max);
}

static void tf_fully_connected_s8_s4w(const tf_fully_connected_s8_s4w_params *p, const int8_t *input, int8_t *output) {
    const int32_t depth = p->accum_depth;
    const int32_t row_bytes = depth >> 1; /* grouped rows only: depth is a multiple of 8 */
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        int8_t *out = output + b * p->out_depth;
        if (!p->grouped) {
            for (int32_t o = 0; o < p->out_depth; ++o) out[o] = tf_s4w_output(p, tf_s4w_row_flat(p->filter, o * depth, depth, in, p->bias[o]));
            continue;
        }
        /* Grouped rows are whole words: step a row pointer rather than multiply row indices. */
        const uint8_t *w = p->filter;
        int32_t o = 0;
#if TF_HAVE_DSP
        for (; o + 1 < p->out_depth; o += 2, w += 2 * row_bytes) {
            int32_t acc0 = p->bias[o], acc1 = p->bias[o + 1];
            tf_s4w_rows2_grouped(w, w + row_bytes, depth, in, &acc0, &acc1);
            out[o] = tf_s4w_output(p, acc0);
            out[o + 1] = tf_s4w_output(p, acc1);
        }
#endif
        for (; o < p->out_depth; ++o, w += row_bytes) out[o] = tf_s4w_output(p, tf_s4w_row_grouped(w, depth, in, p->bias[o]));
    }
}
