/* tinyforge kernel: int8 fully connected over element-sparse (CSR) weights, for unstructured
 * pruning at high sparsity. Per output row: the number of entries, then per entry the distance
 * (uint8) from the previous entry's input column (from column 0 for the first) and the weight.
 * Gaps over 255 columns are bridged by entries of weight 0. Zero weights add nothing, and the
 * folded bias was computed from the full weights, so the integers equal the dense kernel's. */
#include "tf_simd.h"

typedef struct {
    int32_t batches, accum_depth, out_depth;
    int32_t output_offset, multiplier, shift, act_min, act_max, requant;
    const uint16_t *counts; /* [out_depth] entries per row */
    const uint8_t *deltas;  /* [entries] column distance from the previous entry of the row */
    const int8_t *values;   /* [entries] */
    const int32_t *bias;    /* [out_depth], offset folded */
} tf_fully_connected_s8_csr_params;

static void tf_fully_connected_s8_csr(const tf_fully_connected_s8_csr_params *p, const int8_t *input, int8_t *output) {
    const int32_t depth = p->accum_depth, out_depth = p->out_depth;
    const int mode = (int)p->requant;
    for (int b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        int8_t *out = output + b * out_depth;
        const uint8_t *d = p->deltas;
        const int8_t *v = p->values;
        for (int32_t o = 0; o < out_depth; ++o) {
            const int32_t n = p->counts[o];
            const int8_t *x = in;
            int32_t acc = p->bias[o];
            for (int32_t i = 0; i < n; ++i) {
                x += d[i];
                acc += *x * v[i];
            }
            d += n;
            v += n;
            out[o] = tf_clamp_s8(tf_requantize_mode(mode, acc, p->multiplier, p->shift) + p->output_offset, p->act_min, p->act_max);
        }
    }
}
