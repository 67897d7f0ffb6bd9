import type { PadS8Layer } from '../ir/layers.ts';

/**
 * TFLite reference_ops::Pad (constant mode) on 4-D int8: every output element is the input element
 * it maps to, or the pad value when it falls in a padded region. Written element by element, as the
 * reference does, so it checks the C kernel's row-wise memset/memcpy independently.
 */
export function padS8(l: PadS8Layer, input: Int8Array, output: Int8Array): void {
  const [o0, o1, o2, o3] = l.outDims;
  const [i0, i1, i2, i3] = l.inDims;
  const [b0, b1, b2, b3] = l.before;
  let k = 0;
  for (let a = 0; a < o0; a++) {
    for (let b = 0; b < o1; b++) {
      for (let c = 0; c < o2; c++) {
        for (let d = 0; d < o3; d++) {
          const x0 = a - b0;
          const x1 = b - b1;
          const x2 = c - b2;
          const x3 = d - b3;
          const inside = x0 >= 0 && x0 < i0 && x1 >= 0 && x1 < i1 && x2 >= 0 && x2 < i2 && x3 >= 0 && x3 < i3;
          output[k++] = inside ? (input[((x0 * i1 + x1) * i2 + x2) * i3 + x3] as number) : l.padValue;
        }
      }
    }
  }
}
