// In-place execution: which layers may write their output over their input, and how far ahead of
// the input the output must start. Every kernel listed here streams: it walks output pixels (or
// elements) in order and reads only inputs at or after the first tap of the pixel it works on.

import { DTYPE_BYTES, type Graph, type Tensor } from '../ir/graph.ts';
import type { Layer } from '../ir/layers.ts';
import type { InPlaceCandidate } from './memory_plan.ts';

interface PixelStream {
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  inPixelBytes: number;
  outPixelBytes: number;
}

/**
 * The smallest gap g such that an output starting g bytes before its input never overwrites an
 * input byte that a pixel not yet finished will read. Conservative: the pixel being computed
 * counts as unfinished while its own outputs are written.
 */
export function pixelStreamGap(s: PixelStream): number {
  const pixels = s.outH * s.outW;
  const firstTap = new Float64Array(pixels);
  for (let p = 0; p < pixels; p++) {
    const oy = Math.floor(p / s.outW);
    const ox = p % s.outW;
    const iy = Math.min(s.inH - 1, Math.max(0, oy * s.strideH - s.padTop));
    const ix = Math.min(s.inW - 1, Math.max(0, ox * s.strideW - s.padLeft));
    firstTap[p] = iy * s.inW + ix;
  }
  let gap = Number.NEGATIVE_INFINITY;
  let suffixMin = Number.POSITIVE_INFINITY;
  for (let p = pixels - 1; p >= 0; p--) {
    suffixMin = Math.min(suffixMin, firstTap[p] as number);
    gap = Math.max(gap, (p + 1) * s.outPixelBytes - suffixMin * s.inPixelBytes);
  }
  return gap;
}

function bytesPerElement(graph: Graph, id: number): number {
  return DTYPE_BYTES[(graph.tensors[id] as Tensor).dtype];
}

function candidate(layer: number, l: Layer, graph: Graph): InPlaceCandidate[] {
  const input = l.inputs[0] as number;
  const output = l.outputs[0] as number;
  switch (l.kernel) {
    case 'conv_s8':
    case 'depthwise_conv_s8':
      return [{ layer, input, output, gap: pixelStreamGap({ ...l, inPixelBytes: l.inC, outPixelBytes: l.outC }) }];
    case 'avg_pool_s8':
    case 'max_pool_s8':
      return [{ layer, input, output, gap: pixelStreamGap({ ...l, inPixelBytes: l.channels, outPixelBytes: l.channels }) }];
    case 'add_s8':
    case 'mul_s8':
      // Element i is read from both inputs before element i is written.
      return l.inputs.map((id) => ({ layer, input: id, output, gap: 0 }));
    case 'softmax_s8':
    case 'requantize_s8':
      return bytesPerElement(graph, input) === bytesPerElement(graph, output) ? [{ layer, input, output, gap: 0 }] : [];
    case 'module':
      return (l.inPlace ?? []).map((i) => ({ layer, input: l.inputs[i] as number, output, gap: 0 }));
    case 'pad_s8':
    case 'concatenation_s8':
      // Never in place: the output is larger than any one input and interleaves fill bytes (or the
      // other inputs) with it, so it would overwrite input bytes it has yet to copy.
      return [];
    default:
      return [];
  }
}

export function inPlaceCandidates(graph: Graph, layers: readonly Layer[]): InPlaceCandidate[] {
  return layers.flatMap((l, i) => candidate(i, l, graph));
}
