/* tinyforge portable kernel: TANH int16 via tanh(x) = 2 sigmoid(2x) - 1 on the sigmoid table. */
#include "sigmoid_s16.h"

static void tf_tanh_s16(const tf_sigmoid_s16_params *p, const int16_t *input, int16_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = tf_sigmoid_s16_input(p, input[i]);
        const uint32_t abs_x = (uint32_t)(x < 0 ? -x : x);
        const uint32_t uh = abs_x >> 8;
        int32_t result;
        if (uh >= 255) {
            result = 0xFFFF << 8;
        } else {
            const uint32_t ua = p->table[uh];
            const uint32_t ub = p->table[uh + 1];
            result = (int32_t)((ua << 8) + (abs_x & 0xff) * (ub - ua));
        }
        result = x >= 0 ? result - (1 << 23) + (1 << 7) : -result + (1 << 23) + (1 << 7) - 1;
        output[i] = (int16_t)(result >> 8);
    }
}
