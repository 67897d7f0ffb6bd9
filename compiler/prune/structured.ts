// Structured (channel) pruning of an int8 graph: remove whole output channels of CONV_2D and
// FULLY_CONNECTED layers and shrink everything downstream that carries those channels, so the
// compiled model really has fewer MACs, weights and activation bytes (magnitude.ts only zeroes).
//
// Channel score (`weighting`, default 'scale'): the real-valued L1 norm of the filter row,
// scale_c * sum |q - zp_c| over the row of output channel c. Per-channel quantization stretches
// every row to the full int8 range, so the raw sum |q| says little about how large a channel's
// weights really are; multiplying by the channel's scale compares channels in real units (and
// makes scores of different layers comparable for scope 'global'). With a per-tensor scale the
// weighting does not change the order within a layer. 'none' ranks by sum |q - zp| alone.
//
// Following channels downstream. A pruned channel set is a mask over the producer's C output
// channels; a tensor downstream of the producer "carries" it when its last dimension is a
// multiple of C and element e (flat, row-major) belongs to channel e % C. That holds for the
// producer's NHWC output and survives:
//   - AVERAGE_POOL_2D / MAX_POOL_2D (channel-wise),
//   - DEPTHWISE_CONV_2D with depth multiplier 1 (its filter, bias and per-channel quantization
//     lose the same channels, and its output carries them on),
//   - RESHAPE whose output's last dimension is a multiple of C (an NHWC flatten: feature index
//     (y*W + x)*C + c, so channel c sits at every index = c mod C),
//   - PAD / PADV2 that does not pad the channel (last) dimension (its paddings do not depend on
//     the channel count and its input and output share one per-tensor quantization),
// and ends at
//   - CONV_2D (the input-channel slice of its OHWI filter),
//   - FULLY_CONNECTED with accumDepth a multiple of C (the filter columns of every removed
//     channel at every flattened position).
// A layer is only pruned when every path from its output ends like that; anything else (ADD, MUL,
// CONCATENATION, SOFTMAX, QUANTIZE, a graph output, a depthwise multiplier > 1, shared constant tensors) skips
// the layer and the report says why. Per-channel quantization arrays shrink with their channels;
// per-tensor ones stay. The input graph and its buffers are not changed.

import { DTYPE_BYTES, elementCount, type Graph, type Op, type Quantization, type Tensor } from '../ir/graph.ts';
import { float32Constant, int8Constant } from '../reference/run_reference.ts';

export interface ChannelPruneOptions {
  /** Fraction of each prunable layer's output channels to remove, 0 <= fraction < 1; every layer keeps at least one. */
  fraction: number;
  /**
   * 'layer' (default): each layer loses round(fraction * C) channels. 'global': the channels of
   * lowest score over all prunable layers go first (round(fraction * total) of them).
   */
  scope?: 'layer' | 'global';
  /** Channel score: 'scale' (default) real-valued L1 norm scale_c * sum|q - zp|; 'none' sum|q - zp|. */
  weighting?: 'scale' | 'none';
  /** Explicit output channels to remove, by op index; overrides `fraction` for the listed layers. */
  channels?: Readonly<Record<number, readonly number[]>>;
}

export interface ChannelLayerReport {
  op: number;
  kind: 'conv2d' | 'fully_connected';
  name: string;
  /** Output channels before and after. */
  before: number;
  after: number;
  /** Original indices of the removed output channels, ascending. */
  removed: number[];
  /** Ops downstream that followed (depthwise, pools, reshapes, the consumers that lost inputs). */
  followed: number[];
}

export interface ChannelSkipReport {
  op: number;
  kind: 'conv2d' | 'fully_connected';
  name: string;
  reason: string;
}

export interface ChannelPruneReport {
  layers: ChannelLayerReport[];
  skipped: ChannelSkipReport[];
}

export interface ChannelPruneResult {
  graph: Graph;
  report: ChannelPruneReport;
}

/** What happens to one op downstream of a pruned producer. */
type Step =
  | { kind: 'conv_input'; op: number } // slice axis 3 of the OHWI filter
  | { kind: 'fc_columns'; op: number } // slice the columns of the [O, K] filter
  | { kind: 'depthwise'; op: number } // slice filter axis 3, bias, output (continues)
  | { kind: 'pool'; op: number } // output shrinks (continues)
  | { kind: 'pad'; op: number } // output shrinks, paddings unchanged (continues)
  | { kind: 'reshape'; op: number }; // output shrinks, newShape follows (continues)

interface Plan {
  op: number;
  kind: 'conv2d' | 'fully_connected';
  channels: number;
  steps: Step[];
  /** Tensors downstream whose last dimension shrinks (activations only). */
  carried: number[];
  scores: number[];
}

const OP_NAMES: Readonly<Record<string, string>> = {
  conv2d: 'CONV_2D',
  depthwise_conv2d: 'DEPTHWISE_CONV_2D',
  fully_connected: 'FULLY_CONNECTED',
  average_pool2d: 'AVERAGE_POOL_2D',
  max_pool2d: 'MAX_POOL_2D',
  add: 'ADD',
  mul: 'MUL',
  softmax: 'SOFTMAX',
  reshape: 'RESHAPE',
  pad: 'PAD',
  concatenation: 'CONCATENATION',
  quantize: 'QUANTIZE',
  dequantize: 'DEQUANTIZE',
};

class Skip extends Error {}

function useCounts(graph: Graph): Map<number, number> {
  const uses = new Map<number, number>();
  for (const op of graph.ops) for (const id of op.inputs) if (id >= 0) uses.set(id, (uses.get(id) ?? 0) + 1);
  return uses;
}

function lastDim(t: Tensor): number {
  return t.shape[t.shape.length - 1] ?? 1;
}

/** Traces the ops downstream of producer `index`; throws Skip with the reason when a path cannot follow. */
function plan(graph: Graph, index: number, uses: Map<number, number>, consumers: Map<number, number[]>): Plan {
  const op = graph.ops[index] as Op;
  if (op.kind !== 'conv2d' && op.kind !== 'fully_connected') throw new Error('internal: not a producer');
  const filter = graph.tensors[op.inputs[1] as number] as Tensor;
  const biasId = op.inputs[2] ?? -1;
  if (!filter.data || (filter.dtype !== 'int8' && filter.dtype !== 'float32')) throw new Skip('filter is not a constant int8 or float32 tensor');
  const exclusive = (id: number, what: string): void => {
    if (id >= 0 && (uses.get(id) ?? 0) > 1) throw new Skip(`${what} '${graph.tensors[id]?.name}' is shared with another op`);
  };
  exclusive(filter.id, 'filter');
  exclusive(biasId, 'bias');
  const channels = filter.shape[0] ?? 0;
  if (channels < 2) throw new Skip(`only ${channels} output channel`);
  const out = graph.tensors[op.outputs[0] as number] as Tensor;
  if (lastDim(out) !== channels) throw new Skip(`output '${out.name}' [${out.shape}] does not end in ${channels} channels`);
  const steps: Step[] = [];
  const carried: number[] = [];
  const visit = (tid: number): void => {
    const t = graph.tensors[tid] as Tensor;
    if (graph.outputs.includes(tid)) throw new Skip(`'${t.name}' is a graph output`);
    if ((t.quant?.scale.length ?? 1) > 1) throw new Skip(`'${t.name}' has per-channel activation quantization`);
    if (lastDim(t) % channels !== 0) throw new Skip(`'${t.name}' [${t.shape}] does not keep the ${channels} channels in its last dimension`);
    carried.push(tid);
    const users = consumers.get(tid) ?? [];
    if (users.length === 0) throw new Skip(`'${t.name}' has no consumer`);
    for (const ci of users) {
      const c = graph.ops[ci] as Op;
      const label = `${OP_NAMES[c.kind] ?? c.kind} (op ${ci})`;
      // Dropping channels of one CONCATENATION input would shift the other inputs' channels in
      // its output, so a concatenation ends the path without following it.
      if (c.kind === 'concatenation') throw new Skip(`feeds ${label}, whose output mixes it with other inputs (channels cannot be dropped through a concatenation)`);
      const follows = ['conv2d', 'fully_connected', 'depthwise_conv2d', 'average_pool2d', 'max_pool2d', 'reshape', 'pad'].includes(c.kind);
      if (!follows) throw new Skip(`feeds ${label}, which cannot drop channels`);
      if (c.inputs.filter((id) => id === tid).length !== 1 || c.inputs[0] !== tid) throw new Skip(`feeds ${label} other than as its only data input`);
      switch (c.kind) {
        case 'conv2d':
        case 'fully_connected': {
          const w = graph.tensors[c.inputs[1] as number] as Tensor;
          if (!w.data) throw new Skip(`${label} has non-constant weights`);
          exclusive(w.id, `filter of ${label}`);
          if (c.kind === 'conv2d') {
            if (w.shape[3] !== lastDim(t)) throw new Skip(`${label} filter [${w.shape}] does not match its input [${t.shape}]`);
            steps.push({ kind: 'conv_input', op: ci });
          } else {
            const k = w.shape[1] ?? 0;
            if (k % channels !== 0) throw new Skip(`${label} accumulates ${k} values, not a multiple of ${channels} channels`);
            steps.push({ kind: 'fc_columns', op: ci });
          }
          break;
        }
        case 'depthwise_conv2d': {
          if (c.attrs.depthMultiplier !== 1) throw new Skip(`feeds ${label} with depth multiplier ${c.attrs.depthMultiplier}`);
          const w = graph.tensors[c.inputs[1] as number] as Tensor;
          if (!w.data) throw new Skip(`${label} has non-constant weights`);
          exclusive(w.id, `filter of ${label}`);
          exclusive(c.inputs[2] ?? -1, `bias of ${label}`);
          if (w.shape[3] !== lastDim(t)) throw new Skip(`${label} filter [${w.shape}] does not match its input [${t.shape}]`);
          steps.push({ kind: 'depthwise', op: ci });
          visit(c.outputs[0] as number);
          break;
        }
        case 'average_pool2d':
        case 'max_pool2d':
          steps.push({ kind: 'pool', op: ci });
          visit(c.outputs[0] as number);
          break;
        case 'reshape':
          steps.push({ kind: 'reshape', op: ci });
          visit(c.outputs[0] as number);
          break;
        case 'pad': {
          const p = graph.tensors[c.inputs[1] as number] as Tensor;
          const last = padOfLastDim(p);
          if (last === undefined) throw new Skip(`${label} has non-constant paddings`);
          if (last[0] !== 0 || last[1] !== 0) throw new Skip(`${label} pads the channel dimension (${last[0]}, ${last[1]})`);
          steps.push({ kind: 'pad', op: ci });
          visit(c.outputs[0] as number);
          break;
        }
        default:
          throw new Skip(`feeds ${label}, which cannot drop channels`);
      }
    }
  };
  visit(out.id);
  return { op: index, kind: op.kind, channels, steps, carried, scores: [] };
}

/** (before, after) of the last dimension from a PAD's constant [rank, 2] paddings (int32, or float32 in a float model's view). */
function padOfLastDim(p: Tensor): [number, number] | undefined {
  const d = p.data;
  if (!d || d.byteLength < 8) return undefined;
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const at = d.byteLength - 8;
  if (p.dtype === 'int32') return [view.getInt32(at, true), view.getInt32(at + 4, true)];
  if (p.dtype === 'float32') return [view.getFloat32(at, true), view.getFloat32(at + 4, true)];
  return undefined;
}

function scores(filter: Tensor, weighting: 'scale' | 'none'): number[] {
  if (filter.dtype === 'float32') return floatScores(filter);
  const w = int8Constant(filter);
  const channels = filter.shape[0] ?? 1;
  const row = w.length / channels;
  const q = filter.quant;
  const perChannel = (q?.scale.length ?? 0) > 1 && q?.axis === 0;
  return Array.from({ length: channels }, (_, c) => {
    const zp = (perChannel ? q?.zeroPoint[c] : q?.zeroPoint[0]) ?? 0;
    let s = 0;
    for (let k = c * row; k < (c + 1) * row; k++) s += Math.abs((w[k] as number) - zp);
    const scale = (perChannel ? q?.scale[c] : q?.scale[0]) ?? 1;
    return weighting === 'scale' ? s * scale : s;
  });
}

/** A float32 filter (pruning before quantization) is already in real units: its rows' L1 norms. */
function floatScores(filter: Tensor): number[] {
  const w = float32Constant(filter);
  const channels = filter.shape[0] ?? 1;
  const row = w.length / channels;
  return Array.from({ length: channels }, (_, c) => {
    let s = 0;
    for (let k = c * row; k < (c + 1) * row; k++) s += Math.abs(w[k] as number);
    return s;
  });
}

/** Kept indices of an axis of size `size` whose entry i belongs to channel i % period. */
function keptIndices(size: number, period: number, keep: readonly boolean[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < size; i++) if (keep[i % period]) out.push(i);
  return out;
}

function sliceQuant(q: Quantization | undefined, axis: number, kept: readonly number[]): Quantization | undefined {
  if (!q || q.scale.length <= 1 || q.axis !== axis) return q;
  return { axis: q.axis, scale: kept.map((i) => q.scale[i] as number), zeroPoint: kept.map((i) => q.zeroPoint[i] ?? 0) };
}

/** A copy of constant `t` keeping only indices `kept` of `axis` (fresh data; quantization follows). */
function sliceConstant(t: Tensor, axis: number, kept: readonly number[]): Tensor {
  const src = t.data as Uint8Array;
  const elem = DTYPE_BYTES[t.dtype];
  const outer = elementCount(t.shape.slice(0, axis));
  const size = t.shape[axis] as number;
  const inner = elementCount(t.shape.slice(axis + 1)) * elem;
  const data = new Uint8Array(outer * kept.length * inner);
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const k of kept) {
      const from = (o * size + k) * inner;
      data.set(src.subarray(from, from + inner), at);
      at += inner;
    }
  }
  const shape = [...t.shape];
  shape[axis] = kept.length;
  const quant = sliceQuant(t.quant, axis, kept);
  return { ...t, shape, data, ...(quant ? { quant } : {}) };
}

/** Removes `removed` output channels of producer `p` and everything downstream, in place on the copies `tensors`/`ops`. */
function apply(p: Plan, removed: ReadonlySet<number>, tensors: Tensor[], ops: Op[]): void {
  const C = p.channels;
  const keep = Array.from({ length: C }, (_, c) => !removed.has(c));
  const kept = C - removed.size;
  const get = (id: number): Tensor => tensors[id] as Tensor;
  const slice = (id: number, axis: number): void => {
    if (id < 0) return;
    const t = get(id);
    tensors[id] = sliceConstant(t, axis, keptIndices(t.shape[axis] as number, C, keep));
  };
  const producer = ops[p.op] as Op;
  slice(producer.inputs[1] as number, 0);
  slice(producer.inputs[2] ?? -1, 0);
  for (const s of p.steps) {
    const op = ops[s.op] as Op;
    switch (s.kind) {
      case 'conv_input':
        slice(op.inputs[1] as number, 3);
        break;
      case 'fc_columns':
        // [O, K] with K = positions x C (NHWC flatten): channel c's column at every position.
        slice(op.inputs[1] as number, 1);
        break;
      case 'depthwise':
        slice(op.inputs[1] as number, 3);
        slice(op.inputs[2] ?? -1, 0);
        break;
      case 'pool':
      case 'pad':
        break;
      case 'reshape': {
        if (op.kind !== 'reshape') throw new Error('internal: not a reshape');
        const outShape = get(op.outputs[0] as number).shape;
        const newLast = ((outShape[outShape.length - 1] ?? 1) / C) * kept;
        const target = [...outShape.slice(0, -1), newLast];
        const ns = op.attrs.newShape;
        const newShape = ns.length === target.length ? ns.map((d, i) => (d < 0 ? d : (target[i] as number))) : target;
        ops[s.op] = { ...op, attrs: { ...op.attrs, newShape } };
        break;
      }
    }
  }
  for (const id of p.carried) {
    const t = get(id);
    const last = lastDim(t);
    tensors[id] = { ...t, shape: [...t.shape.slice(0, -1), (last / C) * kept] };
  }
}

/** Channel-prunes `graph` and returns a new graph; the input graph and its buffers are not changed. */
export function pruneChannels(graph: Graph, opts: ChannelPruneOptions): ChannelPruneResult {
  const { fraction } = opts;
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`fraction ${fraction} is not in [0, 1)`);
  const weighting = opts.weighting ?? 'scale';
  const uses = useCounts(graph);
  const consumers = new Map<number, number[]>();
  graph.ops.forEach((op, i) => {
    for (const id of new Set(op.inputs)) if (id >= 0) consumers.set(id, [...(consumers.get(id) ?? []), i]);
  });
  const plans: Plan[] = [];
  const skipped: ChannelSkipReport[] = [];
  graph.ops.forEach((op, i) => {
    if (op.kind !== 'conv2d' && op.kind !== 'fully_connected') return;
    const name = graph.tensors[op.outputs[0] as number]?.name ?? '';
    try {
      const p = plan(graph, i, uses, consumers);
      p.scores = scores(graph.tensors[op.inputs[1] as number] as Tensor, weighting);
      plans.push(p);
    } catch (e) {
      if (!(e instanceof Skip)) throw e;
      skipped.push({ op: i, kind: op.kind, name, reason: e.message });
    }
  });

  // Which channels go: the lowest scores (ties: lower channel index first).
  const removedBy = new Map<number, number[]>();
  const lowest = (p: Plan, n: number): number[] =>
    p.scores
      .map((s, c) => ({ s, c }))
      .sort((a, b) => a.s - b.s || a.c - b.c)
      .slice(0, Math.min(n, p.channels - 1))
      .map((x) => x.c);
  const explicit = opts.channels ?? {};
  for (const key of Object.keys(explicit)) {
    const i = Number(key);
    const p = plans.find((x) => x.op === i);
    if (!p) throw new RangeError(`op ${i} is not a prunable layer${skipped.some((s) => s.op === i) ? ` (${skipped.find((s) => s.op === i)?.reason})` : ''}`);
    const list = [...new Set(explicit[i] ?? [])];
    if (list.some((c) => !Number.isInteger(c) || c < 0 || c >= p.channels)) throw new RangeError(`op ${i}: channels must be integers in [0, ${p.channels})`);
    if (list.length >= p.channels) throw new RangeError(`op ${i}: cannot remove all ${p.channels} channels`);
    removedBy.set(i, list);
  }
  const free = plans.filter((p) => !removedBy.has(p.op));
  if ((opts.scope ?? 'layer') === 'global') {
    const all = free.flatMap((p) => p.scores.map((s, c) => ({ p, s, c })));
    all.sort((a, b) => a.s - b.s || a.p.op - b.p.op || a.c - b.c);
    let need = Math.round(fraction * all.length);
    const taken = new Map<Plan, number[]>(free.map((p) => [p, []]));
    for (const x of all) {
      if (need === 0) break;
      const list = taken.get(x.p) as number[];
      if (list.length >= x.p.channels - 1) continue;
      list.push(x.c);
      need--;
    }
    for (const [p, list] of taken) removedBy.set(p.op, list);
  } else {
    for (const p of free) removedBy.set(p.op, lowest(p, Math.round(fraction * p.channels)));
  }

  const tensors = [...graph.tensors];
  const ops = graph.ops.map((op) => ({ ...op, inputs: [...op.inputs], outputs: [...op.outputs] }) as Op);
  const layers: ChannelLayerReport[] = [];
  for (const p of plans) {
    const removed = [...(removedBy.get(p.op) ?? [])].sort((a, b) => a - b);
    const name = graph.tensors[graph.ops[p.op]?.outputs[0] as number]?.name ?? '';
    if (removed.length === 0) {
      skipped.push({ op: p.op, kind: p.kind, name, reason: 'no channel selected at this fraction' });
      continue;
    }
    apply(p, new Set(removed), tensors, ops);
    layers.push({ op: p.op, kind: p.kind, name, before: p.channels, after: p.channels - removed.length, removed, followed: p.steps.map((s) => s.op) });
  }
  skipped.sort((a, b) => a.op - b.op);
  return { graph: { ...graph, tensors, ops, inputs: [...graph.inputs], outputs: [...graph.outputs] }, report: { layers, skipped } };
}
