/* tinyforge portable kernels: CAST between integer types, each element converted as C converts it
 * (TFLite Micro's static_cast: narrowing and signedness changes wrap modulo 2^bits on the two's
 * complement targets tinyforge supports). One inline function per type pair; unused ones cost
 * nothing. */
#ifndef TF_CAST_H
#define TF_CAST_H
#include "tf_quant.h"

#define TF_CAST_KERNEL(from_name, from_type, to_name, to_type)                                        \
    static inline void tf_cast_##from_name##_##to_name(const from_type *input, to_type *output, int32_t n) { \
        for (int32_t i = 0; i < n; ++i) output[i] = (to_type)input[i];                                 \
    }

#define TF_CAST_FROM(from_name, from_type)                   \
    TF_CAST_KERNEL(from_name, from_type, s8, int8_t)         \
    TF_CAST_KERNEL(from_name, from_type, u8, uint8_t)        \
    TF_CAST_KERNEL(from_name, from_type, s16, int16_t)       \
    TF_CAST_KERNEL(from_name, from_type, s32, int32_t)       \
    TF_CAST_KERNEL(from_name, from_type, u32, uint32_t)

TF_CAST_FROM(s8, int8_t)
TF_CAST_FROM(u8, uint8_t)
TF_CAST_FROM(s16, int16_t)
TF_CAST_FROM(s32, int32_t)
TF_CAST_FROM(u32, uint32_t)

#undef TF_CAST_FROM
#undef TF_CAST_KERNEL
#endif
