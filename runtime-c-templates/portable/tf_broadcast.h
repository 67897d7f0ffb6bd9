/* tinyforge: broadcasting for two-input element-wise kernels. The compiler describes the output
 * as at most TF_BROADCAST_MAX_RANK nested loops (dimensions of 1 dropped, neighbours that repeat
 * the same inputs merged; compiler/ops/broadcast.ts), each input with an element step per loop
 * that is 0 where it repeats. A kernel supplies the function for one innermost row, where each
 * input's step is 0 or 1; same-shape inputs are a single row. */
#ifndef TF_BROADCAST_H
#define TF_BROADCAST_H
#include "tf_quant.h"

#define TF_BROADCAST_MAX_RANK 6

typedef struct {
    int32_t rank;                          /* loops, outermost first; dims[rank - 1] is the row */
    int32_t dims[TF_BROADCAST_MAX_RANK];
    int32_t stride1[TF_BROADCAST_MAX_RANK]; /* input 1 elements per step of each loop */
    int32_t stride2[TF_BROADCAST_MAX_RANK];
} tf_broadcast;

/* One row of n outputs from inputs advancing step1 / step2 (0 or 1) elements per output. */
typedef void (*tf_broadcast_row_fn)(const void *params, const void *in1, int32_t step1, const void *in2, int32_t step2, void *out, int32_t n);

/* Walks the output in order, one row at a time; elem_bytes is the size of every operand's elements. */
static inline void tf_broadcast_rows(const tf_broadcast *b, int32_t elem_bytes, const void *in1, const void *in2, void *out, const void *params,
                                     tf_broadcast_row_fn row) {
    const int32_t inner = b->rank - 1;
    const int32_t n = b->dims[inner];
    int32_t index[TF_BROADCAST_MAX_RANK] = {0};
    int32_t rows = 1;
    for (int32_t d = 0; d < inner; ++d) rows *= b->dims[d];
    const uint8_t *a = (const uint8_t *)in1;
    const uint8_t *c = (const uint8_t *)in2;
    uint8_t *o = (uint8_t *)out;
    int32_t off1 = 0, off2 = 0;
    for (int32_t r = 0; r < rows; ++r) {
        row(params, a + (size_t)off1 * (size_t)elem_bytes, b->stride1[inner], c + (size_t)off2 * (size_t)elem_bytes, b->stride2[inner], o, n);
        o += (size_t)n * (size_t)elem_bytes;
        for (int32_t d = inner - 1; d >= 0; --d) {
            off1 += b->stride1[d];
            off2 += b->stride2[d];
            if (++index[d] < b->dims[d]) break;
            index[d] = 0;
            off1 -= b->stride1[d] * b->dims[d];
            off2 -= b->stride2[d] * b->dims[d];
        }
    }
}
#endif
