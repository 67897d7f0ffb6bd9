/* tinyforge portable kernel: DIV with broadcasting, int8 (TFLite Micro's quantized Div): the
 * offset divisor's fixed-point reciprocal times the headroom-normalized dividend, rescaled by
 * s1 / (s2 s_out). Where TFLite Micro asserts (a zero divisor; a rounding shift above 31) the
 * result is defined instead: the activation bound in the dividend's direction, and the rounding
 * of the exact division (compiler/ops/div.ts does the same). */
#include "tf_broadcast.h"
#include "tf_fixedpoint.h"

typedef struct {
    tf_broadcast shape;
    int32_t input1_offset, input2_offset;
    int32_t output_multiplier, output_shift, output_offset, act_min, act_max;
} tf_div_params;

/* gemmlowp RoundingDivideByPOT for exponents past 31: |x| <= 2^31 rounds to 0, or to -1 for INT32_MIN / 2^32. */
static int32_t tf_div_rounding_shift(int32_t x, int exponent) {
    if (exponent <= 31) return tf_rounding_divide_by_pot(x, exponent);
    return (exponent == 32 && x == INT32_MIN) ? -1 : 0;
}

static int32_t tf_div_one(const tf_div_params *p, int32_t x, int32_t y) {
    int32_t n = x + p->input1_offset;
    int32_t d = y + p->input2_offset;
    if (d == 0) return TF_MIN(TF_MAX(n > 0 ? p->act_max : n < 0 ? p->act_min : p->output_offset, p->act_min), p->act_max);
    if (d < 0) {
        n = -n;
        d = -d;
    }
    int bits_over_unit;
    const int32_t reciprocal = tf_get_reciprocal(d, 31, &bits_over_unit);
    const int headroom = tf_count_leading_sign_bits(n);
    const int32_t unscaled = tf_srdhm(tf_shift_left(n, headroom), reciprocal);
    const int exponent = headroom + bits_over_unit - p->output_shift;
    const int32_t raw = p->output_offset + tf_div_rounding_shift(tf_srdhm(unscaled, p->output_multiplier), exponent);
    return TF_MIN(TF_MAX(raw, p->act_min), p->act_max);
}

static void tf_div_row_s8(const void *params, const void *in1, int32_t step1, const void *in2, int32_t step2, void *out, int32_t n) {
    const tf_div_params *p = (const tf_div_params *)params;
    const int8_t *a = (const int8_t *)in1;
    const int8_t *b = (const int8_t *)in2;
    int8_t *o = (int8_t *)out;
    for (int32_t i = 0; i < n; ++i) o[i] = (int8_t)tf_div_one(p, a[i * step1], b[i * step2]);
}

static void tf_div_s8(const tf_div_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    tf_broadcast_rows(&p->shape, 1, input1, input2, output, p, tf_div_row_s8);
}
