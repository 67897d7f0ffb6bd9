/* tinyforge portable kernel: ADD_N on float32 (TFLite Micro's reference_ops::AddN): x = 0, then
 * each input added in order, one rounded float addition each, as on the host. */
#include "tf_float.h"

static void tf_add_n_f32(const float *const *inputs, int32_t count, float *output, int32_t size) {
    for (int32_t i = 0; i < size; ++i) {
        float x = 0.0f;
        for (int32_t j = 0; j < count; ++j) x += inputs[j][i];
        output[i] = x;
    }
}
