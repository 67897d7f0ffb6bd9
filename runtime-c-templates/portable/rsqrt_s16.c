/* tinyforge portable kernel: RSQRT int16 (TFLite Micro's RsqrtEvalQuantized): 1/sqrt(x) as a
 * multiplier and shift by Newton-Raphson in Q3.28 (GetInvSqrtQuantizedMultiplierExp), applied to 1
 * with 20 extra bits, then requantized to the output. Zero (and negative values, which TFLite Micro
 * rejects at run time) give the largest output. */
#include "tf_fixedpoint.h"

typedef struct {
    int32_t size, input_offset, output_offset, multiplier, shift;
} tf_rsqrt_params;

static int32_t tf_inv_sqrt(int32_t input, int32_t *shift_out) {
    int32_t shift = 11;
    if (input <= 1) {
        *shift_out = 0;
        return INT32_MAX;
    }
    while (input >= (1 << 29)) {
        input /= 4;
        ++shift;
    }
    const int pairs = (tf_clz32((uint32_t)input) - 1) / 2 - 1;
    shift -= pairs;
    input = tf_shift_left(input, 2 * pairs);
    const int32_t half_input = tf_rounding_divide_by_pot(input >> 1, 1);
    const int32_t half_three = (1 << 28) + (1 << 27);
    int32_t x = 1 << 28;
    for (int i = 0; i < 5; ++i) {
        const int32_t x3 = tf_fx_mul_pot(tf_srdhm(tf_srdhm(x, x), x), 6);
        x = tf_fx_mul_pot(tf_fx_sub(tf_srdhm(half_three, x), tf_srdhm(half_input, x3)), 3);
    }
    int32_t multiplier = tf_srdhm(x, 1518500250);
    if (shift < 0) {
        multiplier = tf_shift_left(multiplier, -shift);
        shift = 0;
    }
    *shift_out = -shift;
    return multiplier;
}

static void tf_rsqrt_s16(const tf_rsqrt_params *p, const int16_t *input, int16_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t value = input[i] - p->input_offset;
        if (value <= 0) {
            output[i] = 32767;
            continue;
        }
        int32_t inv_shift;
        const int32_t inv = tf_inv_sqrt(value, &inv_shift);
        const int32_t data = tf_requantize(1, inv, inv_shift + 20);
        const int32_t y = tf_requantize(data, p->multiplier, p->shift - 20) + p->output_offset;
        output[i] = (int16_t)TF_MIN(TF_MAX(y, -32768), 32767);
    }
}
