// `compile --adapt last`: cuts a model at its last FULLY_CONNECTED. Everything the layer's input
// depends on stays frozen (compiled as usual, its output is the int8 embedding); the layer itself
// and whatever follows it (softmax, reshape, dequantize) are replaced by a head the device learns
// (compiler/adapt/head_reference.ts, emitted by emit_head.ts).

import { ModelError, TinyforgeError } from '../errors.ts';
import { elementCount, type Graph, type Op, type Tensor } from '../ir/graph.ts';
import { resolveHeadLearning, type HeadLearning } from './head_learning.ts';

/** What `--adapt` accepts: only the last fully connected layer can become the learnable head. */
export type AdaptLayer = 'last';

export interface AdaptOptions {
  layer: AdaptLayer;
  /** Classes the head can hold. Default: the replaced layer's output units. */
  classes?: number;
  /** How the head trains after its prototypes (default: head_learning.ts's DEFAULT_HEAD_LEARNING). */
  learning?: Partial<HeadLearning>;
}

export interface HeadSpec {
  /** Classes the head holds (slots; each learns from the examples enrolled into it). */
  classes: number;
  /** Embedding length: the replaced layer's input features. */
  dim: number;
  /** Zero point of the int8 embedding; the head works on `embedding - zeroPoint`. */
  zeroPoint: number;
  /** Scale of the embedding (documentation only: the head's arithmetic is scale-free). */
  scale: number;
  /** Output units of the replaced layer (what the pretrained model classified into). */
  replacedUnits: number;
  /** Weights and bias bytes of the replaced layer (what no longer ships). */
  replacedWeightBytes: number;
  /** Source index of the replaced FULLY_CONNECTED op. */
  replacedOp: number;
  /** Integer SGD after the prototypes: epochs, replay slots, learning rate, margin. */
  learning: HeadLearning;
}

export interface SplitModel {
  /** The frozen part: the original graph up to the embedding, which is its only output. */
  frozen: Graph;
  head: HeadSpec;
}

/** Most classes a head may hold (its counts are 16-bit on the wire, its index a byte). */
export const MAX_HEAD_CLASSES = 255;
/** Longest embedding: keeps every score (bias + dot product, < 48,578 x dim) inside int32. */
export const MAX_HEAD_DIM = 40000;

export function parseAdaptLayer(value: string): AdaptLayer {
  if (value !== 'last') throw new TinyforgeError(`--adapt takes 'last' (the last FULLY_CONNECTED becomes the learnable head), not '${value}'`);
  return value;
}

function isFullyConnected(op: Op): boolean {
  return op.kind === 'fully_connected' || (op.kind === 'module' && op.module === 'FULLY_CONNECTED');
}

function bytesOf(graph: Graph, id: number | undefined): number {
  return id === undefined || id < 0 ? 0 : (graph.tensors[id]?.data?.byteLength ?? 0);
}

/** The ops (in order) whose outputs `target` depends on. */
function opsNeededFor(graph: Graph, target: number, before: number): Op[] {
  const producer = new Map<number, number>();
  graph.ops.forEach((op, i) => op.outputs.forEach((t) => producer.set(t, i)));
  const needed = new Set<number>();
  const stack = [target];
  while (stack.length > 0) {
    const t = stack.pop() as number;
    const i = producer.get(t);
    if (i === undefined || i >= before || needed.has(i)) continue;
    needed.add(i);
    for (const input of (graph.ops[i] as Op).inputs) if (input >= 0) stack.push(input);
  }
  return graph.ops.filter((_, i) => needed.has(i));
}

export function splitAtLastFullyConnected(graph: Graph, file: string, opts: AdaptOptions): SplitModel {
  if (graph.inputs.length !== 1) throw new ModelError(file, `--adapt last: the model has ${graph.inputs.length} inputs; the learnable head supports models with one`);
  let fcIndex = -1;
  graph.ops.forEach((op, i) => {
    if (isFullyConnected(op)) fcIndex = i;
  });
  if (fcIndex < 0) throw new ModelError(file, '--adapt last: the model has no FULLY_CONNECTED layer to turn into a learnable head');
  const fc = graph.ops[fcIndex] as Op;
  const input = graph.tensors[fc.inputs[0] as number] as Tensor;
  const weights = graph.tensors[fc.inputs[1] as number] as Tensor;
  if (input.dtype !== 'int8' || !input.quant) {
    throw new ModelError(file, `--adapt last: the last FULLY_CONNECTED (op ${fc.sourceIndex}) takes ${input.dtype} input; the learnable head needs a quantized int8 embedding`);
  }
  if (weights.shape.length !== 2) throw new ModelError(file, `--adapt last: the last FULLY_CONNECTED (op ${fc.sourceIndex}) has weights of rank ${weights.shape.length}, not 2`);
  const [units, dim] = weights.shape as [number, number];
  if (elementCount(input.shape) !== dim) {
    throw new ModelError(file, `--adapt last: the last FULLY_CONNECTED (op ${fc.sourceIndex}) runs ${elementCount(input.shape) / dim} rows; the learnable head takes one embedding per inference`);
  }
  // Whatever follows the layer must only post-process its output (softmax, reshape, ...): those
  // ops go with it. A later op that reads anything else would lose its input.
  const replaced = new Set<number>(fc.outputs);
  for (const op of graph.ops.slice(fcIndex + 1)) {
    if (!op.inputs.some((t) => replaced.has(t))) {
      throw new ModelError(file, `--adapt last: op ${op.sourceIndex} after the last FULLY_CONNECTED does not read its output; only a classifier tail (softmax, reshape, ...) can follow the head`);
    }
    op.outputs.forEach((t) => replaced.add(t));
  }
  if (dim > MAX_HEAD_DIM) throw new ModelError(file, `--adapt last: the embedding has ${dim} features; the integer head takes at most ${MAX_HEAD_DIM}`);
  const classes = opts.classes ?? units;
  if (!Number.isInteger(classes) || classes < 1 || classes > MAX_HEAD_CLASSES) {
    throw new TinyforgeError(`--adapt-classes wants a class count from 1 to ${MAX_HEAD_CLASSES}, not '${classes}'`);
  }
  const learning = resolveHeadLearning(dim, opts.learning ?? {});
  const frozen: Graph = { ...graph, ops: opsNeededFor(graph, input.id, fcIndex), outputs: [input.id] };
  if (frozen.ops.length === 0) throw new ModelError(file, '--adapt last: nothing runs before the last FULLY_CONNECTED, so there is no embedding to learn from');
  return {
    frozen,
    head: {
      classes,
      dim,
      zeroPoint: input.quant.zeroPoint[0] ?? 0,
      scale: input.quant.scale[0] ?? 1,
      replacedUnits: units,
      replacedWeightBytes: bytesOf(graph, fc.inputs[1]) + bytesOf(graph, fc.inputs[2]),
      replacedOp: fc.sourceIndex,
      learning,
    },
  };
}
