/* tinyforge portable kernel: SignalFftAutoScale, a frame shifted left by the bits its largest
 * magnitude leaves free in int16; the shift is the second output. */
#include "signal.h"

static void tf_signal_fft_auto_scale(int32_t size, const int16_t *input, int16_t *output, int32_t *scale_bits) {
    /* The library's MaxAbs16 keeps an int16 maximum: a -32768 sample stores -32768 (its negation
     * wraps), which a later sample may replace. */
    int16_t max = 0;
    int32_t bits;
    for (int32_t i = 0; i < size; ++i) {
        const int16_t v = input[i];
        if (v > max) max = v;
        else if (-v > max) max = (int16_t)(uint16_t)(-(int32_t)v);
    }
    bits = 16 - tf_signal_msb32((uint32_t)(int32_t)max) - 1;
    if (bits < 0) bits = 0;
    for (int32_t i = 0; i < size; ++i) output[i] = (int16_t)(uint16_t)((uint32_t)(int32_t)input[i] << bits);
    *scale_bits = bits;
}
