// The tinyforge IR: a small, frontend-independent graph of quantized tensors and typed ops.
// Frontends (TFLite today, TF.js later) produce it; passes, the TS reference and the C emitter consume it.

// uint32 and uint64 exist for TFLite Micro's signal-library ops (the audio front end's energies,
// filterbank sums and noise estimates); no quantized kernel takes them.
export type DType = 'int8' | 'uint8' | 'int16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float16' | 'bool';

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  int8: 1,
  uint8: 1,
  bool: 1,
  int16: 2,
  float16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  int64: 8,
  uint64: 8,
};

/** Affine quantization: real = scale * (q - zeroPoint). Per-tensor when scale has one entry. */
export interface Quantization {
  /** float32 values, stored as JS numbers holding exactly the float32 value. */
  scale: number[];
  zeroPoint: number[];
  /** Axis of the per-channel scales; meaningless for per-tensor quantization. */
  axis: number;
}

export interface Tensor {
  id: number;
  name: string;
  shape: number[];
  dtype: DType;
  quant?: Quantization;
  /** Constant contents (little-endian bytes) for weights, biases and shape tensors. */
  data?: Uint8Array;
  /**
   * Present on state tensors: buffers that keep their contents from one invoke to the next (a
   * resource variable, or a TFLite variable tensor such as SVDF's activation state). They live
   * outside the arena, start at `initial` (zeros when absent) and return to it on reset.
   */
  state?: { initial?: Uint8Array };
  /**
   * Set when the file stored this constant as TFLite INT4 (two values per byte). `dtype` is then
   * int8 and `data` holds the unpacked values, exactly what TFLite Micro computes with; a packed
   * kernel may store them two per byte again to save flash.
   */
  int4?: true;
}

export type Padding = 'same' | 'valid';
export type Activation = 'none' | 'relu' | 'relu6' | 'relu_n1_to_1';

export interface Conv2DAttrs {
  padding: Padding;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  activation: Activation;
}

export interface DepthwiseConv2DAttrs extends Conv2DAttrs {
  depthMultiplier: number;
}

export interface Pool2DAttrs {
  padding: Padding;
  strideH: number;
  strideW: number;
  filterH: number;
  filterW: number;
  activation: Activation;
}

export interface FullyConnectedAttrs {
  activation: Activation;
  keepNumDims: boolean;
}

export interface ElementwiseAttrs {
  activation: Activation;
}

export interface SoftmaxAttrs {
  beta: number;
}

export interface ReshapeAttrs {
  newShape: number[];
}

/** CONCATENATION along `axis` (always normalized to 0 <= axis < rank). TFLite Micro accepts only
 * activation 'none'; it is kept so a model round-trips through the .tflite writer unchanged. */
export interface ConcatenationAttrs {
  axis: number;
  activation: Activation;
}

/** Inputs are tensor ids in the order the op defines; -1 marks an absent optional input (e.g. no bias). */
interface OpBase<K extends string, A> {
  kind: K;
  /** Index of the op in the source model, for error messages. */
  sourceIndex: number;
  inputs: number[];
  outputs: number[];
  attrs: A;
}

export type Conv2DOp = OpBase<'conv2d', Conv2DAttrs>;
export type DepthwiseConv2DOp = OpBase<'depthwise_conv2d', DepthwiseConv2DAttrs>;
export type FullyConnectedOp = OpBase<'fully_connected', FullyConnectedAttrs>;
export type AveragePool2DOp = OpBase<'average_pool2d', Pool2DAttrs>;
export type MaxPool2DOp = OpBase<'max_pool2d', Pool2DAttrs>;
export type AddOp = OpBase<'add', ElementwiseAttrs>;
export type MulOp = OpBase<'mul', ElementwiseAttrs>;
export type SoftmaxOp = OpBase<'softmax', SoftmaxAttrs>;
export type ReshapeOp = OpBase<'reshape', ReshapeAttrs>;
/**
 * TFLite PAD (inputs [input, paddings]) or PADV2 (inputs [input, paddings, constant_values]):
 * paddings is a constant int32 [rank, 2] tensor of (before, after) per dimension, as in the file,
 * so the writer can emit the op unchanged; PAD fills with the output zero point, PADV2 with its
 * int8 scalar constant.
 */
export type PadOp = OpBase<'pad', Record<string, never>>;
export type ConcatenationOp = OpBase<'concatenation', ConcatenationAttrs>;
export type QuantizeOp = OpBase<'quantize', Record<string, never>>;
export type DequantizeOp = OpBase<'dequantize', Record<string, never>>;

/** Attributes of a module op, as its module in compiler/ops/ read them from the file. */
export type ModuleOpAttrs = Readonly<Record<string, number | boolean | string | readonly number[]>>;

/**
 * An operator implemented by an op module (compiler/ops/): `module` is its TFLite builtin name.
 * Inputs and outputs are the file's, in the file's order (-1 for an absent optional input).
 */
export type ModuleOp = OpBase<'module', ModuleOpAttrs> & { module: string };

export type Op =
  | ModuleOp
  | Conv2DOp
  | DepthwiseConv2DOp
  | FullyConnectedOp
  | AveragePool2DOp
  | MaxPool2DOp
  | AddOp
  | MulOp
  | SoftmaxOp
  | ReshapeOp
  | PadOp
  | ConcatenationOp
  | QuantizeOp
  | DequantizeOp;

export type OpKind = Op['kind'];

export interface Graph {
  name: string;
  tensors: Tensor[];
  /** Ops in a valid execution order. */
  ops: Op[];
  inputs: number[];
  outputs: number[];
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tensorBytes(t: Tensor): number {
  return elementCount(t.shape) * DTYPE_BYTES[t.dtype];
}

export function isConstant(t: Tensor): boolean {
  return t.data !== undefined;
}
