import type { MulS8Layer } from '../ir/layers.ts';
import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';

/** TFLite reference_integer_ops::Mul (same shapes). */
export function mulS8(l: MulS8Layer, input1: Int8Array, input2: Int8Array, output: Int8Array): void {
  for (let i = 0; i < l.size; i++) {
    const product = ((input1[i] as number) + l.input1Offset) * ((input2[i] as number) + l.input2Offset);
    const raw = multiplyByQuantizedMultiplier(product, l.outputMultiplier, l.outputShift) + l.outputOffset;
    output[i] = clamp(raw, l.actMin, l.actMax);
  }
}
