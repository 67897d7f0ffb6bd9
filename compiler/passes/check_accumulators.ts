// The int8 convolution and fully connected kernels (like TFLite Micro's and CMSIS-NN's) add the
// bias and every (input + input offset) x (weight + filter offset) product in a signed 32-bit
// accumulator. For weights and biases a converter writes that never overflows, but the file can
// say anything: a bias of INT32_MAX made the accumulator overflow, which is undefined behaviour in
// C and gave different outputs on host and Cortex-M. Here every output channel's worst case,
// |bias| + sum |weight + filter offset| x max |input + input offset|, must fit in 32 bits, or
// the model is refused naming the layer, the bias and the channel.

import { TinyforgeError } from '../errors.ts';
import type { Graph, Tensor } from '../ir/graph.ts';
import type { Layer } from '../ir/layers.ts';
import type { PerImageParams } from '../ops/per_image.ts';
import { opDisplayName } from './lower.ts';

const INT32_MAX = 2 ** 31 - 1;

interface AccumulatorShape {
  weights: number;
  bias: number;
  inputOffset: number;
  filterOffset: number;
  channels: number;
  /** Flat index of weight k of output channel c. */
  weightIndex: (c: number, k: number) => number;
  /** Weights per output channel. */
  depth: number;
}

function accumulatorShape(layer: Layer): AccumulatorShape | undefined {
  switch (layer.kernel) {
    case 'fully_connected_s8':
      return {
        weights: layer.weights,
        bias: layer.bias,
        inputOffset: layer.inputOffset,
        filterOffset: layer.filterOffset,
        channels: layer.outDepth,
        depth: layer.accumDepth,
        weightIndex: (c, k) => c * layer.accumDepth + k,
      };
    case 'conv_s8': {
      const depth = layer.kH * layer.kW * layer.inC;
      return { weights: layer.weights, bias: layer.bias, inputOffset: layer.inputOffset, filterOffset: 0, channels: layer.outC, depth, weightIndex: (c, k) => c * depth + k };
    }
    case 'depthwise_conv_s8':
      // Filter [1, kH, kW, outC]: channel c's weights are every outC-th value.
      return { weights: layer.weights, bias: layer.bias, inputOffset: layer.inputOffset, filterOffset: 0, channels: layer.outC, depth: layer.kH * layer.kW, weightIndex: (c, k) => k * layer.outC + c };
    case 'module':
      // A batched convolution runs its batch-1 layer once per image.
      return layer.module === 'per_image' ? accumulatorShape((layer.params as PerImageParams).inner as Layer) : undefined;
    default:
      return undefined;
  }
}

function int8Values(t: Tensor): Int8Array | undefined {
  return t.data && t.dtype === 'int8' ? new Int8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) : undefined;
}

function int32Values(t: Tensor): Int32Array | undefined {
  if (!t.data || t.dtype !== 'int32' || t.data.byteLength % 4 !== 0) return undefined;
  const copy = t.data.slice();
  return new Int32Array(copy.buffer, 0, copy.byteLength / 4);
}

/** Throws when some layer's 32-bit accumulator could overflow for some input. */
export function checkAccumulators(graph: Graph, layers: readonly Layer[]): void {
  layers.forEach((layer, index) => {
    const shape = accumulatorShape(layer);
    if (!shape) return;
    const filter = graph.tensors[shape.weights];
    const weights = filter ? int8Values(filter) : undefined;
    if (!weights) return;
    const biasTensor = shape.bias >= 0 ? graph.tensors[shape.bias] : undefined;
    const bias = biasTensor ? int32Values(biasTensor) : undefined;
    // Inputs are int8: input + offset lies in [-128 + offset, 127 + offset].
    const maxInput = Math.max(Math.abs(-128 + shape.inputOffset), Math.abs(127 + shape.inputOffset));
    for (let c = 0; c < shape.channels; c++) {
      let sum = 0;
      for (let k = 0; k < shape.depth; k++) sum += Math.abs((weights[shape.weightIndex(c, k)] ?? 0) + shape.filterOffset);
      const b = bias?.[c] ?? 0;
      const bound = Math.abs(b) + sum * maxInput;
      if (bound > INT32_MAX) {
        const op = graph.ops[index];
        const where = `${graph.name}: operator ${layer.sourceIndex} (${op ? opDisplayName(op) : layer.kernel})`;
        const what = b !== 0 ? `bias '${biasTensor?.name}' value ${b} of output channel ${c}` : `filter '${filter?.name}' output channel ${c}`;
        throw new TinyforgeError(
          `${where}: ${what} can overflow the 32-bit accumulator (|bias| + sum |weight| x max |input| = ${bound} > ${INT32_MAX}); no converter writes such constants`,
        );
      }
    }
  });
}
