/* tinyforge portable kernel: ABS on float32 (std::abs in TFLite Micro): clears the sign bit, so
 * NaNs and infinities come out exactly as on the host. Element i is read before it is written. */
#include "tf_float.h"

static void tf_abs_f32(const float *input, float *output, int32_t n) {
    for (int32_t i = 0; i < n; ++i) {
        uint32_t bits;
        memcpy(&bits, &input[i], sizeof bits);
        bits &= 0x7FFFFFFFu;
        memcpy(&output[i], &bits, sizeof bits);
    }
}
