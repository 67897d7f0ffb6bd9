/* tinyforge kernel: int8 element-wise add with both inputs rescaled to a common scale (TFLite Add).
 * When the compiler proved every intermediate small (input shifts <= 0, output shift <= 1: the
 * shifted inputs stay below 2^28), the three requantizations use tf_requantize_small. */
#include "tf_simd.h"

typedef struct {
    int32_t size, input1_offset, input2_offset, left_shift;
    int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift, output_offset, act_min, act_max;
    int32_t small; /* 1: tf_requantize_small is exact for all three steps */
} tf_add_s8_params;

static void tf_add_s8(const tf_add_s8_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    const int32_t off1 = p->input1_offset, off2 = p->input2_offset, ls = p->left_shift;
    const int32_t m1 = p->input1_multiplier, s1 = p->input1_shift, m2 = p->input2_multiplier, s2 = p->input2_shift;
    const int32_t mo = p->output_multiplier, so = p->output_shift, out_off = p->output_offset;
    const int32_t lo = p->act_min, hi = p->act_max, n = p->size;
    if (p->small) {
        for (int32_t i = 0; i < n; ++i) {
            const int32_t a = tf_requantize_small(tf_shift_left(input1[i] + off1, ls), m1, s1);
            const int32_t b = tf_requantize_small(tf_shift_left(input2[i] + off2, ls), m2, s2);
            output[i] = tf_clamp_s8(tf_requantize_small(a + b, mo, so) + out_off, lo, hi);
        }
        return;
    }
    for (int32_t i = 0; i < n; ++i) {
        const int32_t a = tf_shift_left(input1[i] + off1, ls);
        const int32_t b = tf_shift_left(input2[i] + off2, ls);
        const int32_t sum = tf_requantize(a, m1, s1) + tf_requantize(b, m2, s2);
        output[i] = tf_clamp_s8(tf_requantize(sum, mo, so) + out_off, lo, hi);
    }
}
