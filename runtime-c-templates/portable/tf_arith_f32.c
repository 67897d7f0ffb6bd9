/* tinyforge portable kernel: element-wise binary float32 ops with broadcasting, as TFLite Micro's
 * reference float kernels compute them, each operation rounded to float32, then the activation
 * clamp (tf_act_f32; ops without a fused activation get act_min/act_max = -inf/+inf, which passes
 * every value, NaN and infinities included). The compiler plans the broadcast (tf_broadcast.h).
 * 0 ADD, 1 SUB, 2 MUL, 3 DIV; 4 MAXIMUM a > b ? a : b, 5 MINIMUM a < b ? a : b (maximum_minimum.cc);
 * 6 SQUARED_DIFFERENCE d = a - b, d * d; 7 PRELU a >= 0 ? a : a * alpha; 8 FLOOR_DIV
 * float(floor(double(a) / double(b))) (floor_div.h; the double division by tf_div_f32_as_f64); 9 FLOOR_MOD m = fmodf(a, b), then
 * m != 0 && (b < 0) != (m < 0) ? m + b : m (floor_mod.h); fmod and floor from float_math.h. */
#include "tf_float.h"
#include "float_math.h"
#include "tf_broadcast.h"

typedef struct {
    tf_broadcast shape;
    int32_t op;
    float act_min, act_max;
} tf_arith_f32_params;

static float tf_arith_f32_apply(int32_t op, float x, float y) {
    switch (op) {
    case 0: return x + y;
    case 1: return x - y;
    case 2: return x * y;
    case 3: return x / y;
    case 4: return x > y ? x : y;
    case 5: return x < y ? x : y;
    case 6: {
        const float d = x - y;
        return d * d;
    }
    case 7: return x >= 0.0f ? x : x * y;
    case 8: return (float)tf_floor_f64(tf_div_f32_as_f64(x, y));
    default: {
        const float m = tf_fmodf(x, y);
        return (m != 0.0f && ((y < 0.0f) != (m < 0.0f))) ? m + y : m;
    }
    }
}

static void tf_arith_row_f32(const void *params, const void *in1, int32_t step1, const void *in2, int32_t step2, void *out, int32_t n) {
    const tf_arith_f32_params *p = (const tf_arith_f32_params *)params;
    const float *a = (const float *)in1;
    const float *b = (const float *)in2;
    float *o = (float *)out;
    for (int32_t i = 0; i < n; ++i) {
        o[i] = tf_act_f32(tf_arith_f32_apply(p->op, a[i * step1], b[i * step2]), p->act_min, p->act_max);
    }
}

static void tf_arith_f32(const tf_arith_f32_params *p, const float *input1, const float *input2, float *output) {
    tf_broadcast_rows(&p->shape, 4, input1, input2, output, p, tf_arith_row_f32);
}
