// The C parameter fields every windowed kernel's struct starts with (tf_conv_f32_params,
// tf_transpose_conv_params, tf_transpose_conv_f32_params): the shapes, the window and its placement.

import type { ConvGeometry } from '../ir/layers.ts';

/** A convolution's window without dilation (transposed convolutions have none). */
export type WindowGeometry = Omit<ConvGeometry, 'dilationH' | 'dilationW'> & { batches: number };

export function windowFields(p: WindowGeometry): Record<string, number> {
  return {
    batches: p.batches,
    in_h: p.inH,
    in_w: p.inW,
    in_c: p.inC,
    out_h: p.outH,
    out_w: p.outW,
    out_c: p.outC,
    k_h: p.kH,
    k_w: p.kW,
    stride_h: p.strideH,
    stride_w: p.strideW,
    pad_top: p.padTop,
    pad_left: p.padLeft,
  };
}
