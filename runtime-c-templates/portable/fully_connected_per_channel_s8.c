/* tinyforge portable kernel: int8 fully connected with per-channel requantization (TFLite Micro's
 * FullyConnectedPerChannel). The input offset is folded into the bias at compile time; sums wrap
 * through uint32 like TFLite's int32 accumulator. */
#include "tf_quant.h"

typedef struct {
    int32_t batches, accum_depth, out_depth;
    int32_t filter_offset, output_offset, act_min, act_max;
    const int8_t *filter;       /* [out_depth][accum_depth] */
    const int32_t *bias;        /* [out_depth]: bias + input_offset * sum(filter row) (+ depth * offsets) */
    const int32_t *multipliers; /* [out_depth] */
    const int32_t *shifts;      /* [out_depth] */
} tf_fully_connected_per_channel_params;

static void tf_fully_connected_per_channel_s8(const tf_fully_connected_per_channel_params *p, const int8_t *input, int8_t *output) {
    for (int32_t b = 0; b < p->batches; ++b, input += p->accum_depth) {
        int32_t sum_x = 0;
        if (p->filter_offset != 0)
            for (int32_t d = 0; d < p->accum_depth; ++d) sum_x += input[d];
        const uint32_t filter_term = (uint32_t)p->filter_offset * (uint32_t)sum_x;
        const int8_t *f = p->filter;
        for (int32_t o = 0; o < p->out_depth; ++o, f += p->accum_depth) {
            int32_t dot = 0;
            for (int32_t d = 0; d < p->accum_depth; ++d) dot += f[d] * input[d];
            const int32_t acc = (int32_t)((uint32_t)dot + (uint32_t)p->bias[o] + filter_term);
            const int32_t v = tf_requantize(acc, p->multipliers[o], p->shifts[o]) + p->output_offset;
            *output++ = tf_clamp_s8(v, p->act_min, p->act_max);
        }
    }
}
