// TFLite Micro's Prepare for its integer UNIDIRECTIONAL_SEQUENCE_LSTM (lstm_eval_common.cc), done at
// compile time. TFLite Micro's LSTM fixes the internal formats instead of reading the model's
// intermediate tensors: every gate's matrix products land in Q3.12 (scale 2^-12), the sigmoid /
// tanh gate outputs are Q0.15 (2^-15), and the cell state's scale must be a power of two, whose
// exponent sets the rescaling of the cell's tanh.

import { requantMode, type RequantMode } from '../passes/select_kernels.ts';
import { checkedLog2, quantizeMultiplier, type QuantizedMultiplier } from '../quant/multiplier.ts';

/** Scale of a gate's pre-activation: Q3.12. */
export const GATE_INPUT_SCALE = 2 ** -12;
/** Scale of a gate's output (sigmoid or tanh): Q0.15. */
export const GATE_OUTPUT_SCALE = 2 ** -15;

/**
 * The requantization of one of a gate's two matrix products (input x weights, or hidden state x
 * recurrent weights) into Q3.12. CalculateOpDataFullyConnected multiplies the two float32 scales
 * in float32 and divides by the output scale in double.
 */
export function gateMatMulMultiplier(activationScale: number, weightScale: number): QuantizedMultiplier {
  return quantizeMultiplier(Math.fround(activationScale * weightScale) / GATE_INPUT_SCALE);
}

/**
 * CreateInterGateMulParams: the requantization of an elementwise product of two symmetric int16
 * values into `outputScale`, with the scales widened to double before multiplying.
 */
export function interGateMultiplier(scale1: number, scale2: number, outputScale: number): QuantizedMultiplier {
  return quantizeMultiplier((scale1 * scale2) / outputScale);
}

/**
 * CreateLstmCellStateInfo: log2 of the cell state scale, rounded. TFLite Micro ignores whether the
 * scale really is a power of two, so neither does this.
 */
export function cellScalePower(cellScale: number): number {
  return checkedLog2(cellScale).log2;
}

/**
 * The input rescaling of the int16 tanh applied to the cell state (lstm_eval.cc Tanh): the kernel's
 * table wants 2^12 to stand for 1 with an extra factor 3, so a cell scale of 2^p is multiplied by
 * 3 * 2^(p + 12) when that is a left shift, or by 3 and shifted right (rounding) otherwise.
 * Returned in the form of the int16 LOGISTIC / TANH kernels: (x * multiplier + round) >> shift.
 */
export function cellTanhRescale(power: number): { multiplier: number; shift: number } {
  const leftShift = 15 + power - 3;
  return leftShift >= 0 ? { multiplier: 3 * 2 ** leftShift, shift: 0 } : { multiplier: 3, shift: -leftShift };
}

/** The rescaling of a gate's Q3.12 pre-activation for the sigmoid and tanh gates (power -12). */
export const GATE_ACTIVATION_RESCALE = cellTanhRescale(-12);

/**
 * CreateLstmCellStateInfo: the cell clip in cell state units, truncated toward zero after
 * saturating to int16; -1 when the model does not clip (cell_clip == 0).
 */
export function quantizedCellClip(cellClip: number, cellScale: number): number {
  if (!(cellClip > 0)) return -1;
  return Math.trunc(Math.min(Math.max(cellClip / cellScale, -32768), 32767));
}

/**
 * Row sums of a [rows, cols] int8 matrix times `offset`, added to `bias`, wrapping as an int32
 * accumulator would (the C kernel's sums then equal TFLite Micro's), and the requantization mode
 * that is exact for every accumulator of those rows on int8 inputs.
 */
export function foldOffsetIntoBias(weights: Int8Array, rows: number, cols: number, offset: number, bias: Int32Array | undefined, shift: number): { bias: Int32Array; requant: RequantMode } {
  const out = new Int32Array(rows);
  const absSums = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    let abs = 0;
    for (let k = 0; k < cols; k++) {
      const w = weights[r * cols + k] as number;
      sum += w;
      abs += Math.abs(w);
    }
    out[r] = ((bias ? (bias[r] as number) : 0) + offset * sum) | 0;
    absSums[r] = abs;
  }
  return { bias: out, requant: requantMode(absSums, out, [shift]) };
}

/**
 * The requantization mode of an elementwise product of a gate output (sigmoid: 0 .. 32767) with
 * an int16 value (the cell state, the cell gate or tanh of the cell): |product| <= 32767 * 32768.
 */
export function gateProductRequantMode(shift: number): RequantMode {
  return requantMode(new Float64Array([(32767 * 32768) / 128]), new Int32Array(1), [shift]);
}
