/* tinyforge portable kernel: int32 ADD, SUB, MUL, DIV, MAXIMUM and MINIMUM with broadcasting
 * (TFLite Micro's int32 reference paths). Sums and products wrap modulo 2^32 instead of being
 * undefined; DIV truncates toward zero, INT32_MIN / -1 wraps and a zero divisor gives 0 (TFLite
 * Micro traps). Results are clamped to [act_min, act_max]. */
#include "tf_broadcast.h"

typedef struct {
    tf_broadcast shape;
    int32_t op; /* 0 add, 1 sub, 2 mul, 3 div, 4 maximum, 5 minimum */
    int32_t act_min, act_max;
} tf_arith_s32_params;

static int32_t tf_arith_s32_one(int32_t op, int32_t x, int32_t y) {
    switch (op) {
        case 0: return (int32_t)((uint32_t)x + (uint32_t)y);
        case 1: return (int32_t)((uint32_t)x - (uint32_t)y);
        case 2: return (int32_t)((uint32_t)x * (uint32_t)y);
        case 3: return y == 0 ? 0 : (y == -1 ? (int32_t)(0u - (uint32_t)x) : x / y);
        case 4: return TF_MAX(x, y);
        default: return TF_MIN(x, y);
    }
}

static void tf_arith_row_s32(const void *params, const void *in1, int32_t step1, const void *in2, int32_t step2, void *out, int32_t n) {
    const tf_arith_s32_params *p = (const tf_arith_s32_params *)params;
    const int32_t *a = (const int32_t *)in1;
    const int32_t *b = (const int32_t *)in2;
    int32_t *o = (int32_t *)out;
    for (int32_t i = 0; i < n; ++i) {
        const int32_t v = tf_arith_s32_one(p->op, a[i * step1], b[i * step2]);
        o[i] = TF_MIN(TF_MAX(v, p->act_min), p->act_max);
    }
}

static void tf_arith_s32(const tf_arith_s32_params *p, const int32_t *input1, const int32_t *input2, int32_t *output) {
    tf_broadcast_rows(&p->shape, 4, input1, input2, output, p, tf_arith_row_s32);
}
