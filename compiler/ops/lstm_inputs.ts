// Input positions of UNIDIRECTIONAL_SEQUENCE_LSTM (tensorflow/lite/micro/kernels/lstm_shared.h),
// shared by the integer (lstm.ts) and float32 (lstm_float.ts) lowerings.

export const LSTM_INPUTS = {
  input: 0,
  inputWeights: { input: 1, forget: 2, cell: 3, output: 4 },
  recurrentWeights: { input: 5, forget: 6, cell: 7, output: 8 },
  bias: { input: 12, forget: 13, cell: 14, output: 15 },
  hiddenState: 18,
  cellState: 19,
} as const;

/** The sequence shape every LSTM kernel's parameters start with. */
export interface LstmSequenceShape {
  timeMajor: boolean;
  batches: number;
  steps: number;
  inputSize: number;
  stateSize: number;
}

/**
 * The leading fields of tf_lstm_params and tf_lstm_f32_params (runtime-c-templates/portable): the
 * sequence shape, then the four gates' parameter structs in TFLite's order, which `gate` emits.
 */
export function lstmLeadingFields(p: LstmSequenceShape, gate: (g: 'input' | 'forget' | 'cell' | 'output') => string): Record<string, number | string> {
  return {
    batches: p.batches,
    steps: p.steps,
    input_size: p.inputSize,
    state_size: p.stateSize,
    time_major: p.timeMajor ? 1 : 0,
    input_gate: gate('input'),
    forget_gate: gate('forget'),
    cell_gate: gate('cell'),
    output_gate: gate('output'),
  };
}
