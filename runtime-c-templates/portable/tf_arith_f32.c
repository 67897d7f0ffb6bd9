/* tinyforge portable kernel: float32 ADD, SUB and MUL with broadcasting, as TFLite Micro's
 * reference float kernels compute them: the operation rounded to float32, then the activation
 * clamp (tf_act_f32). The compiler plans the broadcast (tf_broadcast.h). */
#include "tf_float.h"
#include "tf_broadcast.h"

typedef struct {
    tf_broadcast shape;
    int32_t op; /* 0 add, 1 sub, 2 mul */
    float act_min, act_max;
} tf_arith_f32_params;

static void tf_arith_row_f32(const void *params, const void *in1, int32_t step1, const void *in2, int32_t step2, void *out, int32_t n) {
    const tf_arith_f32_params *p = (const tf_arith_f32_params *)params;
    const float *a = (const float *)in1;
    const float *b = (const float *)in2;
    float *o = (float *)out;
    for (int32_t i = 0; i < n; ++i) {
        const float x = a[i * step1], y = b[i * step2];
        const float v = p->op == 0 ? x + y : p->op == 1 ? x - y : x * y;
        o[i] = tf_act_f32(v, p->act_min, p->act_max);
    }
}

static void tf_arith_f32(const tf_arith_f32_params *p, const float *input1, const float *input2, float *output) {
    tf_broadcast_rows(&p->shape, 4, input1, input2, output, p, tf_arith_row_f32);
}
