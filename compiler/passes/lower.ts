// Lowering: resolve every graph op to a kernel call with shapes and requantization constants baked in.
// This is TFLite Micro's "Prepare" step, done once at compile time.

import { TinyforgeError } from '../errors.ts';
import { DTYPE_BYTES, elementCount, isConstant, type Graph, type ModuleOp, type Op, type Padding, type Tensor } from '../ir/graph.ts';
import { lowerAddSub } from '../ops/add_sub.ts';
import { lowerMulModule } from '../ops/mul.ts';
import { isModuleLowering, type ModuleLowering } from '../ops/op_module.ts';
import { float32ModuleFor, requireModule } from '../ops/registry.ts';
import type { ConvGeometry, Layer, Pool2DS8Fields, PoolGeometry } from '../ir/layers.ts';
import { activationRange, activationRangeInt8, addSubRequantization, quantizeMultiplier, RequantizationRangeError, softmaxInt8Scaling } from '../quant/multiplier.ts';
import type { ConvS16Params } from '../ops/conv_s16.ts';
import type { PoolS16Params } from '../ops/pool_s16.ts';
import { lowerFullyConnectedS16 } from '../ops/fully_connected_s16.ts';
import { perImageCFiles, perImageKernelName, type PerImageInner, type PerImageParams } from '../ops/per_image.ts';
import { int32Constant as int32Values } from '../reference/run_reference.ts';
import { float32DequantizeExact } from '../quant/float_exact.ts';

const OP_DISPLAY_NAME: Readonly<Record<Exclude<Op['kind'], 'module'>, string>> = {
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

export function opDisplayName(op: Op): string {
  // PADV2 is PAD with a third (constant_values) input; the IR has one kind for both.
  if (op.kind === 'pad' && op.inputs.length === 3) return 'PADV2';
  if (op.kind === 'module') return op.module;
  return OP_DISPLAY_NAME[op.kind];
}

export class LoweringContext {
  constructor(
    readonly graph: Graph,
    readonly op: Op,
  ) {}

  fail(detail: string): never {
    throw new TinyforgeError(`${this.graph.name}: operator ${this.op.sourceIndex} (${opDisplayName(this.op)}): ${detail}`);
  }

  tensor(position: number, role: 'input' | 'output' = 'input'): Tensor {
    const id = role === 'input' ? this.op.inputs[position] : this.op.outputs[position];
    const t = id === undefined || id < 0 ? undefined : this.graph.tensors[id];
    if (!t) this.fail(`missing ${role} ${position}`);
    return t;
  }

  optionalTensorId(position: number): number {
    const id = this.op.inputs[position];
    return id === undefined ? -1 : id;
  }

  int8(t: Tensor, what: string): { scale: number; zeroPoint: number } {
    if (t.dtype !== 'int8') this.fail(`${what} '${t.name}' is ${t.dtype}; tinyforge compiles int8 kernels only`);
    const q = t.quant;
    if (!q || q.scale.length === 0) this.fail(`${what} '${t.name}' has no quantization parameters`);
    return { scale: q.scale[0] as number, zeroPoint: q.zeroPoint[0] ?? 0 };
  }

  /** The tensor's integer type, which must be one of `allowed`. */
  quantizedType<T extends 'int8' | 'uint8' | 'int16'>(t: Tensor, what: string, allowed: readonly T[]): T {
    if (!(allowed as readonly string[]).includes(t.dtype)) this.fail(`${what} '${t.name}' is ${t.dtype}; this op takes ${allowed.join(' or ')}`);
    return t.dtype as T;
  }

  /** Per-tensor scale and zero point (the first entry of per-channel ones). */
  quant(t: Tensor, what: string): { scale: number; zeroPoint: number } {
    const q = t.quant;
    if (!q || q.scale.length === 0) this.fail(`${what} '${t.name}' has no quantization parameters`);
    return { scale: q.scale[0] as number, zeroPoint: q.zeroPoint[0] ?? 0 };
  }

  constantWeights(t: Tensor, what: string): void {
    if (!t.data) this.fail(`${what} '${t.name}' must be a constant tensor`);
  }

  rank(t: Tensor, rank: number, what: string): void {
    if (t.shape.length !== rank) this.fail(`${what} '${t.name}' has shape [${t.shape}], expected rank ${rank}`);
  }
}

export function computeOutSize(padding: Padding, inSize: number, filter: number, stride: number, dilation: number): number {
  const effective = (filter - 1) * dilation + 1;
  return padding === 'same' ? Math.floor((inSize + stride - 1) / stride) : Math.floor((inSize + stride - effective) / stride);
}

/** TFLite ComputePaddingHeightWidth: the leading pad; any odd extra pixel goes to the trailing side. */
export function computeLeadingPad(stride: number, dilation: number, inSize: number, filter: number, outSize: number): number {
  const effective = (filter - 1) * dilation + 1;
  const total = Math.max(0, (outSize - 1) * stride + effective - inSize);
  return Math.floor(total / 2);
}

/** Checks a MAX_POOL_2D / AVERAGE_POOL_2D's input (0) and output (NHWC) against its window; fails on one line. */
export function poolGeometry(
  ctx: LoweringContext,
  a: { padding: Padding; strideH: number; strideW: number; filterH: number; filterW: number },
): { batches: number; geometry: PoolGeometry } {
  const input = ctx.tensor(0);
  const output = ctx.tensor(0, 'output');
  ctx.rank(input, 4, 'input');
  ctx.rank(output, 4, 'output');
  const [batches, inH, inW, channels] = input.shape as [number, number, number, number];
  const [outB, outH, outW, outC] = output.shape as [number, number, number, number];
  if (outB !== batches) ctx.fail(`output '${output.name}' has batch ${outB}, the input ${batches}`);
  if (outC !== channels) ctx.fail(`output channels ${outC} differ from input channels ${channels}`);
  const expectH = computeOutSize(a.padding, inH, a.filterH, a.strideH, 1);
  const expectW = computeOutSize(a.padding, inW, a.filterW, a.strideW, 1);
  if (expectH !== outH || expectW !== outW) ctx.fail(`output is ${outH}x${outW} but padding/stride give ${expectH}x${expectW}`);
  const geometry: PoolGeometry = {
    inH,
    inW,
    channels,
    outH,
    outW,
    filterH: a.filterH,
    filterW: a.filterW,
    strideH: a.strideH,
    strideW: a.strideW,
    padTop: computeLeadingPad(a.strideH, 1, inH, a.filterH, outH),
    padLeft: computeLeadingPad(a.strideW, 1, inW, a.filterW, outW),
  };
  return { batches, geometry };
}

/**
 * Checks a CONV_2D / DEPTHWISE_CONV_2D's input (0), filter (1) and output against each other and
 * its window (NHWC, filter [outC, kH, kW, inC] or [1, kH, kW, outC]); fails on one line.
 */
export function convGeometry(
  ctx: LoweringContext,
  a: { padding: Padding; strideH: number; strideW: number; dilationH: number; dilationW: number },
  depthwise: boolean,
): { batches: number; geometry: ConvGeometry } {
  const input = ctx.tensor(0);
  const filter = ctx.tensor(1);
  const output = ctx.tensor(0, 'output');
  ctx.rank(input, 4, 'input');
  ctx.rank(filter, 4, 'filter');
  ctx.rank(output, 4, 'output');
  const [batches, inH, inW, inC] = input.shape as [number, number, number, number];
  const [outBatches, outH, outW, outC] = output.shape as [number, number, number, number];
  if (outBatches !== batches) ctx.fail(`output '${output.name}' has batch ${outBatches}, the input ${batches}`);
  const kH = filter.shape[1] as number;
  const kW = filter.shape[2] as number;
  if (depthwise) {
    if (filter.shape[0] !== 1 || filter.shape[3] !== outC) ctx.fail(`depthwise filter shape [${filter.shape}] does not match output channels ${outC}`);
    if (inC === 0 || outC % inC !== 0) ctx.fail(`output channels ${outC} are not a multiple of input channels ${inC}`);
  } else if (filter.shape[0] !== outC || filter.shape[3] !== inC) {
    // Grouped convolutions (filter depth a divisor of the input's) are not built.
    ctx.fail(`filter shape [${filter.shape}] does not match input channels ${inC} and output channels ${outC}`);
  }
  const expectH = computeOutSize(a.padding, inH, kH, a.strideH, a.dilationH);
  const expectW = computeOutSize(a.padding, inW, kW, a.strideW, a.dilationW);
  if (expectH !== outH || expectW !== outW) ctx.fail(`output is ${outH}x${outW} but padding/stride give ${expectH}x${expectW}`);
  const geometry: ConvGeometry = {
    inH,
    inW,
    inC,
    outH,
    outW,
    outC,
    kH,
    kW,
    strideH: a.strideH,
    strideW: a.strideW,
    dilationH: a.dilationH,
    dilationW: a.dilationW,
    padTop: computeLeadingPad(a.strideH, a.dilationH, inH, kH, outH),
    padLeft: computeLeadingPad(a.strideW, a.dilationW, inW, kW, outW),
  };
  return { batches, geometry };
}

export function perChannelMultipliers(
  ctx: LoweringContext,
  inputScale: number,
  filter: Tensor,
  outputScale: number,
  channels: number,
): { multipliers: Int32Array; shifts: Int32Array } {
  const scales = filter.quant?.scale ?? [];
  if (scales.length !== 1 && scales.length !== channels) {
    ctx.fail(`filter '${filter.name}' has ${scales.length} scales for ${channels} output channels`);
  }
  const multipliers = new Int32Array(channels);
  const shifts = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    const filterScale = (scales.length === 1 ? scales[0] : scales[c]) as number;
    // Per-channel: computed in double, as TFLite's PopulateConvolutionQuantizationParams does.
    const q = quantizeMultiplier((inputScale * filterScale) / outputScale);
    multipliers[c] = q.multiplier;
    shifts[c] = q.shift;
  }
  return { multipliers, shifts };
}

export function checkBias(ctx: LoweringContext, biasId: number, channels: number, types: readonly string[] = ['int32']): void {
  if (biasId < 0) return;
  const bias = ctx.graph.tensors[biasId];
  if (!bias) ctx.fail(`bias tensor ${biasId} does not exist`);
  if (!types.includes(bias.dtype)) ctx.fail(`bias '${bias.name}' is ${bias.dtype}; this kernel needs ${types.join(' or ')} biases`);
  ctx.constantWeights(bias, 'bias');
  if (elementCount(bias.shape) !== channels) ctx.fail(`bias '${bias.name}' has ${elementCount(bias.shape)} values for ${channels} channels`);
}

function lowerConvLike(ctx: LoweringContext): Layer {
  const op = ctx.op;
  if (op.kind !== 'conv2d' && op.kind !== 'depthwise_conv2d') ctx.fail('internal: not a convolution');
  const input = ctx.tensor(0);
  const filter = ctx.tensor(1);
  const output = ctx.tensor(0, 'output');
  const biasId = ctx.optionalTensorId(2);
  // int16 activations with int8 weights (TFLite's int16x8 mode) take the conv_s16 kernel.
  const int16 = input.dtype === 'int16';
  if (int16 && output.dtype !== 'int16') ctx.fail(`input '${input.name}' is int16 but output '${output.name}' is ${output.dtype}`);
  const inQ = int16 ? ctx.quant(input, 'input') : ctx.int8(input, 'input');
  const outQ = int16 ? ctx.quant(output, 'output') : ctx.int8(output, 'output');
  if (filter.dtype !== 'int8') ctx.fail(`filter '${filter.name}' is ${filter.dtype}; expected int8`);
  ctx.constantWeights(filter, 'filter');
  const a = op.attrs;
  const depthwise = op.kind === 'depthwise_conv2d';
  const { batches, geometry } = convGeometry(ctx, a, depthwise);
  const { inC, outH, outW, outC, kH, kW } = geometry;
  checkBias(ctx, biasId, outC, int16 ? ['int32', 'int64'] : ['int32']);
  const act = activationRange(a.activation, outQ.scale, outQ.zeroPoint, int16 ? 'int16' : 'int8');
  const { multipliers, shifts } = perChannelMultipliers(ctx, inQ.scale, filter, outQ.scale, outC);
  const common = {
    sourceIndex: op.sourceIndex,
    inputs: [op.inputs[0] as number],
    outputs: [op.outputs[0] as number],
    weights: op.inputs[1] as number,
    bias: biasId,
    ...geometry,
    inputOffset: -inQ.zeroPoint,
    outputOffset: outQ.zeroPoint,
    actMin: act.min,
    actMax: act.max,
    multipliers,
    shifts,
  };
  if (int16) {
    if (inQ.zeroPoint !== 0 || outQ.zeroPoint !== 0) ctx.fail('int16 activations must have zero point 0 (TFLite\'s int16x8 mode)');
    const { sourceIndex, inputs, outputs, weights, bias, multipliers: m, shifts: sh, ...geometry } = common;
    const params: ConvS16Params = {
      depthwise,
      depthMultiplier: outC / inC,
      geometry,
      weights,
      bias,
      bias64: bias >= 0 && ctx.graph.tensors[bias]?.dtype === 'int64',
      multipliers: Array.from(m),
      shifts: Array.from(sh),
    };
    const macs = outH * outW * outC * kH * kW * (depthwise ? 1 : inC);
    return perImage(ctx, batches, { kernel: 'module', module: 'conv_s16', displayKernel: depthwise ? 'depthwise_conv_s16' : 'conv_s16', sourceIndex, inputs, outputs, macs, params, cFiles: ['portable/conv_s16.c'], scratchBytes: 0 });
  }
  if (depthwise) {
    return perImage(ctx, batches, { kernel: 'depthwise_conv_s8', ...common, depthMultiplier: outC / inC, macs: outH * outW * outC * kH * kW });
  }
  return perImage(ctx, batches, { kernel: 'conv_s8', ...common, macs: outH * outW * outC * kH * kW * inC });
}

/**
 * A batch-1 convolution or pooling layer as is, or for `batches` > 1 wrapped to run once per image
 * (ops/per_image.ts): its fast kernels and in-place planning are for batch 1 only.
 */
function perImage(ctx: LoweringContext, batches: number, inner: PerImageInner): Layer {
  if (batches === 1) return inner;
  const bytes = (id: number): number => {
    const t = ctx.graph.tensors[id] as Tensor;
    return (elementCount(t.shape) / batches) * DTYPE_BYTES[t.dtype];
  };
  const params: PerImageParams = { batches, inImageBytes: bytes(inner.inputs[0] as number), outImageBytes: bytes(inner.outputs[0] as number), inner };
  return {
    kernel: 'module',
    module: 'per_image',
    displayKernel: perImageKernelName(inner),
    sourceIndex: inner.sourceIndex,
    inputs: [...inner.inputs],
    outputs: [...inner.outputs],
    macs: inner.macs * batches,
    params,
    cFiles: perImageCFiles(inner),
    scratchBytes: 0,
  };
}

function lowerFullyConnected(ctx: LoweringContext): Layer {
  const op = ctx.op;
  if (op.kind !== 'fully_connected') ctx.fail('internal: not fully connected');
  const input = ctx.tensor(0);
  const filter = ctx.tensor(1);
  const output = ctx.tensor(0, 'output');
  const biasId = ctx.optionalTensorId(2);
  // int16 activations with int8 weights (TFLite's int16x8 mode), per-tensor or per-channel.
  if (input.dtype === 'int16') return moduleLayer(ctx, 'fully_connected_s16', lowerFullyConnectedS16(ctx, op.attrs.activation));
  const inQ = ctx.int8(input, 'input');
  const outQ = ctx.int8(output, 'output');
  const fQ = ctx.int8(filter, 'filter');
  ctx.constantWeights(filter, 'filter');
  ctx.rank(filter, 2, 'filter');
  // Per-channel weights go through their own module so the per-tensor kernels stay untouched.
  if ((filter.quant?.scale.length ?? 0) > 1) {
    return lowerModule(ctx, { kind: 'module', module: 'FULLY_CONNECTED', sourceIndex: op.sourceIndex, inputs: op.inputs, outputs: op.outputs, attrs: { activation: op.attrs.activation } });
  }
  const [outDepth, accumDepth] = filter.shape as [number, number];
  const inputElements = elementCount(input.shape);
  if (inputElements % accumDepth !== 0) ctx.fail(`input '${input.name}' has ${inputElements} values, not a multiple of ${accumDepth}`);
  const batches = inputElements / accumDepth;
  if (elementCount(output.shape) !== batches * outDepth) ctx.fail(`output shape [${output.shape}] does not hold ${batches}x${outDepth} values`);
  checkBias(ctx, biasId, outDepth);
  const act = activationRangeInt8(op.attrs.activation, outQ.scale, outQ.zeroPoint);
  // TFLite multiplies input and filter scales in float32 first, then divides in double.
  const q = quantizeMultiplier(Math.fround(inQ.scale * fQ.scale) / outQ.scale);
  return {
    kernel: 'fully_connected_s8',
    sourceIndex: op.sourceIndex,
    inputs: [op.inputs[0] as number],
    outputs: [op.outputs[0] as number],
    weights: op.inputs[1] as number,
    bias: biasId,
    batches,
    accumDepth,
    outDepth,
    inputOffset: -inQ.zeroPoint,
    filterOffset: -fQ.zeroPoint,
    outputOffset: outQ.zeroPoint,
    multiplier: q.multiplier,
    shift: q.shift,
    actMin: act.min,
    actMax: act.max,
    macs: batches * outDepth * accumDepth,
  };
}

function lowerPool(ctx: LoweringContext): Layer {
  const op = ctx.op;
  if (op.kind !== 'average_pool2d' && op.kind !== 'max_pool2d') ctx.fail('internal: not a pool');
  const input = ctx.tensor(0);
  const output = ctx.tensor(0, 'output');
  const int16 = input.dtype === 'int16';
  if (int16 && output.dtype !== 'int16') ctx.fail(`input '${input.name}' is int16 but output '${output.name}' is ${output.dtype}`);
  const inQ = int16 ? ctx.quant(input, 'input') : ctx.int8(input, 'input');
  const outQ = int16 ? ctx.quant(output, 'output') : ctx.int8(output, 'output');
  if (inQ.scale !== outQ.scale || inQ.zeroPoint !== outQ.zeroPoint) ctx.fail('input and output quantization must be equal for pooling');
  const a = op.attrs;
  const { batches, geometry } = poolGeometry(ctx, a);
  const act = activationRange(a.activation, outQ.scale, outQ.zeroPoint, int16 ? 'int16' : 'int8');
  const fields: Pool2DS8Fields = { ...geometry, actMin: act.min, actMax: act.max };
  const base = { sourceIndex: op.sourceIndex, inputs: [op.inputs[0] as number], outputs: [op.outputs[0] as number], macs: 0 };
  if (int16) {
    const average = op.kind === 'average_pool2d';
    const params: PoolS16Params = { average, fields };
    const name = average ? 'avg_pool_s16' : 'max_pool_s16';
    return perImage(ctx, batches, { kernel: 'module', module: 'pool_s16', displayKernel: name, ...base, params, cFiles: ['portable/pool_s8.h', `portable/${name}.c`], scratchBytes: 0 });
  }
  return perImage(ctx, batches, op.kind === 'average_pool2d' ? { kernel: 'avg_pool_s8', ...base, ...fields } : { kernel: 'max_pool_s8', ...base, ...fields });
}

/**
 * The operands of a same-shape int8 ADD or MUL, which the builtin add_s8 / mul_s8 kernels take
 * (fast, Helium, in place); undefined when the op broadcasts or is not int8 throughout, which the
 * ADD / MUL op modules lower.
 */
function sameShapeInt8(ctx: LoweringContext): { a: Tensor; b: Tensor; out: Tensor; size: number } | undefined {
  const a = ctx.tensor(0);
  const b = ctx.tensor(1);
  const out = ctx.tensor(0, 'output');
  const size = elementCount(out.shape);
  if (elementCount(a.shape) !== size || elementCount(b.shape) !== size) return undefined;
  if (a.dtype !== 'int8' || b.dtype !== 'int8' || out.dtype !== 'int8') return undefined;
  // The same-shape kernels read both operands from the arena; a constant operand (in flash) takes the module path.
  if (isConstant(a) || isConstant(b)) return undefined;
  return { a, b, out, size };
}

function lowerAdd(ctx: LoweringContext): Layer {
  const op = ctx.op;
  if (op.kind !== 'add') ctx.fail('internal: not add');
  const same = sameShapeInt8(ctx);
  if (!same) return moduleLayer(ctx, 'ADD', lowerAddSub(ctx, 'add', op.attrs.activation));
  const { a, b, out, size } = same;
  const aQ = ctx.int8(a, 'input 1');
  const bQ = ctx.int8(b, 'input 2');
  const oQ = ctx.int8(out, 'output');
  const rq = addSubRequantization(aQ.scale, bQ.scale, oQ.scale, 'int8', 'double');
  if (typeof rq === 'string') ctx.fail(rq);
  const { leftShift, input1: q1, input2: q2, output: qo } = rq;
  const act = activationRangeInt8(op.attrs.activation, oQ.scale, oQ.zeroPoint);
  return {
    kernel: 'add_s8',
    sourceIndex: op.sourceIndex,
    inputs: [op.inputs[0] as number, op.inputs[1] as number],
    outputs: [op.outputs[0] as number],
    size,
    input1Offset: -aQ.zeroPoint,
    input2Offset: -bQ.zeroPoint,
    leftShift,
    input1Multiplier: q1.multiplier,
    input1Shift: q1.shift,
    input2Multiplier: q2.multiplier,
    input2Shift: q2.shift,
    outputMultiplier: qo.multiplier,
    outputShift: qo.shift,
    outputOffset: oQ.zeroPoint,
    actMin: act.min,
    actMax: act.max,
    macs: 0,
  };
}

function lowerMul(ctx: LoweringContext): Layer {
  const op = ctx.op;
  if (op.kind !== 'mul') ctx.fail('internal: not mul');
  const same = sameShapeInt8(ctx);
  if (!same) return moduleLayer(ctx, 'MUL', lowerMulModule(ctx, op.attrs.activation));
  const { a, b, out, size } = same;
  const aQ = ctx.int8(a, 'input 1');
  const bQ = ctx.int8(b, 'input 2');
  const oQ = ctx.int8(out, 'output');
  const q = quantizeMultiplier((aQ.scale * bQ.scale) / oQ.scale);
  const act = activationRangeInt8(op.attrs.activation, oQ.scale, oQ.zeroPoint);
  return {
    kernel: 'mul_s8',
    sourceIndex: op.sourceIndex,
    inputs: [op.inputs[0] as number, op.inputs[1] as number],
    outputs: [op.outputs[0] as number],
    size,
    input1Offset: -aQ.zeroPoint,
    input2Offset: -bQ.zeroPoint,
    outputMultiplier: q.multiplier,
    outputShift: q.shift,
    outputOffset: oQ.zeroPoint,
    actMin: act.min,
    actMax: act.max,
    macs: size,
  };
}

function lowerSoftmax(ctx: LoweringContext): Layer {
  const op = ctx.op;
  if (op.kind !== 'softmax') ctx.fail('internal: not softmax');
  const input = ctx.tensor(0);
  const output = ctx.tensor(0, 'output');
  if (input.dtype !== 'int8' || output.dtype !== 'int8') return lowerModule(ctx, asModuleOp(op, 'SOFTMAX'));
  const inQ = ctx.int8(input, 'input');
  const outQ = ctx.int8(output, 'output');
  if (outQ.scale !== 1 / 256 || outQ.zeroPoint !== -128) ctx.fail('int8 softmax output must have scale 1/256 and zero point -128');
  const depth = input.shape[input.shape.length - 1] ?? 1;
  const outer = elementCount(input.shape) / depth;
  // 5 integer bits for the scaled difference, as TFLite's int8 softmax.
  const scaling = softmaxInt8Scaling(op.attrs.beta, inQ.scale, 5);
  if (!scaling) return ctx.fail(`input scale ${inQ.scale} is too small for the int8 softmax`);
  return {
    kernel: 'softmax_s8',
    sourceIndex: op.sourceIndex,
    inputs: [op.inputs[0] as number],
    outputs: [op.outputs[0] as number],
    outer,
    depth,
    inputMultiplier: scaling.multiplier,
    inputLeftShift: scaling.leftShift,
    diffMin: scaling.diffMin,
    macs: 0,
  };
}

function lowerReshape(ctx: LoweringContext): Layer {
  const op = ctx.op;
  const input = ctx.tensor(0);
  const output = ctx.tensor(0, 'output');
  if (elementCount(input.shape) !== elementCount(output.shape)) ctx.fail(`cannot reshape [${input.shape}] to [${output.shape}]`);
  if (input.dtype !== output.dtype) ctx.fail(`input is ${input.dtype} but output is ${output.dtype}`);
  const bytes = elementCount(output.shape) * DTYPE_BYTES[output.dtype];
  return { kernel: 'reshape', sourceIndex: op.sourceIndex, inputs: [op.inputs[0] as number], outputs: [op.outputs[0] as number], bytes, macs: 0 };
}

/** Dimensions of a rank <= 4 shape as 4-D, leading dimensions of 1 added (TFLite's extended shape). */
function extend4(values: readonly number[], fill: number): [number, number, number, number] {
  const out: [number, number, number, number] = [fill, fill, fill, fill];
  values.forEach((v, i) => (out[4 - values.length + i] = v));
  return out;
}

function sameInt8Quant(a: { scale: number; zeroPoint: number }, b: { scale: number; zeroPoint: number }): boolean {
  return a.scale === b.scale && a.zeroPoint === b.zeroPoint;
}

function lowerPad(ctx: LoweringContext): Layer {
  const op = ctx.op;
  if (op.kind !== 'pad') ctx.fail('internal: not pad');
  const input = ctx.tensor(0);
  const paddings = ctx.tensor(1);
  const output = ctx.tensor(0, 'output');
  const int16 = input.dtype === 'int16';
  if (int16 && output.dtype !== 'int16') ctx.fail(`input '${input.name}' is int16 but output '${output.name}' is ${output.dtype}`);
  const inQ = int16 ? ctx.quant(input, 'input') : ctx.int8(input, 'input');
  const outQ = int16 ? ctx.quant(output, 'output') : ctx.int8(output, 'output');
  // TFLite's int8 PAD copies bytes, which is only right when both sides share one quantization
  // (the converter guarantees it; a hand-made model might not).
  if (!sameInt8Quant(inQ, outQ)) ctx.fail(`input quantization (scale ${inQ.scale}, zero point ${inQ.zeroPoint}) differs from the output's (scale ${outQ.scale}, zero point ${outQ.zeroPoint}); int8 PAD needs them equal`);
  const rank = input.shape.length;
  if (rank > 4) ctx.fail(`input '${input.name}' has rank ${rank}; PAD supports at most 4 dimensions`);
  if (output.shape.length !== rank) ctx.fail(`output '${output.name}' has rank ${output.shape.length}, input ${rank}`);
  ctx.constantWeights(paddings, 'paddings');
  if (paddings.dtype !== 'int32' || elementCount(paddings.shape) !== 2 * rank) ctx.fail(`paddings '${paddings.name}' must be int32 [${rank}, 2]`);
  const pads = Array.from(int32Values(paddings));
  const before: number[] = [];
  const after: number[] = [];
  for (let d = 0; d < rank; d++) {
    const b = pads[2 * d] as number;
    const a = pads[2 * d + 1] as number;
    if (b < 0 || a < 0) ctx.fail(`negative padding (${b}, ${a}) in dimension ${d}`);
    if ((input.shape[d] as number) + b + a !== output.shape[d]) ctx.fail(`output dimension ${d} is ${output.shape[d]}, not ${input.shape[d]} + ${b} + ${a}`);
    before.push(b);
    after.push(a);
  }
  // PAD fills with the output zero point; PADV2 with its constant, which TFLite Micro requires to
  // share the output's quantization (so its int8 value is used as is).
  let padValue = outQ.zeroPoint;
  const constantId = op.inputs[2] ?? -1;
  if (constantId >= 0) {
    const c = ctx.tensor(2);
    ctx.constantWeights(c, 'constant_values');
    if (c.dtype !== input.dtype) ctx.fail(`constant_values '${c.name}' is ${c.dtype}; the input is ${input.dtype}`);
    const cQ = ctx.quant(c, 'constant_values');
    if (!sameInt8Quant(cQ, outQ)) ctx.fail(`constant_values '${c.name}' quantization (scale ${cQ.scale}, zero point ${cQ.zeroPoint}) differs from the output's; PADV2 needs them equal`);
    if (elementCount(c.shape) !== 1) ctx.fail(`constant_values '${c.name}' must hold one value`);
    const data = c.data as Uint8Array;
    padValue = int16 ? new DataView(data.buffer, data.byteOffset).getInt16(0, true) : ((data[0] as number) << 24) >> 24;
  } else if (padValue < (int16 ? -32768 : -128) || padValue > (int16 ? 32767 : 127)) {
    ctx.fail(`output zero point ${padValue} is outside the ${input.dtype} range`);
  }
  if (int16) {
    // The byte kernel pads int16 as pairs of bytes (channels doubled), which needs a fill value
    // whose two bytes are equal: 0 (TFLite's int16 zero point) or -1.
    if (padValue !== 0 && padValue !== -1) ctx.fail(`int16 pad value ${padValue} is not supported (only 0 and -1, whose bytes are equal)`);
    const twice = (v: [number, number, number, number]): [number, number, number, number] => [v[0], v[1], v[2], v[3] * 2];
    return {
      kernel: 'pad_s8',
      sourceIndex: op.sourceIndex,
      inputs: [op.inputs[0] as number],
      outputs: [op.outputs[0] as number],
      inDims: twice(extend4(input.shape, 1)),
      outDims: twice(extend4(output.shape, 1)),
      before: twice(extend4(before, 0)),
      after: twice(extend4(after, 0)),
      padValue,
      macs: 0,
    };
  }
  return {
    kernel: 'pad_s8',
    sourceIndex: op.sourceIndex,
    inputs: [op.inputs[0] as number],
    outputs: [op.outputs[0] as number],
    inDims: extend4(input.shape, 1),
    outDims: extend4(output.shape, 1),
    before: extend4(before, 0),
    after: extend4(after, 0),
    padValue,
    macs: 0,
  };
}

/** Most inputs of one CONCATENATION (TFLite Micro's kMaxInputNum). */
const MAX_CONCAT_INPUTS = 10;

function lowerConcatenation(ctx: LoweringContext): Layer {
  const op = ctx.op;
  if (op.kind !== 'concatenation') ctx.fail('internal: not concatenation');
  const output = ctx.tensor(0, 'output');
  const int16 = output.dtype === 'int16';
  // int32 (the audio front end's spectrum padding) and float32 are unquantized: a plain copy.
  const int32 = output.dtype === 'int32' || output.dtype === 'float32';
  const outQ = int32 ? undefined : int16 ? ctx.quant(output, 'output') : ctx.int8(output, 'output');
  const elementBytes = int32 ? 4 : int16 ? 2 : 1;
  if (op.attrs.activation !== 'none') ctx.fail(`fused activation ${op.attrs.activation.toUpperCase()} is not supported (TFLite Micro requires NONE)`);
  const n = op.inputs.length;
  if (n < 1 || n > MAX_CONCAT_INPUTS) ctx.fail(`has ${n} inputs; TFLite Micro supports 1 to ${MAX_CONCAT_INPUTS}`);
  const rank = output.shape.length;
  if (rank > 6) ctx.fail(`output '${output.name}' has rank ${rank}; CONCATENATION supports at most 6 dimensions (as TFLite Micro)`);
  const axis = op.attrs.axis;
  if (axis < 0 || axis >= rank) ctx.fail(`axis ${axis} is outside the output's rank ${rank}`);
  const inner = elementCount(output.shape.slice(axis + 1));
  const outer = elementCount(output.shape.slice(0, axis));
  let total = 0;
  const copySizes = op.inputs.map((_, i) => {
    const x = ctx.tensor(i);
    if (x.dtype !== output.dtype) ctx.fail(`input ${i} '${x.name}' is ${x.dtype}; the output is ${output.dtype}`);
    const q = outQ === undefined ? undefined : int16 ? ctx.quant(x, `input ${i}`) : ctx.int8(x, `input ${i}`);
    // TFLite Micro's int8 CONCATENATION copies bytes without looking at the scales (TFLite's
    // converter gives every input the output's quantization). Inputs quantized differently would
    // need a requantizing concatenation, which TFLite Micro does not have, so tinyforge rejects
    // them rather than produce bytes that mean something else.
    if (q && outQ && !sameInt8Quant(q, outQ)) {
      ctx.fail(`input ${i} '${x.name}' quantization (scale ${q.scale}, zero point ${q.zeroPoint}) differs from the output's (scale ${outQ.scale}, zero point ${outQ.zeroPoint}); TFLite Micro's int8 CONCATENATION copies bytes and needs them equal`);
    }
    if (x.shape.length !== rank || x.shape.some((d, k) => k !== axis && d !== output.shape[k])) {
      ctx.fail(`input ${i} '${x.name}' [${x.shape}] does not match output [${output.shape}] outside axis ${axis}`);
    }
    total += x.shape[axis] as number;
    return (x.shape[axis] as number) * inner * elementBytes;
  });
  if (total !== output.shape[axis]) ctx.fail(`inputs add up to ${total} along axis ${axis}, the output has ${output.shape[axis]}`);
  return {
    kernel: 'concatenation_s8',
    sourceIndex: op.sourceIndex,
    inputs: [...op.inputs],
    outputs: [op.outputs[0] as number],
    outer,
    copySizes,
    macs: 0,
  };
}

/** The same op handed to its op module (for type combinations the builtin int8 kernels do not cover). */
function asModuleOp(op: Op, module: string): ModuleOp {
  return { kind: 'module', module, sourceIndex: op.sourceIndex, inputs: op.inputs, outputs: op.outputs, attrs: { ...op.attrs } };
}

function lowerQuantize(ctx: LoweringContext): Layer {
  const op = ctx.op;
  const input = ctx.tensor(0);
  const output = ctx.tensor(0, 'output');
  if (output.dtype !== 'int8' || (input.dtype !== 'float32' && input.dtype !== 'int8')) return lowerModule(ctx, asModuleOp(op, 'QUANTIZE'));
  const oQ = ctx.int8(output, 'output');
  const size = elementCount(output.shape);
  const base = { sourceIndex: op.sourceIndex, inputs: [op.inputs[0] as number], outputs: [op.outputs[0] as number], size, macs: 0 };
  if (input.dtype === 'float32') return { kernel: 'quantize_f32_s8', ...base, scale: oQ.scale, zeroPoint: oQ.zeroPoint };
  const iQ = ctx.int8(input, 'input');
  const q = quantizeMultiplier(iQ.scale / oQ.scale);
  return { kernel: 'requantize_s8', ...base, inputOffset: -iQ.zeroPoint, outputOffset: oQ.zeroPoint, multiplier: q.multiplier, shift: q.shift };
}

function lowerDequantize(ctx: LoweringContext): Layer {
  const op = ctx.op;
  const input = ctx.tensor(0);
  const output = ctx.tensor(0, 'output');
  if (input.dtype !== 'int8') return lowerModule(ctx, asModuleOp(op, 'DEQUANTIZE'));
  const iQ = ctx.int8(input, 'input');
  if (output.dtype !== 'float32') ctx.fail(`output '${output.name}' is ${output.dtype}; DEQUANTIZE produces float32`);
  const size = elementCount(output.shape);
  const single = float32DequantizeExact(iQ.scale, iQ.zeroPoint, -128, 127);
  return { kernel: 'dequantize_s8_f32', sourceIndex: op.sourceIndex, inputs: [op.inputs[0] as number], outputs: [op.outputs[0] as number], size, scale: iQ.scale, zeroPoint: iQ.zeroPoint, single, macs: 0 };
}

/** The op's kernel call; a scale combination no 32-bit requantization can express is refused with the op's tensors and scales. */
export function lowerOp(graph: Graph, op: Op): Layer {
  const ctx = new LoweringContext(graph, op);
  try {
    return lowerOpIn(ctx);
  } catch (e) {
    if (!(e instanceof RequantizationRangeError)) throw e;
    const show = (x: number): number => Number(x.toPrecision(7));
    const scales: string[] = [];
    for (const id of [...op.inputs, ...op.outputs]) {
      const t = id >= 0 ? graph.tensors[id] : undefined;
      const s = t?.quant?.scale ?? [];
      if (!t || s.length === 0) continue;
      scales.push(`'${t.name}' ${s.length === 1 ? show(s[0] as number) : `${s.length} scales up to ${show(s.reduce((m, x) => Math.max(m, Math.abs(x)), 0))}`}`);
    }
    return ctx.fail(`${e.message}; scales: ${scales.join(', ')}`);
  }
}

function lowerOpIn(ctx: LoweringContext): Layer {
  const op = ctx.op;
  // An op with a float32 output goes to its float32 kernel module when there is one (FULLY_CONNECTED,
  // CONV_2D, ...); without one it falls through to the quantized lowering, which refuses it.
  const outputId = op.outputs[0];
  const f32 = outputId !== undefined && ctx.graph.tensors[outputId]?.dtype === 'float32' ? float32ModuleFor(opDisplayName(op)) : undefined;
  if (f32 !== undefined) return lowerModule(ctx, asModuleOp(op, f32));
  switch (op.kind) {
    case 'conv2d':
    case 'depthwise_conv2d':
      return lowerConvLike(ctx);
    case 'fully_connected':
      return lowerFullyConnected(ctx);
    case 'average_pool2d':
    case 'max_pool2d':
      return lowerPool(ctx);
    case 'add':
      return lowerAdd(ctx);
    case 'mul':
      return lowerMul(ctx);
    case 'softmax':
      return lowerSoftmax(ctx);
    case 'reshape':
      return lowerReshape(ctx);
    case 'pad':
      return lowerPad(ctx);
    case 'concatenation':
      return lowerConcatenation(ctx);
    case 'quantize':
      return lowerQuantize(ctx);
    case 'dequantize':
      return lowerDequantize(ctx);
    case 'module':
      return lowerModule(ctx, op);
  }
}

/** An op module's lowering; activation inputs default to the op's non-constant inputs, in order. */
function lowerModule(ctx: LoweringContext, op: ModuleOp): Layer {
  const r = requireModule(op.module).lower(ctx, op);
  return isModuleLowering(r) ? moduleLayer(ctx, op.module, r) : r;
}

/** The layer of module `module`'s lowering `r` of the context's op (a module op, or a builtin ADD / MUL the module lowers). */
function moduleLayer(ctx: LoweringContext, module: string, r: ModuleLowering<object>): Layer {
  const op = ctx.op;
  const activations = op.inputs.filter((id) => id >= 0 && !isConstant(ctx.graph.tensors[id] as Tensor));
  return {
    kernel: 'module',
    module,
    displayKernel: r.kernel ?? module.toLowerCase(),
    sourceIndex: op.sourceIndex,
    inputs: [...(r.inputs ?? activations)],
    outputs: [...(r.outputs ?? op.outputs)],
    macs: r.macs ?? 0,
    params: r.params,
    cFiles: r.cFiles,
    scratchBytes: r.scratchBytes ?? 0,
    ...(r.inPlace && r.inPlace.length > 0 ? { inPlace: r.inPlace } : {}),
    ...(r.constants && r.constants.length > 0 ? { constants: r.constants } : {}),
  };
}

export function lowerGraph(graph: Graph): Layer[] {
  return graph.ops.map((op) => lowerOp(graph, op));
}
