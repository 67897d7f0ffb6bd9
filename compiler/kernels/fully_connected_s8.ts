import type { FullyConnectedS8Layer } from '../ir/layers.ts';
import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';

/** TFLite reference_integer_ops::FullyConnected with a per-tensor multiplier; filter [outDepth, accumDepth]. */
export function fullyConnectedS8(
  l: FullyConnectedS8Layer,
  input: Int8Array,
  filter: Int8Array,
  bias: Int32Array | null,
  output: Int8Array,
): void {
  for (let b = 0; b < l.batches; b++) {
    const inBase = b * l.accumDepth;
    for (let o = 0; o < l.outDepth; o++) {
      const fBase = o * l.accumDepth;
      let acc = 0;
      for (let d = 0; d < l.accumDepth; d++) {
        acc += ((filter[fBase + d] as number) + l.filterOffset) * ((input[inBase + d] as number) + l.inputOffset);
      }
      if (bias) acc += bias[o] as number;
      acc = multiplyByQuantizedMultiplier(acc | 0, l.multiplier, l.shift);
      output[b * l.outDepth + o] = clamp(acc + l.outputOffset, l.actMin, l.actMax);
    }
  }
}
