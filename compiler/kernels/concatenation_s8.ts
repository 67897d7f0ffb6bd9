import type { ConcatenationS8Layer } from '../ir/layers.ts';

/**
 * TFLite reference_ops::Concatenation on int8 (what TFLite Micro runs for int8: a byte copy, the
 * inputs sharing the output's quantization): for each outer slice, each input's slice in turn.
 */
export function concatenationS8(l: ConcatenationS8Layer, inputs: readonly Int8Array[], output: Int8Array): void {
  let at = 0;
  for (let k = 0; k < l.outer; k++) {
    l.copySizes.forEach((size, i) => {
      output.set((inputs[i] as Int8Array).subarray(k * size, (k + 1) * size), at);
      at += size;
    });
  }
}
