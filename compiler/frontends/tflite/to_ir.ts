// Converts the raw TFLite structures of subgraph 0 into the tinyforge IR, validating what later
// stages rely on: tensor types and shapes, quantization arrays, op arity, ranks, bias lengths,
// options, and that ops come in an order where every input is available.

import {
  elementCount,
  tensorBytes,
  type Conv2DAttrs,
  type DType,
  type Graph,
  type Op,
  type OpKind,
  type Quantization,
  type Tensor,
} from '../../ir/graph.ts';
import { quote, type Fail, type Table } from './checked_reader.ts';
import { RESOURCE_TYPE, resolveResourceVariables, STATE_OPS } from './resource_variables.ts';
import { describeBlockers, findBlockers, type SupportQuery } from './blockers.ts';
import { checkInt4Uses, int4Bytes, unpackInt4 } from './int4.ts';
import { constantInts, MAX_RANK, OpReader, showShape, tensorLabel } from './op_reader.ts';
import { moduleBuiltinNames, moduleForBuiltin } from '../../ops/registry.ts';
import type { RawModel, RawOperator, RawOperatorCode, RawQuantization, RawTensor } from './read_model.ts';
import {
  BuiltinOp,
  builtinOperatorName,
  BuiltinOptionsType,
  F,
  tensorTypeName,
  TensorType,
  WEIGHTS_FORMAT_NAMES,
} from './schema.ts';

const DTYPE_OF: ReadonlyMap<number, DType> = new Map<number, DType>([
  [TensorType.INT8, 'int8'],
  [TensorType.UINT8, 'uint8'],
  [TensorType.INT16, 'int16'],
  [TensorType.INT32, 'int32'],
  [TensorType.INT64, 'int64'],
  [TensorType.UINT32, 'uint32'],
  [TensorType.UINT64, 'uint64'],
  [TensorType.FLOAT32, 'float32'],
  [TensorType.FLOAT16, 'float16'],
  [TensorType.BOOL, 'bool'],
]);
const SUPPORTED_TYPE_NAMES = [...DTYPE_OF.keys(), TensorType.INT4].map(tensorTypeName).join(', ');

/** The TFLite builtin operator each IR op kind comes from. */
export const BUILTIN_FOR_KIND: Readonly<Record<Exclude<OpKind, 'module'>, string>> = {
  conv2d: 'CONV_2D',
  depthwise_conv2d: 'DEPTHWISE_CONV_2D',
  fully_connected: 'FULLY_CONNECTED',
  average_pool2d: 'AVERAGE_POOL_2D',
  max_pool2d: 'MAX_POOL_2D',
  add: 'ADD',
  mul: 'MUL',
  softmax: 'SOFTMAX',
  reshape: 'RESHAPE',
  // PADV2 reads to the same op kind (with a third, constant_values input).
  pad: 'PAD',
  concatenation: 'CONCATENATION',
  quantize: 'QUANTIZE',
  dequantize: 'DEQUANTIZE',
};

const BUILTIN_CONVERTERS = new Set<number>([
  BuiltinOp.ADD,
  BuiltinOp.AVERAGE_POOL_2D,
  BuiltinOp.CONCATENATION,
  BuiltinOp.CONV_2D,
  BuiltinOp.DEPTHWISE_CONV_2D,
  BuiltinOp.DEQUANTIZE,
  BuiltinOp.FULLY_CONNECTED,
  BuiltinOp.MAX_POOL_2D,
  BuiltinOp.MUL,
  BuiltinOp.PAD,
  BuiltinOp.PADV2,
  BuiltinOp.RESHAPE,
  BuiltinOp.SOFTMAX,
  BuiltinOp.QUANTIZE,
]);
// ADD, MUL, QUANTIZE, SOFTMAX and FULLY_CONNECTED have both a builtin converter and a module (their
// broadcast, int16, other-type or per-channel forms); hence the Set.
export function supportedOpNames(): string[] {
  return [...new Set([...[...BUILTIN_CONVERTERS].map(builtinOperatorName), ...moduleBuiltinNames(), ...STATE_OPS])].sort();
}

export const SUPPORT: SupportQuery = {
  isSupportedOp: (code) => isSupported(code),
  // INT4 is read (as unpacked int8) where TFLite Micro runs it; checkInt4Uses refuses the rest.
  isSupportedType: (type) => DTYPE_OF.has(type) || type === RESOURCE_TYPE || type === TensorType.INT4,
  opName: (code) => operatorCodeName(code),
};

function isSupported(code: RawOperatorCode): boolean {
  // Custom operators are looked up by their CUSTOM:<custom_code> name (e.g. CUSTOM:SignalWindow).
  return BUILTIN_CONVERTERS.has(code.builtinCode) || STATE_OPS.has(builtinOperatorName(code.builtinCode)) || moduleForBuiltin(operatorCodeName(code)) !== undefined;
}

/** The TFLite builtin an IR op was read from (PADV2 reads to the 'pad' kind). */
export function builtinNameOf(op: Op): string {
  return op.kind === 'module' ? op.module : BUILTIN_FOR_KIND[op.kind];
}

/** Magnitude below which a negative per-channel scale is accepted (its multiplier is 0 for any real input/output scales). */
const TINY_NEGATIVE_SCALE = 1e-20;

/** Largest element count we accept for one tensor (sizes must fit in a C int32). */
const MAX_ELEMENTS = 0x7fffffff;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** Zero points must be values of the quantized tensor's type. */
const ZERO_POINT_RANGE: ReadonlyMap<number, { min: number; max: number }> = new Map([
  [TensorType.INT8, { min: -128, max: 127 }],
  [TensorType.UINT8, { min: 0, max: 255 }],
  [TensorType.INT16, { min: -32768, max: 32767 }],
  [TensorType.INT4, { min: -8, max: 7 }],
]);

function convertQuantization(raw: RawTensor, q: RawQuantization, shape: number[], fail: Fail): Quantization | undefined {
  const label = tensorLabel(raw);
  if (q.detailsType !== 0) {
    fail(`${label} uses custom quantization details (type ${q.detailsType}), which tinyforge does not support`);
  }
  if (q.scale.length === 0 && q.zeroPoint.length === 0) return undefined;
  if (q.scale.length !== q.zeroPoint.length) {
    fail(`${label} quantization has ${q.scale.length} scales but ${q.zeroPoint.length} zero points`);
  }
  q.scale.forEach((s, i) => {
    // TFLite Micro multiplies through negative per-channel scales; the converter writes tiny
    // negative ones for all-zero filter channels, whose multiplier then rounds to 0. Larger
    // negative scales are refused: no converter writes them and kernels assume positive multipliers.
    const tinyNegative = q.scale.length > 1 && s < 0 && s > -TINY_NEGATIVE_SCALE;
    if (!Number.isFinite(s) || (s < 0 && !tinyNegative)) fail(`${label} has quantization scale ${s} at index ${i} (scales must be finite and >= 0)`);
  });
  // A zero point is a value of the tensor's own type (TFLite's converter and TFLM's Prepare assume
  // it): an int8 tensor with zero point 2^31 - 1 made the C offsets overflow.
  const typeRange = ZERO_POINT_RANGE.get(raw.type);
  const zeroPoint = q.zeroPoint.map((z, i) => {
    if (z < BigInt(INT32_MIN) || z > BigInt(INT32_MAX)) {
      fail(`${label} has zero point ${z} at index ${i}, outside the int32 range`);
    }
    if (typeRange && (z < BigInt(typeRange.min) || z > BigInt(typeRange.max))) {
      fail(`${label} has zero point ${z} at index ${i}, outside the range of its type (${typeRange.min}..${typeRange.max})`);
    }
    return Number(z);
  });
  let axis = q.quantizedDimension;
  if (q.scale.length > 1) {
    // Older converters wrote a bias's quantized_dimension as its filter's (3 for a rank-1 bias).
    // TFLite Micro never reads a bias's quantization, so a rank-1 tensor with one scale per
    // element is taken as quantized along its only axis.
    if (shape.length === 1 && shape[0] === q.scale.length) axis = 0;
    if (axis < 0 || axis >= shape.length) {
      fail(`per-channel ${label} has quantized_dimension ${axis} but its rank is ${shape.length}`);
    }
    const dim = shape[axis];
    if (dim !== q.scale.length) {
      fail(`per-channel ${label} has ${q.scale.length} scales but dimension ${axis} (quantized_dimension) is ${dim}`);
    }
  }
  return { scale: q.scale.slice(), zeroPoint, axis };
}

function convertTensor(raw: RawTensor, model: RawModel, bufferCopies: Map<number, Uint8Array>, fail: Fail): Tensor {
  const label = tensorLabel(raw);
  const int4 = raw.type === TensorType.INT4;
  const dtype = int4 ? 'int8' : DTYPE_OF.get(raw.type);
  if (dtype === undefined) {
    fail(`${label} has type ${tensorTypeName(raw.type)}, which tinyforge does not support (supported: ${SUPPORTED_TYPE_NAMES})`);
  }
  if (raw.hasSparsity) fail(`${label} is sparse, which tinyforge does not support`);
  if (raw.shape.length > MAX_RANK) {
    fail(`${label} has rank ${raw.shape.length}, more than the ${MAX_RANK} dimensions tinyforge supports`);
  }
  raw.shape.forEach((d, axis) => {
    // Zero is legal for tensors no op reads or writes (LSTM intermediates); referenced ones are checked in toGraph.
    if (d < 0) fail(`${label} has dimension ${d} at axis ${axis} (dimensions must not be negative)`);
  });
  let count = 1;
  for (const d of raw.shape) {
    count *= d;
    if (count > MAX_ELEMENTS) {
      fail(`${label} has shape ${showShape(raw.shape)}, more than ${MAX_ELEMENTS} elements`);
    }
  }
  if (raw.buffer >= model.buffers.length) {
    fail(`${label} refers to buffer ${raw.buffer} but the model has ${model.buffers.length} buffers`);
  }
  const tensor: Tensor = { id: raw.index, name: raw.name, shape: raw.shape.slice(), dtype };
  if (int4) {
    if (raw.isVariable) fail(`${label} is an INT4 variable tensor; tinyforge reads INT4 only as constant filters`);
    tensor.int4 = true;
  }
  if (raw.quantization) {
    const quant = convertQuantization(raw, raw.quantization, raw.shape, fail);
    if (quant) tensor.quant = quant;
  }
  // Buffer 0 is the empty sentinel by convention; an empty buffer also means "no constant data".
  const view = raw.buffer === 0 ? undefined : model.buffers[raw.buffer]?.data;
  if (view !== undefined) {
    const expected = int4 ? int4Bytes(count) : tensorBytes(tensor);
    if (view.length !== expected) {
      const packing = int4 ? ' (two per byte)' : '';
      fail(
        `${label} has ${view.length} bytes of constant data in buffer ${raw.buffer} but shape ${showShape(raw.shape)} of ${int4 ? 'INT4' : dtype}${packing} needs ${expected}`,
      );
    }
    if (int4) {
      // Unpacked per tensor: a buffer shared with a non-INT4 tensor must not see the int8 values.
      tensor.data = unpackInt4(view, count);
      return tensor;
    }
    // One copy per buffer (tensors sharing a buffer share it), detached from the file and aligned at 0.
    let copy = bufferCopies.get(raw.buffer);
    if (!copy) {
      copy = new Uint8Array(view); // a real copy: Buffer#slice would return a view of the file
      bufferCopies.set(raw.buffer, copy);
    }
    tensor.data = copy;
  }
  return tensor;
}

function convertConv2D(o: OpReader): Op {
  o.arity(2, 3, 1);
  const x = o.input(0, 'input');
  const w = o.input(1, 'filter');
  const b = o.optionalInput(2, 'bias');
  const y = o.output(0);
  o.rank(x, 'input', 4);
  o.rank(w, 'filter', 4);
  o.rank(y, 'output', 4);
  const outCh = w.shape[0] ?? 0;
  o.bias(b, outCh);
  o.sameDim('output channels differ from filter output channels (dimension 0)', y.shape[3], outCh);
  o.sameDim('input channels differ from filter input channels (grouped convolution is not supported)', x.shape[3], w.shape[3]);
  const f = F.Conv2DOptions;
  const t = o.options(BuiltinOptionsType.Conv2DOptions, 'Conv2DOptions');
  return {
    kind: 'conv2d',
    sourceIndex: o.raw.index,
    inputs: [x.id, w.id, b ? b.id : -1],
    outputs: [y.id],
    attrs: convAttrs(o, t, f),
  };
}

/** Padding, strides, dilations and fused activation: the same fields (at different ids) in
 * Conv2DOptions and DepthwiseConv2DOptions. */
function convAttrs(
  o: OpReader,
  t: Table | undefined,
  f: { padding: number; strideH: number; strideW: number; dilationH: number; dilationW: number; fusedActivation: number },
): Conv2DAttrs {
  return {
    padding: o.padding(t, f.padding),
    strideH: o.positive(t, f.strideH, 0, 'stride_h'),
    strideW: o.positive(t, f.strideW, 0, 'stride_w'),
    dilationH: o.positive(t, f.dilationH, 1, 'dilation_h_factor'),
    dilationW: o.positive(t, f.dilationW, 1, 'dilation_w_factor'),
    activation: o.activation(t, f.fusedActivation),
  };
}

function convertDepthwise(o: OpReader): Op {
  o.arity(2, 3, 1);
  const x = o.input(0, 'input');
  const w = o.input(1, 'filter');
  const b = o.optionalInput(2, 'bias');
  const y = o.output(0);
  o.rank(x, 'input', 4);
  o.rank(w, 'filter', 4);
  o.rank(y, 'output', 4);
  if (w.shape[0] !== 1) o.fail(`${o.label} filter ${tensorLabel(w)} has shape ${showShape(w.shape)} (dimension 0 must be 1)`);
  const outCh = w.shape[3] ?? 0;
  const inCh = x.shape[3] ?? 0;
  o.bias(b, outCh);
  o.sameDim('output channels differ from filter channels (dimension 3)', y.shape[3], outCh);
  if (outCh % inCh !== 0) {
    o.fail(`${o.label} has ${outCh} filter channels, not a multiple of its ${inCh} input channels`);
  }
  const f = F.DepthwiseConv2DOptions;
  const t = o.options(BuiltinOptionsType.DepthwiseConv2DOptions, 'DepthwiseConv2DOptions');
  // The option is redundant with the shapes (newer runtimes ignore it, TFLM still reads it), so the
  // shapes decide and a contradicting non-zero option is an error.
  const depthMultiplier = outCh / inCh;
  const option = t ? t.i32(f.depthMultiplier, 0, 'depth_multiplier') : 0;
  if (option !== 0 && option !== depthMultiplier) {
    o.fail(`${o.label} has depth_multiplier ${option} but its shapes imply ${depthMultiplier} (${outCh} filter channels / ${inCh} input channels)`);
  }
  return {
    kind: 'depthwise_conv2d',
    sourceIndex: o.raw.index,
    inputs: [x.id, w.id, b ? b.id : -1],
    outputs: [y.id],
    attrs: { ...convAttrs(o, t, f), depthMultiplier },
  };
}

function convertFullyConnected(o: OpReader): Op {
  o.arity(2, 3, 1);
  const x = o.input(0, 'input');
  const w = o.input(1, 'weights');
  const b = o.optionalInput(2, 'bias');
  const y = o.output(0);
  o.rank(w, 'weights', 2);
  const [outCh = 0, inCh = 0] = w.shape;
  o.bias(b, outCh);
  const n = elementCount(x.shape);
  if (n % inCh !== 0) {
    o.fail(`${o.label} input ${tensorLabel(x)} has ${n} elements, not a multiple of the weights' ${inCh} input features`);
  }
  o.sameDim('output features differ from weights dimension 0', y.shape[y.shape.length - 1], outCh);
  const f = F.FullyConnectedOptions;
  const t = o.options(BuiltinOptionsType.FullyConnectedOptions, 'FullyConnectedOptions');
  const format = t ? t.i8(f.weightsFormat, 0, 'weights_format') : 0;
  if (format !== 0) {
    const name = WEIGHTS_FORMAT_NAMES[format] ?? `unknown format ${format}`;
    o.fail(`${o.label} uses weights format ${name}, which tinyforge does not support (only DEFAULT)`);
  }
  return {
    kind: 'fully_connected',
    sourceIndex: o.raw.index,
    inputs: [x.id, w.id, b ? b.id : -1],
    outputs: [y.id],
    attrs: {
      activation: o.activation(t, f.fusedActivation),
      keepNumDims: t ? t.bool(f.keepNumDims, false, 'keep_num_dims') : false,
    },
  };
}

function convertPool(o: OpReader, kind: 'average_pool2d' | 'max_pool2d'): Op {
  o.arity(1, 1, 1);
  const x = o.input(0, 'input');
  const y = o.output(0);
  o.rank(x, 'input', 4);
  o.rank(y, 'output', 4);
  o.sameDim('output channels differ from input channels', y.shape[3], x.shape[3]);
  const f = F.Pool2DOptions;
  const t = o.options(BuiltinOptionsType.Pool2DOptions, 'Pool2DOptions');
  return {
    kind,
    sourceIndex: o.raw.index,
    inputs: [x.id],
    outputs: [y.id],
    attrs: {
      padding: o.padding(t, f.padding),
      strideH: o.positive(t, f.strideH, 0, 'stride_h'),
      strideW: o.positive(t, f.strideW, 0, 'stride_w'),
      filterH: o.positive(t, f.filterH, 0, 'filter_height'),
      filterW: o.positive(t, f.filterW, 0, 'filter_width'),
      activation: o.activation(t, f.fusedActivation),
    },
  };
}

function convertElementwise(o: OpReader, kind: 'add' | 'mul'): Op {
  o.arity(2, 2, 1);
  const a = o.input(0, 'input');
  const b = o.input(1, 'input');
  const y = o.output(0);
  const t =
    kind === 'add'
      ? o.options(BuiltinOptionsType.AddOptions, 'AddOptions')
      : o.options(BuiltinOptionsType.MulOptions, 'MulOptions');
  // fused_activation_function is field 0 of both AddOptions and MulOptions.
  const activation = o.activation(t, F.AddOptions.fusedActivation);
  return { kind, sourceIndex: o.raw.index, inputs: [a.id, b.id], outputs: [y.id], attrs: { activation } };
}

function convertSoftmax(o: OpReader): Op {
  o.arity(1, 1, 1);
  const x = o.input(0, 'input');
  const y = o.output(0);
  if (elementCount(x.shape) !== elementCount(y.shape)) {
    o.fail(`${o.label} output ${tensorLabel(y)} shape ${showShape(y.shape)} differs from input shape ${showShape(x.shape)}`);
  }
  const t = o.options(BuiltinOptionsType.SoftmaxOptions, 'SoftmaxOptions');
  const beta = t ? t.f32(F.SoftmaxOptions.beta, 0, 'beta') : 0;
  if (!Number.isFinite(beta)) o.fail(`${o.label} has beta ${beta} (must be finite)`);
  return { kind: 'softmax', sourceIndex: o.raw.index, inputs: [x.id], outputs: [y.id], attrs: { beta } };
}

function convertReshape(o: OpReader): Op {
  o.arity(1, 2, 1);
  const x = o.input(0, 'input');
  const shapeInput = o.optionalInput(1, 'shape');
  const y = o.output(0);
  const nIn = elementCount(x.shape);
  const nOut = elementCount(y.shape);
  if (nIn !== nOut) {
    o.fail(`${o.label} changes the element count from ${nIn} (${showShape(x.shape)}) to ${nOut} (${showShape(y.shape)})`);
  }
  const t = o.options(BuiltinOptionsType.ReshapeOptions, 'ReshapeOptions');
  const fromOptions = t?.int32s(F.ReshapeOptions.newShape, 'new_shape');
  const fromInput = shapeInput ? constantInts(shapeInput) : undefined;
  const newShape = fromInput ?? (fromOptions && fromOptions.length > 0 ? fromOptions : undefined) ?? y.shape.slice();
  return { kind: 'reshape', sourceIndex: o.raw.index, inputs: [x.id], outputs: [y.id], attrs: { newShape } };
}

/** Largest rank of a PAD input (TFLite Micro's reference Pad handles at most 4 dimensions here). */
const MAX_PAD_RANK = 4;

function convertPad(o: OpReader, v2: boolean): Op {
  if (v2) o.arity(3, 3, 1);
  else o.arity(2, 2, 1);
  const x = o.input(0, 'input');
  const p = o.input(1, 'paddings');
  const c = v2 ? o.optionalInput(2, 'constant_values') : undefined;
  const y = o.output(0);
  const rank = x.shape.length;
  if (rank > MAX_PAD_RANK) o.fail(`${o.label} input ${tensorLabel(x)} has rank ${rank}; PAD supports at most ${MAX_PAD_RANK} dimensions`);
  o.rank(y, 'output', rank);
  // TFLite Micro reads the paddings at Prepare time from the flatbuffer, so they must be constant.
  const pads = constantInts(p);
  if (!pads || p.dtype !== 'int32') o.fail(`${o.label} paddings ${tensorLabel(p)} must be a constant int32 tensor`);
  if (p.shape.length !== 2 || p.shape[0] !== rank || p.shape[1] !== 2) {
    o.fail(`${o.label} paddings ${tensorLabel(p)} has shape ${showShape(p.shape)} (expected [${rank}, 2])`);
  }
  for (let d = 0; d < rank; d++) {
    const before = pads[2 * d] as number;
    const after = pads[2 * d + 1] as number;
    if (before < 0 || after < 0) o.fail(`${o.label} has negative padding (${before}, ${after}) in dimension ${d}`);
    const want = (x.shape[d] as number) + before + after;
    if (y.shape[d] !== want) o.fail(`${o.label} output ${tensorLabel(y)} has dimension ${y.shape[d]} at axis ${d} but input ${x.shape[d]} + padding ${before} + ${after} = ${want}`);
  }
  if (c && elementCount(c.shape) !== 1) o.fail(`${o.label} constant_values ${tensorLabel(c)} has shape ${showShape(c.shape)} (must be a scalar)`);
  // The IR keeps the file's inputs (PADV2: three, even when constant_values is absent) so the
  // writer can tell PAD from PADV2.
  const inputs = v2 ? [x.id, p.id, c ? c.id : -1] : [x.id, p.id];
  return { kind: 'pad', sourceIndex: o.raw.index, inputs, outputs: [y.id], attrs: {} };
}

function convertConcatenation(o: OpReader): Op {
  const n = o.raw.inputs.length;
  if (n < 1) o.fail(`${o.label} has no inputs`);
  o.arity(n, n, 1);
  const xs = o.raw.inputs.map((_, i) => o.input(i, 'input'));
  const y = o.output(0);
  const rank = y.shape.length;
  const t = o.options(BuiltinOptionsType.ConcatenationOptions, 'ConcatenationOptions');
  const f = F.ConcatenationOptions;
  const raw = t ? t.i32(f.axis, 0, 'axis') : 0;
  // A negative axis counts from the end, as TFLite's CalculatePositiveAxis does; the IR keeps it normalized.
  const axis = raw < 0 ? raw + rank : raw;
  if (axis < 0 || axis >= rank) o.fail(`${o.label} has axis ${raw} but its output has rank ${rank}`);
  let total = 0;
  xs.forEach((x, i) => {
    if (x.shape.length !== rank) o.fail(`${o.label} input ${i} ${tensorLabel(x)} has shape ${showShape(x.shape)} (expected rank ${rank})`);
    x.shape.forEach((d, k) => {
      if (k !== axis && d !== y.shape[k]) o.fail(`${o.label} input ${i} ${tensorLabel(x)} shape ${showShape(x.shape)} differs from output ${showShape(y.shape)} outside axis ${axis}`);
    });
    total += x.shape[axis] as number;
  });
  if (total !== y.shape[axis]) o.fail(`${o.label} inputs add up to ${total} along axis ${axis} but the output has ${y.shape[axis]}`);
  return {
    kind: 'concatenation',
    sourceIndex: o.raw.index,
    inputs: xs.map((x) => x.id),
    outputs: [y.id],
    attrs: { axis, activation: o.activation(t, f.fusedActivation) },
  };
}

function convertQuantizeLike(o: OpReader, kind: 'quantize' | 'dequantize'): Op {
  o.arity(1, 1, 1);
  const x = o.input(0, 'input');
  const y = o.output(0);
  if (elementCount(x.shape) !== elementCount(y.shape)) {
    o.fail(`${o.label} output ${tensorLabel(y)} shape ${showShape(y.shape)} differs from input shape ${showShape(x.shape)}`);
  }
  return { kind, sourceIndex: o.raw.index, inputs: [x.id], outputs: [y.id], attrs: {} };
}

function convertOp(o: OpReader, code: number): Op {
  switch (code) {
    case BuiltinOp.CONV_2D:
      return convertConv2D(o);
    case BuiltinOp.DEPTHWISE_CONV_2D:
      return convertDepthwise(o);
    case BuiltinOp.FULLY_CONNECTED:
      return convertFullyConnected(o);
    case BuiltinOp.AVERAGE_POOL_2D:
      return convertPool(o, 'average_pool2d');
    case BuiltinOp.MAX_POOL_2D:
      return convertPool(o, 'max_pool2d');
    case BuiltinOp.ADD:
      return convertElementwise(o, 'add');
    case BuiltinOp.MUL:
      return convertElementwise(o, 'mul');
    case BuiltinOp.SOFTMAX:
      return convertSoftmax(o);
    case BuiltinOp.RESHAPE:
      return convertReshape(o);
    case BuiltinOp.PAD:
      return convertPad(o, false);
    case BuiltinOp.PADV2:
      return convertPad(o, true);
    case BuiltinOp.CONCATENATION:
      return convertConcatenation(o);
    case BuiltinOp.QUANTIZE:
      return convertQuantizeLike(o, 'quantize');
    case BuiltinOp.DEQUANTIZE:
      return convertQuantizeLike(o, 'dequantize');
    default: {
      const name = o.opName;
      const m = moduleForBuiltin(name);
      if (!m) return o.fail(`${o.label} has no converter`);
      const attrs = m.read(o, name);
      const inputs = o.raw.inputs.slice();
      // A custom op that keeps state between invokes (in TFLite Micro, a persistent buffer of the
      // kernel) gets a state tensor of its own, passed as an extra input after the file's.
      for (const spec of m.stateTensors?.(o, attrs) ?? []) {
        const t: Tensor = { id: o.tensors.length, name: `${o.opName} ${o.raw.index} ${spec.name}`, shape: spec.shape.slice(), dtype: spec.dtype, state: {} };
        o.addTensor(t);
        inputs.push(t.id);
      }
      return { kind: 'module', module: name, sourceIndex: o.raw.index, inputs, outputs: o.raw.outputs.slice(), attrs };
    }
  }
}

/** The name an operator code goes by in messages and manifests: the builtin name, or CUSTOM:<custom_code>. */
export function operatorCodeName(code: RawOperatorCode): string {
  if (code.builtinCode === BuiltinOp.CUSTOM) return `CUSTOM:${code.customCode ?? ''}`;
  return builtinOperatorName(code.builtinCode);
}

function checkTensorRefs(raw: RawOperator, count: number, fail: Fail): void {
  raw.inputs.forEach((id, k) => {
    if (id !== -1 && (id < 0 || id >= count)) {
      fail(`operator ${raw.index} input ${k} refers to tensor ${id} but the subgraph has ${count} tensors`);
    }
  });
  raw.outputs.forEach((id, k) => {
    if (id < 0 || id >= count) {
      fail(`operator ${raw.index} output ${k} refers to tensor ${id} but the subgraph has ${count} tensors`);
    }
  });
}

/** Checks that ops run in an order where each input is a constant, a model input or an earlier op's output. */
function checkOrder(raw: RawModel, tensors: readonly Tensor[], names: readonly string[], inputs: readonly number[], fail: Fail): boolean[] {
  const available = tensors.map((t) => t.data !== undefined);
  const variable = raw.subgraph.tensors.map((t) => t.isVariable);
  const producer = new Array<number>(tensors.length).fill(-1);
  for (const id of inputs) available[id] = true;
  variable.forEach((v, id) => {
    if (v) available[id] = true;
  });
  raw.subgraph.operators.forEach((op, i) => {
    const label = `operator ${i} (${names[i]})`;
    op.inputs.forEach((id, k) => {
      if (id >= 0 && !available[id]) {
        fail(
          `${label} input ${k} (${tensorLabel(tensors[id] as Tensor)}) is not a constant, a model input or the output of an earlier operator`,
        );
      }
    });
    op.outputs.forEach((id, k) => {
      const t = tensors[id] as Tensor;
      if (t.data !== undefined) fail(`${label} output ${k} (${tensorLabel(t)}) is a constant tensor`);
      if (inputs.includes(id)) fail(`${label} output ${k} (${tensorLabel(t)}) is a model input`);
      const prev = producer[id] ?? -1;
      if (prev >= 0) fail(`${tensorLabel(t)} is written by both operator ${prev} and operator ${i}`);
      producer[id] = i;
      available[id] = true;
    });
  });
  return available;
}

function checkGraphIo(ids: readonly number[], kind: 'input' | 'output', count: number, fail: Fail): void {
  ids.forEach((id, k) => {
    if (id < 0 || id >= count) fail(`model ${kind} ${k} refers to tensor ${id} but the subgraph has ${count} tensors`);
  });
}

/** Builds the IR graph from subgraph 0 of a raw model. */
export function toGraph(raw: RawModel, name: string, fail: Fail): Graph {
  const sg = raw.subgraph;
  const blockers = findBlockers(raw, SUPPORT);
  if (blockers.length > 0) fail(`tinyforge does not support ${describeBlockers(blockers)} (supported ops: ${supportedOpNames().join(', ')})`);
  const bufferCopies = new Map<number, Uint8Array>();
  const variables = resolveResourceVariables(raw, fail);
  // A resource handle only names a variable; it keeps its index (tensor ids are indices) as an unused placeholder.
  const tensors = sg.tensors.map((t) => (t.type === RESOURCE_TYPE ? { id: t.index, name: t.name, shape: [], dtype: 'int32' as const } : convertTensor(t, raw, bufferCopies, fail)));
  const count = tensors.length;
  sg.tensors.forEach((t, i) => {
    const tensor = tensors[i] as Tensor;
    if (!t.isVariable) return;
    // TFLite Micro resets variable tensors to their zero point (int8) or zero before the first invoke.
    delete tensor.data;
    const zp = tensor.dtype === 'int8' ? (tensor.quant?.zeroPoint[0] ?? 0) : 0;
    tensor.state = zp === 0 ? {} : { initial: new Uint8Array(tensorBytes(tensor)).fill(zp & 0xff) };
  });
  const stateOf = new Map<string, Tensor>();
  /** The state tensor of a resource variable, created at its first use with that use's type. */
  const stateFor = (rop: RawOperator, handle: number | undefined, like: Tensor): Tensor => {
    const variable = handle === undefined ? undefined : variables.handleOf.get(handle);
    if (variable === undefined) fail(`operator ${rop.index} uses a resource handle no VAR_HANDLE operator defines`);
    const known = stateOf.get(variable);
    if (known) {
      if (known.dtype !== like.dtype || known.shape.join() !== like.shape.join()) fail(`resource variable '${variable}' is used as ${known.dtype} [${known.shape}] and as ${like.dtype} [${like.shape}]`);
      return known;
    }
    const initial = variables.initial.get(variable);
    const t: Tensor = { id: tensors.length, name: `variable ${variable}`, shape: like.shape.slice(), dtype: like.dtype, state: initial ? { initial } : {} };
    if (like.quant) t.quant = like.quant;
    if (initial && initial.length !== tensorBytes(t)) fail(`resource variable '${variable}' is initialised with ${initial.length} bytes but used as ${t.dtype} [${t.shape}]`);
    tensors.push(t);
    stateOf.set(variable, t);
    return t;
  };

  checkGraphIo(sg.inputs, 'input', count, fail);
  checkGraphIo(sg.outputs, 'output', count, fail);

  const names: string[] = [];
  const ops: Op[] = [];
  for (const rop of sg.operators) {
    const code = raw.operatorCodes[rop.opcodeIndex];
    if (!code) {
      fail(`operator ${rop.index} refers to operator code ${rop.opcodeIndex} but the model has ${raw.operatorCodes.length} operator codes`);
    }
    const opName = operatorCodeName(code);
    if (!isSupported(code)) {
      const what = code.builtinCode === BuiltinOp.CUSTOM ? `custom op ${quote(code.customCode ?? '')}` : opName;
      fail(`operator ${rop.index} is ${what}, which tinyforge does not support (supported: ${supportedOpNames().join(', ')})`);
    }
    checkTensorRefs(rop, count, fail);
    for (const id of [...rop.inputs, ...rop.outputs]) {
      const t = id >= 0 ? tensors[id] : undefined;
      if (t && elementCount(t.shape) === 0) fail(`operator ${rop.index} (${opName}) uses ${tensorLabel(t)} of shape ${showShape(t.shape)}, which holds no elements`);
    }
    names.push(opName);
    if (opName === 'VAR_HANDLE' || opName === 'CALL_ONCE') continue;
    if (opName === 'READ_VARIABLE' || opName === 'ASSIGN_VARIABLE') {
      const read = opName === 'READ_VARIABLE';
      const value = read ? tensors[rop.outputs[0] ?? -1] : tensors[rop.inputs[1] ?? -1];
      if (!value) fail(`operator ${rop.index} (${opName}) has no ${read ? 'output' : 'value input'}`);
      const state = stateFor(rop, rop.inputs[0], value);
      const [inputs, outputs] = read ? [[state.id], [value.id]] : [[value.id], [state.id]];
      ops.push({ kind: 'module', module: opName, sourceIndex: rop.index, inputs, outputs, attrs: {} });
      continue;
    }
    ops.push(convertOp(new OpReader(rop, opName, tensors, fail, (t) => tensors.push(t)), code.builtinCode));
  }

  checkInt4Uses(tensors, ops, builtinNameOf, sg.inputs, sg.outputs, fail);
  const available = checkOrder(raw, tensors, names, sg.inputs, fail);
  if (sg.outputs.length === 0) fail('the model has no outputs');
  sg.outputs.forEach((id, k) => {
    const label = `model output ${k} (${tensorLabel(tensors[id] as Tensor)})`;
    if (!available[id]) fail(`${label} is not computed by any operator`);
    // The generated invoke() writes outputs only as operators compute them: an output that is an
    // input or a constant would never be written (and its parameter would go unused).
    if (sg.inputs.includes(id)) fail(`${label} is model input ${sg.inputs.indexOf(id)} itself: no operator computes it`);
    if ((tensors[id] as Tensor).data !== undefined) fail(`${label} is a constant tensor: no operator computes it`);
  });

  return { name, tensors, ops, inputs: sg.inputs.slice(), outputs: sg.outputs.slice() };
}
