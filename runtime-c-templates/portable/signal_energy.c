/* tinyforge portable kernel: SignalEnergy, re^2 + im^2 of the complex int16 bins in [start, end)
 * as uint32; the other outputs are set to 0. */
#include "signal.h"

typedef struct {
    int32_t bins, start, end;
} tf_signal_energy_params;

static void tf_signal_energy(const tf_signal_energy_params *p, const int16_t *input, uint32_t *output) {
    for (int32_t i = 0; i < p->bins; ++i) {
        if (i < p->start || i >= p->end) {
            output[i] = 0;
            continue;
        }
        /* Summed as uint32: the library's int32 sum reaches 2^31 only for two -32768 parts, and the
         * uint32 store keeps that value. */
        const int32_t re = input[2 * i], im = input[2 * i + 1];
        output[i] = (uint32_t)(re * re) + (uint32_t)(im * im);
    }
}
