import type { DepthwiseConvS8Layer } from '../ir/layers.ts';
import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';

/** TFLite reference_integer_ops::DepthwiseConvPerChannel, batch 1, filter [1, kH, kW, inC * depthMultiplier]. */
export function depthwiseConvS8(
  l: DepthwiseConvS8Layer,
  input: Int8Array,
  filter: Int8Array,
  bias: Int32Array | null,
  output: Int8Array,
): void {
  for (let oy = 0; oy < l.outH; oy++) {
    const inYOrigin = oy * l.strideH - l.padTop;
    for (let ox = 0; ox < l.outW; ox++) {
      const inXOrigin = ox * l.strideW - l.padLeft;
      for (let ic = 0; ic < l.inC; ic++) {
        for (let m = 0; m < l.depthMultiplier; m++) {
          const oc = ic * l.depthMultiplier + m;
          let acc = 0;
          for (let ky = 0; ky < l.kH; ky++) {
            const iy = inYOrigin + l.dilationH * ky;
            if (iy < 0 || iy >= l.inH) continue;
            for (let kx = 0; kx < l.kW; kx++) {
              const ix = inXOrigin + l.dilationW * kx;
              if (ix < 0 || ix >= l.inW) continue;
              const inVal = (input[(iy * l.inW + ix) * l.inC + ic] as number) + l.inputOffset;
              acc += (filter[(ky * l.kW + kx) * l.outC + oc] as number) * inVal;
            }
          }
          if (bias) acc += bias[oc] as number;
          acc = multiplyByQuantizedMultiplier(acc | 0, l.multipliers[oc] as number, l.shifts[oc] as number);
          output[(oy * l.outW + ox) * l.outC + oc] = clamp(acc + l.outputOffset, l.actMin, l.actMax);
        }
      }
    }
  }
}
