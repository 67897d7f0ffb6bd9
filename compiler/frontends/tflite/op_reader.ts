// Reading one TFLite operator into the IR: arity, tensors, ranks and builtin options, with
// messages that name the operator. Shared by the built-in converters and the op modules.

import { elementCount, type Activation, type Padding, type Tensor } from '../../ir/graph.ts';
import { quote, type Fail, type Table } from './checked_reader.ts';
import { readFlexMap, type FlexValue } from './flexbuffers.ts';
import type { RawOperator } from './read_model.ts';
import { activationName, BuiltinOptionsType, Padding as PaddingEnum } from './schema.ts';

/** Largest rank we accept (TFLite kernels use far fewer; this keeps corrupt shapes out of later stages). */
export const MAX_RANK = 8;

/** "[1, 49, 10, 1]" */
export function showShape(shape: readonly number[]): string {
  return shape.length <= MAX_RANK ? `[${shape.join(', ')}]` : `[${shape.slice(0, MAX_RANK).join(', ')}, ... (${shape.length} dims)]`;
}

export function tensorLabel(t: { index: number; name: string } | { id: number; name: string }): string {
  const i = 'index' in t ? t.index : t.id;
  return t.name === '' ? `tensor ${i}` : `tensor ${i} ${quote(t.name)}`;
}

const ACTIVATIONS: readonly Activation[] = ['none', 'relu', 'relu_n1_to_1', 'relu6'];

/** Helpers for converting one operator, with messages that name it. */
export class OpReader {
  readonly label: string;

  constructor(
    readonly raw: RawOperator,
    readonly opName: string,
    readonly tensors: readonly Tensor[],
    readonly fail: Fail,
    /** Appends a tensor the reader creates (a custom op's state); its id must be the next index. */
    readonly addTensor: (t: Tensor) => void = () => {
      throw new Error('internal: this reader cannot add tensors');
    },
  ) {
    this.label = `operator ${raw.index} (${opName})`;
  }

  /** A custom operator's FlexBuffers options by key (empty when it has none). */
  customOptions(): ReadonlyMap<string, FlexValue> {
    const bytes = this.raw.customOptions;
    if (!bytes || bytes.length === 0) return new Map();
    if (this.raw.customOptionsFormat !== 0) this.fail(`${this.label} has custom options in format ${this.raw.customOptionsFormat} (expected FLEXBUFFERS = 0)`);
    return readFlexMap(bytes, (m) => this.fail(`${this.label} ${m}`));
  }

  /** An integer custom option that must be present and lie in [min, max]. */
  customInt(options: ReadonlyMap<string, FlexValue>, key: string, min: number, max: number): number {
    const v = options.get(key);
    const n = typeof v === 'boolean' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) this.fail(`${this.label} custom option '${key}' is ${v === undefined ? 'missing' : JSON.stringify(v)} (expected an integer)`);
    if (n < min || n > max) this.fail(`${this.label} custom option '${key}' is ${n} (expected ${min} to ${max})`);
    return n;
  }

  arity(minIn: number, maxIn: number, nOut: number): void {
    const n = this.raw.inputs.length;
    if (n < minIn || n > maxIn) {
      const want = minIn === maxIn ? `${minIn}` : `${minIn} or ${maxIn}`;
      this.fail(`${this.label} has ${n} inputs (expected ${want})`);
    }
    if (this.raw.outputs.length !== nOut) {
      this.fail(`${this.label} has ${this.raw.outputs.length} outputs (expected ${nOut})`);
    }
  }

  /** A required input. */
  input(i: number, role: string): Tensor {
    const t = this.optionalInput(i, role);
    if (!t) this.fail(`${this.label} input ${i} (${role}) is missing`);
    return t;
  }

  optionalInput(i: number, role: string): Tensor | undefined {
    const id = this.raw.inputs[i];
    if (id === undefined || id < 0) return undefined;
    const t = this.tensors[id];
    if (!t) this.fail(`${this.label} input ${i} (${role}) refers to missing tensor ${id}`);
    return t;
  }

  output(i: number): Tensor {
    const id = this.raw.outputs[i] ?? -1;
    const t = this.tensors[id];
    if (!t) this.fail(`${this.label} output ${i} refers to missing tensor ${id}`);
    return t;
  }

  /** An element-wise op's output: the shape of its input. */
  sameShape(x: Tensor, y: Tensor): void {
    if (x.shape.join() !== y.shape.join()) this.fail(`${this.label} output shape [${y.shape}] differs from input shape [${x.shape}]`);
  }

  /** An element-wise op: one input, one output of the input's shape. */
  elementwise(): { x: Tensor; y: Tensor } {
    this.arity(1, 1, 1);
    const x = this.input(0, 'input');
    const y = this.output(0);
    this.sameShape(x, y);
    return { x, y };
  }

  rank(t: Tensor, role: string, rank: number): void {
    if (t.shape.length !== rank) {
      this.fail(`${this.label} ${role} ${tensorLabel(t)} has shape ${showShape(t.shape)} (expected rank ${rank})`);
    }
  }

  /** Checks that a bias holds one value per output channel. */
  bias(b: Tensor | undefined, channels: number): void {
    if (!b) return;
    const n = elementCount(b.shape);
    if (n !== channels) {
      this.fail(`${this.label} bias ${tensorLabel(b)} has ${n} elements but the op has ${channels} output channels`);
    }
  }

  sameDim(what: string, a: number | undefined, b: number | undefined): void {
    if (a !== b) this.fail(`${this.label} ${what}: ${a} vs ${b}`);
  }

  /** The builtin options table, if its union type is the expected one (absent options mean all defaults). */
  options(expected: number, typeName: string): Table | undefined {
    const type = this.raw.builtinOptionsType;
    if (type === BuiltinOptionsType.NONE) return undefined;
    if (type !== expected) {
      this.fail(`${this.label} has builtin options of union type ${type} (expected ${typeName} = ${expected})`);
    }
    return this.raw.builtinOptions;
  }

  activation(t: Table | undefined, id: number): Activation {
    const a = t ? t.i8(id, 0, 'fused_activation_function') : 0;
    const act = ACTIVATIONS[a];
    if (act === undefined) {
      this.fail(`${this.label} uses fused activation ${activationName(a)}, which tinyforge does not support (supported: NONE, RELU, RELU_N1_TO_1, RELU6)`);
    }
    return act;
  }

  padding(t: Table | undefined, id: number): Padding {
    const p = t ? t.i8(id, 0, 'padding') : 0;
    if (p === PaddingEnum.SAME) return 'same';
    if (p === PaddingEnum.VALID) return 'valid';
    this.fail(`${this.label} has unknown padding ${p} (expected SAME = 0 or VALID = 1)`);
  }

  /** An int option that must be >= 1 (strides, dilations, filter sizes). */
  positive(t: Table | undefined, id: number, def: number, name: string): number {
    const v = t ? t.i32(id, def, name) : def;
    if (v < 1) this.fail(`${this.label} has ${name} ${v} (must be at least 1)`);
    return v;
  }
}

export function constantInts(t: Tensor): number[] | undefined {
  const d = t.data;
  if (!d) return undefined;
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const out: number[] = [];
  if (t.dtype === 'int32') {
    for (let i = 0; i + 4 <= d.length; i += 4) out.push(view.getInt32(i, true));
    return out;
  }
  if (t.dtype === 'int64') {
    for (let i = 0; i + 8 <= d.length; i += 8) out.push(Number(view.getBigInt64(i, true)));
    return out;
  }
  return undefined;
}

