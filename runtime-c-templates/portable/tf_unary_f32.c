/* tinyforge portable kernel: element-wise float32 functions as TFLite Micro's reference kernels
 * compute them. 0 LOGISTIC: 1 above 16.619047164916992188f, expf(x) below -9, else
 * 1 / (1 + expf(-x)), with tf_expf (glibc's bits on every target): float_math.h's tf_logisticf.
 * 1 RSQRT: 1 / sqrtf(x), both IEEE correctly rounded (tf_sqrtf: no libm needed). 2 TANH:
 * float_math.h's tf_tanhf (glibc's tanhf bits on every target). Element i is read before it is
 * written, so output may be input. */
#include "tf_float.h"
#include "float_math.h"

static void tf_unary_f32(int32_t op, const float *input, float *output, int32_t n) {
    for (int32_t i = 0; i < n; ++i) {
        const float x = input[i];
        float y;
        if (op == 0) {
            y = tf_logisticf(x);
        } else if (op == 2) {
            y = tf_tanhf(x);
        } else {
            y = 1.0f / tf_sqrtf(x);
        }
        output[i] = y;
    }
}
