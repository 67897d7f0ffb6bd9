import type { Pool2DS8Fields } from '../ir/layers.ts';
import { clamp } from '../quant/fixed_point.ts';

/** TFLite reference_integer_ops::MaxPool (int8 and int16): the window is clipped to the image. */
export function maxPoolS8(l: Pool2DS8Fields, input: Int8Array | Int16Array, output: Int8Array | Int16Array): void {
  const lowest = input instanceof Int16Array ? -32768 : -128;
  for (let oy = 0; oy < l.outH; oy++) {
    const yOrigin = oy * l.strideH - l.padTop;
    const yStart = Math.max(0, -yOrigin);
    const yEnd = Math.min(l.filterH, l.inH - yOrigin);
    for (let ox = 0; ox < l.outW; ox++) {
      const xOrigin = ox * l.strideW - l.padLeft;
      const xStart = Math.max(0, -xOrigin);
      const xEnd = Math.min(l.filterW, l.inW - xOrigin);
      for (let c = 0; c < l.channels; c++) {
        let max = lowest;
        for (let fy = yStart; fy < yEnd; fy++) {
          for (let fx = xStart; fx < xEnd; fx++) {
            max = Math.max(max, input[((yOrigin + fy) * l.inW + (xOrigin + fx)) * l.channels + c] as number);
          }
        }
        output[(oy * l.outW + ox) * l.channels + c] = clamp(max, l.actMin, l.actMax);
      }
    }
  }
}
