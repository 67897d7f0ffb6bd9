/* tinyforge portable kernel: SignalFilterBankSpectralSubtraction. The noise estimate is state
 * (it persists across invokes) and is also copied to the second output. */
#include "signal.h"

typedef struct {
    int32_t channels;
    uint32_t smoothing, one_minus_smoothing, alternate_smoothing, alternate_one_minus_smoothing, min_signal_remaining;
    int32_t smoothing_bits, spectral_subtraction_bits, clamping;
} tf_signal_spectral_subtraction_params;

static void tf_signal_spectral_subtraction(const tf_signal_spectral_subtraction_params *p, const uint32_t *input, uint32_t *estimate, uint32_t *output,
                                           uint32_t *estimate_out) {
    for (int32_t i = 0; i < p->channels; ++i) {
        /* Odd channels use the alternate coefficient. */
        const uint32_t smoothing = (i & 1) ? p->alternate_smoothing : p->smoothing;
        const uint32_t one_minus = (i & 1) ? p->alternate_one_minus_smoothing : p->one_minus_smoothing;
        const uint32_t scaled_up = input[i] << p->smoothing_bits;
        uint32_t bounded, floor_value, subtracted;
        estimate[i] = (uint32_t)(((uint64_t)scaled_up * smoothing + (uint64_t)estimate[i] * one_minus) >> p->spectral_subtraction_bits);
        bounded = estimate[i];
        if (bounded > scaled_up) {
            bounded = scaled_up;
            if (p->clamping) estimate[i] = bounded;
        }
        floor_value = (uint32_t)(((uint64_t)input[i] * p->min_signal_remaining) >> p->spectral_subtraction_bits);
        subtracted = (scaled_up - bounded) >> p->smoothing_bits;
        output[i] = subtracted > floor_value ? subtracted : floor_value;
        estimate_out[i] = estimate[i];
    }
}
