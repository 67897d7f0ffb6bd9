/* tinyforge portable kernel: SELECT_V2 (TFLite Micro's select.cc, BroadcastSelect5DSlow): each
 * output element is x's where the bool condition is non-zero, else y's, the three inputs broadcast
 * over the output's 5 dimensions by their own element strides (0 on repeated axes). Elements are
 * moved as raw bytes (int8, int16 or float32), as Micro ignores quantization here. */
#include "tf_quant.h"

typedef struct {
    int32_t dims[5], cond_strides[5], x_strides[5], y_strides[5];
    int32_t element_bytes;
} tf_select_v2_params;

static int32_t tf_select_v2_at(const int32_t *strides, const int32_t *i) {
    return strides[0] * i[0] + strides[1] * i[1] + strides[2] * i[2] + strides[3] * i[3] + strides[4] * i[4];
}

static void tf_select_v2(const tf_select_v2_params *p, const uint8_t *cond, const void *x, const void *y, void *output) {
    const size_t e = (size_t)p->element_bytes;
    uint8_t *out = (uint8_t *)output;
    int32_t i[5];
    for (i[0] = 0; i[0] < p->dims[0]; ++i[0])
        for (i[1] = 0; i[1] < p->dims[1]; ++i[1])
            for (i[2] = 0; i[2] < p->dims[2]; ++i[2])
                for (i[3] = 0; i[3] < p->dims[3]; ++i[3])
                    for (i[4] = 0; i[4] < p->dims[4]; ++i[4]) {
                        const int pick = cond[tf_select_v2_at(p->cond_strides, i)] != 0;
                        const uint8_t *from = (const uint8_t *)(pick ? x : y);
                        const int32_t k = tf_select_v2_at(pick ? p->x_strides : p->y_strides, i);
                        memcpy(out, from + (size_t)k * e, e);
                        out += e;
                    }
}
