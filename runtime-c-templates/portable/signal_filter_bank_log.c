/* tinyforge portable kernel: SignalFilterBankLog, output_scale * ln(x << correction_bits) rounded
 * and saturated to int16 (0 for inputs of 0 or 1), with the library's fixed-point log. */
#include "signal.h"

typedef struct {
    int32_t channels, correction_bits;
    uint32_t output_scale;
} tf_signal_filter_bank_log_params;

/* log2's fractional part, corrected piecewise-linearly, in 1/65536 units. */
static const uint16_t tf_signal_log_lut[130] = {
    0,    224,  442,  654,  861,  1063, 1259, 1450, 1636, 1817, 1992, 2163, 2329, 2490, 2646, 2797, 2944, 3087, 3224, 3358, 3487, 3611,
    3732, 3848, 3960, 4068, 4172, 4272, 4368, 4460, 4549, 4633, 4714, 4791, 4864, 4934, 5001, 5063, 5123, 5178, 5231, 5280, 5326, 5368,
    5408, 5444, 5477, 5507, 5533, 5557, 5578, 5595, 5610, 5622, 5631, 5637, 5640, 5641, 5638, 5633, 5626, 5615, 5602, 5586, 5568, 5547,
    5524, 5498, 5470, 5439, 5406, 5370, 5332, 5291, 5249, 5203, 5156, 5106, 5054, 5000, 4944, 4885, 4825, 4762, 4697, 4630, 4561, 4490,
    4416, 4341, 4264, 4184, 4103, 4020, 3935, 3848, 3759, 3668, 3575, 3481, 3384, 3286, 3186, 3084, 2981, 2875, 2768, 2659, 2549, 2437,
    2323, 2207, 2090, 1971, 1851, 1729, 1605, 1480, 1353, 1224, 1094, 963,  830,  695,  559,  421,  282,  142,  0,    0,
};

static uint32_t tf_signal_log32(uint32_t x, uint32_t out_scale) {
    const int32_t integer = tf_signal_msb32(x) - 1;
    int32_t frac = (int32_t)(x - ((uint32_t)1 << integer));
    uint32_t seg, log2, loge;
    int32_t c0, c1, rel_pos;
    if (integer < 16) frac <<= 16 - integer;
    else frac >>= integer - 16;
    seg = (uint32_t)frac >> 9;
    c0 = tf_signal_log_lut[seg];
    c1 = tf_signal_log_lut[seg + 1];
    rel_pos = ((c1 - c0) * (frac - (int32_t)(512 * seg))) >> 16;
    log2 = ((uint32_t)integer << 16) + (uint32_t)(frac + c0 + rel_pos);
    /* 45426 / 65536 = ln 2 */
    loge = (uint32_t)(((uint64_t)45426 * log2 + 32768) >> 16);
    return (out_scale * loge + 32768u) >> 16;
}

static void tf_signal_filter_bank_log(const tf_signal_filter_bank_log_params *p, const uint32_t *input, int16_t *output) {
    for (int32_t i = 0; i < p->channels; ++i) {
        const uint32_t scaled = input[i] << p->correction_bits;
        if (scaled > 1) {
            const uint32_t v = tf_signal_log32(scaled, p->output_scale);
            output[i] = (int16_t)(v < 32767u ? v : 32767u);
        } else {
            output[i] = 0;
        }
    }
}
