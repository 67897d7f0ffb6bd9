/* tinyforge portable kernel: GATHER_ND (TFLite Micro's gather_nd.cc) for int8 or float32 params,
 * moved as raw bytes. Each row of nd int32 indices gives the flat start of one slice (sum of
 * index * elements per step of that axis); like Micro, only the start is checked (0 <= start and
 * start + slice <= params size), in 64 bits so no index overflows, and a bad row fails Invoke. */
#include "tf_quant.h"

typedef struct {
    int32_t slices, nd, slice_bytes, slice_size, params_size, element_bytes;
    int32_t strides[5];
} tf_gather_nd_params;

/* Returns non-zero, as TFLite Micro fails Invoke, on a slice starting outside the params. */
static int tf_gather_nd(const tf_gather_nd_params *p, const void *params, const int32_t *indices, void *output) {
    const uint8_t *in = (const uint8_t *)params;
    uint8_t *out = (uint8_t *)output;
    for (int32_t i = 0; i < p->slices; ++i) {
        int64_t from = 0;
        for (int32_t j = 0; j < p->nd; ++j) from += (int64_t)indices[i * p->nd + j] * p->strides[j];
        if (from < 0 || from + p->slice_size > p->params_size) return 1;
        memcpy(out + (size_t)i * (size_t)p->slice_bytes, in + (size_t)from * (size_t)p->element_bytes, (size_t)p->slice_bytes);
    }
    return 0;
}
