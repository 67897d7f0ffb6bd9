import type { SoftmaxS8Layer } from '../ir/layers.ts';
import { clamp, saturatingRoundingDoublingHighMul } from '../quant/fixed_point.ts';
import { expOnNegativeValues, getReciprocal, rescale, roundingDivideByPOT } from '../quant/fixed_point_math.ts';

const SCALED_DIFF_INTEGER_BITS = 5;
const ACCUMULATION_INTEGER_BITS = 12;

/** The int8-input softmax's parameters (TFLite SoftmaxParams for int8 inputs). */
export interface SoftmaxInt8Params {
  outer: number;
  depth: number;
  inputMultiplier: number;
  inputLeftShift: number;
  diffMin: number;
}

/**
 * TFLite reference_ops::Softmax for int8 inputs (gemmlowp fixed-point exp and reciprocal), with an
 * int8 output (scale 1/256, zero point -128) or an int16 one (scale 1/65536, zero point -32768).
 */
export function softmaxInt8(l: SoftmaxInt8Params, input: Int8Array, output: Int8Array | Int16Array, outputBits: 8 | 16): void {
  const outMin = -(2 ** (outputBits - 1));
  const outMax = 2 ** (outputBits - 1) - 1;
  const scaledDiff = (diff: number): number =>
    saturatingRoundingDoublingHighMul(Math.imul(diff, 2 ** l.inputLeftShift), l.inputMultiplier);
  for (let row = 0; row < l.outer; row++) {
    const base = row * l.depth;
    let maxInRow = -128;
    for (let c = 0; c < l.depth; c++) maxInRow = Math.max(maxInRow, input[base + c] as number);
    let sumOfExps = 0;
    for (let c = 0; c < l.depth; c++) {
      const diff = (input[base + c] as number) - maxInRow;
      if (diff >= l.diffMin) {
        const e = expOnNegativeValues(scaledDiff(diff), SCALED_DIFF_INTEGER_BITS);
        sumOfExps = (sumOfExps + rescale(e, 0, ACCUMULATION_INTEGER_BITS)) | 0;
      }
    }
    const { reciprocal, numBitsOverUnit } = getReciprocal(sumOfExps, ACCUMULATION_INTEGER_BITS);
    for (let c = 0; c < l.depth; c++) {
      const diff = (input[base + c] as number) - maxInRow;
      if (diff >= l.diffMin) {
        const e = expOnNegativeValues(scaledDiff(diff), SCALED_DIFF_INTEGER_BITS);
        const unsat = roundingDivideByPOT(saturatingRoundingDoublingHighMul(reciprocal, e), numBitsOverUnit + 31 - outputBits);
        output[base + c] = clamp(unsat + outMin, outMin, outMax);
      } else {
        output[base + c] = outMin;
      }
    }
  }
}

/** TFLite reference_ops::Softmax for int8 in and out. */
export function softmaxS8(l: SoftmaxS8Layer, input: Int8Array, output: Int8Array): void {
  softmaxInt8(l, input, output, 8);
}
