import type { Pool2DS8Fields } from '../ir/layers.ts';
import { clamp } from '../quant/fixed_point.ts';

/** TFLite reference_integer_ops::AveragePool (int8 and int16): the window is clipped to the image; the mean rounds half away from zero. */
export function avgPoolS8(l: Pool2DS8Fields, input: Int8Array | Int16Array, output: Int8Array | Int16Array): void {
  for (let oy = 0; oy < l.outH; oy++) {
    const yOrigin = oy * l.strideH - l.padTop;
    const yStart = Math.max(0, -yOrigin);
    const yEnd = Math.min(l.filterH, l.inH - yOrigin);
    for (let ox = 0; ox < l.outW; ox++) {
      const xOrigin = ox * l.strideW - l.padLeft;
      const xStart = Math.max(0, -xOrigin);
      const xEnd = Math.min(l.filterW, l.inW - xOrigin);
      const count = (yEnd - yStart) * (xEnd - xStart);
      for (let c = 0; c < l.channels; c++) {
        let acc = 0;
        for (let fy = yStart; fy < yEnd; fy++) {
          for (let fx = xStart; fx < xEnd; fx++) {
            acc += input[((yOrigin + fy) * l.inW + (xOrigin + fx)) * l.channels + c] as number;
          }
        }
        if (count === 0) {
          output[(oy * l.outW + ox) * l.channels + c] = 0;
          continue;
        }
        const half = Math.trunc(count / 2);
        const mean = acc > 0 ? Math.trunc((acc + half) / count) : Math.trunc((acc - half) / count);
        output[(oy * l.outW + ox) * l.channels + c] = clamp(mean, l.actMin, l.actMax);
      }
    }
  }
}
