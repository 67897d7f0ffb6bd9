/* tinyforge portable kernel: GATHER of int8 slices by int32 positions (TFLite Micro's gather.cc). */
#include "tf_quant.h"

typedef struct {
    /* Products of the input dimensions: before batch_dims, from there to the axis, after the axis. */
    int32_t batch, outer, inner;
    /* Positions per batch, and the extent of the gathered axis. */
    int32_t coords, axis_size;
} tf_gather_params;

/* Returns non-zero, as TFLite Micro fails Invoke, on a position outside the axis. */
static int tf_gather_s8(const tf_gather_params *p, const int8_t *input, const int32_t *positions, int8_t *output) {
    for (int32_t b = 0; b < p->batch; ++b) {
        for (int32_t o = 0; o < p->outer; ++o) {
            const int8_t *slab = input + (b * p->outer + o) * p->axis_size * p->inner;
            for (int32_t c = 0; c < p->coords; ++c) {
                const int32_t at = positions[b * p->coords + c];
                if (at < 0 || at >= p->axis_size) return 1;
                memcpy(output, slab + at * p->inner, (size_t)p->inner);
                output += p->inner;
            }
        }
    }
    return 0;
}
