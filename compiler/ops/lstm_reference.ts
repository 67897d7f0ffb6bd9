// The TypeScript reference of TFLite Micro's integer LSTM (lstm_eval.h EvalLstm / LstmStep): per time
// step, four gates of two requantized matrix products each, summed with int16 saturation and put
// through sigmoid (tanh for the cell gate); the cell state becomes forget * cell + input * cell gate,
// the hidden state tanh(cell) * output gate, and the hidden state is also the step's output.
//
// TFLite Micro processes all batches of one time step together when the input is time-major, and
// one batch's time steps in a row otherwise; the rows never interact, so both come down to the same
// per-row step, which is what this runs.

import { clamp, multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierInt64 } from '../quant/fixed_point.ts';
import type { QuantizedMultiplier } from '../quant/multiplier.ts';
import { runSigmoid16 } from './logistic_tanh.ts';
import { GATE_ACTIVATION_RESCALE } from './lstm_params.ts';

/** One gate's matrix products: tensor ids of its weights and bias, and their requantizations into Q3.12. */
export interface LstmGate {
  inputWeights: number;
  recurrentWeights: number;
  bias: number;
  input: QuantizedMultiplier;
  recurrent: QuantizedMultiplier;
}

export type LstmGateName = 'input' | 'forget' | 'cell' | 'output';
export const LSTM_GATES: readonly LstmGateName[] = ['input', 'forget', 'cell', 'output'];

export interface LstmParams {
  /** int16 activations (16x8: int64 accumulators and bias) instead of int8. */
  int16: boolean;
  timeMajor: boolean;
  batches: number;
  steps: number;
  inputSize: number;
  stateSize: number;
  /** Minus the zero points of the input and of the hidden state (the recurrent product's input). */
  inputOffset: number;
  hiddenOffset: number;
  gates: Readonly<Record<LstmGateName, LstmGate>>;
  /** forget gate x cell state -> cell state; input gate x cell gate -> cell state. */
  forgetCell: QuantizedMultiplier;
  inputCell: QuantizedMultiplier;
  /** tanh(cell) x output gate -> hidden state, with the hidden state's zero point and type range. */
  hidden: QuantizedMultiplier;
  hiddenZeroPoint: number;
  hiddenMin: number;
  hiddenMax: number;
  /** Rescaling of the cell state for its tanh, in the int16 TANH kernel's (multiplier, shift) form. */
  cellTanh: { multiplier: number; shift: number };
  /** Quantized cell clip; -1 = no clipping (a clip below one cell state unit clips to 0). */
  cellClip: number;
}

/** Weights and biases of one gate, read from the constant tensors. */
export interface LstmGateData {
  inputWeights: Int8Array;
  recurrentWeights: Int8Array;
  bias: Int32Array | BigInt64Array;
}

type Activations = Int8Array | Int16Array;

const INT16_MIN = -32768;
const INT16_MAX = 32767;

/** One requantized matrix product (reference_integer_ops::FullyConnected into int16, output offset 0). */
function matVec(p: LstmParams, w: Int8Array, x: Activations, xBase: number, n: number, offset: number, bias: Int32Array | BigInt64Array | undefined, q: QuantizedMultiplier, row: number): number {
  let acc = 0;
  const wBase = row * n;
  for (let k = 0; k < n; k++) acc += (w[wBase + k] as number) * ((x[xBase + k] as number) + offset);
  let v: number;
  if (p.int16) {
    const b = bias ? (bias[row] as bigint) : 0n;
    v = multiplyByQuantizedMultiplierInt64(BigInt(acc) + b, q.multiplier, q.shift);
  } else {
    const b = bias ? (bias[row] as number) : 0;
    v = multiplyByQuantizedMultiplier((acc + b) | 0, q.multiplier, q.shift);
  }
  return clamp(v, INT16_MIN, INT16_MAX);
}

/** CalculateLstmGate: input product (with bias) + recurrent product (without), saturated, then activated. */
function gate(p: LstmParams, g: LstmGate, d: LstmGateData, x: Activations, xBase: number, h: Activations, hBase: number, tanh: boolean, out: Int16Array): void {
  for (let r = 0; r < p.stateSize; r++) {
    const a = matVec(p, d.inputWeights, x, xBase, p.inputSize, p.inputOffset, d.bias, g.input, r);
    const b = matVec(p, d.recurrentWeights, h, hBase, p.stateSize, p.hiddenOffset, undefined, g.recurrent, r);
    out[r] = clamp(a + b, INT16_MIN, INT16_MAX);
  }
  runSigmoid16({ tanh, size: p.stateSize, ...GATE_ACTIVATION_RESCALE }, out, out);
}

/** MulElementwise of two symmetric int16 vectors. */
function mul(a: number, b: number, q: QuantizedMultiplier, offset: number, lo: number, hi: number): number {
  return clamp(offset + multiplyByQuantizedMultiplier(a * b, q.multiplier, q.shift), lo, hi);
}

/**
 * Runs all time steps of every batch. `hidden` and `cell` are the live state (updated in place);
 * `output` receives the hidden state after each step.
 */
export function runLstm(p: LstmParams, data: Readonly<Record<LstmGateName, LstmGateData>>, input: Activations, hidden: Activations, cell: Int16Array, output: Activations): void {
  const S = p.stateSize;
  const forget = new Int16Array(S);
  const inputGate = new Int16Array(S);
  const cellGate = new Int16Array(S);
  const outputGate = new Int16Array(S);
  const tanhCell = new Int16Array(S);
  for (let b = 0; b < p.batches; b++) {
    const hBase = b * S;
    for (let t = 0; t < p.steps; t++) {
      const row = p.timeMajor ? t * p.batches + b : b * p.steps + t;
      const xBase = row * p.inputSize;
      gate(p, p.gates.forget, data.forget, input, xBase, hidden, hBase, false, forget);
      gate(p, p.gates.input, data.input, input, xBase, hidden, hBase, false, inputGate);
      gate(p, p.gates.cell, data.cell, input, xBase, hidden, hBase, true, cellGate);
      for (let i = 0; i < S; i++) {
        const c = mul(forget[i] as number, cell[hBase + i] as number, p.forgetCell, 0, INT16_MIN, INT16_MAX);
        const update = mul(inputGate[i] as number, cellGate[i] as number, p.inputCell, 0, INT16_MIN, INT16_MAX);
        let next = clamp(c + update, INT16_MIN, INT16_MAX);
        if (p.cellClip >= 0) next = clamp(next, -p.cellClip, p.cellClip);
        cell[hBase + i] = next;
      }
      // The output gate reads the hidden state of the previous step: it changes only below.
      gate(p, p.gates.output, data.output, input, xBase, hidden, hBase, false, outputGate);
      runSigmoid16({ tanh: true, size: S, ...p.cellTanh }, cell.subarray(hBase, hBase + S), tanhCell);
      for (let i = 0; i < S; i++) {
        const v = mul(tanhCell[i] as number, outputGate[i] as number, p.hidden, p.hiddenZeroPoint, p.hiddenMin, p.hiddenMax);
        hidden[hBase + i] = v;
        output[row * S + i] = v;
      }
    }
  }
}
