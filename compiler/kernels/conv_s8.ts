import type { ConvS8Layer } from '../ir/layers.ts';
import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';

/** TFLite reference_integer_ops::ConvPerChannel, batch 1, NHWC input, OHWI filter. */
export function convS8(l: ConvS8Layer, input: Int8Array, filter: Int8Array, bias: Int32Array | null, output: Int8Array): void {
  for (let oy = 0; oy < l.outH; oy++) {
    const inYOrigin = oy * l.strideH - l.padTop;
    for (let ox = 0; ox < l.outW; ox++) {
      const inXOrigin = ox * l.strideW - l.padLeft;
      for (let oc = 0; oc < l.outC; oc++) {
        let acc = 0;
        for (let ky = 0; ky < l.kH; ky++) {
          const iy = inYOrigin + l.dilationH * ky;
          if (iy < 0 || iy >= l.inH) continue;
          for (let kx = 0; kx < l.kW; kx++) {
            const ix = inXOrigin + l.dilationW * kx;
            if (ix < 0 || ix >= l.inW) continue;
            const inBase = (iy * l.inW + ix) * l.inC;
            const fBase = ((oc * l.kH + ky) * l.kW + kx) * l.inC;
            for (let ic = 0; ic < l.inC; ic++) {
              acc += (filter[fBase + ic] as number) * ((input[inBase + ic] as number) + l.inputOffset);
            }
          }
        }
        if (bias) acc += bias[oc] as number;
        acc = multiplyByQuantizedMultiplier(acc | 0, l.multipliers[oc] as number, l.shifts[oc] as number);
        output[(oy * l.outW + ox) * l.outC + oc] = clamp(acc + l.outputOffset, l.actMin, l.actMax);
      }
    }
  }
}
