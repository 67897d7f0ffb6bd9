/* tinyforge: MEAN / SUM / REDUCE_MAX parameters. The reduction is resolved at compile time into
 * merged dimensions (outermost first) with an output stride per dimension (0 when reduced); the
 * kernels walk the input row by row (rows of the innermost merged dimension, contiguous) into one
 * 32-bit accumulator per output, then finish each output (TFLite Micro's QuantizedMeanOrSum). */
#ifndef TF_REDUCE_H
#define TF_REDUCE_H
#include "tf_quant.h"

#define TF_REDUCE_MAX_DIMS 6

typedef struct {
    int32_t num_dims;
    int32_t dims[TF_REDUCE_MAX_DIMS];
    int32_t out_strides[TF_REDUCE_MAX_DIMS];
    int32_t output_size, count, input_zero_point, output_zero_point, multiplier, shift, act_min, act_max;
} tf_reduce_params;

/* Advances the odometer of the outer merged dimensions by one row; returns the row's output offset. */
static inline int32_t tf_reduce_next_row(const tf_reduce_params *p, int32_t *index, int32_t out) {
    for (int32_t d = p->num_dims - 2; d >= 0; --d) {
        out += p->out_strides[d];
        if (++index[d] < p->dims[d]) return out;
        out -= p->out_strides[d] * p->dims[d];
        index[d] = 0;
    }
    return out;
}

/* The sum minus count zero points, wrapping as TFLite's int32 arithmetic does, then requantized. */
static inline int32_t tf_reduce_finish(const tf_reduce_params *p, uint32_t sum) {
    const int32_t shifted = (int32_t)(sum - (uint32_t)p->input_zero_point * (uint32_t)p->count);
    const int32_t v = tf_requantize(shifted, p->multiplier, p->shift) + p->output_zero_point;
    return TF_MIN(TF_MAX(v, p->act_min), p->act_max);
}
#endif
