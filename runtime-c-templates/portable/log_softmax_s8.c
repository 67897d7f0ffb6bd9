/* tinyforge portable kernel: LOG_SOFTMAX int8 over the last axis (TFLite Micro's
 * reference_ops::LogSoftmaxQuantized). Differences from the row maximum go to Q5.26; their exps
 * (Q0.31) are summed in Q12.19; ln(sum) in Q5.26 is TFLite's log_x_for_x_greater_than_or_equal_to_1
 * (tf_log_q5_from_q12); outputs are (difference - ln sum) in 1/16 steps from 127, or -128 below the
 * adjusted minimum difference. compiler/ops/log_softmax.ts is the same arithmetic in TypeScript. */
#include "tf_fixedpoint.h"

typedef struct {
    int32_t outer, depth, input_multiplier, input_left_shift, reverse_multiplier, reverse_shift, diff_min;
} tf_log_softmax_s8_params;

static int32_t tf_saturate_s64(int64_t x) { return (int32_t)(x < INT32_MIN ? INT32_MIN : (x > INT32_MAX ? INT32_MAX : x)); }

/* ln(x) for a Q12.19 x >= 1, in Q5.26 (accumulated in Q6.25). */
static int32_t tf_log_q5_from_q12(int32_t x) {
    const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;
    const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
    const int32_t shifted_quarter = tf_rounding_divide_by_pot(536870912, 6);
    const int a_headroom_plus_one = tf_clz32((uint32_t)x);
    const int32_t r_a = tf_fx_mul_pot(tf_srdhm(tf_fx_mul_pot(x, a_headroom_plus_one - 1), sqrt_half), 1);
    const int32_t a_pow2_adj = tf_saturate_s64((int64_t)tf_fx_mul_pot(12 - a_headroom_plus_one, 25) + shifted_quarter);
    const int32_t z_b = tf_srdhm(x, sqrt_half);
    const int b_headroom = tf_clz32((uint32_t)z_b) - 1;
    const int32_t r_b = tf_fx_mul_pot(x, b_headroom);
    const int32_t b_pow2_adj = tf_saturate_s64((int64_t)tf_fx_mul_pot(12 - b_headroom, 25) - shifted_quarter);
    const int32_t r = TF_MIN(r_a, r_b);
    const int32_t pow2_adj = TF_MAX(a_pow2_adj, b_pow2_adj);
    const int64_t sum = (int64_t)r + sqrt_sqrt_half;
    const int32_t p = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t q = tf_fx_sub(r, sqrt_sqrt_half);
    q = tf_fx_add(q, q);
    const int32_t common_sq = tf_srdhm(q, q);
    const int32_t num = tf_fx_add(tf_srdhm(q, r), tf_srdhm(tf_srdhm(q, common_sq), alpha_n));
    const int32_t denom_minus_one = tf_fx_add(tf_srdhm(p, tf_fx_add(tf_fx_add(alpha_i, q), tf_srdhm(alpha_d, common_sq))), tf_srdhm(alpha_f, q));
    const int32_t recip_denom = tf_one_over_one_plus_x(denom_minus_one);
    const int32_t num_scaled = tf_rounding_divide_by_pot(num, 6);
    return tf_fx_mul_pot(tf_fx_add(tf_srdhm(pow2_adj, log_2), tf_srdhm(num_scaled, recip_denom)), 1);
}

static void tf_log_softmax_s8(const tf_log_softmax_s8_params *p, const int8_t *input, int8_t *output) {
    for (int32_t o = 0; o < p->outer; ++o) {
        const int8_t *x = input + o * p->depth;
        int8_t *y = output + o * p->depth;
        int32_t max = -128;
        for (int32_t i = 0; i < p->depth; ++i) max = TF_MAX(max, (int32_t)x[i]);
        int32_t sum = 0;
        for (int32_t i = 0; i < p->depth; ++i) {
            const int32_t diff = x[i] - max;
            if (diff >= p->diff_min) {
                const int32_t scaled = tf_requantize(diff, p->input_multiplier, p->input_left_shift);
                sum = tf_fx_add(sum, tf_rounding_divide_by_pot(tf_exp_on_negative_values_q5(scaled), 12));
            }
        }
        const int32_t log_sum = tf_log_q5_from_q12(sum);
        const int32_t adjusted_diff_min =
            TF_MAX(p->diff_min - 1, tf_requantize(tf_fx_add(log_sum, INT32_MIN), p->reverse_multiplier, p->reverse_shift));
        for (int32_t i = 0; i < p->depth; ++i) {
            const int32_t diff = x[i] - max;
            if (diff > adjusted_diff_min) {
                const int32_t scaled = tf_requantize(diff, p->input_multiplier, p->input_left_shift);
                const int32_t out = tf_rounding_divide_by_pot(tf_fx_sub(scaled, log_sum), 22) + 127;
                y[i] = (int8_t)TF_MIN(TF_MAX(out, -128), 127);
            } else {
                y[i] = -128;
            }
        }
    }
}
