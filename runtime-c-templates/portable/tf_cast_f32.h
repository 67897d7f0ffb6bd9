/* tinyforge portable kernels: CAST from integer types to float32, C's conversion (round to
 * nearest, exact up to 2^24) as TFLite Micro's static_cast<float>. One inline function per source
 * type; unused ones cost nothing. */
#ifndef TF_CAST_F32_H
#define TF_CAST_F32_H
#include "tf_float.h"

#define TF_CAST_TO_F32(from_name, from_type)                                                   \
    static inline void tf_cast_##from_name##_f32(const from_type *input, float *output, int32_t n) { \
        for (int32_t i = 0; i < n; ++i) output[i] = (float)input[i];                             \
    }

TF_CAST_TO_F32(s8, int8_t)
TF_CAST_TO_F32(u8, uint8_t)
TF_CAST_TO_F32(s16, int16_t)
TF_CAST_TO_F32(s32, int32_t)
TF_CAST_TO_F32(u32, uint32_t)

#undef TF_CAST_TO_F32
#endif
