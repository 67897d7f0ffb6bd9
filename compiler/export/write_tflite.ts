// Writes a tinyforge IR graph back to a .tflite flatbuffer (schema version 3), so that a graph
// changed by the compiler (e.g. magnitude-pruned) can be fed to TFLite / TFLite Micro again.
// The frontend reads the result back to an identical IR: every tensor (shape, type, name,
// quantization with its per-channel axis, constant data; tensors that shared a buffer share one
// again), every op with its builtin options, and the graph inputs and outputs.

import { Builder } from 'flatbuffers';
import { TinyforgeError } from '../errors.ts';
import type { Activation, DType, Graph, Op, OpKind, Padding, Quantization, Tensor } from '../ir/graph.ts';
import { BuiltinOp, BuiltinOptionsType, builtinOperatorCode, F, FILE_IDENTIFIER, Padding as PaddingEnum, TensorType } from '../frontends/tflite/schema.ts';
import { buildModuleOptions, canWriteModule } from './module_options.ts';
import { packInt4 } from '../frontends/tflite/int4.ts';

type Offset = number;

const TENSOR_TYPE: Readonly<Record<DType, number>> = {
  int8: TensorType.INT8,
  uint8: TensorType.UINT8,
  int16: TensorType.INT16,
  int32: TensorType.INT32,
  uint32: TensorType.UINT32,
  int64: TensorType.INT64,
  uint64: TensorType.UINT64,
  float32: TensorType.FLOAT32,
  float16: TensorType.FLOAT16,
  bool: TensorType.BOOL,
};

const BUILTIN_CODE: Readonly<Record<Exclude<OpKind, 'module'>, number>> = {
  conv2d: BuiltinOp.CONV_2D,
  depthwise_conv2d: BuiltinOp.DEPTHWISE_CONV_2D,
  fully_connected: BuiltinOp.FULLY_CONNECTED,
  average_pool2d: BuiltinOp.AVERAGE_POOL_2D,
  max_pool2d: BuiltinOp.MAX_POOL_2D,
  add: BuiltinOp.ADD,
  mul: BuiltinOp.MUL,
  softmax: BuiltinOp.SOFTMAX,
  reshape: BuiltinOp.RESHAPE,
  pad: BuiltinOp.PAD,
  concatenation: BuiltinOp.CONCATENATION,
  quantize: BuiltinOp.QUANTIZE,
  dequantize: BuiltinOp.DEQUANTIZE,
};

/** The builtin code of an op: the kind's, except that a PAD with constant_values (three inputs) is PADV2. */
function builtinCode(op: Op): number {
  if (op.kind === 'module') {
    const code = builtinOperatorCode(op.module);
    if (code < 0 || !canWriteModule(op)) throw new TinyforgeError(`the .tflite writer cannot write ${op.module} yet`);
    return code;
  }
  return op.kind === 'pad' && op.inputs.length === 3 ? BuiltinOp.PADV2 : BUILTIN_CODE[op.kind];
}

/** Operator versions of the int8 forms of each op, as the TFLite converter writes them (TFLite Micro does not check them). */
const OP_VERSION_INT8: Readonly<Record<Exclude<OpKind, 'module'>, number>> = {
  conv2d: 3,
  depthwise_conv2d: 3,
  fully_connected: 4,
  average_pool2d: 2,
  max_pool2d: 2,
  add: 2,
  mul: 2,
  softmax: 2,
  reshape: 1,
  pad: 2,
  concatenation: 2,
  quantize: 2,
  dequantize: 2,
};

/** Versions of the int16-activation forms (TFLite's 16x8 mode: int16 activations, int8 weights), as TFLite's op versioning gives them. */
const OP_VERSION_INT16: Readonly<Record<Exclude<OpKind, 'module'>, number>> = {
  conv2d: 4,
  depthwise_conv2d: 5,
  fully_connected: 7,
  average_pool2d: 3,
  max_pool2d: 3,
  add: 3,
  mul: 4,
  softmax: 3,
  reshape: 1,
  pad: 3,
  concatenation: 3,
  quantize: 2,
  dequantize: 3,
};

/** True when the op's first input is int16 (its int16 form). */
function int16Op(graph: Graph, op: Op): boolean {
  return graph.tensors[op.inputs[0] ?? -1]?.dtype === 'int16';
}

const ACTIVATION_CODE: Readonly<Record<Activation, number>> = { none: 0, relu: 1, relu_n1_to_1: 2, relu6: 3 };

function paddingCode(p: Padding): number {
  return p === 'same' ? PaddingEnum.SAME : PaddingEnum.VALID;
}

function intVector(b: Builder, values: readonly number[]): Offset {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i] as number);
  return b.endVector();
}

function floatVector(b: Builder, values: readonly number[]): Offset {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i] as number);
  return b.endVector();
}

function longVector(b: Builder, values: readonly number[]): Offset {
  b.startVector(8, values.length, 8);
  for (let i = values.length - 1; i >= 0; i--) b.addInt64(BigInt(values[i] as number));
  return b.endVector();
}

function offsetVector(b: Builder, offsets: readonly Offset[]): Offset {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i] as number);
  return b.endVector();
}

/** A ubyte vector whose first byte is 16-byte aligned (as the TFLite converter aligns buffers). */
function dataVector(b: Builder, data: Uint8Array): Offset {
  b.startVector(1, data.length, 16);
  for (let i = data.length - 1; i >= 0; i--) b.writeInt8(data[i] as number);
  return b.endVector();
}

function buildQuant(b: Builder, q: Quantization): Offset {
  const f = F.QuantizationParameters;
  const scale = floatVector(b, q.scale);
  const zp = longVector(b, q.zeroPoint);
  b.startObject(7);
  b.addFieldOffset(f.scale, scale, 0);
  b.addFieldOffset(f.zeroPoint, zp, 0);
  b.addFieldInt32(f.quantizedDimension, q.axis, null);
  return b.endObject();
}

function buildTensor(b: Builder, t: Tensor, buffer: number, int4: boolean): Offset {
  const f = F.Tensor;
  const shape = intVector(b, t.shape);
  const name = b.createString(t.name);
  const quant = t.quant ? buildQuant(b, t.quant) : 0;
  b.startObject(10);
  b.addFieldOffset(f.shape, shape, 0);
  b.addFieldInt8(f.type, int4 ? TensorType.INT4 : TENSOR_TYPE[t.dtype], null);
  b.addFieldInt32(f.buffer, buffer, null);
  b.addFieldOffset(f.name, name, 0);
  if (quant) b.addFieldOffset(f.quantization, quant, 0);
  return b.endObject();
}

/** The builtin options of an op: union type and table (type NONE for ops without options). */
function buildOptions(b: Builder, op: Op, int16: boolean): { type: number; table: Offset } {
  switch (op.kind) {
    case 'module':
      return buildModuleOptions(b, op);
    case 'conv2d': {
      const f = F.Conv2DOptions;
      const a = op.attrs;
      b.startObject(7);
      b.addFieldInt8(f.padding, paddingCode(a.padding), null);
      b.addFieldInt32(f.strideW, a.strideW, null);
      b.addFieldInt32(f.strideH, a.strideH, null);
      b.addFieldInt8(f.fusedActivation, ACTIVATION_CODE[a.activation], null);
      b.addFieldInt32(f.dilationW, a.dilationW, null);
      b.addFieldInt32(f.dilationH, a.dilationH, null);
      return { type: BuiltinOptionsType.Conv2DOptions, table: b.endObject() };
    }
    case 'depthwise_conv2d': {
      const f = F.DepthwiseConv2DOptions;
      const a = op.attrs;
      b.startObject(7);
      b.addFieldInt8(f.padding, paddingCode(a.padding), null);
      b.addFieldInt32(f.strideW, a.strideW, null);
      b.addFieldInt32(f.strideH, a.strideH, null);
      b.addFieldInt32(f.depthMultiplier, a.depthMultiplier, null);
      b.addFieldInt8(f.fusedActivation, ACTIVATION_CODE[a.activation], null);
      b.addFieldInt32(f.dilationW, a.dilationW, null);
      b.addFieldInt32(f.dilationH, a.dilationH, null);
      return { type: BuiltinOptionsType.DepthwiseConv2DOptions, table: b.endObject() };
    }
    case 'fully_connected': {
      const f = F.FullyConnectedOptions;
      b.startObject(5);
      b.addFieldInt8(f.fusedActivation, ACTIVATION_CODE[op.attrs.activation], null);
      b.addFieldInt8(f.weightsFormat, 0, null);
      b.addFieldInt8(f.keepNumDims, op.attrs.keepNumDims ? 1 : 0, null);
      return { type: BuiltinOptionsType.FullyConnectedOptions, table: b.endObject() };
    }
    case 'average_pool2d':
    case 'max_pool2d': {
      const f = F.Pool2DOptions;
      const a = op.attrs;
      b.startObject(6);
      b.addFieldInt8(f.padding, paddingCode(a.padding), null);
      b.addFieldInt32(f.strideW, a.strideW, null);
      b.addFieldInt32(f.strideH, a.strideH, null);
      b.addFieldInt32(f.filterW, a.filterW, null);
      b.addFieldInt32(f.filterH, a.filterH, null);
      b.addFieldInt8(f.fusedActivation, ACTIVATION_CODE[a.activation], null);
      return { type: BuiltinOptionsType.Pool2DOptions, table: b.endObject() };
    }
    case 'add':
    case 'mul': {
      b.startObject(op.kind === 'add' ? 2 : 1);
      b.addFieldInt8(F.AddOptions.fusedActivation, ACTIVATION_CODE[op.attrs.activation], null);
      // pot_scale_int16 defaults to true, which sends TFLite's int16 ADD down a path that needs
      // power-of-two scales; the general path (what TFLite Micro always runs) needs it false.
      if (op.kind === 'add' && int16) b.addFieldInt8(F.AddOptions.potScaleInt16, 0, 1);
      return { type: op.kind === 'add' ? BuiltinOptionsType.AddOptions : BuiltinOptionsType.MulOptions, table: b.endObject() };
    }
    case 'softmax': {
      b.startObject(1);
      b.addFieldFloat32(F.SoftmaxOptions.beta, op.attrs.beta, null);
      return { type: BuiltinOptionsType.SoftmaxOptions, table: b.endObject() };
    }
    case 'reshape': {
      const shape = intVector(b, op.attrs.newShape);
      b.startObject(1);
      b.addFieldOffset(F.ReshapeOptions.newShape, shape, 0);
      return { type: BuiltinOptionsType.ReshapeOptions, table: b.endObject() };
    }
    case 'pad': {
      // PadOptions and PadV2Options are empty tables; the converter writes them anyway.
      b.startObject(0);
      return { type: op.inputs.length === 3 ? BuiltinOptionsType.PadV2Options : BuiltinOptionsType.PadOptions, table: b.endObject() };
    }
    case 'concatenation': {
      const f = F.ConcatenationOptions;
      b.startObject(2);
      b.addFieldInt32(f.axis, op.attrs.axis, null);
      b.addFieldInt8(f.fusedActivation, ACTIVATION_CODE[op.attrs.activation], null);
      return { type: BuiltinOptionsType.ConcatenationOptions, table: b.endObject() };
    }
    case 'quantize':
    case 'dequantize':
      return { type: BuiltinOptionsType.NONE, table: 0 };
  }
}

function buildOperator(b: Builder, op: Op, opcodeIndex: number, int16: boolean): Offset {
  const f = F.Operator;
  // The IR keeps RESHAPE's target shape as an attribute (no shape input); it goes into ReshapeOptions.
  const inputs = intVector(b, op.inputs);
  const outputs = intVector(b, op.outputs);
  const options = buildOptions(b, op, int16);
  b.startObject(13);
  b.addFieldInt32(f.opcodeIndex, opcodeIndex, null);
  b.addFieldOffset(f.inputs, inputs, 0);
  b.addFieldOffset(f.outputs, outputs, 0);
  if (options.type !== BuiltinOptionsType.NONE) {
    b.addFieldInt8(f.builtinOptionsType, options.type, null);
    b.addFieldOffset(f.builtinOptions, options.table, 0);
  }
  return b.endObject();
}

function buildOperatorCode(b: Builder, kind: OpKind, code: number, int16: boolean): Offset {
  const f = F.OperatorCode;
  b.startObject(4);
  // Codes below 127 go in both fields (old readers use the int8 one); higher codes use the
  // placeholder 127 there, as the converter writes them.
  b.addFieldInt8(f.deprecatedBuiltinCode, Math.min(code, 127), null);
  b.addFieldInt32(f.version, kind === 'module' ? 1 : (int16 ? OP_VERSION_INT16 : OP_VERSION_INT8)[kind], null);
  b.addFieldInt32(f.builtinCode, code, null);
  return b.endObject();
}

export interface WriteTfliteOptions {
  /** Model description string (default "tinyforge"). */
  description?: string;
}

/** int8 values packed as INT4, or undefined when one leaves [-8, 7] (e.g. after fine-tuning). */
function repackInt4(data: Uint8Array): Uint8Array | undefined {
  const values = new Int8Array(data.buffer, data.byteOffset, data.byteLength);
  return values.every((v) => v >= -8 && v <= 7) ? packInt4(values) : undefined;
}

/** Serializes `graph` as a .tflite file. */
export function writeTflite(graph: Graph, options: WriteTfliteOptions = {}): Uint8Array {
  graph.tensors.forEach((t, i) => {
    if (t.id !== i) throw new TinyforgeError(`tensor ${i} '${t.name}' has id ${t.id}: tensor ids must be their indices`);
  });
  const b = new Builder(1024);
  // Buffers: 0 is the empty sentinel; tensors that share a data array share a buffer.
  const bufferOf = new Map<Uint8Array, number>();
  const bufferData: (Uint8Array | undefined)[] = [undefined];
  // Constants read from INT4 go back as INT4 (packed per tensor) while their values still fit.
  const int4Data = graph.tensors.map((t) => (t.int4 && t.dtype === 'int8' && t.data ? repackInt4(t.data) : undefined));
  const tensorBuffer = graph.tensors.map((t, i) => {
    const data = int4Data[i] ?? t.data;
    if (!data || data.byteLength === 0) return 0;
    let index = bufferOf.get(data);
    if (index === undefined) {
      index = bufferData.length;
      bufferData.push(data);
      bufferOf.set(data, index);
    }
    return index;
  });
  // Operator codes in first-use order (PAD and PADV2 are one IR kind but two codes). An opcode
  // carries one version: an op used in both int8 and int16 forms gets the int16 (higher) one.
  const codes: { kind: OpKind; code: number; int16: boolean }[] = [];
  for (const op of graph.ops) {
    const known = codes.find((c) => c.code === builtinCode(op));
    if (known) known.int16 ||= int16Op(graph, op);
    else codes.push({ kind: op.kind, code: builtinCode(op), int16: int16Op(graph, op) });
  }
  const codeIndex = (op: Op): number => codes.findIndex((c) => c.code === builtinCode(op));

  const buffers = bufferData.map((data) => {
    const vec = data ? dataVector(b, data) : 0;
    b.startObject(3);
    if (vec) b.addFieldOffset(F.Buffer.data, vec, 0);
    return b.endObject();
  });
  const tensors = graph.tensors.map((t, i) => buildTensor(b, t, tensorBuffer[i] as number, int4Data[i] !== undefined));
  const operators = graph.ops.map((op) => buildOperator(b, op, codeIndex(op), int16Op(graph, op)));
  const codeTables = codes.map((c) => buildOperatorCode(b, c.kind, c.code, c.int16));

  const sf = F.SubGraph;
  const tensorVec = offsetVector(b, tensors);
  const inputVec = intVector(b, graph.inputs);
  const outputVec = intVector(b, graph.outputs);
  const opVec = offsetVector(b, operators);
  const sgName = b.createString(graph.name);
  b.startObject(5);
  b.addFieldOffset(sf.tensors, tensorVec, 0);
  b.addFieldOffset(sf.inputs, inputVec, 0);
  b.addFieldOffset(sf.outputs, outputVec, 0);
  b.addFieldOffset(sf.operators, opVec, 0);
  b.addFieldOffset(sf.name, sgName, 0);
  const subgraph = b.endObject();

  const mf = F.Model;
  const codeVec = offsetVector(b, codeTables);
  const subgraphVec = offsetVector(b, [subgraph]);
  const description = b.createString(options.description ?? 'tinyforge');
  const bufferVec = offsetVector(b, buffers);
  b.startObject(5);
  b.addFieldInt32(mf.version, 3, null);
  b.addFieldOffset(mf.operatorCodes, codeVec, 0);
  b.addFieldOffset(mf.subgraphs, subgraphVec, 0);
  b.addFieldOffset(mf.description, description, 0);
  b.addFieldOffset(mf.buffers, bufferVec, 0);
  b.finish(b.endObject(), FILE_IDENTIFIER);
  return b.asUint8Array().slice();
}
