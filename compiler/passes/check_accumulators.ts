// The int8 convolution and fully connected kernels (like TFLite Micro's and CMSIS-NN's) add the
// bias and every (input + input offset) x (weight + filter offset) product in a signed 32-bit
// accumulator. For weights and biases a converter writes that never overflows, but the file can
// say anything: a bias of INT32_MAX made the accumulator overflow, which is undefined behaviour in
// C and gave different outputs on host and Cortex-M. Here every output channel's worst case,
// |bias| + sum |weight + filter offset| x max |input + input offset|, must fit in the accumulator,
// or the model is refused naming the layer, the bias or filter and the channel. The int16x8
// kernels with an int64 bias accumulate in 64 bits, but their requantization (TFLite's
// MultiplyByQuantizedMultiplier for int64) multiplies the sum by a 15-bit multiplier in int64 and
// shifts it right by 15 - shift: TFLite Micro requires |sum| < 2^47 and shift < 8; a larger sum
// overflows the product and a shift of 15 or more makes the C shift count negative (both
// undefined behaviour), so those are the limits checked for them. The built-in layers are described below; op modules
// describe theirs through their `accumulators` hook (compiler/ops/op_module.ts).

import { TinyforgeError } from '../errors.ts';
import type { Graph, Tensor } from '../ir/graph.ts';
import type { Layer } from '../ir/layers.ts';
import type { PerImageParams } from '../ops/per_image.ts';
import { requireModule } from '../ops/registry.ts';
import { opDisplayName } from './lower.ts';

const INT32_MAX = 2n ** 31n - 1n;
/** TFLite Micro's precondition on the int64 requantization's input. */
const INT64_REQUANTIZE_MAX = 2n ** 47n - 1n;
/** The largest shift for which the int64 requantization's right shift (15 - shift) is positive. */
export const MAX_INT64_REQUANTIZE_SHIFT = 14;

/** The raw input range of int8 and int16 activations (before the input offset). */
export const INT8_INPUT = { min: -128, max: 127 } as const;
export const INT16_INPUT = { min: -32768, max: 32767 } as const;

/** One accumulator per output channel: the bias plus `depth` products of a constant weight and an input. */
export interface AccumulatorShape {
  /** The constant weight tensor (int8 or int16); named in the refusal. -1 with `weightValues` and `summed`. */
  weights: number;
  /** What the refusal names when the sum has no weight tensor (e.g. an average pool's window). */
  summed?: string;
  /** The weights as the kernel reads them, when not the tensor's own values (e.g. a transposed copy). */
  weightValues?: ArrayLike<number>;
  /** The constant int32 or int64 bias tensor, or -1. */
  bias: number;
  inputOffset: number;
  filterOffset: number;
  /** Range of the raw input values; int8 when absent. */
  inputRange?: { readonly min: number; readonly max: number };
  /** Accumulator width; 32 when absent. */
  bits?: 32 | 64;
  /** For a 64-bit accumulator: the per-channel shifts of its int64 requantization. */
  shifts?: ArrayLike<number>;
  channels: number;
  /** What the refusal calls channel c ("output channel" when absent). */
  channelName?: string;
  /** Flat index of weight k of output channel c. */
  weightIndex: (c: number, k: number) => number;
  /** Weights per output channel. */
  depth: number;
}

function accumulatorShapes(layer: Layer, graph: Graph): readonly AccumulatorShape[] {
  switch (layer.kernel) {
    case 'fully_connected_s8':
      return [
        {
          weights: layer.weights,
          bias: layer.bias,
          inputOffset: layer.inputOffset,
          filterOffset: layer.filterOffset,
          channels: layer.outDepth,
          depth: layer.accumDepth,
          weightIndex: (c, k) => c * layer.accumDepth + k,
        },
      ];
    case 'conv_s8': {
      const depth = layer.kH * layer.kW * layer.inC;
      return [{ weights: layer.weights, bias: layer.bias, inputOffset: layer.inputOffset, filterOffset: 0, channels: layer.outC, depth, weightIndex: (c, k) => c * depth + k }];
    }
    case 'depthwise_conv_s8':
      // Filter [1, kH, kW, outC]: channel c's weights are every outC-th value.
      return [{ weights: layer.weights, bias: layer.bias, inputOffset: layer.inputOffset, filterOffset: 0, channels: layer.outC, depth: layer.kH * layer.kW, weightIndex: (c, k) => k * layer.outC + c }];
    case 'module':
      // A batched convolution runs its batch-1 layer once per image.
      if (layer.module === 'per_image') return accumulatorShapes((layer.params as PerImageParams).inner as Layer, graph);
      return requireModule(layer.module).accumulators?.(layer.params, graph) ?? [];
    default:
      return [];
  }
}

function weightValues(t: Tensor): ArrayLike<number> | undefined {
  if (!t.data) return undefined;
  const copy = t.data.slice();
  if (t.dtype === 'int8') return new Int8Array(copy.buffer);
  if (t.dtype === 'int16' && copy.byteLength % 2 === 0) return new Int16Array(copy.buffer);
  return undefined;
}

function biasValues(t: Tensor): ArrayLike<bigint> | undefined {
  if (!t.data) return undefined;
  const copy = t.data.slice();
  if (t.dtype === 'int32' && copy.byteLength % 4 === 0) return Array.from(new Int32Array(copy.buffer), BigInt);
  if (t.dtype === 'int64' && copy.byteLength % 8 === 0) return new BigInt64Array(copy.buffer);
  return undefined;
}

const abs = (v: bigint): bigint => (v < 0n ? -v : v);

function checkShape(graph: Graph, layer: Layer, shape: AccumulatorShape): void {
  const filter = graph.tensors[shape.weights];
  const weights = shape.weightValues ?? (filter ? weightValues(filter) : undefined);
  if (!weights) return;
  const biasTensor = shape.bias >= 0 ? graph.tensors[shape.bias] : undefined;
  const bias = biasTensor ? biasValues(biasTensor) : undefined;
  const range = shape.inputRange ?? INT8_INPUT;
  const maxInput = BigInt(Math.max(Math.abs(range.min + shape.inputOffset), Math.abs(range.max + shape.inputOffset)));
  const bits = shape.bits ?? 32;
  const limit = bits === 64 ? INT64_REQUANTIZE_MAX : INT32_MAX;
  // Lowering may drop or fold operators, so the layer's operator is found by its index in the file.
  const op = graph.ops.find((o) => o.sourceIndex === layer.sourceIndex);
  const where = `${graph.name}: operator ${layer.sourceIndex} (${op ? opDisplayName(op) : layer.kernel})`;
  const channelLabel = (c: number): string => `${shape.channelName ?? 'output channel'} ${c}`;
  for (let c = 0; c < shape.channels; c++) {
    const shift = bits === 64 ? shape.shifts?.[c] : undefined;
    if (shift !== undefined && shift > MAX_INT64_REQUANTIZE_SHIFT) {
      throw new TinyforgeError(
        `${where}: ${channelLabel(c)} needs a requantization shift of ${shift}; the 64-bit requantization takes at most ${MAX_INT64_REQUANTIZE_SHIFT} (the output scale is too small for the input and filter scales)`,
      );
    }
    // |weight + offset| <= 2^16 and depth < 2^31: the sum is an exact double.
    let sum = 0;
    for (let k = 0; k < shape.depth; k++) sum += Math.abs((weights[shape.weightIndex(c, k)] ?? 0) + shape.filterOffset);
    const b = bias?.[c] ?? 0n;
    const bound = abs(b) + BigInt(sum) * maxInput;
    if (bound > limit) {
      const what = b !== 0n ? `bias '${biasTensor?.name}' value ${b} of ${channelLabel(c)}` : (shape.summed ?? `filter '${filter?.name}' ${channelLabel(c)}`);
      const overflows = bits === 64 ? "can overflow the 64-bit accumulator's requantization" : 'can overflow the 32-bit accumulator';
      const past = bits === 64 ? `${limit}, TFLite Micro's 2^47 bound` : `${limit}`;
      const why = shape.summed === undefined ? '; no converter writes such constants' : '';
      throw new TinyforgeError(`${where}: ${what} ${overflows} (|bias| + sum |weight| x max |input| = ${bound} > ${past})${why}`);
    }
  }
}

/** Throws when some layer's accumulator could overflow for some input. */
export function checkAccumulators(graph: Graph, layers: readonly Layer[]): void {
  for (const layer of layers) {
    for (const shape of accumulatorShapes(layer, graph)) checkShape(graph, layer, shape);
  }
}
