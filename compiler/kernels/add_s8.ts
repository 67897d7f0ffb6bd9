import type { AddS8Layer } from '../ir/layers.ts';
import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';

/** TFLite reference_integer_ops::Add (same shapes): both inputs rescaled to a common scale, summed, rescaled. */
export function addS8(l: AddS8Layer, input1: Int8Array, input2: Int8Array, output: Int8Array): void {
  const scale = 1 << l.leftShift;
  for (let i = 0; i < l.size; i++) {
    const a = multiplyByQuantizedMultiplier(((input1[i] as number) + l.input1Offset) * scale, l.input1Multiplier, l.input1Shift);
    const b = multiplyByQuantizedMultiplier(((input2[i] as number) + l.input2Offset) * scale, l.input2Multiplier, l.input2Shift);
    const raw = multiplyByQuantizedMultiplier((a + b) | 0, l.outputMultiplier, l.outputShift) + l.outputOffset;
    output[i] = clamp(raw, l.actMin, l.actMax);
  }
}
