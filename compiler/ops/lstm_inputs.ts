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
