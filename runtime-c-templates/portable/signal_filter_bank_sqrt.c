/* tinyforge portable kernel: SignalFilterBankSquareRoot, the rounded square root of each uint64
 * channel shifted right by the FFT auto-scale bits (shifts of 32 or more give 0, negative ones
 * none; the library only sees 0..15). */
#include "signal.h"

static void tf_signal_filter_bank_sqrt(int32_t channels, const uint64_t *input, int32_t scale_bits, uint32_t *output) {
    for (int32_t i = 0; i < channels; ++i) {
        const uint32_t root = tf_signal_sqrt64(input[i]);
        output[i] = scale_bits >= 32 ? 0u : scale_bits <= 0 ? root : root >> scale_bits;
    }
}
