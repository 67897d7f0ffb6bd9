/* tinyforge: RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR parameters. The source rows and columns
 * (and, for bilinear, the 1/1024 weights) are computed at compile time from TFLite's arithmetic. */
#ifndef TF_RESIZE_H
#define TF_RESIZE_H
#include "tf_quant.h"

typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w;
    int32_t element_bytes;
    /* nearest: one source index per output row / column; bilinear: (lower, upper, upper weight) triples */
    const int32_t *ys;
    const int32_t *xs;
} tf_resize_params;
#endif
