/* tinyforge portable kernel: LOGICAL_AND (op 0), LOGICAL_OR (1) with broadcasting and LOGICAL_NOT
 * (2, its second input the first again) on bool bytes (TFLite Micro's logical.cc and
 * elementwise.cc): any non-zero byte is true; outputs are 0 or 1. */
#include "tf_broadcast.h"

typedef struct {
    tf_broadcast shape;
    int32_t op;
} tf_logical_params;

static void tf_logical_row(const void *params, const void *in1, int32_t step1, const void *in2, int32_t step2, void *out, int32_t n) {
    const int32_t op = ((const tf_logical_params *)params)->op;
    const uint8_t *a = (const uint8_t *)in1;
    const uint8_t *b = (const uint8_t *)in2;
    uint8_t *y = (uint8_t *)out;
    for (int32_t i = 0; i < n; ++i) {
        const int x1 = a[i * step1] != 0;
        const int x2 = b[i * step2] != 0;
        y[i] = (uint8_t)(op == 0 ? (x1 && x2) : op == 1 ? (x1 || x2) : !x1);
    }
}

static void tf_logical(const tf_logical_params *p, const uint8_t *in1, const uint8_t *in2, uint8_t *output) {
    tf_broadcast_rows(&p->shape, 1, in1, in2, output, p, tf_logical_row);
}
