// One module per TFLite operator family: how the frontend reads it, how it is lowered (TFLite
// Micro's Prepare, done at compile time), the TypeScript reference kernel, and the C call the
// emitter writes. The registry (registry.ts) is the only table that lists them, so adding an op
// is one new file here, one C kernel in runtime-c-templates/portable/ and one line in the table.

import type { DType, Graph, ModuleOp, Tensor } from '../ir/graph.ts';
import type { Layer, ModuleLayer } from '../ir/layers.ts';
import type { OpReader } from '../frontends/tflite/op_reader.ts';
import type { LoweringContext } from '../passes/lower.ts';
import type { AccumulatorShape } from '../passes/check_accumulators.ts';

/** Values an op's attributes (read from the file) and parameters (computed at lowering) may hold. */
export type AttrValue = number | boolean | string | readonly number[];
export type ModuleAttrs = Readonly<Record<string, AttrValue>>;
/** Parameters a module's lowering computes; each module states its own shape. */
export type ModuleParams = object;

/** A tensor's bytes with typed views, for reference kernels. */
export interface TensorData {
  readonly tensor: Tensor;
  readonly bytes: Uint8Array;
  s8(): Int8Array;
  u8(): Uint8Array;
  s16(): Int16Array;
  s32(): Int32Array;
  u32(): Uint32Array;
  f32(): Float32Array;
  s64(): BigInt64Array;
  u64(): BigUint64Array;
}

/** What a reference kernel sees: the layer's activation inputs and outputs (constants included). */
export interface KernelIo {
  readonly graph: Graph;
  input(i: number): TensorData;
  output(i: number): TensorData;
  readonly inputCount: number;
  readonly outputCount: number;
}

/** What a module's C emitter uses to write its layer. */
export interface CEmitter {
  /** The layer's unique C identifier prefix (e.g. tf_layer3). */
  readonly name: string;
  readonly graph: Graph;
  readonly layer: ModuleLayer;
  /** Pointer expression to activation input / output i (typed by the tensor's dtype). */
  input(i: number): string;
  output(i: number): string;
  /** Declares `static const <type> <name> = { fields }` and returns `&<name>`; `suffix` names a
   * second parameter block of the same layer (e.g. one per output of a split). */
  params(type: string, fields: Record<string, string | number>, suffix?: string): string;
  /** A constant array in flash; returns its C name. `suffix` makes the name unique within the layer. */
  array(suffix: string, ctype: CArrayType, values: ArrayLike<number>, comment?: string): string;
  /** A constant tensor of the model, emitted once; returns its C name. */
  constant(tensorId: number): string;
  /** The layer's scratch space (planned in the arena), as a `void *` expression. */
  scratch(): string;
  /** Appends one statement line to invoke(). */
  call(statement: string): void;
}

export type CArrayType = 'int8_t' | 'uint8_t' | 'int16_t' | 'uint16_t' | 'int32_t' | 'uint32_t' | 'int64_t';

/** What `lower` returns: a module layer's parameters, or any existing layer kind (e.g. a reshape). */
export interface ModuleLowering<P> {
  params: P;
  /** The kernel name shown in summaries and comments (e.g. "mean_s8"); defaults to the module name. */
  kernel?: string;
  /** C source files (relative to runtime-c-templates/) the call needs, helpers first. */
  cFiles: readonly string[];
  /** Activation inputs in kernel order; defaults to the op's non-constant inputs... see lower.ts. */
  inputs?: readonly number[];
  outputs?: readonly number[];
  macs?: number;
  scratchBytes?: number;
  /**
   * Positions in the activation inputs whose buffer the output may overwrite: the kernel reads
   * element i of that input (of the output's element size) before it writes output element i, and
   * never reads it again.
   */
  inPlace?: readonly number[];
  /** Constant tensors the layer's C reads as they are from flash (counted in the flash summary and the board fit). */
  constants?: readonly number[];
}

export interface OpModule<A extends ModuleAttrs, P extends ModuleParams> {
  /** TFLite builtin operator names this module reads (none for a kernel that a built-in op's lowering picks). */
  readonly builtins: readonly string[];
  /** Registry key of a kernel-only module (e.g. "conv_s16"); reader-facing modules use their builtin names. */
  readonly key?: string;
  /**
   * Builtins whose float32 form this kernel-only module computes: lower.ts hands it any of these
   * ops whose output is float32, whichever module reads them.
   */
  readonly float32For?: readonly string[];
  /** Reads the operator: arity, ranks, options. Throws through `r.fail`. */
  read(r: OpReader, builtin: string): A;
  /** TFLite Micro's Prepare: shapes, multipliers, tables. Returns a module layer's parameters or any layer. */
  lower(ctx: LoweringContext, attrs: A, op: ModuleOp): ModuleLowering<P> | Layer;
  /** The reference kernel, TFLite Micro's arithmetic exactly. */
  run(params: P, io: KernelIo): void;
  /** Writes the layer's C: parameter block, constants and the call. */
  emitC(params: P, e: CEmitter): void;
  /** True when the op is pure shape arithmetic whose output is known at compile time from static shapes (SHAPE). */
  foldFromShapes?: (graph: Graph, op: ModuleOp) => Uint8Array | undefined;
  /**
   * State the op keeps between invokes that the file has no tensor for (TFLite Micro custom ops
   * hold it in persistent buffers): the reader creates one zero-initialised state tensor per entry
   * and appends it to the op's inputs, in order.
   */
  stateTensors?: (r: OpReader, attrs: A) => readonly StateTensorSpec[];
  /**
   * The accumulators the kernel sums constant weights (and a constant bias) into, so that
   * passes/check_accumulators.ts can refuse constants that could overflow them.
   */
  accumulators?: (params: P, graph: Graph) => readonly AccumulatorShape[];
}

export interface StateTensorSpec {
  name: string;
  shape: readonly number[];
  dtype: DType;
}

/** A registered module with its types erased; the casts that erase them live only here. */
export interface RegisteredOp {
  readonly builtins: readonly string[];
  readonly key?: string;
  readonly float32For?: readonly string[];
  read(r: OpReader, builtin: string): ModuleAttrs;
  lower(ctx: LoweringContext, op: ModuleOp): ModuleLowering<ModuleParams> | Layer;
  run(params: ModuleParams, io: KernelIo): void;
  emitC(params: ModuleParams, e: CEmitter): void;
  foldFromShapes?: (graph: Graph, op: ModuleOp) => Uint8Array | undefined;
  stateTensors?: (r: OpReader, attrs: ModuleAttrs) => readonly StateTensorSpec[];
  accumulators?: (params: ModuleParams, graph: Graph) => readonly AccumulatorShape[];
}

export function defineOp<A extends ModuleAttrs, P extends ModuleParams>(m: OpModule<A, P>): RegisteredOp {
  const reg: { -readonly [K in keyof RegisteredOp]: RegisteredOp[K] } = {
    builtins: m.builtins,
    read: (r, builtin) => m.read(r, builtin),
    lower: (ctx, op) => m.lower(ctx, op.attrs as A, op),
    run: (params, io) => m.run(params as P, io),
    emitC: (params, e) => m.emitC(params as P, e),
  };
  if (m.foldFromShapes) reg.foldFromShapes = m.foldFromShapes;
  const stateTensors = m.stateTensors;
  if (stateTensors) reg.stateTensors = (r, attrs) => stateTensors(r, attrs as A);
  if (m.float32For) reg.float32For = m.float32For;
  const accumulators = m.accumulators;
  if (accumulators) reg.accumulators = (params, graph) => accumulators(params as P, graph);
  return m.key === undefined ? reg : { ...reg, key: m.key };
}

export function isModuleLowering(x: ModuleLowering<ModuleParams> | Layer): x is ModuleLowering<ModuleParams> {
  return 'cFiles' in x;
}

export type { DType };
