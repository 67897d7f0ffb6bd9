/* tinyforge portable kernel: LOGISTIC int16 (table interpolation, 9 fractional bits per entry). */
#include "sigmoid_s16.h"

static void tf_logistic_s16(const tf_sigmoid_s16_params *p, const int16_t *input, int16_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = tf_sigmoid_s16_input(p, input[i]);
        const uint32_t abs_x = (uint32_t)(x < 0 ? -x : x);
        const uint32_t uh = abs_x >> 9;
        uint32_t result;
        if (uh >= 255) {
            result = 0x7FFFu << 10;
        } else {
            const uint32_t ua = p->table[uh];
            const uint32_t ub = p->table[uh + 1];
            result = (ua << 9) + (abs_x & 0x1ff) * (ub - ua);
        }
        result = x >= 0 ? result + (1u << 9) : (1u << 25) - result + (1u << 9) - 1;
        output[i] = (int16_t)(result >> 10);
    }
}
