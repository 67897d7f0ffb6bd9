// Reads the parts of a TFLite flatbuffer that tinyforge uses into plain objects, checking every
// offset, vtable, vector and index against the file. Field positions (`at`) are kept so that tests
// and tools can locate a field's bytes in the file.

import { CheckedReader, hex, quote, Table, type Fail } from './checked_reader.ts';
import { F, FILE_IDENTIFIER } from './schema.ts';

export const SUPPORTED_SCHEMA_VERSION = 3;

export interface RawOperatorCode {
  index: number;
  /** max(deprecated_builtin_code, builtin_code), as the TFLite runtime resolves it. */
  builtinCode: number;
  deprecatedBuiltinCode: number;
  extendedBuiltinCode: number;
  customCode: string | undefined;
  version: number;
  at: { table: number; deprecatedBuiltinCode?: number; builtinCode?: number };
}

export interface RawQuantization {
  scale: number[];
  zeroPoint: bigint[];
  quantizedDimension: number;
  /** QuantizationDetails union type (0 = none; anything else is custom quantization). */
  detailsType: number;
  at: { table: number; scale?: number; zeroPoint?: number; quantizedDimension?: number };
}

export interface RawTensor {
  index: number;
  name: string;
  shape: number[];
  type: number;
  buffer: number;
  quantization: RawQuantization | undefined;
  isVariable: boolean;
  hasSparsity: boolean;
  /** `shape` is the position of the shape vector's length word; its elements follow. */
  at: { table: number; shape?: number; type?: number; buffer?: number };
}

export interface RawOperator {
  index: number;
  opcodeIndex: number;
  inputs: number[];
  outputs: number[];
  builtinOptionsType: number;
  /** The builtin options table, read by the op converter (its type is builtinOptionsType). */
  builtinOptions: Table | undefined;
  builtinOptions2Type: number;
  /** A custom operator's options (a view into the file; FlexBuffers when customOptionsFormat is 0). */
  customOptions: Uint8Array | undefined;
  customOptionsFormat: number;
  /** `inputs` / `outputs` are positions of the vectors' length words. */
  at: { table: number; opcodeIndex?: number; inputs?: number; outputs?: number };
}

export interface RawSubgraph {
  name: string;
  tensors: RawTensor[];
  inputs: number[];
  outputs: number[];
  operators: RawOperator[];
  at: { table: number; inputs?: number; outputs?: number };
}

export interface RawBuffer {
  index: number;
  /** Contents, a view into the file; undefined when the buffer is empty. */
  data: Uint8Array | undefined;
  at: { table: number; data?: number };
}

export interface RawModel {
  fileSize: number;
  version: number;
  operatorCodes: RawOperatorCode[];
  subgraphCount: number;
  /** Subgraph 0, the main graph. */
  subgraph: RawSubgraph;
  /** Every subgraph (CALL_ONCE runs an init subgraph by index). */
  subgraphs: RawSubgraph[];
  buffers: RawBuffer[];
  at: { root: number; version?: number };
}

/** Printable form of the 4 identifier bytes. */
function showIdentifier(bytes: Uint8Array): string {
  let s = '';
  for (let i = 4; i < 8; i++) {
    const b = bytes[i] ?? 0;
    s += b >= 0x20 && b < 0x7f && b !== 0x27 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return s;
}

function readOperatorCode(t: Table, index: number): RawOperatorCode {
  const f = F.OperatorCode;
  const deprecated = t.i8(f.deprecatedBuiltinCode, 0, 'deprecated_builtin_code');
  const extended = t.i32(f.builtinCode, 0, 'builtin_code');
  const at: RawOperatorCode['at'] = { table: t.pos };
  const dp = t.fieldPos(f.deprecatedBuiltinCode);
  const bp = t.fieldPos(f.builtinCode);
  if (dp !== undefined) at.deprecatedBuiltinCode = dp;
  if (bp !== undefined) at.builtinCode = bp;
  return {
    index,
    builtinCode: Math.max(deprecated, extended),
    deprecatedBuiltinCode: deprecated,
    extendedBuiltinCode: extended,
    customCode: t.string(f.customCode, 'custom_code'),
    version: t.i32(f.version, 1, 'version'),
    at,
  };
}

function readQuantization(t: Table): RawQuantization {
  const f = F.QuantizationParameters;
  const scaleVec = t.vector(f.scale, 4, 'scale');
  const zpVec = t.vector(f.zeroPoint, 8, 'zero_point');
  const at: RawQuantization['at'] = { table: t.pos };
  const qd = t.fieldPos(f.quantizedDimension);
  if (scaleVec) at.scale = scaleVec.pos;
  if (zpVec) at.zeroPoint = zpVec.pos;
  if (qd !== undefined) at.quantizedDimension = qd;
  return {
    scale: scaleVec ? scaleVec.float32s() : [],
    zeroPoint: zpVec ? zpVec.int64s() : [],
    quantizedDimension: t.i32(f.quantizedDimension, 0, 'quantized_dimension'),
    detailsType: t.u8(f.detailsType, 0, 'details_type'),
    at,
  };
}

function readTensor(t: Table, index: number): RawTensor {
  const f = F.Tensor;
  const shapeVec = t.vector(f.shape, 4, 'shape');
  const at: RawTensor['at'] = { table: t.pos };
  if (shapeVec) at.shape = shapeVec.pos;
  const tp = t.fieldPos(f.type);
  const bp = t.fieldPos(f.buffer);
  if (tp !== undefined) at.type = tp;
  if (bp !== undefined) at.buffer = bp;
  const name = t.string(f.name, 'name') ?? '';
  // Name the tensor in messages about its quantization once we know its name.
  const quantTable = t.table(f.quantization, name === '' ? 'quantization' : `${quote(name)} quantization`);
  return {
    index,
    name,
    shape: shapeVec ? shapeVec.int32s() : [],
    type: t.i8(f.type, 0, 'type'),
    buffer: t.u32(f.buffer, 0, 'buffer'),
    quantization: quantTable ? readQuantization(quantTable) : undefined,
    isVariable: t.bool(f.isVariable, false, 'is_variable'),
    hasSparsity: t.has(f.sparsity),
    at,
  };
}

function readOperator(t: Table, index: number): RawOperator {
  const f = F.Operator;
  const inputs = t.vector(f.inputs, 4, 'inputs');
  const outputs = t.vector(f.outputs, 4, 'outputs');
  const at: RawOperator['at'] = { table: t.pos };
  const op = t.fieldPos(f.opcodeIndex);
  if (op !== undefined) at.opcodeIndex = op;
  if (inputs) at.inputs = inputs.pos;
  if (outputs) at.outputs = outputs.pos;
  const builtinOptionsType = t.u8(f.builtinOptionsType, 0, 'builtin_options_type');
  return {
    index,
    opcodeIndex: t.u32(f.opcodeIndex, 0, 'opcode_index'),
    inputs: inputs ? inputs.int32s() : [],
    outputs: outputs ? outputs.int32s() : [],
    builtinOptionsType,
    builtinOptions: builtinOptionsType === 0 ? undefined : t.table(f.builtinOptions, 'builtin_options'),
    builtinOptions2Type: t.u8(f.builtinOptions2Type, 0, 'builtin_options_2_type'),
    customOptions: t.vector(f.customOptions, 1, 'custom_options')?.bytes(),
    customOptionsFormat: t.i8(f.customOptionsFormat, 0, 'custom_options_format'),
    at,
  };
}

function readSubgraph(t: Table): RawSubgraph {
  const f = F.SubGraph;
  const tensorVec = t.vector(f.tensors, 4, 'tensors');
  const tensors: RawTensor[] = [];
  if (tensorVec) {
    for (let i = 0; i < tensorVec.length; i++) tensors.push(readTensor(tensorVec.table(i, `tensor ${i}`), i));
  }
  const inputs = t.vector(f.inputs, 4, 'inputs');
  const outputs = t.vector(f.outputs, 4, 'outputs');
  const opVec = t.vector(f.operators, 4, 'operators');
  const operators: RawOperator[] = [];
  if (opVec) {
    for (let i = 0; i < opVec.length; i++) operators.push(readOperator(opVec.table(i, `operator ${i}`), i));
  }
  const at: RawSubgraph['at'] = { table: t.pos };
  if (inputs) at.inputs = inputs.pos;
  if (outputs) at.outputs = outputs.pos;
  return {
    name: t.string(f.name, 'name') ?? '',
    tensors,
    inputs: inputs ? inputs.int32s() : [],
    outputs: outputs ? outputs.int32s() : [],
    operators,
    at,
  };
}

function readBuffer(r: CheckedReader, t: Table, index: number): RawBuffer {
  const f = F.Buffer;
  const at: RawBuffer['at'] = { table: t.pos };
  const dataVec = t.vector(f.data, 1, 'data');
  let data: Uint8Array | undefined;
  if (dataVec && dataVec.length > 0) {
    at.data = dataVec.elem(0);
    data = dataVec.bytes();
  }
  // Models over 2 GB keep buffer contents outside the flatbuffer: `offset` (from the start of the
  // file, meaningful when > 1) and `size`.
  const offset = t.u64(f.offset, 0n, 'offset');
  if (offset > 1n) {
    const size = t.u64(f.size, 0n, 'size');
    if (offset + size > BigInt(r.size)) {
      r.fail(
        `truncated: buffer ${index} data at offset ${hex(Number(offset))} (${size} bytes) runs past end of file (${r.size} bytes)`,
      );
    }
    if (size > 0n) {
      const start = Number(offset);
      at.data = start;
      data = r.bytes.subarray(start, start + Number(size));
    }
  }
  return { index, data, at };
}

/** Reads the model structure; throws (through `fail`) on the first inconsistency. */
export function readRawModel(bytes: Uint8Array, fail: Fail): RawModel {
  if (bytes.length === 0) fail('truncated: file is empty (0 bytes)');
  if (bytes.length < 8) {
    fail(`truncated: file is ${bytes.length} bytes, too short for a flatbuffer header (8 bytes)`);
  }
  const ident = showIdentifier(bytes);
  if (ident !== FILE_IDENTIFIER) {
    fail(`bad file identifier '${ident}' (expected '${FILE_IDENTIFIER}'; is this a .tflite file?)`);
  }
  const r = new CheckedReader(bytes, fail);
  const root = r.deref(0, 'root table');
  const model = r.table(root, 'model');
  const f = F.Model;

  const version = model.u32(f.version, 0, 'version');
  if (version !== SUPPORTED_SCHEMA_VERSION) {
    fail(`schema version ${version} is not supported (expected ${SUPPORTED_SCHEMA_VERSION})`);
  }

  const codeVec = model.vector(f.operatorCodes, 4, 'operator_codes');
  const operatorCodes: RawOperatorCode[] = [];
  if (codeVec) {
    for (let i = 0; i < codeVec.length; i++) {
      operatorCodes.push(readOperatorCode(codeVec.table(i, `operator code ${i}`), i));
    }
  }

  const subgraphVec = model.vector(f.subgraphs, 4, 'subgraphs');
  if (!subgraphVec || subgraphVec.length === 0) fail('the model has no subgraphs');
  const subgraphs: RawSubgraph[] = [];
  for (let i = 0; i < subgraphVec.length; i++) subgraphs.push(readSubgraph(subgraphVec.table(i, `subgraph ${i}`)));
  const subgraph = subgraphs[0] as RawSubgraph;

  const bufferVec = model.vector(f.buffers, 4, 'buffers');
  const buffers: RawBuffer[] = [];
  if (bufferVec) {
    for (let i = 0; i < bufferVec.length; i++) buffers.push(readBuffer(r, bufferVec.table(i, `buffer ${i}`), i));
  }

  const at: RawModel['at'] = { root };
  const vp = model.fieldPos(f.version);
  if (vp !== undefined) at.version = vp;
  return {
    fileSize: bytes.length,
    version,
    operatorCodes,
    subgraphCount: subgraphVec.length,
    subgraph,
    subgraphs,
    buffers,
    at,
  };
}
