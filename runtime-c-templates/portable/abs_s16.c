/* tinyforge portable kernel: ABS on int16 (TFLite Micro's elementwise.cc). mode 0: quantized with
 * equal scales, |x| clamped to 32767; mode 1: quantized with different scales, |x| requantized by
 * input scale / output scale, then clamped; mode 2: unquantized, the plain |x| cast back to int16
 * (-32768 stays -32768, as Micro's std::abs then cast gives). Zero points are 0 (Micro requires
 * it for int16). Element i is read before it is written, so output may be input. */
#include "tf_quant.h"

typedef struct {
    int32_t size, mode, multiplier, shift;
} tf_abs_s16_params;

static void tf_abs_s16(const tf_abs_s16_params *p, const int16_t *input, int16_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = input[i];
        int32_t y = x < 0 ? -x : x;
        if (p->mode == 2) {
            output[i] = (int16_t)(uint16_t)(uint32_t)y;
            continue;
        }
        if (p->mode == 1) y = tf_requantize(y, p->multiplier, p->shift);
        output[i] = (int16_t)TF_MIN(TF_MAX(y, -32768), 32767);
    }
}
