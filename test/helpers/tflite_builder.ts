// Builds small TFLite flatbuffers for tests, from a plain description. Every field that the
// description gives is written explicitly (even when it equals the schema default); fields it
// leaves out are omitted, so tests can produce both "default" and "explicit" encodings.

import { Builder } from 'flatbuffers';
import { BuiltinOp, BuiltinOptionsType, F, TensorType } from '../../compiler/frontends/tflite/schema.ts';

type Offset = number;

export interface QuantSpec {
  scale?: number[];
  zeroPoint?: (number | bigint)[];
  axis?: number;
  /** QuantizationDetails union type; anything but 0 is custom quantization. */
  detailsType?: number;
}

export interface TensorSpec {
  name?: string;
  shape?: number[];
  type?: number;
  buffer?: number;
  quant?: QuantSpec;
  isVariable?: boolean;
}

export interface OpCodeSpec {
  /** Written to builtin_code (int32) when given. */
  builtin?: number;
  /** Written to deprecated_builtin_code (int8) when given; defaults to min(builtin, 127). */
  deprecated?: number;
  custom?: string;
  version?: number;
}

/** A builtin options table: its union type and a function that writes it. */
export interface OptionsSpec {
  type: number;
  build: (b: Builder) => Offset;
}

export interface OperatorSpec {
  opcode: number;
  inputs: number[];
  outputs: number[];
  options?: OptionsSpec;
}

export interface BufferSpec {
  data?: Uint8Array;
  /** For the out-of-flatbuffer layout of large models: absolute file offset and size. */
  offset?: bigint;
  size?: bigint;
}

export interface ModelSpec {
  version?: number;
  identifier?: string;
  opcodes: OpCodeSpec[];
  tensors: TensorSpec[];
  operators: OperatorSpec[];
  inputs: number[];
  outputs: number[];
  buffers: BufferSpec[];
  /** Extra (empty) subgraphs after the main one. */
  extraSubgraphs?: number;
  /** Write an empty subgraphs vector (an invalid model). */
  omitSubgraphs?: boolean;
  /** Append `times` extra references to the table of tensor `index` to the tensors vector (shared tables). */
  repeatTensorTable?: { index: number; times: number };
  /** Bytes appended after the flatbuffer (for out-of-flatbuffer buffer data). */
  trailer?: Uint8Array;
}

function intVector(b: Builder, values: readonly number[]): Offset {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i] ?? 0);
  return b.endVector();
}

function floatVector(b: Builder, values: readonly number[]): Offset {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i] ?? 0);
  return b.endVector();
}

function longVector(b: Builder, values: readonly (number | bigint)[]): Offset {
  b.startVector(8, values.length, 8);
  for (let i = values.length - 1; i >= 0; i--) b.addInt64(BigInt(values[i] ?? 0));
  return b.endVector();
}

function offsetVector(b: Builder, offsets: readonly Offset[]): Offset {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i] ?? 0);
  return b.endVector();
}

function buildQuant(b: Builder, q: QuantSpec): Offset {
  const f = F.QuantizationParameters;
  const scale = q.scale ? floatVector(b, q.scale) : 0;
  const zp = q.zeroPoint ? longVector(b, q.zeroPoint) : 0;
  b.startObject(7);
  if (q.scale) b.addFieldOffset(f.scale, scale, 0);
  if (q.zeroPoint) b.addFieldOffset(f.zeroPoint, zp, 0);
  if (q.detailsType !== undefined) b.addFieldInt8(f.detailsType, q.detailsType, null);
  if (q.axis !== undefined) b.addFieldInt32(f.quantizedDimension, q.axis, null);
  return b.endObject();
}

function buildTensor(b: Builder, t: TensorSpec): Offset {
  const f = F.Tensor;
  const shape = t.shape ? intVector(b, t.shape) : 0;
  const name = t.name !== undefined ? b.createString(t.name) : 0;
  const quant = t.quant ? buildQuant(b, t.quant) : 0;
  b.startObject(10);
  if (t.shape) b.addFieldOffset(f.shape, shape, 0);
  b.addFieldInt8(f.type, t.type ?? TensorType.INT8, null);
  if (t.buffer !== undefined) b.addFieldInt32(f.buffer, t.buffer, null);
  if (t.name !== undefined) b.addFieldOffset(f.name, name, 0);
  if (t.quant) b.addFieldOffset(f.quantization, quant, 0);
  if (t.isVariable !== undefined) b.addFieldInt8(f.isVariable, t.isVariable ? 1 : 0, null);
  return b.endObject();
}

function buildOpCode(b: Builder, c: OpCodeSpec): Offset {
  const f = F.OperatorCode;
  const custom = c.custom !== undefined ? b.createString(c.custom) : 0;
  b.startObject(4);
  const deprecated = c.deprecated ?? (c.builtin !== undefined ? Math.min(c.builtin, 127) : undefined);
  if (deprecated !== undefined) b.addFieldInt8(f.deprecatedBuiltinCode, deprecated, null);
  if (c.custom !== undefined) b.addFieldOffset(f.customCode, custom, 0);
  if (c.version !== undefined) b.addFieldInt32(f.version, c.version, null);
  if (c.builtin !== undefined) b.addFieldInt32(f.builtinCode, c.builtin, null);
  return b.endObject();
}

function buildOperator(b: Builder, o: OperatorSpec): Offset {
  const f = F.Operator;
  const inputs = intVector(b, o.inputs);
  const outputs = intVector(b, o.outputs);
  const options = o.options ? o.options.build(b) : 0;
  b.startObject(13);
  b.addFieldInt32(f.opcodeIndex, o.opcode, null);
  b.addFieldOffset(f.inputs, inputs, 0);
  b.addFieldOffset(f.outputs, outputs, 0);
  if (o.options) {
    b.addFieldInt8(f.builtinOptionsType, o.options.type, null);
    b.addFieldOffset(f.builtinOptions, options, 0);
  }
  return b.endObject();
}

function buildBuffer(b: Builder, buf: BufferSpec): Offset {
  const f = F.Buffer;
  const data = buf.data ? b.createByteVector(buf.data) : 0;
  b.startObject(3);
  if (buf.data) b.addFieldOffset(f.data, data, 0);
  if (buf.offset !== undefined) b.addFieldInt64(f.offset, buf.offset, null);
  if (buf.size !== undefined) b.addFieldInt64(f.size, buf.size, null);
  return b.endObject();
}

function buildSubgraph(
  b: Builder,
  spec: Pick<ModelSpec, 'tensors' | 'operators' | 'inputs' | 'outputs' | 'repeatTensorTable'>,
  name: string,
): Offset {
  const f = F.SubGraph;
  const tensorTables = spec.tensors.map((t) => buildTensor(b, t));
  const repeat = spec.repeatTensorTable;
  if (repeat) {
    const shared = tensorTables[repeat.index];
    if (shared === undefined) throw new Error(`no tensor ${repeat.index} to repeat`);
    for (let i = 0; i < repeat.times; i++) tensorTables.push(shared);
  }
  const tensors = offsetVector(b, tensorTables);
  const inputs = intVector(b, spec.inputs);
  const outputs = intVector(b, spec.outputs);
  const operators = offsetVector(b, spec.operators.map((o) => buildOperator(b, o)));
  const nameOff = b.createString(name);
  b.startObject(5);
  b.addFieldOffset(f.tensors, tensors, 0);
  b.addFieldOffset(f.inputs, inputs, 0);
  b.addFieldOffset(f.outputs, outputs, 0);
  b.addFieldOffset(f.operators, operators, 0);
  b.addFieldOffset(f.name, nameOff, 0);
  return b.endObject();
}

/** Serializes a model description to .tflite bytes. */
export function buildTflite(spec: ModelSpec): Uint8Array {
  const b = new Builder(1024);
  const f = F.Model;
  const codes = offsetVector(b, spec.opcodes.map((c) => buildOpCode(b, c)));
  const subgraphs = spec.omitSubgraphs ? [] : [buildSubgraph(b, spec, 'main')];
  for (let i = 0; i < (spec.extraSubgraphs ?? 0); i++) {
    subgraphs.push(buildSubgraph(b, { tensors: [], operators: [], inputs: [], outputs: [] }, `extra${i}`));
  }
  const subgraphVec = offsetVector(b, subgraphs);
  const buffers = offsetVector(b, spec.buffers.map((buf) => buildBuffer(b, buf)));
  const description = b.createString('tinyforge test model');
  b.startObject(8);
  b.addFieldInt32(f.version, spec.version ?? 3, null);
  b.addFieldOffset(f.operatorCodes, codes, 0);
  b.addFieldOffset(f.subgraphs, subgraphVec, 0);
  b.addFieldOffset(f.description, description, 0);
  b.addFieldOffset(f.buffers, buffers, 0);
  const root = b.endObject();
  b.finish(root, spec.identifier ?? 'TFL3');
  const out = b.asUint8Array();
  if (!spec.trailer) return out.slice();
  const joined = new Uint8Array(out.length + spec.trailer.length);
  joined.set(out, 0);
  joined.set(spec.trailer, out.length);
  return joined;
}

// ---- builtin options ----

type Act = 0 | 1 | 2 | 3 | number;

export function conv2dOptions(o: {
  padding?: number;
  strideW?: number;
  strideH?: number;
  act?: Act;
  dilationW?: number;
  dilationH?: number;
}): OptionsSpec {
  const f = F.Conv2DOptions;
  return {
    type: BuiltinOptionsType.Conv2DOptions,
    build: (b) => {
      b.startObject(7);
      if (o.padding !== undefined) b.addFieldInt8(f.padding, o.padding, null);
      if (o.strideW !== undefined) b.addFieldInt32(f.strideW, o.strideW, null);
      if (o.strideH !== undefined) b.addFieldInt32(f.strideH, o.strideH, null);
      if (o.act !== undefined) b.addFieldInt8(f.fusedActivation, o.act, null);
      if (o.dilationW !== undefined) b.addFieldInt32(f.dilationW, o.dilationW, null);
      if (o.dilationH !== undefined) b.addFieldInt32(f.dilationH, o.dilationH, null);
      return b.endObject();
    },
  };
}

export function depthwiseOptions(o: {
  padding?: number;
  strideW?: number;
  strideH?: number;
  depthMultiplier?: number;
  act?: Act;
  dilationW?: number;
  dilationH?: number;
}): OptionsSpec {
  const f = F.DepthwiseConv2DOptions;
  return {
    type: BuiltinOptionsType.DepthwiseConv2DOptions,
    build: (b) => {
      b.startObject(7);
      if (o.padding !== undefined) b.addFieldInt8(f.padding, o.padding, null);
      if (o.strideW !== undefined) b.addFieldInt32(f.strideW, o.strideW, null);
      if (o.strideH !== undefined) b.addFieldInt32(f.strideH, o.strideH, null);
      if (o.depthMultiplier !== undefined) b.addFieldInt32(f.depthMultiplier, o.depthMultiplier, null);
      if (o.act !== undefined) b.addFieldInt8(f.fusedActivation, o.act, null);
      if (o.dilationW !== undefined) b.addFieldInt32(f.dilationW, o.dilationW, null);
      if (o.dilationH !== undefined) b.addFieldInt32(f.dilationH, o.dilationH, null);
      return b.endObject();
    },
  };
}

export function pool2dOptions(o: {
  padding?: number;
  strideW?: number;
  strideH?: number;
  filterW?: number;
  filterH?: number;
  act?: Act;
}): OptionsSpec {
  const f = F.Pool2DOptions;
  return {
    type: BuiltinOptionsType.Pool2DOptions,
    build: (b) => {
      b.startObject(6);
      if (o.padding !== undefined) b.addFieldInt8(f.padding, o.padding, null);
      if (o.strideW !== undefined) b.addFieldInt32(f.strideW, o.strideW, null);
      if (o.strideH !== undefined) b.addFieldInt32(f.strideH, o.strideH, null);
      if (o.filterW !== undefined) b.addFieldInt32(f.filterW, o.filterW, null);
      if (o.filterH !== undefined) b.addFieldInt32(f.filterH, o.filterH, null);
      if (o.act !== undefined) b.addFieldInt8(f.fusedActivation, o.act, null);
      return b.endObject();
    },
  };
}

export function fullyConnectedOptions(o: { act?: Act; weightsFormat?: number; keepNumDims?: boolean }): OptionsSpec {
  const f = F.FullyConnectedOptions;
  return {
    type: BuiltinOptionsType.FullyConnectedOptions,
    build: (b) => {
      b.startObject(5);
      if (o.act !== undefined) b.addFieldInt8(f.fusedActivation, o.act, null);
      if (o.weightsFormat !== undefined) b.addFieldInt8(f.weightsFormat, o.weightsFormat, null);
      if (o.keepNumDims !== undefined) b.addFieldInt8(f.keepNumDims, o.keepNumDims ? 1 : 0, null);
      return b.endObject();
    },
  };
}

export function softmaxOptions(beta: number): OptionsSpec {
  return {
    type: BuiltinOptionsType.SoftmaxOptions,
    build: (b) => {
      b.startObject(1);
      b.addFieldFloat32(F.SoftmaxOptions.beta, beta, null);
      return b.endObject();
    },
  };
}

export function addOptions(act?: Act): OptionsSpec {
  return {
    type: BuiltinOptionsType.AddOptions,
    build: (b) => {
      b.startObject(2);
      if (act !== undefined) b.addFieldInt8(F.AddOptions.fusedActivation, act, null);
      return b.endObject();
    },
  };
}

export function mulOptions(act?: Act): OptionsSpec {
  return {
    type: BuiltinOptionsType.MulOptions,
    build: (b) => {
      b.startObject(1);
      if (act !== undefined) b.addFieldInt8(F.MulOptions.fusedActivation, act, null);
      return b.endObject();
    },
  };
}

export function reshapeOptions(newShape?: number[]): OptionsSpec {
  return {
    type: BuiltinOptionsType.ReshapeOptions,
    build: (b) => {
      const v = newShape ? intVector(b, newShape) : 0;
      b.startObject(1);
      if (newShape) b.addFieldOffset(F.ReshapeOptions.newShape, v, 0);
      return b.endObject();
    },
  };
}

// ---- data helpers ----

export function int8Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(Int8Array.from(values).buffer);
}

export function int32Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setInt32(i * 4, v, true));
  return out;
}

// ---- ready-made small models ----

/**
 * A valid int8 model: FULLY_CONNECTED (1x4 -> 1x3, relu) -> SOFTMAX.
 * Tensors: 0 input [1,4], 1 weights [3,4] (buffer 1), 2 bias [3] (buffer 2), 3 fc out [1,3], 4 output [1,3].
 */
export function fcModelSpec(): ModelSpec {
  return {
    opcodes: [{ builtin: BuiltinOp.FULLY_CONNECTED, version: 4 }, { builtin: BuiltinOp.SOFTMAX }],
    tensors: [
      { name: 'input', shape: [1, 4], type: TensorType.INT8, quant: { scale: [0.5], zeroPoint: [-1] } },
      { name: 'fc/weights', shape: [3, 4], type: TensorType.INT8, buffer: 1, quant: { scale: [0.25], zeroPoint: [0] } },
      { name: 'fc/bias', shape: [3], type: TensorType.INT32, buffer: 2, quant: { scale: [0.125], zeroPoint: [0] } },
      { name: 'fc/out', shape: [1, 3], type: TensorType.INT8, quant: { scale: [0.1], zeroPoint: [3] } },
      { name: 'output', shape: [1, 3], type: TensorType.INT8, quant: { scale: [1 / 256], zeroPoint: [-128] } },
    ],
    operators: [
      { opcode: 0, inputs: [0, 1, 2], outputs: [3], options: fullyConnectedOptions({ act: 1 }) },
      { opcode: 1, inputs: [3], outputs: [4], options: softmaxOptions(1) },
    ],
    inputs: [0],
    outputs: [4],
    buffers: [
      {},
      { data: int8Bytes([1, 2, 3, 4, -1, -2, -3, -4, 5, 6, 7, 8]) },
      { data: int32Bytes([10, -20, 30]) },
    ],
  };
}

/**
 * A valid int8 model: CONV_2D (per-channel, 2 output channels) -> DEPTHWISE_CONV_2D -> AVERAGE_POOL_2D
 * -> RESHAPE -> FULLY_CONNECTED (no bias).
 * Tensors: 0 input [1,4,4,1]; 1 conv w [2,3,3,1] (buf 1, per-channel axis 0); 2 conv b [2] (buf 2);
 * 3 conv out [1,4,4,2]; 4 dw w [1,3,3,2] (buf 3, per-channel axis 3); 5 dw b [2] (buf 4);
 * 6 dw out [1,2,2,2]; 7 pool out [1,1,1,2]; 8 shape [2] int32 (buf 5); 9 reshape out [1,2];
 * 10 fc w [3,2] (buf 6); 11 output [1,3].
 */
export function convModelSpec(): ModelSpec {
  const q = (scale: number, zp = 0) => ({ scale: [scale], zeroPoint: [zp] });
  return {
    opcodes: [
      { builtin: BuiltinOp.CONV_2D, version: 3 },
      { builtin: BuiltinOp.DEPTHWISE_CONV_2D, version: 3 },
      { builtin: BuiltinOp.AVERAGE_POOL_2D },
      { builtin: BuiltinOp.RESHAPE },
      { builtin: BuiltinOp.FULLY_CONNECTED },
    ],
    tensors: [
      { name: 'input', shape: [1, 4, 4, 1], quant: q(0.5, -128) },
      { name: 'conv/w', shape: [2, 3, 3, 1], buffer: 1, quant: { scale: [0.1, 0.2], zeroPoint: [0, 0], axis: 0 } },
      { name: 'conv/b', shape: [2], type: TensorType.INT32, buffer: 2, quant: { scale: [0.05, 0.1], zeroPoint: [0, 0], axis: 0 } },
      { name: 'conv/out', shape: [1, 4, 4, 2], quant: q(0.25, -5) },
      { name: 'dw/w', shape: [1, 3, 3, 2], buffer: 3, quant: { scale: [0.3, 0.4], zeroPoint: [0, 0], axis: 3 } },
      { name: 'dw/b', shape: [2], type: TensorType.INT32, buffer: 4, quant: { scale: [0.075, 0.1], zeroPoint: [0, 0], axis: 0 } },
      { name: 'dw/out', shape: [1, 2, 2, 2], quant: q(0.5, 1) },
      { name: 'pool/out', shape: [1, 1, 1, 2], quant: q(0.5, 1) },
      { name: 'reshape/shape', shape: [2], type: TensorType.INT32, buffer: 5 },
      { name: 'reshape/out', shape: [1, 2], quant: q(0.5, 1) },
      { name: 'fc/w', shape: [3, 2], buffer: 6, quant: q(0.01) },
      { name: 'output', shape: [1, 3], quant: q(0.2, 7) },
    ],
    operators: [
      {
        opcode: 0,
        inputs: [0, 1, 2],
        outputs: [3],
        options: conv2dOptions({ padding: 0, strideW: 1, strideH: 1, act: 3 }),
      },
      {
        opcode: 1,
        inputs: [3, 4, 5],
        outputs: [6],
        options: depthwiseOptions({ padding: 0, strideW: 2, strideH: 2, depthMultiplier: 1, act: 1, dilationW: 1, dilationH: 1 }),
      },
      { opcode: 2, inputs: [6], outputs: [7], options: pool2dOptions({ padding: 1, strideW: 2, strideH: 2, filterW: 2, filterH: 2 }) },
      { opcode: 3, inputs: [7, 8], outputs: [9], options: reshapeOptions() },
      { opcode: 4, inputs: [9, 10, -1], outputs: [11], options: fullyConnectedOptions({}) },
    ],
    inputs: [0],
    outputs: [11],
    buffers: [
      {},
      { data: int8Bytes(Array.from({ length: 18 }, (_, i) => i - 9)) },
      { data: int32Bytes([100, -100]) },
      { data: int8Bytes(Array.from({ length: 18 }, (_, i) => 2 * i - 17)) },
      { data: int32Bytes([7, 8]) },
      { data: int32Bytes([-1, 2]) },
      { data: int8Bytes([1, -1, 2, -2, 3, -3]) },
    ],
  };
}

/** Appends tensors to a spec under construction: with data, a constant with its own buffer. Returns the tensor's index. */
export function tensorAppender(tensors: TensorSpec[], buffers: BufferSpec[]): (t: TensorSpec, data?: Uint8Array) => number {
  return (t, data) => {
    if (data) {
      buffers.push({ data });
      t.buffer = buffers.length - 1;
    }
    tensors.push(t);
    return tensors.length - 1;
  };
}
