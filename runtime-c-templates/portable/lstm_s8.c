/* tinyforge kernel: UNIDIRECTIONAL_SEQUENCE_LSTM with int8 input / hidden state, int8 weights,
 * int32 bias and an int16 cell state (TFLite Micro's EvalLstm<int8_t, int8_t, int16_t, int32_t>).
 * The input and hidden offsets are folded into the biases at compile time, so the matrix products
 * are plain int8 dot products with 32-bit accumulators (SMLAD on cores with the DSP extension). */
#include "tf_simd.h"
#include "lstm.h"

/* a[0..n) . b[0..n) */
static inline int32_t tf_lstm_dot_s8(const int8_t *a, const int8_t *b, int32_t n) {
    int32_t acc = 0;
    int32_t k = 0;
#if TF_HAVE_DSP
    for (; k + 4 <= n; k += 4) {
        const uint32_t va = tf_read_u32(a + k);
        const uint32_t vb = tf_read_u32(b + k);
        acc = tf_smlad(tf_sxtb16(va), tf_sxtb16(vb), acc);
        acc = tf_smlad(tf_sxtb16_ror8(va), tf_sxtb16_ror8(vb), acc);
    }
#endif
    for (; k < n; ++k) acc += a[k] * b[k];
    return acc;
}

/* One gate of one batch row: out = activation(sat16(input product) + sat16(recurrent product)). */
static void tf_lstm_gate_s8(const tf_lstm_params *p, const tf_lstm_gate_params *g, const int8_t *x, const int8_t *h, int tanh, int16_t *out) {
    const int32_t *input_bias = (const int32_t *)g->input_bias;
    const int32_t *recurrent_bias = (const int32_t *)g->recurrent_bias;
    const int8_t *wi = g->input_weights;
    const int8_t *wr = g->recurrent_weights;
    for (int32_t r = 0; r < p->state_size; ++r, wi += p->input_size, wr += p->state_size) {
        /* Summed as unsigned: the bias fold wraps exactly as TFLite's int32 accumulator would. */
        const int32_t acc_in = (int32_t)((uint32_t)input_bias[r] + (uint32_t)tf_lstm_dot_s8(x, wi, p->input_size));
        const int32_t acc_rec = (int32_t)((uint32_t)(recurrent_bias ? recurrent_bias[r] : 0) + (uint32_t)tf_lstm_dot_s8(h, wr, p->state_size));
        const int16_t a = tf_lstm_sat16(tf_requantize(acc_in, g->input_multiplier, g->input_shift));
        const int16_t b = tf_lstm_sat16(tf_requantize(acc_rec, g->recurrent_multiplier, g->recurrent_shift));
        out[r] = tf_lstm_sat16(a + b);
    }
    if (tanh) {
        tf_tanh_s16(p->gate_activation, out, out);
    } else {
        tf_logistic_s16(p->gate_activation, out, out);
    }
}

/* All steps of all batches; `hidden` and `cell` are the state, kept across invokes.
 * scratch: 3 * state_size int16. */
static void tf_lstm_s8(const tf_lstm_params *p, const int8_t *input, int8_t *hidden, int16_t *cell, int8_t *output, int16_t *scratch) {
    const int32_t n = p->state_size;
    int16_t *forget = scratch;
    int16_t *input_gate = scratch + n;
    int16_t *cell_gate = scratch + 2 * n;
    for (int32_t b = 0; b < p->batches; ++b) {
        int8_t *h = hidden + b * n;
        int16_t *c = cell + b * n;
        for (int32_t t = 0; t < p->steps; ++t) {
            const int32_t row = tf_lstm_row(p, b, t);
            const int8_t *x = input + row * p->input_size;
            tf_lstm_gate_s8(p, p->forget_gate, x, h, 0, forget);
            tf_lstm_gate_s8(p, p->input_gate, x, h, 0, input_gate);
            tf_lstm_gate_s8(p, p->cell_gate, x, h, 1, cell_gate);
            tf_lstm_update_cell(p, c, forget, input_gate, cell_gate);
            /* The output gate still reads the previous hidden state; the cell gate is done. */
            int16_t *output_gate = cell_gate;
            tf_lstm_gate_s8(p, p->output_gate, x, h, 0, output_gate);
            int16_t *tanh_cell = forget;
            tf_tanh_s16(p->cell_tanh, c, tanh_cell);
            int8_t *y = output + row * n;
            for (int32_t i = 0; i < n; ++i) {
                const int8_t v = (int8_t)tf_lstm_hidden_value(p, tanh_cell[i], output_gate[i]);
                h[i] = v;
                y[i] = v;
            }
        }
    }
}
