// The TypeScript reference of TFLite Micro's float32 LSTM (lstm_eval.h EvalLstm<float, float, float,
// float>): per time step, each gate is a float FULLY_CONNECTED of the input (with the gate bias) and
// one of the hidden state (without), added and put through LOGISTIC (TANH for the cell gate); the
// cell state becomes forget * cell + input * cell gate (then clipped when cell_clip > 0), the hidden
// state tanh(cell) * output gate, and the hidden state is also the step's output. Every float
// operation is rounded to float32 in TFLite Micro's order; the fully connected layers and the
// products clamp to +-FLT_MAX (their activation range is the whole float range), the sums do not.
// runtime-c-templates/portable/lstm_f32.c computes the same, operation for operation.

import { logisticf, tanhf } from '../reference/float_math.ts';
import { clampF32, FLT_MAX } from './float32.ts';
import type { LstmGateName } from './lstm_reference.ts';

/** Tensor ids of one gate's constants. */
export interface LstmFloatGate {
  inputWeights: number;
  recurrentWeights: number;
  bias: number;
}

export interface LstmFloatParams {
  timeMajor: boolean;
  batches: number;
  steps: number;
  inputSize: number;
  stateSize: number;
  gates: Readonly<Record<LstmGateName, LstmFloatGate>>;
  /** The float32 cell clip; 0 = no clipping. */
  cellClip: number;
}

export interface LstmFloatGateData {
  inputWeights: Float32Array;
  recurrentWeights: Float32Array;
  bias: Float32Array;
}

const f = Math.fround;

/** ActivationFunctionWithMinMax over the whole float range (activation NONE). */
function limit(x: number): number {
  return clampF32(x, -FLT_MAX, FLT_MAX);
}

/** One output of reference_ops::FullyConnected (float): the products summed in order, then the bias. */
function fcRow(w: Float32Array, row: number, x: Float32Array, xBase: number, n: number, bias: number): number {
  let total = 0;
  const wBase = row * n;
  for (let d = 0; d < n; d++) total = f(total + f((x[xBase + d] as number) * (w[wBase + d] as number)));
  return limit(f(total + bias));
}

/** CalculateLstmGate: FC(input) + FC(hidden state), then the gate's activation. */
function gate(p: LstmFloatParams, d: LstmFloatGateData, x: Float32Array, xBase: number, h: Float32Array, hBase: number, tanh: boolean, out: Float32Array): void {
  for (let o = 0; o < p.stateSize; o++) {
    const a = fcRow(d.inputWeights, o, x, xBase, p.inputSize, d.bias[o] as number);
    // The recurrent product has no bias: TFLite adds 0.0f (which turns -0 into +0).
    const b = fcRow(d.recurrentWeights, o, h, hBase, p.stateSize, 0);
    const sum = f(a + b);
    out[o] = tanh ? tanhf(sum) : logisticf(sum);
  }
}

/**
 * Runs all time steps of every batch. `hidden` and `cell` are the live state (updated in place);
 * `output` receives the hidden state after each step.
 */
export function runLstmFloat(p: LstmFloatParams, data: Readonly<Record<LstmGateName, LstmFloatGateData>>, input: Float32Array, hidden: Float32Array, cell: Float32Array, output: Float32Array): void {
  const S = p.stateSize;
  const forget = new Float32Array(S);
  const inputGate = new Float32Array(S);
  const cellGate = new Float32Array(S);
  const outputGate = new Float32Array(S);
  const clip = p.cellClip;
  for (let b = 0; b < p.batches; b++) {
    const hBase = b * S;
    for (let t = 0; t < p.steps; t++) {
      const row = p.timeMajor ? t * p.batches + b : b * p.steps + t;
      const xBase = row * p.inputSize;
      gate(p, data.forget, input, xBase, hidden, hBase, false, forget);
      gate(p, data.input, input, xBase, hidden, hBase, false, inputGate);
      gate(p, data.cell, input, xBase, hidden, hBase, true, cellGate);
      for (let i = 0; i < S; i++) {
        const kept = limit(f((forget[i] as number) * (cell[hBase + i] as number)));
        const added = limit(f((inputGate[i] as number) * (cellGate[i] as number)));
        let next = f(kept + added);
        // Clipping: std::max(std::min(clip, v), -clip), which also maps NaN to clip.
        if (clip > 0) {
          next = next < clip ? next : clip;
          next = next < -clip ? -clip : next;
        }
        cell[hBase + i] = next;
      }
      // The output gate reads the hidden state of the previous step: it changes only below.
      gate(p, data.output, input, xBase, hidden, hBase, false, outputGate);
      for (let i = 0; i < S; i++) {
        const v = limit(f(tanhf(cell[hBase + i] as number) * (outputGate[i] as number)));
        hidden[hBase + i] = v;
        output[row * S + i] = v;
      }
    }
  }
}
