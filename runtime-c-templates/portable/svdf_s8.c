/* tinyforge portable kernel: SVDF with int8 input / output (TFLite Micro's integer SVDF).
 * The activation state (a static buffer kept across invokes) holds, per batch and filter, the last
 * `memory` feature values. Each invoke shifts it by one step, writes the new feature column, then
 * applies the time weights, sums the `rank` filters of each unit onto the bias and requantizes.
 * weights_time and the state share one element type (int16, or int8 when weights_time is int8:
 * TFLite Micro then reads the state buffer as int8 whatever its declared type). Sums wrap through
 * uint32 like TFLite's int32 accumulators. */
#include "tf_quant.h"

typedef struct {
    int32_t time_int16; /* 1: weights_time and state are int16; 0: int8 */
    int32_t batches, input_size, filters, rank, memory;
    int32_t input_offset, state_zero_point, output_offset;
    int32_t feature_multiplier, feature_shift, output_multiplier, output_shift;
    const int8_t *weights_feature; /* [filters][input_size] */
    const void *weights_time;      /* [filters][memory], int16 or int8 */
    const int32_t *bias;           /* [filters / rank] or NULL */
} tf_svdf_params;

/* The requantized feature value of filter row `w` for one input vector, clamped to the state type. */
static inline int32_t tf_svdf_feature(const tf_svdf_params *p, const int8_t *w, const int8_t *x, int32_t lo, int32_t hi) {
    uint32_t dot = 0;
    for (int32_t c = 0; c < p->input_size; ++c) dot += (uint32_t)((int32_t)w[c] * ((int32_t)x[c] + p->input_offset));
    const int32_t v = tf_requantize((int32_t)dot, p->feature_multiplier, p->feature_shift);
    return TF_MIN(TF_MAX(v, lo), hi);
}

static void tf_svdf_s8(const tf_svdf_params *p, const int8_t *input, void *state, int8_t *output) {
    const int32_t units = p->filters / p->rank;
    const int32_t n = p->batches * p->filters * p->memory;
    const int32_t zp = p->state_zero_point;
    int16_t *s16 = (int16_t *)state;
    int8_t *s8 = (int8_t *)state;
    const int16_t *t16 = (const int16_t *)p->weights_time;
    const int8_t *t8 = (const int8_t *)p->weights_time;
    /* Age the state one step: the whole buffer moves by one element, and each filter's last slot
     * (which received the next filter's oldest value) is overwritten below. */
    if (p->time_int16) memmove(s16, s16 + 1, (size_t)(n - 1) * sizeof(int16_t));
    else memmove(s8, s8 + 1, (size_t)(n - 1));
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * p->input_size;
        for (int32_t f = 0; f < p->filters; ++f) {
            const int8_t *w = p->weights_feature + f * p->input_size;
            const int32_t slot = (b * p->filters + f) * p->memory + p->memory - 1;
            /* The zero point goes on after the clamp and the sum is narrowed (wrapping), as TFLite Micro does. */
            if (p->time_int16) s16[slot] = (int16_t)(tf_svdf_feature(p, w, x, INT16_MIN, INT16_MAX) + zp);
            else s8[slot] = (int8_t)(tf_svdf_feature(p, w, x, INT8_MIN, INT8_MAX) + zp);
        }
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t u = 0; u < units; ++u) {
            uint32_t acc = p->bias ? (uint32_t)p->bias[u] : 0u;
            for (int32_t r = 0; r < p->rank; ++r) {
                const int32_t f = u * p->rank + r;
                const int32_t s0 = (b * p->filters + f) * p->memory;
                const int32_t w0 = f * p->memory;
                if (p->time_int16)
                    for (int32_t j = 0; j < p->memory; ++j) acc += (uint32_t)(int32_t)t16[w0 + j] * (uint32_t)((int32_t)s16[s0 + j] - zp);
                else
                    for (int32_t j = 0; j < p->memory; ++j) acc += (uint32_t)(int32_t)t8[w0 + j] * (uint32_t)((int32_t)s8[s0 + j] - zp);
            }
            const int32_t v = tf_requantize((int32_t)acc, p->output_multiplier, p->output_shift) + p->output_offset;
            output[b * units + u] = tf_clamp_s8(v, -128, 127);
        }
    }
}
