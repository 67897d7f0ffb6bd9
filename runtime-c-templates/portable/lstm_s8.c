/* tinyforge kernel: UNIDIRECTIONAL_SEQUENCE_LSTM with int8 input / hidden state, int8 weights,
 * int32 bias and an int16 cell state (TFLite Micro's EvalLstm<int8_t, int8_t, int16_t, int32_t>).
 * The input and hidden offsets are folded into the biases at compile time, so the matrix products
 * are plain int8 dot products with 32-bit accumulators, on weights kept in groups of four rows
 * interleaved in 4-byte steps (mac_4rows_s8.h: SMLAD on cores with the DSP extension). */
#include "tf_simd.h"
#include "mac_4rows_s8.h"
#include "lstm.h"

/* acc[0..3] = bias + x . rows o..o+3 of an interleaved [rows][depth] matrix (rows past the end
 * are zero padding; their accumulators are not used). */
static inline void tf_lstm_rows4_s8(const int8_t *w, const int32_t *bias, int32_t rows_left, int32_t depth, const int8_t *x, int32_t *acc) {
    const int32_t steps = depth / 4;
    for (int32_t r = 0; r < 4; ++r) acc[r] = bias != NULL && r < rows_left ? bias[r] : 0;
    if (steps > 0) tf_mac_4rows_s8(x, w, steps, acc);
    /* The last depth % 4 inputs: the tail of the interleaved step. */
    for (int32_t k = steps * 4; k < depth; ++k) {
        for (int32_t r = 0; r < 4; ++r) acc[r] += x[k] * w[steps * 16 + 4 * r + (k - steps * 4)];
    }
}

/* One gate of one batch row: out = activation(sat16(input product) + sat16(recurrent product)). */
static void tf_lstm_gate_s8(const tf_lstm_params *p, const tf_lstm_gate_params *g, const int8_t *x, const int8_t *h, int tanh, int16_t *out) {
    const int32_t n = p->state_size;
    const int32_t input_k4 = (p->input_size + 3) & ~3;
    const int32_t state_k4 = (n + 3) & ~3;
    const int32_t *input_bias = (const int32_t *)g->input_bias;
    const int32_t *recurrent_bias = (const int32_t *)g->recurrent_bias;
    for (int32_t o = 0; o < n; o += 4) {
        int32_t acc_in[4], acc_rec[4];
        tf_lstm_rows4_s8(g->input_weights + o * input_k4, input_bias + o, n - o, p->input_size, x, acc_in);
        tf_lstm_rows4_s8(g->recurrent_weights + o * state_k4, recurrent_bias != NULL ? recurrent_bias + o : NULL, n - o, n, h, acc_rec);
        for (int32_t r = 0; r < 4 && o + r < n; ++r) {
            const int16_t a = tf_lstm_sat16(tf_requantize_mode(g->input_requant, acc_in[r], g->input_multiplier, g->input_shift));
            const int16_t b = tf_lstm_sat16(tf_requantize_mode(g->recurrent_requant, acc_rec[r], g->recurrent_multiplier, g->recurrent_shift));
            out[o + r] = tf_lstm_sat16(a + b);
        }
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
