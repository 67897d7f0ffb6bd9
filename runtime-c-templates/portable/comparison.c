/* tinyforge portable kernels: EQUAL, NOT_EQUAL, GREATER, GREATER_EQUAL, LESS, LESS_EQUAL (op codes
 * 0..5) with broadcasting, writing bool bytes 0 / 1 (TFLite Micro's comparisons.cc). int8 / int16
 * inputs are rescaled first as Micro's ComparisonWithScaling does: (x - zero point) << 8 times the
 * input's own scale as a multiplier below one. bool, int32 and float32 compare as they are (C float
 * comparisons: NaN is unequal to everything). One inline function per type; unused ones cost nothing. */
#include "tf_broadcast.h"

typedef struct {
    tf_broadcast shape;
    int32_t op;
    int32_t offset1, multiplier1, shift1, offset2, multiplier2, shift2;
} tf_comparison_params;

#define TF_COMPARE(op, a, b) \
    ((op) == 0 ? (a) == (b) : (op) == 1 ? (a) != (b) : (op) == 2 ? (a) > (b) : (op) == 3 ? (a) >= (b) : (op) == 4 ? (a) < (b) : (a) <= (b))

/* The output index walk of tf_broadcast_rows, one element at a time (the output's elements are
 * smaller than the inputs', so the shared row walker does not fit). */
#define TF_COMPARISON_KERNEL(name, type, value_type, value1, value2)                                         \
    static inline void name(const tf_comparison_params *p, const type *in1, const type *in2, uint8_t *out) { \
        const tf_broadcast *b = &p->shape;                                                                  \
        int32_t index[TF_BROADCAST_MAX_RANK] = {0};                                                         \
        int32_t total = 1, off1 = 0, off2 = 0;                                                              \
        for (int32_t d = 0; d < b->rank; ++d) total *= b->dims[d];                                          \
        for (int32_t o = 0; o < total; ++o) {                                                               \
            const value_type x = value1(in1[off1]);                                                         \
            const value_type y = value2(in2[off2]);                                                         \
            out[o] = (uint8_t)(TF_COMPARE(p->op, x, y) ? 1 : 0);                                            \
            for (int32_t d = b->rank - 1; d >= 0; --d) {                                                    \
                off1 += b->stride1[d];                                                                      \
                off2 += b->stride2[d];                                                                      \
                if (++index[d] < b->dims[d]) break;                                                         \
                index[d] = 0;                                                                               \
                off1 -= b->stride1[d] * b->dims[d];                                                         \
                off2 -= b->stride2[d] * b->dims[d];                                                         \
            }                                                                                               \
        }                                                                                                   \
    }

#define TF_CMP_RAW(v) (v)
#define TF_CMP_SCALED1(v) tf_requantize((p->offset1 + (int32_t)(v)) * (1 << 8), p->multiplier1, p->shift1)
#define TF_CMP_SCALED2(v) tf_requantize((p->offset2 + (int32_t)(v)) * (1 << 8), p->multiplier2, p->shift2)

TF_COMPARISON_KERNEL(tf_compare_b, uint8_t, int32_t, TF_CMP_RAW, TF_CMP_RAW)
TF_COMPARISON_KERNEL(tf_compare_s32, int32_t, int32_t, TF_CMP_RAW, TF_CMP_RAW)
TF_COMPARISON_KERNEL(tf_compare_f32, float, float, TF_CMP_RAW, TF_CMP_RAW)
TF_COMPARISON_KERNEL(tf_compare_s8, int8_t, int32_t, TF_CMP_SCALED1, TF_CMP_SCALED2)
TF_COMPARISON_KERNEL(tf_compare_s16, int16_t, int32_t, TF_CMP_SCALED1, TF_CMP_SCALED2)

#undef TF_COMPARISON_KERNEL
#undef TF_CMP_RAW
#undef TF_CMP_SCALED1
#undef TF_CMP_SCALED2
