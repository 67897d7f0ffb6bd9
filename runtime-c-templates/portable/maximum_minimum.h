/* tinyforge: MAXIMUM / MINIMUM with broadcasting on raw values (inputs and output share one
 * quantization). */
#ifndef TF_MAXIMUM_MINIMUM_H
#define TF_MAXIMUM_MINIMUM_H
#include "tf_broadcast.h"

typedef struct {
    tf_broadcast shape;
    int32_t max; /* 1: MAXIMUM, 0: MINIMUM */
} tf_maximum_minimum_params;
#endif
