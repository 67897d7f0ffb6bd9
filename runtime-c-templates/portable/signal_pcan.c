/* tinyforge portable kernel: SignalPCAN (per-channel amplitude normalization). The gain comes
 * from the noise estimate through a piecewise quadratic table indexed by its bit length; the
 * resulting SNR (12 fractional bits) goes through x^2 / 4 below 2 and x - 1 above, to 6 bits. */
#include "signal.h"

typedef struct {
    int32_t channels, snr_shift;
    const int16_t *lut; /* at least 125 entries (checked by the compiler) */
} tf_signal_pcan_params;

static int16_t tf_signal_pcan_gain(uint32_t x, const int16_t *lut) {
    int32_t interval, frac, result;
    if (x <= 2) return lut[x];
    interval = tf_signal_msb32(x);
    lut += 4 * interval - 6;
    frac = (int32_t)(((interval < 11) ? (x << (11 - interval)) : (x >> (interval - 11))) & 0x3FF);
    result = ((int32_t)lut[2] * frac) >> 5;
    result = (int32_t)((uint32_t)result + ((uint32_t)(int32_t)lut[1] << 5));
    result = (int32_t)((uint32_t)result * (uint32_t)frac);
    result = (int32_t)((uint32_t)result + (1u << 14)) >> 15;
    result += lut[0];
    return (int16_t)(uint16_t)(uint32_t)result;
}

static void tf_signal_pcan(const tf_signal_pcan_params *p, const uint32_t *input, const uint32_t *noise, uint32_t *output) {
    for (int32_t i = 0; i < p->channels; ++i) {
        const uint32_t gain = (uint32_t)(int32_t)tf_signal_pcan_gain(noise[i], p->lut);
        const uint32_t snr = (uint32_t)(((uint64_t)input[i] * gain) >> p->snr_shift);
        output[i] = snr < (2u << 12) ? (snr * snr) >> (2 + 2 * 12 - 6) : (snr >> (12 - 6)) - (1u << 6);
    }
}
