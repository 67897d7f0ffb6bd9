// The float graph TF.js frontends produce: the same op vocabulary as the int8 IR, but with float32
// weights and no quantization. compiler/quantize/ptq.ts turns it into an int8 `Graph`.
// Layouts follow TFLite: activations NHWC (batch 1), conv filters OHWI, depthwise filters 1HW(C*M),
// fully connected filters [out, in].

import { TinyforgeError } from '../../errors.ts';
import { elementCount, type Activation, type Padding } from '../../ir/graph.ts';

export interface FloatTensor {
  id: number;
  name: string;
  shape: number[];
  /** Constant contents (weights, biases); absent for activations. */
  data?: Float32Array;
}

export interface FloatConvAttrs {
  padding: Padding;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  activation: Activation;
}

export interface FloatPoolAttrs {
  padding: Padding;
  strideH: number;
  strideW: number;
  filterH: number;
  filterW: number;
  activation: Activation;
}

interface FloatOpBase<K extends string, A> {
  kind: K;
  /** Name of the TF.js node or layer the op came from, for messages and SQNR reports. */
  source: string;
  /** Tensor ids; -1 for an absent bias. */
  inputs: number[];
  outputs: number[];
  attrs: A;
}

export type FloatOp =
  | FloatOpBase<'conv2d', FloatConvAttrs>
  | FloatOpBase<'depthwise_conv2d', FloatConvAttrs & { depthMultiplier: number }>
  /** keepNumDims: a rank-3 [1, T, K] input maps each of its T rows to [1, T, O] (TFLite's keep_num_dims). */
  | FloatOpBase<'fully_connected', { activation: Activation; keepNumDims?: boolean }>
  | FloatOpBase<'average_pool2d', FloatPoolAttrs>
  | FloatOpBase<'max_pool2d', FloatPoolAttrs>
  | FloatOpBase<'add', { activation: Activation }>
  | FloatOpBase<'mul', { activation: Activation }>
  | FloatOpBase<'sub', { activation: Activation }>
  | FloatOpBase<'squared_difference', { activation: Activation }>
  /** Rows of a constant table (input 0, [V, D]) picked by integer ids (input 1, a model input [1, T]): [1, T, D]. */
  | FloatOpBase<'gather', Record<string, never>>
  /** Batched matrix product of two rank-3 activations [1, M, K] x [1, K, N], either transposed by adjX / adjY. */
  | FloatOpBase<'batch_matmul', { adjX: boolean; adjY: boolean }>
  /** Mean over the axes held in the constant input 1 (never the batch axis). */
  | FloatOpBase<'mean', { keepDims: boolean }>
  | FloatOpBase<'rsqrt', Record<string, never>>
  | FloatOpBase<'softmax', { beta: number }>
  | FloatOpBase<'reshape', { newShape: number[] }>
  /**
   * Constant padding, with the int8 IR's inputs: [x, paddings] (pads with 0) or [x, paddings,
   * value]; paddings is a constant [rank, 2] tensor of (before, after), value a constant scalar.
   */
  | FloatOpBase<'pad', Record<string, never>>
  /** Concatenation along `axis` (0 <= axis < rank); activation is always 'none', as TFLite Micro requires. */
  | FloatOpBase<'concatenation', { axis: number; activation: Activation }>;

export type FloatOpKind = FloatOp['kind'];

export interface FloatGraph {
  name: string;
  tensors: FloatTensor[];
  /** Ops in execution order. */
  ops: FloatOp[];
  inputs: number[];
  outputs: number[];
}

export type BinaryKind = 'add' | 'mul' | 'sub' | 'squared_difference';

/** Numpy broadcasting of two shapes (aligned at the last dimension), or undefined when they do not broadcast. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(Math.max(da, db));
  }
  return out;
}

function outSize(padding: Padding, inSize: number, filter: number, stride: number, dilation: number): number {
  const effective = (filter - 1) * dilation + 1;
  return padding === 'same' ? Math.ceil(inSize / stride) : Math.floor((inSize - effective) / stride) + 1;
}

/** Builds a FloatGraph op by op, inferring output shapes and checking operand shapes. */
export class FloatGraphBuilder {
  readonly tensors: FloatTensor[] = [];
  readonly ops: FloatOp[] = [];
  readonly inputs: number[] = [];
  outputs: number[] = [];

  constructor(readonly name: string) {}

  fail(source: string, detail: string): never {
    throw new TinyforgeError(`${this.name}: '${source}': ${detail}`);
  }

  tensor(id: number): FloatTensor {
    const t = this.tensors[id];
    if (!t) throw new TinyforgeError(`${this.name}: internal: no tensor ${id}`);
    return t;
  }

  addTensor(name: string, shape: number[], data?: Float32Array): number {
    if (data && data.length !== elementCount(shape)) {
      throw new TinyforgeError(`${this.name}: constant '${name}' has ${data.length} values for shape [${shape}]`);
    }
    const id = this.tensors.length;
    this.tensors.push(data ? { id, name, shape: [...shape], data } : { id, name, shape: [...shape] });
    return id;
  }

  input(name: string, shape: number[]): number {
    const id = this.addTensor(name, shape);
    this.inputs.push(id);
    return id;
  }

  private push(op: FloatOp): number {
    this.ops.push(op);
    return op.outputs[0] as number;
  }

  private rank4(source: string, id: number): [number, number, number, number] {
    const s = this.tensor(id).shape;
    if (s.length !== 4 || s[0] !== 1) this.fail(source, `expects an input of shape [1, H, W, C], got [${s}]`);
    return s as [number, number, number, number];
  }

  conv2d(source: string, x: number, filterOHWI: number, bias: number, attrs: FloatConvAttrs): number {
    const [, h, w, c] = this.rank4(source, x);
    const f = this.tensor(filterOHWI).shape;
    if (f.length !== 4 || f[3] !== c) this.fail(source, `filter shape [${f}] does not match ${c} input channels`);
    const [o, kh, kw] = f as [number, number, number, number];
    if (bias >= 0 && elementCount(this.tensor(bias).shape) !== o) this.fail(source, `bias does not have ${o} values`);
    const out = this.addTensor(source, [1, outSize(attrs.padding, h, kh, attrs.strideH, attrs.dilationH), outSize(attrs.padding, w, kw, attrs.strideW, attrs.dilationW), o]);
    return this.push({ kind: 'conv2d', source, inputs: [x, filterOHWI, bias], outputs: [out], attrs });
  }

  depthwiseConv2d(source: string, x: number, filter1HWC: number, bias: number, attrs: FloatConvAttrs): number {
    const [, h, w, c] = this.rank4(source, x);
    const f = this.tensor(filter1HWC).shape;
    if (f.length !== 4 || f[0] !== 1 || (f[3] as number) % c !== 0) this.fail(source, `depthwise filter shape [${f}] does not match ${c} input channels`);
    const [, kh, kw, o] = f as [number, number, number, number];
    if (bias >= 0 && elementCount(this.tensor(bias).shape) !== o) this.fail(source, `bias does not have ${o} values`);
    const out = this.addTensor(source, [1, outSize(attrs.padding, h, kh, attrs.strideH, attrs.dilationH), outSize(attrs.padding, w, kw, attrs.strideW, attrs.dilationW), o]);
    return this.push({ kind: 'depthwise_conv2d', source, inputs: [x, filter1HWC, bias], outputs: [out], attrs: { ...attrs, depthMultiplier: o / c } });
  }

  fullyConnected(source: string, x: number, filterOI: number, bias: number, activation: Activation, keepNumDims = false): number {
    const f = this.tensor(filterOI).shape;
    const inShape = this.tensor(x).shape;
    const inner = keepNumDims ? inShape.at(-1) : elementCount(inShape);
    if (f.length !== 2 || inner !== f[1]) this.fail(source, `filter shape [${f}] does not match input shape [${inShape}]`);
    if (keepNumDims && inShape.length !== 3) this.fail(source, `keeps the dimensions of a rank-3 input [1, T, K], got [${inShape}]`);
    const o = f[0] as number;
    if (bias >= 0 && elementCount(this.tensor(bias).shape) !== o) this.fail(source, `bias does not have ${o} values`);
    const out = this.addTensor(source, keepNumDims ? [...inShape.slice(0, -1), o] : [1, o]);
    return this.push({ kind: 'fully_connected', source, inputs: [x, filterOI, bias], outputs: [out], attrs: keepNumDims ? { activation, keepNumDims } : { activation } });
  }

  pool(kind: 'average_pool2d' | 'max_pool2d', source: string, x: number, attrs: FloatPoolAttrs): number {
    const [, h, w, c] = this.rank4(source, x);
    const out = this.addTensor(source, [1, outSize(attrs.padding, h, attrs.filterH, attrs.strideH, 1), outSize(attrs.padding, w, attrs.filterW, attrs.strideW, 1), c]);
    return this.push({ kind, source, inputs: [x], outputs: [out], attrs });
  }

  binary(kind: BinaryKind, source: string, a: number, b: number, activation: Activation = 'none'): number {
    const sa = this.tensor(a).shape;
    const sb = this.tensor(b).shape;
    const shape = broadcastShape(sa, sb);
    if (!shape) return this.fail(source, `operands of shapes [${sa}] and [${sb}] do not broadcast`);
    const out = this.addTensor(source, shape);
    return this.push({ kind, source, inputs: [a, b], outputs: [out], attrs: { activation } });
  }

  /** Embedding lookup: rows of `table` ([V, D] constant) at the ids in `ids` ([1, T]): [1, T, D]. */
  gather(source: string, table: number, ids: number): number {
    const st = this.tensor(table).shape;
    const si = this.tensor(ids).shape;
    if (st.length !== 2 || !this.tensor(table).data) this.fail(source, `the table must be a constant [V, D], got [${st}]`);
    if (si.length !== 2 || si[0] !== 1) this.fail(source, `the ids must be [1, T], got [${si}]`);
    const out = this.addTensor(source, [1, si[1] as number, st[1] as number]);
    return this.push({ kind: 'gather', source, inputs: [table, ids], outputs: [out], attrs: {} });
  }

  /** [1, M, K] x [1, K, N] (adjX / adjY transpose the last two dimensions of a / b first). */
  batchMatMul(source: string, a: number, b: number, adjX = false, adjY = false): number {
    const sa = this.tensor(a).shape;
    const sb = this.tensor(b).shape;
    if (sa.length !== 3 || sb.length !== 3 || sa[0] !== 1 || sb[0] !== 1) this.fail(source, `needs operands [1, M, K] and [1, K, N], got [${sa}] and [${sb}]`);
    const [m, ka] = adjX ? [sa[2], sa[1]] : [sa[1], sa[2]];
    const [kb, n] = adjY ? [sb[2], sb[1]] : [sb[1], sb[2]];
    if (ka !== kb) this.fail(source, `inner dimensions differ: [${sa}] x [${sb}] with adj_x=${adjX}, adj_y=${adjY}`);
    const out = this.addTensor(source, [1, m as number, n as number]);
    return this.push({ kind: 'batch_matmul', source, inputs: [a, b], outputs: [out], attrs: { adjX, adjY } });
  }

  /** Mean over `axes` (not the batch axis 0); the axes become a constant input, as in TFLite. */
  mean(source: string, x: number, axes: readonly number[], keepDims: boolean): number {
    const shape = this.tensor(x).shape;
    const set = new Set(axes.map((a) => (a < 0 ? a + shape.length : a)));
    if ([...set].some((a) => !Number.isInteger(a) || a <= 0 || a >= shape.length)) this.fail(source, `axes [${axes}] must be dimensions 1 to ${shape.length - 1} of [${shape}]`);
    const axesId = this.addTensor(`${source}/axes`, [set.size], Float32Array.from([...set].sort()));
    const out = this.addTensor(source, shape.map((d, i) => (set.has(i) ? 1 : d)).filter((_, i) => keepDims || !set.has(i)));
    return this.push({ kind: 'mean', source, inputs: [x, axesId], outputs: [out], attrs: { keepDims } });
  }

  rsqrt(source: string, x: number): number {
    const out = this.addTensor(source, this.tensor(x).shape);
    return this.push({ kind: 'rsqrt', source, inputs: [x], outputs: [out], attrs: {} });
  }

  softmax(source: string, x: number, beta = 1): number {
    const out = this.addTensor(source, this.tensor(x).shape);
    return this.push({ kind: 'softmax', source, inputs: [x], outputs: [out], attrs: { beta } });
  }

  reshape(source: string, x: number, newShape: number[]): number {
    const inShape = this.tensor(x).shape;
    const n = elementCount(inShape);
    const known = newShape.filter((d) => d >= 0).reduce((a, b) => a * b, 1);
    const shape = newShape.map((d) => (d < 0 ? n / known : d));
    if (elementCount(shape) !== n || shape.some((d) => !Number.isInteger(d))) this.fail(source, `cannot reshape [${inShape}] to [${newShape}]`);
    const out = this.addTensor(source, shape);
    return this.push({ kind: 'reshape', source, inputs: [x], outputs: [out], attrs: { newShape: shape } });
  }

  /**
   * The op producing `x`, looking back through reshapes that only feed each other (tfjs-converter
   * writes Conv1D as ExpandDims -> Conv2D -> Squeeze -> BiasAdd -> Relu); bias and activation
   * commute with a reshape that keeps the channels last.
   */
  producerThroughReshapes(x: number): FloatOp | undefined {
    let producer = this.ops.find((o) => o.outputs[0] === x);
    const channels = this.tensor(x).shape.at(-1);
    while (producer?.kind === 'reshape') {
      const src = producer.inputs[0] as number;
      if (this.inputs.includes(src) || this.ops.filter((o) => o.inputs.includes(src)).length !== 1 || this.tensor(src).shape.at(-1) !== channels) break;
      producer = this.ops.find((o) => o.outputs[0] === src);
    }
    return producer;
  }

  /**
   * Pads `x` with `value` (default 0): `paddings[d]` is (before, after) for dimension d. A zero value
   * becomes TFLite PAD (which pads with the zero point, i.e. real 0), any other value PADV2.
   */
  pad(source: string, x: number, paddings: readonly (readonly [number, number])[], value = 0): number {
    const inShape = this.tensor(x).shape;
    if (paddings.length !== inShape.length) this.fail(source, `has ${paddings.length} padding pairs for an input of rank ${inShape.length} ([${inShape}])`);
    if (inShape.length > 4) this.fail(source, `pads a rank-${inShape.length} tensor; at most 4 dimensions are supported`);
    paddings.forEach(([b, a], d) => {
      if (!Number.isInteger(b) || !Number.isInteger(a) || b < 0 || a < 0) this.fail(source, `padding (${b}, ${a}) of dimension ${d} is not a pair of non-negative integers`);
    });
    if (paddings[0]?.[0] !== 0 || paddings[0]?.[1] !== 0) this.fail(source, `pads the batch dimension (${paddings[0]?.[0]}, ${paddings[0]?.[1]}), which is not supported`);
    if (!Number.isFinite(value)) this.fail(source, `pads with ${value}`);
    const p = this.addTensor(`${source}/paddings`, [paddings.length, 2], Float32Array.from(paddings.flat()));
    const inputs = value === 0 ? [x, p] : [x, p, this.addTensor(`${source}/constant_values`, [], Float32Array.of(value))];
    const out = this.addTensor(source, inShape.map((d, i) => d + (paddings[i]?.[0] as number) + (paddings[i]?.[1] as number)));
    return this.push({ kind: 'pad', source, inputs, outputs: [out], attrs: {} });
  }

  /** Concatenates `xs` along `axis` (negative counts from the end); shapes must agree elsewhere. */
  concatenation(source: string, xs: readonly number[], axis: number): number {
    if (xs.length < 1) this.fail(source, 'concatenates no inputs');
    const first = this.tensor(xs[0] as number).shape;
    const rank = first.length;
    const ax = axis < 0 ? axis + rank : axis;
    if (!Number.isInteger(ax) || ax < 0 || ax >= rank) this.fail(source, `axis ${axis} is outside rank ${rank}`);
    if (ax === 0 && xs.length > 1) this.fail(source, 'concatenating along the batch dimension is not supported');
    if (rank > 4) this.fail(source, `concatenates rank-${rank} tensors; at most 4 dimensions are supported`);
    let total = 0;
    for (const id of xs) {
      const s = this.tensor(id).shape;
      if (s.length !== rank || s.some((d, i) => i !== ax && d !== first[i])) this.fail(source, `input shapes [${first}] and [${s}] differ outside axis ${ax}`);
      total += s[ax] as number;
    }
    const shape = [...first];
    shape[ax] = total;
    const out = this.addTensor(source, shape);
    return this.push({ kind: 'concatenation', source, inputs: [...xs], outputs: [out], attrs: { axis: ax, activation: 'none' } });
  }

  /**
   * Folds an inference-mode batch normalization of `x` into the CONV_2D, DEPTHWISE_CONV_2D or
   * FULLY_CONNECTED op producing it (possibly through channel-keeping reshapes): per output channel
   * c, with s = gamma / sqrt(var + eps), w' = w * s and b' = (b - mean) * s + beta. The producer
   * must have no activation yet (the normalization comes before it) and nothing else may read x;
   * the caller also checks that no op built later reads x. Returns x.
   */
  foldBatchNorm(source: string, x: number, bn: { gamma: Float32Array; beta: Float32Array; mean: Float32Array; variance: Float32Array; epsilon: number }): number {
    const producer = this.producerThroughReshapes(x);
    const what = 'a batch normalization (or per-channel scale) can only be folded into a Conv2D, DepthwiseConv2D or Dense/MatMul directly before it';
    if (this.inputs.includes(x)) return this.fail(source, `cannot be folded: its input is a model input; ${what}`);
    if (!producer) return this.fail(source, `cannot be folded: its input is not computed by an op; ${what}`);
    if (producer.kind !== 'conv2d' && producer.kind !== 'depthwise_conv2d' && producer.kind !== 'fully_connected') {
      return this.fail(source, `cannot be folded into '${producer.source}' (${producer.kind}); ${what}`);
    }
    if (producer.attrs.activation !== 'none') this.fail(source, `cannot be folded into '${producer.source}': it applies ${producer.attrs.activation} before the normalization`);
    if (this.ops.some((o) => o.inputs.includes(x))) this.fail(source, `cannot be folded into '${producer.source}': its output is also used by another op`);
    const shape = this.tensor(x).shape;
    const channels = shape[shape.length - 1] as number;
    for (const [k, v] of Object.entries({ gamma: bn.gamma, beta: bn.beta, mean: bn.mean, variance: bn.variance })) {
      if (v.length !== channels) this.fail(source, `${k} has ${v.length} values for ${channels} channels`);
    }
    const scale = Array.from({ length: channels }, (_, c) => (bn.gamma[c] as number) / Math.sqrt((bn.variance[c] as number) + bn.epsilon));
    // Folded values go to a new tensor when another op shares the old one (a deduplicated constant).
    const own = (id: number, name: string, shape: number[], data: Float32Array): number => {
      if (id >= 0 && !this.ops.some((o) => o !== producer && o.inputs.includes(id))) {
        (this.tensors[id] as FloatTensor).data = data;
        return id;
      }
      return this.addTensor(name, shape, data);
    };
    const wId = producer.inputs[1] as number;
    const w = this.tensor(wId);
    const wData = w.data;
    if (!wData) return this.fail(source, `cannot be folded into '${producer.source}': its weights are not constant`);
    // Output channel of weight element i: OHWI and [out, in] lead with it, depthwise 1HW(C*M) ends with it.
    const per = wData.length / channels;
    const channelOf = producer.kind === 'depthwise_conv2d' ? (i: number): number => i % channels : (i: number): number => Math.floor(i / per);
    const folded = wData.map((v, i) => v * (scale[channelOf(i)] as number));
    producer.inputs[1] = own(wId, `${source}/folded_weights`, w.shape, folded);
    const bId = producer.inputs[2] as number;
    const b = bId >= 0 ? (this.tensor(bId).data as Float32Array) : new Float32Array(channels);
    const bias = Float32Array.from({ length: channels }, (_, c) => ((b[c] as number) - (bn.mean[c] as number)) * (scale[c] as number) + (bn.beta[c] as number));
    producer.inputs[2] = own(bId, `${source}/folded_bias`, [channels], bias);
    return x;
  }

  /** True when foldBatchNorm(x) would succeed (the producer is a conv/dense op without activation, read only here). */
  canFoldInto(x: number): boolean {
    const producer = this.producerThroughReshapes(x);
    if (this.inputs.includes(x) || !producer) return false;
    if (producer.kind !== 'conv2d' && producer.kind !== 'depthwise_conv2d' && producer.kind !== 'fully_connected') return false;
    if (producer.attrs.activation !== 'none' || this.ops.some((o) => o.inputs.includes(x))) return false;
    return this.tensor(producer.inputs[1] as number).data !== undefined;
  }

  /**
   * An inference-mode batch normalization: folded into the op before it when possible, else (e.g.
   * Conv -> ReLU -> BatchNorm, common in Keras) computed as x * s + (beta - mean * s) with
   * per-channel constants, s = gamma / sqrt(var + eps): the MUL and ADD TFLite's converter emits.
   * `exclusive` says that no op built later reads x (folding rewrites x's producer).
   */
  batchNorm(source: string, x: number, bn: { gamma: Float32Array; beta: Float32Array; mean: Float32Array; variance: Float32Array; epsilon: number }, exclusive: boolean): number {
    if (exclusive && this.canFoldInto(x)) return this.foldBatchNorm(source, x, bn);
    const shape = this.tensor(x).shape;
    const channels = shape[shape.length - 1] as number;
    for (const [k, v] of Object.entries(bn)) {
      if (typeof v !== 'number' && v.length !== channels) this.fail(source, `${k} has ${v.length} values for ${channels} channels`);
    }
    const scale = Float32Array.from({ length: channels }, (_, c) => (bn.gamma[c] as number) / Math.sqrt((bn.variance[c] as number) + bn.epsilon));
    const offset = Float32Array.from({ length: channels }, (_, c) => (bn.beta[c] as number) - (bn.mean[c] as number) * (scale[c] as number));
    const scaled = this.binary('mul', `${source}/scale`, x, this.addTensor(`${source}/scale_vector`, [channels], scale));
    return this.binary('add', source, scaled, this.addTensor(`${source}/offset_vector`, [channels], offset));
  }

  /**
   * Folds a per-channel affine y = x * mul + add (constant vectors of one value per channel, or
   * one value) into the op producing x, as tfjs-converter can leave a batch normalization it did
   * not fuse. Same conditions as foldBatchNorm.
   */
  foldAffine(source: string, x: number, mul: Float32Array | undefined, add: Float32Array | undefined): number {
    const shape = this.tensor(x).shape;
    const channels = shape[shape.length - 1] as number;
    const vec = (v: Float32Array | undefined, fill: number, what: string): Float32Array => {
      if (!v) return new Float32Array(channels).fill(fill);
      if (v.length === 1) return new Float32Array(channels).fill(v[0] as number);
      if (v.length !== channels) this.fail(source, `${what} has ${v.length} values for ${channels} channels`);
      return v;
    };
    // gamma = mul, beta = add, mean = 0, variance + epsilon = 1.
    return this.foldBatchNorm(source, x, { gamma: vec(mul, 1, 'the multiplier'), beta: vec(add, 0, 'the addend'), mean: new Float32Array(channels), variance: new Float32Array(channels).fill(1), epsilon: 0 });
  }

  /** Fuses `activation` into the op producing `x` (which must have none yet); returns x. */
  fuseActivation(source: string, x: number, activation: Activation): number {
    if (activation === 'none') return x;
    const producer = this.producerThroughReshapes(x);
    // TFLite Micro's CONCATENATION takes no fused activation, so a standalone one after it is refused.
    if (!producer || !('activation' in producer.attrs) || producer.kind === 'concatenation' || producer.attrs.activation !== 'none' || this.inputs.includes(x)) {
      this.fail(source, `a standalone ${activation} that cannot be fused into the op before it is not supported`);
    }
    if (this.ops.some((o) => o !== producer && o.inputs.includes(x))) this.fail(source, `cannot fuse ${activation}: its input is also used by another op`);
    producer.attrs.activation = activation;
    return x;
  }

  finish(outputs: number[]): FloatGraph {
    this.outputs = outputs;
    // Collapse reshape chains (e.g. Conv1D's back-to-2D after a back-to-1D) whose middle is used once.
    for (let i = 0; i < this.ops.length; i++) {
      const op = this.ops[i] as FloatOp;
      if (op.kind !== 'reshape') continue;
      const mid = op.inputs[0] as number;
      const prev = this.ops.find((o) => o.outputs[0] === mid);
      if (!prev || prev.kind !== 'reshape' || outputs.includes(mid) || this.ops.filter((o) => o.inputs.includes(mid)).length !== 1) continue;
      op.inputs[0] = prev.inputs[0] as number;
      this.ops.splice(this.ops.indexOf(prev), 1);
      i = -1;
    }
    // A reshape back to the shape of its own input is a no-op.
    for (let i = 0; i < this.ops.length; i++) {
      const op = this.ops[i] as FloatOp;
      const src = op.inputs[0] as number;
      const out = op.outputs[0] as number;
      if (op.kind !== 'reshape' || this.tensor(src).shape.join() !== this.tensor(out).shape.join() || outputs.includes(out)) continue;
      for (const o of this.ops) o.inputs = o.inputs.map((t) => (t === out ? src : t));
      this.ops.splice(i, 1);
      i = -1;
    }
    return { name: this.name, tensors: this.tensors, ops: this.ops, inputs: this.inputs, outputs };
  }
}

/** Transposes a row-major array of `shape` by `perm` (out dim i = in dim perm[i]). */
export function transpose(data: Float32Array, shape: readonly number[], perm: readonly number[]): { data: Float32Array; shape: number[] } {
  const outShape = perm.map((p) => shape[p] as number);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(data.length);
  const idx = new Array<number>(outShape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < idx.length; d++) src += (idx[d] as number) * (inStrides[perm[d] as number] as number);
    out[o] = data[src] as number;
    for (let d = idx.length - 1; d >= 0; d--) {
      idx[d] = (idx[d] as number) + 1;
      if ((idx[d] as number) < (outShape[d] as number)) break;
      idx[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}
