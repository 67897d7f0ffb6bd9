/* tinyforge kernel: int8 fully connected. Compile-time preparation folds the input offset into
 * the bias, pads rows to a multiple of 4 and the row count to a multiple of 4, and interleaves
 * groups of four rows in 4-byte steps (row 4i k..k+3, row 4i+1 k..k+3, ..., row 4i k+4..k+7),
 * so one load fetches four rows' weights and each input word serves four rows. */
#include "tf_simd.h"
#include "mac_4rows_s8.h"

typedef struct {
    int32_t batches, accum_depth, k4, out_depth;
    int32_t output_offset, multiplier, shift, act_min, act_max, requant;
    const int8_t *filter; /* [(out_depth + 3) / 4][k4 / 4][4][4] */
    const int32_t *bias;  /* [out_depth], offset folded */
} tf_fully_connected_s8_fast_params;

static void tf_fully_connected_s8_fast(const tf_fully_connected_s8_fast_params *p, const int8_t *input, int8_t *output) {
    const int32_t k4 = p->k4, depth = p->accum_depth, out_depth = p->out_depth, steps = depth / 4;
    const int32_t out_offset = p->output_offset, act_min = p->act_min, act_max = p->act_max;
    const int mode = (int)p->requant;
    for (int b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        int8_t *out = output + b * out_depth;
        const int8_t *w = p->filter;
        for (int32_t o = 0; o < out_depth; o += 4, w += 4 * k4) {
            int32_t acc[4];
            for (int r = 0; r < 4; ++r) acc[r] = o + r < out_depth ? p->bias[o + r] : 0;
            if (steps > 0) tf_mac_4rows_s8(in, w, steps, acc);
            /* The last depth % 4 inputs: the tail of the interleaved step. */
            for (int32_t k = steps * 4; k < depth; ++k) {
                for (int r = 0; r < 4; ++r) acc[r] += in[k] * w[steps * 16 + 4 * r + (k - steps * 4)];
            }
            for (int r = 0; r < 4 && o + r < out_depth; ++r) {
                const int32_t q = mode == TF_REQUANT_FAST ? tf_requantize_fast(acc[r], p->multiplier, -p->shift)
                                                          : tf_requantize_mode(mode, acc[r], p->multiplier, p->shift);
                out[o + r] = tf_clamp_s8(q + out_offset, act_min, act_max);
            }
        }
    }
}
