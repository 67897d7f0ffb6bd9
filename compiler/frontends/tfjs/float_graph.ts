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
  | FloatOpBase<'fully_connected', { activation: Activation }>
  | FloatOpBase<'average_pool2d', FloatPoolAttrs>
  | FloatOpBase<'max_pool2d', FloatPoolAttrs>
  | FloatOpBase<'add', { activation: Activation }>
  | FloatOpBase<'mul', { activation: Activation }>
  | FloatOpBase<'softmax', { beta: number }>
  | FloatOpBase<'reshape', { newShape: number[] }>;

export type FloatOpKind = FloatOp['kind'];

export interface FloatGraph {
  name: string;
  tensors: FloatTensor[];
  /** Ops in execution order. */
  ops: FloatOp[];
  inputs: number[];
  outputs: number[];
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

  fullyConnected(source: string, x: number, filterOI: number, bias: number, activation: Activation): number {
    const f = this.tensor(filterOI).shape;
    const inShape = this.tensor(x).shape;
    if (f.length !== 2 || elementCount(inShape) !== f[1]) this.fail(source, `filter shape [${f}] does not match input shape [${inShape}]`);
    const o = f[0] as number;
    if (bias >= 0 && elementCount(this.tensor(bias).shape) !== o) this.fail(source, `bias does not have ${o} values`);
    const out = this.addTensor(source, [1, o]);
    return this.push({ kind: 'fully_connected', source, inputs: [x, filterOI, bias], outputs: [out], attrs: { activation } });
  }

  pool(kind: 'average_pool2d' | 'max_pool2d', source: string, x: number, attrs: FloatPoolAttrs): number {
    const [, h, w, c] = this.rank4(source, x);
    const out = this.addTensor(source, [1, outSize(attrs.padding, h, attrs.filterH, attrs.strideH, 1), outSize(attrs.padding, w, attrs.filterW, attrs.strideW, 1), c]);
    return this.push({ kind, source, inputs: [x], outputs: [out], attrs });
  }

  binary(kind: 'add' | 'mul', source: string, a: number, b: number, activation: Activation = 'none'): number {
    const sa = this.tensor(a).shape;
    const sb = this.tensor(b).shape;
    if (sa.join() !== sb.join()) this.fail(source, `operands of shapes [${sa}] and [${sb}] need broadcasting, which is not supported`);
    const out = this.addTensor(source, sa);
    return this.push({ kind, source, inputs: [a, b], outputs: [out], attrs: { activation } });
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

  /** Fuses `activation` into the op producing `x` (which must have none yet); returns x. */
  fuseActivation(source: string, x: number, activation: Activation): number {
    if (activation === 'none') return x;
    const producer = this.ops.find((o) => o.outputs[0] === x);
    if (!producer || !('activation' in producer.attrs) || producer.attrs.activation !== 'none' || this.inputs.includes(x)) {
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
