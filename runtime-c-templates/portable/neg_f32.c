/* tinyforge portable kernel: NEG on float32 (TFLite Micro's reference_ops::Negate): flips the sign
 * bit, which is IEEE negation for every value, NaNs and zeros included. Element i is read before it
 * is written, so output may be input. */
#include "tf_float.h"

static void tf_neg_f32(const float *input, float *output, int32_t n) {
    for (int32_t i = 0; i < n; ++i) {
        uint32_t bits;
        memcpy(&bits, &input[i], sizeof bits);
        bits ^= 0x80000000u;
        memcpy(&output[i], &bits, sizeof bits);
    }
}
