/* tinyforge portable kernel: SignalFilterBank. Channel i accumulates weights[k] * energy into
 * itself and unweights[k] * energy into channel i + 1, in uint64; the sum that lands before
 * channel 0 is dropped. The compiler has checked every table index against its table. */
#include "signal.h"

typedef struct {
    int32_t channels;
    const int16_t *weights, *unweights, *freq_starts, *weight_starts, *widths;
} tf_signal_filter_bank_params;

static void tf_signal_filter_bank(const tf_signal_filter_bank_params *p, const uint32_t *input, uint64_t *output) {
    uint64_t weighted = 0, unweighted = 0;
    for (int32_t i = 0; i <= p->channels; ++i) {
        const uint32_t *energy = input + p->freq_starts[i];
        const int16_t *w = p->weights + p->weight_starts[i];
        const int16_t *u = p->unweights + p->weight_starts[i];
        const int32_t width = p->widths[i];
        for (int32_t j = 0; j < width; ++j) {
            /* int16 weights convert to uint64 (negative ones wrap), as the library's expression does. */
            weighted += (uint64_t)(int64_t)w[j] * energy[j];
            unweighted += (uint64_t)(int64_t)u[j] * energy[j];
        }
        if (i > 0) output[i - 1] = weighted;
        weighted = unweighted;
        unweighted = 0;
    }
}
