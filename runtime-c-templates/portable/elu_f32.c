/* tinyforge portable kernel: ELU on float32 (TFLite Micro's reference_ops::Elu): x < 0 ? expm1f(x)
 * : x, with float_math.h's tf_expm1f (glibc's bits on every target); NaN passes through. Element i
 * is read before it is written, so output may be input. */
#include "tf_float.h"
#include "float_math.h"

static void tf_elu_f32(const float *input, float *output, int32_t n) {
    for (int32_t i = 0; i < n; ++i) {
        const float x = input[i];
        output[i] = x < 0.0f ? tf_expm1f(x) : x;
    }
}
