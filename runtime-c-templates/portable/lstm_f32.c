/* tinyforge kernel: UNIDIRECTIONAL_SEQUENCE_LSTM in float32 (TFLite Micro's
 * EvalLstm<float, float, float, float>). Each gate is a float FULLY_CONNECTED of the input (with the
 * gate bias) plus one of the hidden state (without a bias, so TFLite adds 0.0f), put through
 * LOGISTIC (TANH for the cell gate); the cell state becomes forget * cell + input * cell gate, clipped
 * when cell_clip > 0, the hidden state tanh(cell) * output gate, and the hidden state is also the
 * step's output. Every operation is TFLite's, in its order: the dot products add their products one
 * by one from the first, the fully connected outputs and the two products clamp to +-FLT_MAX
 * (their activation range) and the sums do not. The transcendentals are float_math.h's, equal to the
 * glibc the goldens were made with on every target. Rows of a batch never interact, so the kernel
 * runs one batch row at a time whatever the layout. compiler/ops/lstm_float_reference.ts is the
 * TypeScript twin. */
#include <float.h>
#include "tf_float.h"
#include "float_math.h"

typedef struct {
    const float *input_weights;     /* [state_size][input_size], TFLite's layout */
    const float *recurrent_weights; /* [state_size][state_size] */
    const float *bias;              /* [state_size] */
} tf_lstm_f32_gate_params;

typedef struct {
    int32_t batches, steps, input_size, state_size, time_major;
    const tf_lstm_f32_gate_params *input_gate, *forget_gate, *cell_gate, *output_gate;
    float cell_clip; /* 0: no clipping */
} tf_lstm_f32_params;

/* TFLite's clamp to the whole float range (activation NONE): infinities become +-FLT_MAX. */
static inline float tf_lstm_f32_limit(float x) {
    return tf_act_f32(x, -FLT_MAX, FLT_MAX);
}

/* One output of reference_ops::FullyConnected (float). */
static inline float tf_lstm_f32_fc_row(const float *w, const float *x, int32_t n, float bias) {
    float total = 0.0f;
    for (int32_t d = 0; d < n; ++d) total += x[d] * w[d];
    return tf_lstm_f32_limit(total + bias);
}

/* One gate of one batch row: out = activation(FC(x) + FC(h)). */
static void tf_lstm_f32_gate(const tf_lstm_f32_params *p, const tf_lstm_f32_gate_params *g, const float *x, const float *h, int use_tanh, float *out) {
    const int32_t n = p->state_size;
    for (int32_t o = 0; o < n; ++o) {
        const float a = tf_lstm_f32_fc_row(g->input_weights + o * p->input_size, x, p->input_size, g->bias[o]);
        const float b = tf_lstm_f32_fc_row(g->recurrent_weights + o * n, h, n, 0.0f);
        const float sum = a + b;
        out[o] = use_tanh ? tf_tanhf(sum) : tf_logisticf(sum);
    }
}

/* All steps of all batches; `hidden` and `cell` are the state, kept across invokes.
 * scratch: 3 * state_size floats. */
static void tf_lstm_f32(const tf_lstm_f32_params *p, const float *input, float *hidden, float *cell, float *output, float *scratch) {
    const int32_t n = p->state_size;
    float *forget = scratch;
    float *input_gate = scratch + n;
    float *cell_gate = scratch + 2 * n;
    const float clip = p->cell_clip;
    for (int32_t b = 0; b < p->batches; ++b) {
        float *h = hidden + b * n;
        float *c = cell + b * n;
        for (int32_t t = 0; t < p->steps; ++t) {
            const int32_t row = p->time_major ? t * p->batches + b : b * p->steps + t;
            const float *x = input + row * p->input_size;
            tf_lstm_f32_gate(p, p->forget_gate, x, h, 0, forget);
            tf_lstm_f32_gate(p, p->input_gate, x, h, 0, input_gate);
            tf_lstm_f32_gate(p, p->cell_gate, x, h, 1, cell_gate);
            for (int32_t i = 0; i < n; ++i) {
                const float kept = tf_lstm_f32_limit(forget[i] * c[i]);
                const float added = tf_lstm_f32_limit(input_gate[i] * cell_gate[i]);
                float next = kept + added;
                if (clip > 0.0f) {
                    /* std::max(std::min(clip, v), -clip): NaN becomes clip, as in TFLite. */
                    next = next < clip ? next : clip;
                    next = next < -clip ? -clip : next;
                }
                c[i] = next;
            }
            /* The output gate still reads the previous hidden state; the input gate is done. */
            float *output_gate = input_gate;
            tf_lstm_f32_gate(p, p->output_gate, x, h, 0, output_gate);
            float *y = output + row * n;
            for (int32_t i = 0; i < n; ++i) {
                const float v = tf_lstm_f32_limit(tf_tanhf(c[i]) * output_gate[i]);
                h[i] = v;
                y[i] = v;
            }
        }
    }
}
