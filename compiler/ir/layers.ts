// Kernel-level IR: each graph op lowered to one kernel call with every shape, offset and
// requantization constant resolved at compile time. The TS reference kernels and the C emitter
// both consume exactly these records, so the constants the device sees are the ones we test.

interface LayerBase<K extends string> {
  kernel: K;
  /** Index of the op in the source model. */
  sourceIndex: number;
  /** Activation tensors read, in kernel argument order. */
  inputs: number[];
  /** Activation tensors written. */
  outputs: number[];
  macs: number;
}

/** A convolution's window and shapes, the same for every element type. */
export interface ConvGeometry {
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
}

/** A convolution's window without dilation (transposed convolutions have none). */
export type WindowGeometry = Omit<ConvGeometry, 'dilationH' | 'dilationW'>;

export interface ConvS8Layer extends LayerBase<'conv_s8'>, ConvGeometry {
  weights: number;
  /** -1 when the model has no bias. */
  bias: number;
  inputOffset: number;
  outputOffset: number;
  actMin: number;
  actMax: number;
  multipliers: Int32Array;
  shifts: Int32Array;
}

export interface DepthwiseConvS8Layer extends Omit<ConvS8Layer, 'kernel'> {
  kernel: 'depthwise_conv_s8';
  depthMultiplier: number;
}

export interface FullyConnectedS8Layer extends LayerBase<'fully_connected_s8'> {
  weights: number;
  bias: number;
  batches: number;
  accumDepth: number;
  outDepth: number;
  inputOffset: number;
  filterOffset: number;
  outputOffset: number;
  multiplier: number;
  shift: number;
  actMin: number;
  actMax: number;
}

/** A pooling window and shapes, the same for every element type. */
export interface PoolGeometry {
  inH: number;
  inW: number;
  channels: number;
  outH: number;
  outW: number;
  filterH: number;
  filterW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
}

export interface Pool2DS8Fields extends PoolGeometry {
  actMin: number;
  actMax: number;
}

export interface AvgPoolS8Layer extends LayerBase<'avg_pool_s8'>, Pool2DS8Fields {}
export interface MaxPoolS8Layer extends LayerBase<'max_pool_s8'>, Pool2DS8Fields {}

export interface AddS8Layer extends LayerBase<'add_s8'> {
  size: number;
  input1Offset: number;
  input2Offset: number;
  leftShift: number;
  input1Multiplier: number;
  input1Shift: number;
  input2Multiplier: number;
  input2Shift: number;
  outputMultiplier: number;
  outputShift: number;
  outputOffset: number;
  actMin: number;
  actMax: number;
}

export interface MulS8Layer extends LayerBase<'mul_s8'> {
  size: number;
  input1Offset: number;
  input2Offset: number;
  outputMultiplier: number;
  outputShift: number;
  outputOffset: number;
  actMin: number;
  actMax: number;
}

export interface SoftmaxS8Layer extends LayerBase<'softmax_s8'> {
  outer: number;
  depth: number;
  inputMultiplier: number;
  inputLeftShift: number;
  diffMin: number;
}

/** A reshape is a byte copy; the memory planner usually makes it free by aliasing. */
export interface ReshapeLayer extends LayerBase<'reshape'> {
  bytes: number;
}

/**
 * Constant padding of an int8 tensor of up to 4 dimensions, seen as 4-D (leading dimensions of 1
 * added): output[i] = input[i - before] inside the copied region, padValue elsewhere.
 */
export interface PadS8Layer extends LayerBase<'pad_s8'> {
  /** Input dimensions, 4-D. */
  inDims: [number, number, number, number];
  /** Output dimensions, 4-D: inDims + before + after. */
  outDims: [number, number, number, number];
  before: [number, number, number, number];
  after: [number, number, number, number];
  padValue: number;
}

/**
 * Concatenation of int8 tensors along one axis as TFLite's reference does it: for each of `outer`
 * slices, copy `copySizes[i]` bytes from input i in turn (copySizes[i] = input i's extent along the
 * axis times the product of the dimensions after it).
 */
export interface ConcatenationS8Layer extends LayerBase<'concatenation_s8'> {
  outer: number;
  copySizes: number[];
}

/** int8 -> int8 requantization (TFLite QUANTIZE between two int8 scales). */
export interface RequantizeS8Layer extends LayerBase<'requantize_s8'> {
  size: number;
  inputOffset: number;
  outputOffset: number;
  multiplier: number;
  shift: number;
}

/** float32 -> int8 (TFLite QUANTIZE). */
export interface QuantizeF32S8Layer extends LayerBase<'quantize_f32_s8'> {
  size: number;
  scale: number;
  zeroPoint: number;
}

/** int8 -> float32 (TFLite DEQUANTIZE). */
export interface DequantizeS8F32Layer extends LayerBase<'dequantize_s8_f32'> {
  size: number;
  scale: number;
  zeroPoint: number;
  /** The float32 product equals TFLite's double one for every int8 input (quant/float_exact.ts); absent: double. */
  single?: boolean;
}

/**
 * A layer computed by an op module (compiler/ops/): `module` names it in the registry and `params`
 * are what its lowering computed, read back only by that module's reference kernel and C emitter.
 */
export interface ModuleLayer extends LayerBase<'module'> {
  module: string;
  /** Shown in summaries, reports and the generated C's comments (e.g. "mean_s8"). */
  displayKernel: string;
  params: object;
  /** C source files (relative to runtime-c-templates/) this layer's call needs. */
  cFiles: readonly string[];
  scratchBytes: number;
  /** Positions in `inputs` the output may overwrite element by element (ModuleLowering.inPlace). */
  inPlace?: readonly number[];
  /** Constant tensors its C reads from flash as they are (ModuleLowering.constants). */
  constants?: readonly number[];
}

export type Layer =
  | ModuleLayer
  | ConvS8Layer
  | DepthwiseConvS8Layer
  | FullyConnectedS8Layer
  | AvgPoolS8Layer
  | MaxPoolS8Layer
  | AddS8Layer
  | MulS8Layer
  | SoftmaxS8Layer
  | ReshapeLayer
  | PadS8Layer
  | ConcatenationS8Layer
  | RequantizeS8Layer
  | QuantizeF32S8Layer
  | DequantizeS8F32Layer;

export type KernelName = Layer['kernel'];
