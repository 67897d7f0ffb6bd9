/* tinyforge portable kernels: ARG_MAX / ARG_MIN along one axis (TFLite Micro's arg_min_max.cc).
 * The first position wins ties: a later value replaces the best only when strictly greater
 * (smaller), and a NaN compares false either way. One inline function per input type and
 * direction; unused ones cost nothing. */
#ifndef TF_ARG_MIN_MAX_H
#define TF_ARG_MIN_MAX_H
#include "tf_quant.h"

typedef struct {
    /* Products of the dimensions before and after the axis, and the axis' extent. */
    int32_t outer, axis_size, inner;
} tf_arg_params;

#define TF_ARG_KERNEL(name, type, better)                                                          \
    static inline void name(const tf_arg_params *p, const type *input, int32_t *output) {          \
        for (int32_t o = 0; o < p->outer; ++o) {                                                   \
            for (int32_t i = 0; i < p->inner; ++i) {                                               \
                const type *x = input + o * p->axis_size * p->inner + i;                           \
                type best = x[0];                                                                  \
                int32_t at = 0;                                                                    \
                for (int32_t k = 1; k < p->axis_size; ++k) {                                       \
                    const type v = x[k * p->inner];                                                \
                    if (v better best) {                                                           \
                        best = v;                                                                  \
                        at = k;                                                                    \
                    }                                                                              \
                }                                                                                  \
                output[o * p->inner + i] = at;                                                     \
            }                                                                                      \
        }                                                                                          \
    }

TF_ARG_KERNEL(tf_arg_max_s8, int8_t, >)
TF_ARG_KERNEL(tf_arg_min_s8, int8_t, <)
TF_ARG_KERNEL(tf_arg_max_s32, int32_t, >)
TF_ARG_KERNEL(tf_arg_min_s32, int32_t, <)
TF_ARG_KERNEL(tf_arg_max_f32, float, >)
TF_ARG_KERNEL(tf_arg_min_f32, float, <)

#undef TF_ARG_KERNEL
#endif
