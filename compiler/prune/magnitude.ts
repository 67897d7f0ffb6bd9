// Magnitude pruning of an int8 graph's weight tensors: zero the weights (or blocks of weights)
// of smallest |q| in the int8 domain until a target sparsity is reached. Quantization parameters
// are kept, so the pruned graph is still a valid int8 model; the compiler's folded biases are
// computed from the pruned weights, so every kernel stays bit-exact with the reference.
// float32 weights (a float model seen through frontends/tfjs/float_graph_view.ts) are pruned the
// same way by |w|, which is how a pruned model is fine-tuned before quantization: its zeros then
// quantize to zeros, and pruning the int8 model to the same target finds them already in place.

import type { Graph, Op, Tensor } from '../ir/graph.ts';
import { float32Constant, int8Constant } from '../reference/run_reference.ts';

/** Op kinds whose weights (input 1) can be pruned. */
export type PrunableKind = 'fully_connected' | 'conv2d' | 'depthwise_conv2d';

export interface PruneOptions {
  /**
   * Target fraction of zero blocks (of zero weights for 1x1 blocks), 0..1, over each layer or over
   * all pruned layers when global. Blocks that are already zero count toward it.
   */
  sparsity: number;
  /** 'layer' (default): every layer reaches `sparsity`; 'global': the smallest blocks of all layers go first. */
  scope?: 'layer' | 'global';
  /** Per-layer targets by op index (scope 'layer'); ops not listed use `sparsity`. */
  perLayer?: Readonly<Record<number, number>>;
  /**
   * Pruning granularity over the weights viewed as [rows = dim 0][cols = the rest] (depthwise:
   * [taps][channels]): [1, 1] zeroes single weights; [4, 4] zeroes whole 4x4 tiles (rows 4i..4i+3,
   * columns 4j..4j+3) by their sum of |q|, the layout of the tile-sparse fully connected kernel
   * and of the sparse convolution (one index list per two row pairs); [2, 4] gives the sparse
   * convolution's own [2 x 4] blocks (one list per row pair). Default [1, 1].
   */
  block?: readonly [number, number];
  /** Op kinds to prune (default fully_connected and conv2d). */
  kinds?: readonly PrunableKind[];
}

export interface LayerPruneReport {
  op: number;
  kind: PrunableKind;
  tensor: number;
  name: string;
  weights: number;
  zerosBefore: number;
  zerosAfter: number;
  sparsity: number;
}

export interface PruneReport {
  layers: LayerPruneReport[];
  weights: number;
  zeros: number;
  sparsity: number;
}

export interface PruneResult {
  graph: Graph;
  report: PruneReport;
}

interface Candidate {
  op: Op;
  kind: PrunableKind;
  tensor: Tensor;
  rows: number;
  cols: number;
  /** Index into the tensor's int8 data of weight (row, col). */
  at: (row: number, col: number) => number;
  target: number;
}

interface Block {
  cand: number;
  r0: number;
  c0: number;
  score: number;
}

function candidates(graph: Graph, opts: PruneOptions): Candidate[] {
  const kinds = new Set<PrunableKind>(opts.kinds ?? ['fully_connected', 'conv2d']);
  const seen = new Set<number>();
  const out: Candidate[] = [];
  graph.ops.forEach((op, index) => {
    if (op.kind !== 'fully_connected' && op.kind !== 'conv2d' && op.kind !== 'depthwise_conv2d') return;
    if (!kinds.has(op.kind)) return;
    const id = op.inputs[1] as number;
    const t = graph.tensors[id];
    if (!t?.data || (t.dtype !== 'int8' && t.dtype !== 'float32') || seen.has(id)) return;
    seen.add(id);
    const [d0 = 1, ...rest] = t.shape;
    const target = opts.perLayer?.[index] ?? opts.sparsity;
    if (!(target >= 0 && target <= 1)) throw new RangeError(`sparsity ${target} for op ${index} is not in [0, 1]`);
    if (op.kind === 'depthwise_conv2d') {
      const channels = t.shape[3] ?? 1;
      const taps = t.shape.reduce((a, b) => a * b, 1) / channels;
      out.push({ op, kind: op.kind, tensor: t, rows: taps, cols: channels, at: (r, c) => r * channels + c, target });
    } else {
      const cols = rest.reduce((a, b) => a * b, 1);
      out.push({ op, kind: op.kind, tensor: t, rows: d0, cols, at: (r, c) => r * cols + c, target });
    }
  });
  return out;
}

/** Pruned weights: int8 after quantization, or float32 before it (fine-tuning a pruned float model). */
type Weights = Int8Array | Float32Array;

function weightsOf(t: Tensor): Weights {
  // Fresh copies: tensors may share buffers with others.
  return t.dtype === 'float32' ? float32Constant(t) : Int8Array.from(int8Constant(t));
}

function zerosOf(data: Weights): number {
  let z = 0;
  for (const v of data) if (v === 0) z++;
  return z;
}

/** Magnitude-prunes `graph` and returns a new graph; the input graph and its buffers are not changed. */
export function pruneMagnitude(graph: Graph, opts: PruneOptions): PruneResult {
  if (!(opts.sparsity >= 0 && opts.sparsity <= 1)) throw new RangeError(`sparsity ${opts.sparsity} is not in [0, 1]`);
  const [bh, bw] = opts.block ?? [1, 1];
  if (!(bh >= 1 && bw >= 1 && Number.isInteger(bh) && Number.isInteger(bw))) throw new RangeError(`block [${bh}, ${bw}] must be positive integers`);
  const cands = candidates(graph, opts);
  const copies = cands.map((c) => weightsOf(c.tensor));
  const before = copies.map(zerosOf);
  const blocksOf = (ci: number): Block[] => {
    const c = cands[ci] as Candidate;
    const w = copies[ci] as Weights;
    const blocks: Block[] = [];
    for (let r0 = 0; r0 < c.rows; r0 += bh) {
      for (let c0 = 0; c0 < c.cols; c0 += bw) {
        let score = 0;
        for (let r = r0; r < Math.min(r0 + bh, c.rows); r++) for (let k = c0; k < Math.min(c0 + bw, c.cols); k++) score += Math.abs(w[c.at(r, k)] as number);
        blocks.push({ cand: ci, r0, c0, score });
      }
    }
    return blocks;
  };
  const zeroBlock = (b: Block): void => {
    const c = cands[b.cand] as Candidate;
    const w = copies[b.cand] as Weights;
    for (let r = b.r0; r < Math.min(b.r0 + bh, c.rows); r++) {
      for (let k = b.c0; k < Math.min(b.c0 + bw, c.cols); k++) w[c.at(r, k)] = 0;
    }
  };
  // Smallest score first (all-zero blocks score 0, so they count toward the target); ties by
  // position, so the result is deterministic.
  const order = (a: Block, b: Block): number => a.score - b.score || a.cand - b.cand || a.r0 - b.r0 || a.c0 - b.c0;
  const prune = (blocks: Block[], fraction: number): void => {
    blocks.sort(order);
    const need = Math.round(fraction * blocks.length);
    for (let i = 0; i < need; i++) zeroBlock(blocks[i] as Block);
  };
  if ((opts.scope ?? 'layer') === 'global') {
    prune(cands.flatMap((_, ci) => blocksOf(ci)), opts.sparsity);
  } else {
    cands.forEach((c, ci) => prune(blocksOf(ci), c.target));
  }
  const tensors = graph.tensors.map((t) => ({ ...t }));
  const layers: LayerPruneReport[] = cands.map((c, ci) => {
    const w = copies[ci] as Weights;
    (tensors[c.tensor.id] as Tensor).data = new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
    const zerosAfter = zerosOf(w);
    return {
      op: graph.ops.indexOf(c.op),
      kind: c.kind,
      tensor: c.tensor.id,
      name: c.tensor.name,
      weights: w.length,
      zerosBefore: before[ci] as number,
      zerosAfter,
      sparsity: w.length > 0 ? zerosAfter / w.length : 0,
    };
  });
  const weights = layers.reduce((s, l) => s + l.weights, 0);
  const zeros = layers.reduce((s, l) => s + l.zerosAfter, 0);
  return {
    graph: { ...graph, tensors, ops: graph.ops.map((op) => ({ ...op, inputs: [...op.inputs], outputs: [...op.outputs] }) as Op), inputs: [...graph.inputs], outputs: [...graph.outputs] },
    report: { layers, weights, zeros, sparsity: weights > 0 ? zeros / weights : 0 },
  };
}
