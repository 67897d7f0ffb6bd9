/* tinyforge portable kernel: int8 fully connected with int4 weights kept packed in flash (two per
 * byte, TFLite's INT4 layout), per-tensor requantization. The weights are the values TFLite Micro
 * unpacks with UnpackDenseInt4IntoInt8 and the sums are the same integers as
 * reference_integer_ops::FullyConnected's, so outputs are bit-exact with the unpacked kernels; the
 * filter takes half the flash of an int8 one. Preconditions (select_kernels.ts): filter offset 0
 * and the input offset folded into the bias at compile time (bias[o] + input_offset * sum_d w[o][d],
 * which the compiler checked cannot overflow int32). */
#include "tf_quant.h"

typedef struct {
    int32_t batches, accum_depth, out_depth;
    int32_t output_offset, multiplier, shift, act_min, act_max;
    /* [out_depth][accum_depth] int4 values over the flattened tensor: element e is the low nibble of
     * byte e / 2 when e is even, the high nibble when odd; rows may start mid-byte (odd depth). */
    const uint8_t *filter;
    const int32_t *bias; /* [out_depth], the input offset folded in */
} tf_fully_connected_s8_s4w_params;

/* Sign-extends a nibble without shifting a negative value: (n ^ 8) - 8 maps 8..15 to -8..-1. */
#define TF_S4_LO(byte) ((int32_t)(((byte) & 0x0F) ^ 0x08) - 8)
#define TF_S4_HI(byte) ((int32_t)(((byte) >> 4) ^ 0x08) - 8)

static void tf_fully_connected_s8_s4w(const tf_fully_connected_s8_s4w_params *p, const int8_t *input, int8_t *output) {
    const int32_t depth = p->accum_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        for (int32_t o = 0; o < p->out_depth; ++o) {
            const int32_t first = o * depth; /* element index of the row's first weight */
            const uint8_t *w = p->filter + (first >> 1);
            int32_t acc = p->bias[o];
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
            acc = tf_requantize(acc, p->multiplier, p->shift) + p->output_offset;
            output[b * p->out_depth + o] = tf_clamp_s8(acc, p->act_min, p->act_max);
        }
    }
}
