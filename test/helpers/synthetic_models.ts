// Small synthetic .tflite models for kernel coverage: a graph builder on top of tflite_builder.ts,
// a deterministic PRNG for weights and inputs, and byte conversions for hand-computed cases.

import { createHash } from 'node:crypto';
import type { LoadedModel } from '../../compiler/compile.ts';
import { parseTflite } from '../../compiler/frontends/tflite/index.ts';
import { TensorType } from '../../compiler/frontends/tflite/schema.ts';
import { buildTflite, int32Bytes, int8Bytes, type ModelSpec, type OptionsSpec, type QuantSpec } from './tflite_builder.ts';

/** TFLite ActivationFunctionType values. */
export const Act = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3 } as const;
/** TFLite Padding values. */
export const Pad = { SAME: 0, VALID: 1 } as const;

/** Per-tensor quantization. */
export function q(scale: number, zeroPoint = 0): QuantSpec {
  return { scale: [scale], zeroPoint: [zeroPoint] };
}

/** Per-channel (symmetric) quantization along `axis`. */
export function perChannel(scales: readonly number[], axis: number): QuantSpec {
  return { scale: [...scales], zeroPoint: scales.map(() => 0), axis };
}

/** xorshift32: deterministic across runs and platforms. */
export class Prng {
  private s: number;

  constructor(seed: number) {
    this.s = (0x9e3779b9 ^ Math.imul(seed + 1, 0x85ebca6b)) >>> 0 || 1;
  }

  next(): number {
    let s = this.s;
    s = (s ^ (s << 13)) >>> 0;
    s = (s ^ (s >>> 17)) >>> 0;
    s = (s ^ (s << 5)) >>> 0;
    this.s = s;
    return s;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + (this.next() % (hi - lo + 1));
  }

  /** Uniform in [0, 1). */
  unit(): number {
    return this.next() / 4294967296;
  }

  ints(n: number, lo: number, hi: number): number[] {
    return Array.from({ length: n }, () => this.int(lo, hi));
  }

  int8Bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

export function float32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

export function asInt8(bytes: Uint8Array): number[] {
  return Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

export function asFloat32(bytes: Uint8Array): number[] {
  const copy = bytes.slice();
  return Array.from(new Float32Array(copy.buffer, 0, copy.byteLength / 4));
}

export { int32Bytes, int8Bytes };

/** Builds a one-subgraph model tensor by tensor and op by op; buffers and opcodes are allocated as needed. */
export class GraphBuilder {
  private readonly spec: ModelSpec = { opcodes: [], tensors: [], operators: [], inputs: [], outputs: [], buffers: [{}] };
  private readonly opcodeOf = new Map<number, number>();

  /** A non-constant tensor (model input, output or intermediate). */
  tensor(name: string, shape: number[], quant?: QuantSpec, type: number = TensorType.INT8): number {
    this.spec.tensors.push({ name, shape, type, buffer: 0, ...(quant ? { quant } : {}) });
    return this.spec.tensors.length - 1;
  }

  /** A constant tensor with its own buffer. */
  constant(name: string, shape: number[], type: number, data: Uint8Array, quant?: QuantSpec): number {
    this.spec.buffers.push({ data });
    this.spec.tensors.push({ name, shape, type, buffer: this.spec.buffers.length - 1, ...(quant ? { quant } : {}) });
    return this.spec.tensors.length - 1;
  }

  int8Constant(name: string, shape: number[], values: readonly number[], quant: QuantSpec): number {
    return this.constant(name, shape, TensorType.INT8, int8Bytes(values), quant);
  }

  int32Constant(name: string, shape: number[], values: readonly number[]): number {
    return this.constant(name, shape, TensorType.INT32, int32Bytes(values));
  }

  op(builtin: number, inputs: number[], outputs: number[], options?: OptionsSpec): void {
    let opcode = this.opcodeOf.get(builtin);
    if (opcode === undefined) {
      opcode = this.spec.opcodes.length;
      this.spec.opcodes.push({ builtin });
      this.opcodeOf.set(builtin, opcode);
    }
    this.spec.operators.push({ opcode, inputs, outputs, ...(options ? { options } : {}) });
  }

  build(inputs: number[], outputs: number[]): Uint8Array {
    return buildTflite({ ...this.spec, inputs, outputs });
  }
}

/** A LoadedModel for in-memory bytes; `name` becomes the graph name and the C prefix. */
export function loadSynthetic(name: string, bytes: Uint8Array): LoadedModel {
  const path = `${name}.tflite`;
  return { path, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), graph: parseTflite(bytes, path) };
}

/** Wraps async jobs so that at most `limit` run at once (the rest wait in FIFO order). */
export function makeLimiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    // A finishing job hands its slot straight to the next waiter, so `active` never overshoots.
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
