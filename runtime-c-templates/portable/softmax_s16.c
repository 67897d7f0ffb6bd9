/* tinyforge portable kernel: softmax int16 -> int16 (TFLite reference SoftmaxInt16): exp and
 * 1/(1+x) by interpolation in two 513-entry tables computed at compile time. The output row holds
 * the exps until the reciprocal of their sum is known. */
#include "tf_quant.h"

typedef struct {
    int32_t outer, depth, input_multiplier, input_shift;
    const int16_t *exp_lut, *recip_lut;
} tf_softmax_s16_params;

/* 9 bits index the table, 7 bits interpolate towards the next entry. */
static inline int16_t tf_lut_lookup_s16(int32_t value, const int16_t *lut) {
    const int32_t index = 256 + (value >> 7);
    const int32_t offset = value & 0x7f;
    const int32_t base = lut[index];
    const int32_t slope = (int16_t)(lut[index + 1] - lut[index]);
    return (int16_t)(base + ((slope * offset + 64) >> 7));
}

static void tf_softmax_s16(const tf_softmax_s16_params *p, const int16_t *input, int16_t *output) {
    for (int32_t row = 0; row < p->outer; ++row) {
        const int16_t *in = input + row * p->depth;
        int16_t *out = output + row * p->depth;
        int32_t max_in_row = -32768;
        for (int32_t c = 0; c < p->depth; ++c) max_in_row = TF_MAX(max_in_row, in[c]);
        int32_t sum_of_exps = 0; /* Q16.15 */
        for (int32_t c = 0; c < p->depth; ++c) {
            /* [-65535, 0] stands for [-10, 0]; recentred to [-32768, 32767] for the table. */
            const int32_t scaled = tf_requantize(in[c] - max_in_row, p->input_multiplier, p->input_shift) + 32767;
            out[c] = tf_lut_lookup_s16(TF_MIN(TF_MAX(scaled, -32768), 32767), p->exp_lut);
            sum_of_exps += out[c];
        }
        int headroom_plus_one = 0;
        while (headroom_plus_one < 32 && !(((uint32_t)sum_of_exps << headroom_plus_one) & 0x80000000u)) ++headroom_plus_one;
        const int32_t shifted_sum = (int32_t)((((int64_t)sum_of_exps << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
        /* 1/(1+x) with x = sum - 1, recentred from [0, 65535] to [-32768, 32767]. */
        const int32_t x = shifted_sum - ((1 << 15) + (1 << 16));
        const int32_t reciprocal = tf_lut_lookup_s16(TF_MIN(TF_MAX(x, -32768), 32767), p->recip_lut);
        const int right_shift = 31 - headroom_plus_one;
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t result = (int32_t)(((int64_t)out[c] * reciprocal + ((int64_t)1 << (right_shift - 1))) >> right_shift);
            out[c] = (int16_t)TF_MIN(TF_MAX(result, 0), 32767);
        }
    }
}
