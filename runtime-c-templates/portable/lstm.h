/* tinyforge: parameters and shared steps of TFLite Micro's integer UNIDIRECTIONAL_SEQUENCE_LSTM.
 * Each gate is two requantized matrix products (input x weights with the bias, hidden state x
 * recurrent weights) into Q3.12, summed with int16 saturation and put through the int16 sigmoid
 * (tanh for the cell gate) into Q0.15. The cell state (int16, scale 2^p) becomes
 * forget * cell + input * cell gate, the hidden state tanh(cell) * output gate, and the hidden
 * state is also the step's output. Rows of a batch never interact, so the kernels run one batch
 * row at a time whatever the layout. */
#ifndef TF_LSTM_H
#define TF_LSTM_H
#include "tf_simd.h"
#include "sigmoid_s16.h"

typedef struct {
    /* [state_size][input_size] and [state_size][state_size], in the kernel's layout */
    const int8_t *input_weights;
    const int8_t *recurrent_weights;
    /* Per row, int32_t (int8 LSTM) or int64_t (int16 LSTM): the gate bias plus the input offset
     * times the row's weight sum, so the inner loops multiply raw activations. */
    const void *input_bias;
    /* The hidden state offset times the recurrent row sums; NULL when the offset is 0. */
    const void *recurrent_bias;
    /* Requantization of each product into Q3.12; *_requant is the TF_REQUANT_* mode. */
    int32_t input_multiplier, input_shift, input_requant;
    int32_t recurrent_multiplier, recurrent_shift, recurrent_requant;
} tf_lstm_gate_params;

typedef struct {
    int32_t batches, steps, input_size, state_size, time_major;
    const tf_lstm_gate_params *input_gate, *forget_gate, *cell_gate, *output_gate;
    /* The gates' sigmoid and tanh (Q3.12 in) and the cell state's tanh, size state_size. */
    const tf_sigmoid_s16_params *gate_activation, *cell_tanh;
    /* The elementwise products, each with its multiplier, shift and TF_REQUANT_* mode. */
    int32_t forget_cell_multiplier, forget_cell_shift, forget_cell_requant; /* forget gate x cell -> cell */
    int32_t input_cell_multiplier, input_cell_shift, input_cell_requant;    /* input gate x cell gate -> cell */
    int32_t hidden_multiplier, hidden_shift, hidden_requant;                /* tanh(cell) x output gate -> hidden */
    int32_t hidden_offset, hidden_min, hidden_max;
    int32_t cell_clip; /* quantized; -1: no clipping */
} tf_lstm_params;

static inline int16_t tf_lstm_sat16(int32_t x) {
    return (int16_t)(x < -32768 ? -32768 : (x > 32767 ? 32767 : x));
}

/* The row of (batch b, step t) in the input and output. */
static inline int32_t tf_lstm_row(const tf_lstm_params *p, int32_t b, int32_t t) {
    return p->time_major ? t * p->batches + b : b * p->steps + t;
}

/* cell = clip(forget * cell + input * cell_gate); `input_gate` is overwritten. */
static inline void tf_lstm_update_cell(const tf_lstm_params *p, int16_t *cell, const int16_t *forget, int16_t *input_gate, const int16_t *cell_gate) {
    for (int32_t i = 0; i < p->state_size; ++i) {
        const int16_t kept = tf_lstm_sat16(tf_requantize_mode(p->forget_cell_requant, forget[i] * cell[i], p->forget_cell_multiplier, p->forget_cell_shift));
        const int16_t added = tf_lstm_sat16(tf_requantize_mode(p->input_cell_requant, input_gate[i] * cell_gate[i], p->input_cell_multiplier, p->input_cell_shift));
        int16_t next = tf_lstm_sat16(kept + added);
        if (p->cell_clip >= 0) next = (int16_t)TF_MAX(TF_MIN(next, p->cell_clip), -p->cell_clip);
        cell[i] = next;
    }
}

/* One hidden state value: tanh(cell) x output gate, requantized to the hidden state. */
static inline int32_t tf_lstm_hidden_value(const tf_lstm_params *p, int16_t tanh_cell, int16_t output_gate) {
    const int32_t v = p->hidden_offset + tf_requantize_mode(p->hidden_requant, tanh_cell * output_gate, p->hidden_multiplier, p->hidden_shift);
    return TF_MIN(TF_MAX(v, p->hidden_min), p->hidden_max);
}
#endif
