/* tinyforge portable kernel: int8 fully connected, per-tensor requantization (TFLite FullyConnected). */
#include "tf_quant.h"

typedef struct {
    int32_t batches, accum_depth, out_depth;
    int32_t input_offset, filter_offset, output_offset, multiplier, shift, act_min, act_max;
    const int8_t *filter; /* [out_depth][accum_depth] */
    const int32_t *bias;  /* [out_depth] or NULL */
} tf_fully_connected_s8_params;

static void tf_fully_connected_s8(const tf_fully_connected_s8_params *p, const int8_t *input, int8_t *output) {
    for (int b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * p->accum_depth;
        for (int o = 0; o < p->out_depth; ++o) {
            const int8_t *f = p->filter + o * p->accum_depth;
            int32_t acc = 0;
            for (int d = 0; d < p->accum_depth; ++d) acc += (f[d] + p->filter_offset) * (in[d] + p->input_offset);
            if (p->bias) acc += p->bias[o];
            acc = tf_requantize(acc, p->multiplier, p->shift) + p->output_offset;
            output[b * p->out_depth + o] = tf_clamp_s8(acc, p->act_min, p->act_max);
        }
    }
}
