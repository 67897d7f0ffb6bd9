/* tinyforge: parameters of the int16 LOGISTIC / TANH kernels (TFLite Micro's int16 path): the input
 * is rescaled so that 2^17 stands for 10.7, then interpolated in TFLite's 256-entry sigmoid table. */
#ifndef TF_SIGMOID_S16_H
#define TF_SIGMOID_S16_H
#include "tf_quant.h"

typedef struct {
    int32_t size, multiplier, shift;
    const uint16_t *table; /* sigmoid(i / 24) in Q0.16 */
} tf_sigmoid_s16_params;

/* The rescaled input: (x * multiplier) >> shift, rounded half up. */
static inline int32_t tf_sigmoid_s16_input(const tf_sigmoid_s16_params *p, int16_t x) {
    const int32_t round = p->shift > 0 ? (1 << (p->shift - 1)) : 0;
    return (x * p->multiplier + round) >> p->shift;
}
#endif
