/* tinyforge portable kernel: SignalWindow, int16 samples times an int16 window, shifted and
 * saturated to int16; the window repeats over every window-length chunk of the input. */
#include "signal.h"

typedef struct {
    int32_t size, weight_size, shift;
} tf_signal_window_params;

static void tf_signal_window(const tf_signal_window_params *p, const int16_t *input, const int16_t *weights, int16_t *output) {
    for (int32_t i = 0, k = 0; i < p->size; ++i) {
        const int32_t raw = ((int32_t)input[i] * weights[k]) >> p->shift;
        output[i] = (int16_t)TF_MIN(TF_MAX(raw, -32768), 32767);
        if (++k == p->weight_size) k = 0;
    }
}
