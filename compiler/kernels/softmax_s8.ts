import type { SoftmaxS8Layer } from '../ir/layers.ts';
import { clamp, saturatingRoundingDoublingHighMul } from '../quant/fixed_point.ts';
import { expOnNegativeValues, getReciprocal, rescale, roundingDivideByPOT } from '../quant/fixed_point_math.ts';

const SCALED_DIFF_INTEGER_BITS = 5;
const ACCUMULATION_INTEGER_BITS = 12;

/** TFLite reference_ops::Softmax for int8 in and out (gemmlowp fixed-point exp and reciprocal). */
export function softmaxS8(l: SoftmaxS8Layer, input: Int8Array, output: Int8Array): void {
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
        const unsat = roundingDivideByPOT(saturatingRoundingDoublingHighMul(reciprocal, e), numBitsOverUnit + 31 - 8);
        output[base + c] = clamp(unsat - 128, -128, 127);
      } else {
        output[base + c] = -128;
      }
    }
  }
}
