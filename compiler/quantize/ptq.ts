// Post-training quantization: FloatGraph + calibration samples -> int8 or int16x8 `Graph` (TFLite
// conventions). Weights: symmetric int8 ([-127, 127]), per-channel for conv (axis 0, OHWI) and
// depthwise (axis 3), per-tensor for fully connected. Activations: int8 (asymmetric) or int16
// (symmetric) from calibration min/max (or percentiles, or the least-error range); the activation
// type decides their parameters, the bias type (int32 / int64, at input_scale * weight_scale, zero
// point 0) and the softmax output (see activation_type.ts). Pooling, reshape and pad keep their
// input's parameters; a concatenation's inputs and output all share one (see sharedQuantization).

import type { LoadedModel } from '../compile.ts';
import type { FloatGraph, FloatTensor } from '../frontends/tfjs/float_graph.ts';
import { runFloat } from '../frontends/tfjs/float_run.ts';
import { irOpFor } from '../frontends/tfjs/float_graph_view.ts';
import { elementCount, type Graph, type Op, type Quantization, type Tensor } from '../ir/graph.ts';
import { lowerGraph } from '../passes/lower.ts';
import { runReference } from '../reference/run_reference.ts';
import { roundHalfAwayFromZero } from '../quant/multiplier.ts';
import { activationType, quantizeValue, type ActivationDType, type ActivationType, type QParams } from './activation_type.ts';
import { CalibrationError, checkSamples } from './calibration.ts';

export interface PtqOptions {
  /**
   * 'minmax' (default), 'percentile' (clip each activation to its [100-p, p] percentiles) or 'mse'
   * (the clipping range that minimizes the mean squared quantization error on the calibration data).
   */
  method?: 'minmax' | 'percentile' | 'mse';
  /** Percentile for method 'percentile', default 99.99. */
  percentile?: number;
  /** Activation type: 'int8' (default) or 'int16' (TFLite's 16x8 mode, int8 weights, int64 biases). */
  activations?: ActivationDType;
}

export interface IoQuant {
  name: string;
  shape: number[];
  /** int32 only for token-id inputs (the positions of a GATHER), which are not quantized. */
  dtype: ActivationDType | 'int32';
  scale: number;
  zeroPoint: number;
}

export interface PtqResult {
  graph: Graph;
  /** Graph inputs (int8 or int16): quantize float data with these (see quantizeInput). */
  inputs: IoQuant[];
  /** Graph outputs: dequantize with these (see dequantizeOutput). */
  outputs: IoQuant[];
  /** Calibrated float range per activation tensor id (after the fused activation). */
  ranges: Map<number, { min: number; max: number }>;
}

function perTensor(scale: number, zeroPoint: number): Quantization {
  return { scale: [scale], zeroPoint: [zeroPoint], axis: 0 };
}

function percentileRange(values: Float32Array, p: number): { min: number; max: number } {
  const sorted = Float32Array.from(values).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((q / 100) * (sorted.length - 1))))] as number;
  return { min: at(100 - p), max: at(p) };
}

/** Quantize-dequantize error of `values` (a deterministic subsample) with the range [lo, hi]. */
function rangeError(values: Float32Array, lo: number, hi: number, type: ActivationType): number {
  const q = type.fromRange(lo, hi);
  const step = Math.max(1, Math.floor(values.length / 65536));
  let e = 0;
  for (let i = 0; i < values.length; i += step) {
    const x = values[i] as number;
    const d = x - (quantizeValue(x, q, type) - q.zeroPoint) * q.scale;
    e += d * d;
  }
  return e;
}

/**
 * The range [f_lo * min, f_hi * max] with the least quantization error over a grid of shrink
 * factors. Clipping a few outliers buys a finer step for all other values; the grid search is
 * cheap next to the float inference that produced the values.
 */
function mseRange(values: Float32Array, type: ActivationType): { min: number; max: number } {
  let min = 0;
  let max = 0;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // Fine steps near the full range, then geometric ones down to ~1% for far outliers.
  const factors = [1, 0.95, 0.9, 0.85, ...Array.from({ length: 18 }, (_, i) => 0.8 * 0.78 ** i)];
  const los = min < 0 ? factors : [1];
  const his = max > 0 ? factors : [1];
  let best = { min, max, error: Infinity };
  for (const fl of los) {
    for (const fh of his) {
      const error = rangeError(values, fl * min, fh * max, type);
      if (error < best.error) best = { min: fl * min, max: fh * max, error };
    }
  }
  return { min: best.min, max: best.max };
}

/** Float ranges of every activation (and input) over the calibration set. */
export function calibrate(fg: FloatGraph, cases: readonly (readonly Float32Array[])[], opts: PtqOptions = {}): Map<number, { min: number; max: number }> {
  if (cases.length === 0) throw new CalibrationError(`${fg.name}: calibration data is empty`);
  fg.inputs.forEach((id, i) => {
    const t = fg.tensors[id] as FloatTensor;
    const samples = cases.map((c, k) => {
      const s = c[i];
      if (!s || s.length !== elementCount(t.shape)) throw new CalibrationError(`${fg.name}: calibration case ${k} input ${i} '${t.name}' has ${s?.length ?? 0} values; the input [${t.shape}] needs ${elementCount(t.shape)}`);
      return s;
    });
    checkSamples(samples, `${fg.name}: input '${t.name}'`);
  });
  const method = opts.method ?? 'minmax';
  const p = opts.percentile ?? 99.99;
  if (method === 'percentile' && !(p > 50 && p <= 100)) throw new CalibrationError(`percentile ${p} must be in (50, 100]`);
  const ranges = new Map<number, { min: number; max: number }>();
  const collected = new Map<number, Float32Array[]>();
  for (const c of cases) {
    const values = runFloat(fg, c);
    for (const [id, v] of values) {
      if (method !== 'minmax') {
        const list = collected.get(id) ?? [];
        list.push(v);
        collected.set(id, list);
      }
      let r = ranges.get(id);
      if (!r) {
        r = { min: Infinity, max: -Infinity };
        ranges.set(id, r);
      }
      for (let i = 0; i < v.length; i++) {
        const x = v[i] as number;
        if (!Number.isFinite(x)) throw new CalibrationError(`${fg.name}: tensor '${(fg.tensors[id] as FloatTensor).name}' became ${x} on the calibration data`);
        if (x < r.min) r.min = x;
        if (x > r.max) r.max = x;
      }
    }
  }
  if (method !== 'minmax') {
    for (const [id, list] of collected) {
      const all = new Float32Array(list.reduce((n, a) => n + a.length, 0));
      let at = 0;
      for (const a of list) {
        all.set(a, at);
        at += a.length;
      }
      ranges.set(id, method === 'mse' ? mseRange(all, activationType(opts.activations)) : percentileRange(all, p));
    }
  }
  return ranges;
}

function int8Bytes(v: Int8Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function int32Bytes(v: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setInt32(i * 4, v[i] as number, true);
  return out;
}

function int64Bytes(v: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(v.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setBigInt64(i * 8, BigInt(v[i] as number), true);
  return out;
}

/** Symmetric int8 weights with one scale per index of `axis` (or one scale when axis is -1). */
function quantizeWeights(t: FloatTensor, axis: number): { data: Int8Array; scales: number[] } {
  const w = t.data as Float32Array;
  const channels = axis < 0 ? 1 : (t.shape[axis] as number);
  const inner = axis < 0 ? 1 : t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number): number => (axis < 0 ? 0 : Math.floor(i / inner) % channels);
  const maxAbs = new Array<number>(channels).fill(0);
  w.forEach((x, i) => {
    const c = channelOf(i);
    maxAbs[c] = Math.max(maxAbs[c] as number, Math.abs(x));
  });
  const scales = maxAbs.map((m) => (m > 0 ? Math.fround(m / 127) : 1));
  const data = new Int8Array(w.length);
  w.forEach((x, i) => {
    data[i] = Math.max(-127, Math.min(127, roundHalfAwayFromZero(x / (scales[channelOf(i)] as number))));
  });
  return { data, scales };
}

/** Bias values at input_scale * weight_scale, saturated to int32 or (within a double's exact integers) int64. */
function quantizeBias(b: Float32Array, inputScale: number, weightScales: number[], float32Product: boolean, type: 'int32' | 'int64'): number[] {
  const [lo, hi] = type === 'int32' ? [-2147483648, 2147483647] : [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
  return Array.from(b, (x, i) => {
    const ws = (weightScales.length === 1 ? weightScales[0] : weightScales[i]) as number;
    const s = float32Product ? Math.fround(inputScale * ws) : inputScale * ws;
    return Math.max(lo, Math.min(hi, roundHalfAwayFromZero(x / s)));
  });
}

/** Union-find over tensor ids. */
class Groups {
  private parent = new Map<number, number>();
  find(x: number): number {
    const p = this.parent.get(x);
    if (p === undefined || p === x) return x;
    const root = this.find(p);
    this.parent.set(x, root);
    return root;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra, rb);
  }
}

/**
 * The quantization of every activation, decided before any op is quantized. Some tensors must
 * share one: the input and output of pooling, reshape and pad (kernels that move values without
 * rescaling), and all inputs and the output of a concatenation (TFLite Micro's int8 / int16
 * CONCATENATION copies bytes; TFLite's quantizer gives them one scale). Such a group gets one range:
 * the union of the calibrated ranges of its members that produce new values (model inputs, the
 * outputs of computing ops and of concatenations, a PADV2 constant), so pass-through outputs add
 * nothing and a group without a concatenation gets exactly its source's range. Deciding it up
 * front matters because a producer is quantized before the concatenation that constrains it.
 * A group holding a softmax output takes the softmax's fixed quantization (values outside [0, 1)
 * from other members then saturate).
 */
function sharedQuantization(fg: FloatGraph, ranges: ReadonlyMap<number, { min: number; max: number }>, type: ActivationType): Map<number, QParams> {
  const groups = new Groups();
  const derived = new Set<number>();
  const fixed = new Set<number>();
  const extra = new Map<number, number[]>();
  for (const op of fg.ops) {
    const x = op.inputs[0] as number;
    const out = op.outputs[0] as number;
    switch (op.kind) {
      case 'average_pool2d':
      case 'max_pool2d':
      case 'reshape':
        groups.union(x, out);
        derived.add(out);
        break;
      case 'pad': {
        groups.union(x, out);
        derived.add(out);
        const valueId = op.inputs[2] ?? -1;
        const value = valueId >= 0 ? (fg.tensors[valueId] as FloatTensor).data?.[0] : undefined;
        if (value !== undefined) extra.set(out, [value]);
        break;
      }
      case 'concatenation':
        for (const id of op.inputs) groups.union(id, out);
        break;
      case 'softmax':
        fixed.add(out);
        break;
      case 'gather': {
        // GATHER copies bytes: its output has the table's quantization, i.e. the table's range.
        const table = (fg.tensors[x] as FloatTensor).data as Float32Array;
        derived.add(out);
        extra.set(out, [Math.min(...table), Math.max(...table)]);
        break;
      }
      default:
        break;
    }
  }
  // Token ids (the positions of a GATHER) are int32 model inputs, not quantized activations.
  const ids = tokenIdInputs(fg);
  const activations = new Set<number>([...fg.inputs.filter((id) => !ids.has(id)), ...fg.ops.map((o) => o.outputs[0] as number)]);
  const span = new Map<number, { min: number; max: number; fixed: boolean }>();
  for (const id of activations) {
    const root = groups.find(id);
    const g = span.get(root) ?? { min: Infinity, max: -Infinity, fixed: false };
    span.set(root, g);
    if (fixed.has(id)) g.fixed = true;
    const values = [...(extra.get(id) ?? [])];
    if (!derived.has(id)) {
      const r = ranges.get(id);
      if (!r) throw new Error(`internal: no calibration range for tensor ${id}`);
      values.push(r.min, r.max);
    }
    for (const v of values) {
      g.min = Math.min(g.min, v);
      g.max = Math.max(g.max, v);
    }
  }
  const params = new Map<number, QParams>();
  for (const id of activations) {
    const g = span.get(groups.find(id)) as { min: number; max: number; fixed: boolean };
    // A group of pass-through ops only (impossible: every chain starts at a source) would have no range.
    params.set(id, g.fixed ? type.softmaxOutput : type.fromRange(Number.isFinite(g.min) ? g.min : 0, Number.isFinite(g.max) ? g.max : 0));
  }
  return params;
}

/** Model inputs that are only ever GATHER positions: integer token ids, kept int32. */
export function tokenIdInputs(fg: FloatGraph): Set<number> {
  return new Set(fg.inputs.filter((id) => {
    const users = fg.ops.filter((o) => o.inputs.includes(id));
    return users.length > 0 && users.every((o) => o.kind === 'gather' && o.inputs[1] === id && o.inputs[0] !== id);
  }));
}

/**
 * Quantizes `fg` to a Graph whose activations, inputs and outputs are `opts.activations` (int8 by
 * default) and whose weights are int8. `cases[k][i]` is input i of case k.
 */
export function quantizeFloatGraph(fg: FloatGraph, cases: readonly (readonly Float32Array[])[], opts: PtqOptions = {}): PtqResult {
  const act = activationType(opts.activations);
  const ranges = calibrate(fg, cases, opts);
  // Every tensor starts as an activation; weights, biases and paddings get their own types below.
  const tensors: Tensor[] = fg.tensors.map((t) => ({ id: t.id, name: t.name, shape: [...t.shape], dtype: act.dtype }));
  const setQ = (id: number, scale: number, zeroPoint: number): void => {
    (tensors[id] as Tensor).quant = perTensor(scale, zeroPoint);
  };
  const qOf = (id: number): { scale: number; zeroPoint: number } => {
    const q = (tensors[id] as Tensor).quant;
    if (!q) throw new Error(`internal: tensor ${id} has no quantization yet`);
    return { scale: q.scale[0] as number, zeroPoint: q.zeroPoint[0] as number };
  };
  const shared = sharedQuantization(fg, ranges, act);
  const fromRange = (id: number): void => {
    const q = shared.get(id);
    if (!q) throw new Error(`internal: no calibration range for tensor ${id}`);
    setQ(id, q.scale, q.zeroPoint);
  };
  const ids = tokenIdInputs(fg);
  for (const id of fg.inputs) {
    if (ids.has(id)) (tensors[id] as Tensor).dtype = 'int32';
    else fromRange(id);
  }
  const ops: Op[] = fg.ops.map((fop, index): Op => {
    const out = fop.outputs[0] as number;
    const x = fop.inputs[0] as number;
    switch (fop.kind) {
      case 'conv2d':
      case 'depthwise_conv2d':
      case 'fully_connected': {
        const wId = fop.inputs[1] as number;
        const bId = fop.inputs[2] as number;
        const axis = fop.kind === 'conv2d' ? 0 : fop.kind === 'depthwise_conv2d' ? 3 : -1;
        const w = quantizeWeights(fg.tensors[wId] as FloatTensor, axis);
        const wt = tensors[wId] as Tensor;
        wt.dtype = 'int8';
        wt.data = int8Bytes(w.data);
        wt.quant = { scale: w.scales, zeroPoint: w.scales.map(() => 0), axis: Math.max(axis, 0) };
        if (bId >= 0) {
          const bt = tensors[bId] as Tensor;
          const bias = quantizeBias((fg.tensors[bId] as FloatTensor).data as Float32Array, qOf(x).scale, w.scales, fop.kind === 'fully_connected', act.bias);
          bt.dtype = act.bias;
          bt.data = act.bias === 'int64' ? int64Bytes(bias) : int32Bytes(bias);
          bt.quant = { scale: w.scales.map((s) => (fop.kind === 'fully_connected' ? Math.fround(qOf(x).scale * s) : qOf(x).scale * s)), zeroPoint: w.scales.map(() => 0), axis: 0 };
        }
        fromRange(out);
        break;
      }
      case 'average_pool2d':
      case 'max_pool2d':
      case 'reshape': {
        const q = qOf(x);
        setQ(out, q.scale, q.zeroPoint);
        break;
      }
      case 'softmax':
        setQ(out, act.softmaxOutput.scale, act.softmaxOutput.zeroPoint);
        break;
      case 'add':
      case 'mul':
      case 'sub':
      case 'squared_difference':
        // A constant operand (a batch normalization's per-channel vector) gets its own per-tensor
        // quantization over its values and zero, of the activation type, as TFLite's quantizer
        // gives it (int16: symmetric, which TFLite Micro's int16 MUL requires).
        for (const id of fop.inputs) {
          const data = (fg.tensors[id] as FloatTensor).data;
          if (!data) continue;
          const q = act.fromRange(Math.min(0, ...data), Math.max(0, ...data));
          setQ(id, q.scale, q.zeroPoint);
          (tensors[id] as Tensor).data = act.bytes(Array.from(data, (v) => quantizeValue(v, q, act)));
        }
        fromRange(out);
        break;
      case 'concatenation':
      case 'batch_matmul':
      case 'rsqrt':
        fromRange(out);
        break;
      case 'mean': {
        fromRange(out);
        const axes = tensors[fop.inputs[1] as number] as Tensor;
        axes.dtype = 'int32';
        axes.data = int32Bytes(Int32Array.from((fg.tensors[axes.id] as FloatTensor).data as Float32Array));
        break;
      }
      case 'gather': {
        // The table gets the output's quantization (the table's own range, see sharedQuantization).
        fromRange(out);
        const q = qOf(out);
        const table = tensors[x] as Tensor;
        table.quant = perTensor(q.scale, q.zeroPoint);
        table.data = act.bytes(Array.from((fg.tensors[x] as FloatTensor).data as Float32Array, (v) => quantizeValue(v, q, act)));
        break;
      }
      case 'pad': {
        // Input and output share their parameters (fromRange gives the whole group the same).
        fromRange(out);
        const pId = fop.inputs[1] as number;
        const pt = tensors[pId] as Tensor;
        pt.dtype = 'int32';
        pt.data = int32Bytes(Int32Array.from((fg.tensors[pId] as FloatTensor).data as Float32Array));
        const valueId = fop.inputs[2] ?? -1;
        if (valueId >= 0) {
          // PADV2's constant is stored with the output's quantization, as TFLite Micro requires.
          const q = qOf(out);
          const v = ((fg.tensors[valueId] as FloatTensor).data as Float32Array)[0] as number;
          const vt = tensors[valueId] as Tensor;
          vt.data = act.bytes([quantizeValue(v, q, act)]);
          vt.quant = perTensor(q.scale, q.zeroPoint);
        }
        break;
      }
    }
    return irOpFor(fg, fop, index);
  });
  const graph: Graph = { name: fg.name, tensors, ops, inputs: [...fg.inputs], outputs: [...fg.outputs] };
  const io = (id: number): IoQuant => {
    const t = tensors[id] as Tensor;
    // Token ids go in as they are: int32, scale 1.
    if (ids.has(id)) return { name: t.name, shape: [...t.shape], dtype: 'int32', scale: 1, zeroPoint: 0 };
    return { name: t.name, shape: [...t.shape], dtype: act.dtype, ...qOf(id) };
  };
  return { graph, inputs: graph.inputs.map(io), outputs: graph.outputs.map(io), ranges };
}

/** What compileModel takes. `sha256` identifies the source model (e.g. LoadedTfjsModel.sha256). */
export function ptqLoadedModel(result: PtqResult, modelPath: string, sha256: string): LoadedModel {
  return { path: modelPath, bytes: new Uint8Array(0), sha256, graph: result.graph };
}

/** TFLite QUANTIZE: q = clamp(round(x / scale) + zero_point). Returns the raw bytes of `q.dtype` (default int8). */
export function quantizeInput(x: Float32Array, q: QParams & { dtype?: ActivationDType | 'int32' }): Uint8Array {
  if (q.dtype === 'int32') return new Uint8Array(Int32Array.from(x, (v) => Math.round(v)).buffer);
  const type = activationType(q.dtype);
  return type.bytes(Array.from(x, (v) => quantizeValue(v, q, type)));
}

/** Raw bytes of `q.dtype` (default int8) -> float values. */
export function dequantizeOutput(bytes: Uint8Array, q: QParams & { dtype?: ActivationDType | 'int32' }): Float32Array {
  if (q.dtype === 'int32') throw new Error('internal: int32 token ids are an input, never an output');
  return Float32Array.from(activationType(q.dtype).values(bytes), (x) => (x - q.zeroPoint) * q.scale);
}

export interface LayerSqnr {
  /** Index in FloatGraph.ops (= sourceIndex of the quantized op). */
  index: number;
  kind: string;
  source: string;
  /** 10*log10(signal power / noise power) in dB over all cases; Infinity when exact. */
  sqnrDb: number;
}

/**
 * Per-layer SQNR: the float graph's output of every op vs the dequantized output of the same op in
 * the quantized model's TS reference (fed the quantized inputs), accumulated over `cases`.
 */
export function layerSqnr(fg: FloatGraph, result: PtqResult, cases: readonly (readonly Float32Array[])[]): LayerSqnr[] {
  const layers = lowerGraph(result.graph);
  const all = fg.ops.map((o) => o.outputs[0] as number);
  const probe: Graph = { ...result.graph, outputs: all };
  const signal = new Array<number>(all.length).fill(0);
  const noise = new Array<number>(all.length).fill(0);
  for (const c of cases) {
    const f = runFloat(fg, c);
    const q = runReference(probe, layers, c.map((x, i) => quantizeInput(x, result.inputs[i] as IoQuant)));
    all.forEach((id, k) => {
      const t = result.graph.tensors[id] as Tensor;
      const d = dequantizeOutput(q[k] as Uint8Array, { dtype: t.dtype === 'int16' ? 'int16' : 'int8', scale: t.quant?.scale[0] as number, zeroPoint: t.quant?.zeroPoint[0] as number });
      const fv = f.get(id) as Float32Array;
      for (let i = 0; i < fv.length; i++) {
        const e = (fv[i] as number) - (d[i] as number);
        signal[k] = (signal[k] as number) + (fv[i] as number) ** 2;
        noise[k] = (noise[k] as number) + e * e;
      }
    });
  }
  return fg.ops.map((o, k) => ({
    index: k,
    kind: o.kind,
    source: o.source,
    sqnrDb: (noise[k] as number) === 0 ? Infinity : 10 * Math.log10((signal[k] as number) / (noise[k] as number)),
  }));
}
