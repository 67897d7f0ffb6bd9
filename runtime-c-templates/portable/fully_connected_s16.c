/* tinyforge portable kernel: int16x8 fully connected (TFLite's int16 activation mode): int16
 * input and output (zero point 0), int8 weights with per-channel (or repeated per-tensor)
 * requantization. 64-bit accumulation and requantization with an int64 bias, 32-bit (wrapping)
 * with an int32 bias or none, as TFLite Micro does. */
#include "tf_quant.h"

typedef struct {
    int32_t batches, accum_depth, out_depth;
    int32_t filter_offset; /* minus the per-tensor filter zero point; 0 for per-channel weights */
    int32_t act_min, act_max;
    const int8_t *filter;  /* [out_depth][accum_depth] */
    const int64_t *bias64; /* [out_depth] or NULL */
    const int32_t *bias32; /* [out_depth] or NULL */
    const int32_t *multipliers;
    const int32_t *shifts;
} tf_fully_connected_s16_params;

static void tf_fully_connected_s16(const tf_fully_connected_s16_params *p, const int16_t *input, int16_t *output) {
    for (int32_t b = 0; b < p->batches; ++b, input += p->accum_depth) {
        const int8_t *f = p->filter;
        for (int32_t o = 0; o < p->out_depth; ++o, f += p->accum_depth) {
            int64_t acc = 0;
            for (int32_t d = 0; d < p->accum_depth; ++d) acc += (int64_t)((int32_t)f[d] + p->filter_offset) * input[d];
            int32_t v;
            if (p->bias64) {
                v = tf_requantize_s64(acc + p->bias64[o], p->multipliers[o], p->shifts[o]);
            } else {
                const uint32_t acc32 = (uint32_t)acc + (p->bias32 ? (uint32_t)p->bias32[o] : 0u);
                v = tf_requantize((int32_t)acc32, p->multipliers[o], p->shifts[o]);
            }
            *output++ = (int16_t)TF_MIN(TF_MAX(v, p->act_min), p->act_max);
        }
    }
}
