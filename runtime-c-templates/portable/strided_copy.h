/* tinyforge: strided copies, the one kernel behind the data-movement ops (STRIDED_SLICE, SLICE,
 * PACK, UNPACK, SPLIT, SPLIT_V, TRANSPOSE, TILE, FILL). The compiler folds each op's slicing,
 * permutation or repetition into per-dimension strides:
 *   out[out_offset + sum(i_d * out_stride_d)] = in[in_offset + sum(i_d * in_stride_d)]
 * for every index i with 0 <= i_d < count_d. Strides are in elements and may be negative (reversed
 * slices) or zero (repeated elements). */
#ifndef TF_STRIDED_COPY_H
#define TF_STRIDED_COPY_H
#include "tf_quant.h"

#define TF_COPY_DIMS 8

typedef struct {
    int32_t count[TF_COPY_DIMS]; /* outermost first; the last dimension is the innermost run */
    int32_t in_stride[TF_COPY_DIMS];
    int32_t out_stride[TF_COPY_DIMS];
    int32_t in_offset, out_offset;
} tf_strided_copy_params;

/* Number of innermost runs: the product of all counts but the last. */
static inline int32_t tf_strided_copy_runs(const tf_strided_copy_params *p) {
    int32_t runs = 1;
    for (int d = 0; d < TF_COPY_DIMS - 1; ++d) runs *= p->count[d];
    return runs;
}

/* Steps the outer index (an odometer over all dimensions but the last) to the next run's start. */
static inline void tf_strided_copy_next(const tf_strided_copy_params *p, int32_t *index, int32_t *in, int32_t *out) {
    for (int d = TF_COPY_DIMS - 2; d >= 0; --d) {
        *in += p->in_stride[d];
        *out += p->out_stride[d];
        if (++index[d] < p->count[d]) return;
        index[d] = 0;
        *in -= p->in_stride[d] * p->count[d];
        *out -= p->out_stride[d] * p->count[d];
    }
}
#endif
