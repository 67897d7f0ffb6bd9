// The host reference implementation: runs lowered layers with the TS kernels.
// It is the oracle the C paths are compared with when no golden output exists.

import { TinyforgeError } from '../errors.ts';
import { DTYPE_BYTES, elementCount, type Graph, type Tensor } from '../ir/graph.ts';
import type { Layer } from '../ir/layers.ts';
import type { KernelIo, TensorData } from '../ops/op_module.ts';
import { requireModule } from '../ops/registry.ts';
import { addS8 } from '../kernels/add_s8.ts';
import { avgPoolS8 } from '../kernels/avg_pool_s8.ts';
import { concatenationS8 } from '../kernels/concatenation_s8.ts';
import { convS8 } from '../kernels/conv_s8.ts';
import { depthwiseConvS8 } from '../kernels/depthwise_conv_s8.ts';
import { fullyConnectedS8 } from '../kernels/fully_connected_s8.ts';
import { maxPoolS8 } from '../kernels/max_pool_s8.ts';
import { mulS8 } from '../kernels/mul_s8.ts';
import { padS8 } from '../kernels/pad_s8.ts';
import { dequantizeS8F32, quantizeF32S8, requantizeS8 } from '../kernels/quantize.ts';
import { softmaxS8 } from '../kernels/softmax_s8.ts';

/** Typed views of a tensor's bytes (the buffer must start at an offset aligned for its type). */
export function tensorData(tensor: Tensor, bytes: Uint8Array): TensorData {
  const view = <T>(make: (b: ArrayBuffer, off: number, n: number) => T, size: number): T => make(bytes.buffer as ArrayBuffer, bytes.byteOffset, Math.floor(bytes.byteLength / size));
  return {
    tensor,
    bytes,
    s8: () => view((b, o, n) => new Int8Array(b, o, n), 1),
    u8: () => bytes,
    s16: () => view((b, o, n) => new Int16Array(b, o, n), 2),
    s32: () => view((b, o, n) => new Int32Array(b, o, n), 4),
    u32: () => view((b, o, n) => new Uint32Array(b, o, n), 4),
    f32: () => view((b, o, n) => new Float32Array(b, o, n), 4),
    s64: () => view((b, o, n) => new BigInt64Array(b, o, n), 8),
    u64: () => view((b, o, n) => new BigUint64Array(b, o, n), 8),
  };
}

/** A constant tensor's data with typed views (a fresh, aligned copy). */
export function constantData(t: Tensor): TensorData {
  return tensorData(t, new Uint8Array(t.data ?? new Uint8Array(0)));
}

export function int32Constant(t: Tensor): Int32Array {
  const data = t.data ?? new Uint8Array(0);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Int32Array(Math.floor(data.byteLength / 4));
  for (let i = 0; i < out.length; i++) out[i] = view.getInt32(i * 4, true);
  return out;
}

/** A fresh float32 copy of a constant (little-endian bytes; no alignment needed). */
export function float32Constant(t: Tensor): Float32Array {
  const data = t.data ?? new Uint8Array(0);
  const out = new Float32Array(Math.floor(data.byteLength / 4));
  new Uint8Array(out.buffer).set(data.subarray(0, out.length * 4));
  return out;
}

export function int8Constant(t: Tensor): Int8Array {
  const data = t.data ?? new Uint8Array(0);
  return new Int8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The contents of a model's state tensors, kept from one invoke to the next. */
export class ReferenceState {
  readonly buffers = new Map<number, Uint8Array>();

  constructor(readonly graph: Graph) {
    this.reset();
  }

  reset(): void {
    for (const t of this.graph.tensors) {
      if (t.state) this.buffers.set(t.id, t.state.initial ? new Uint8Array(t.state.initial) : new Uint8Array(elementCount(t.shape) * DTYPE_BYTES[t.dtype]));
    }
  }
}

/**
 * Runs one inference. `inputs` are raw bytes per graph input; returns raw bytes per graph output.
 * Without `state` the model starts from its initial state (a fresh interpreter, as TFLite Micro's
 * goldens are made); pass one ReferenceState to run the invokes of a sequence.
 */
export function runReference(graph: Graph, layers: readonly Layer[], inputs: readonly Uint8Array[], state: ReferenceState = new ReferenceState(graph)): Uint8Array[] {
  if (inputs.length !== graph.inputs.length) {
    throw new TinyforgeError(`${graph.name} has ${graph.inputs.length} inputs but ${inputs.length} were given`);
  }
  const buffers = new Map<number, Uint8Array>(state.buffers);
  graph.inputs.forEach((id, i) => {
    const t = graph.tensors[id] as Tensor;
    const bytes = elementCount(t.shape) * DTYPE_BYTES[t.dtype];
    const given = inputs[i] as Uint8Array;
    if (given.byteLength !== bytes) {
      throw new TinyforgeError(`input ${i} '${t.name}' needs ${bytes} bytes but ${given.byteLength} were given`);
    }
    buffers.set(id, new Uint8Array(given));
  });
  const buffer = (id: number): Uint8Array => {
    let b = buffers.get(id);
    if (!b) {
      const t = graph.tensors[id] as Tensor;
      b = t.data ? new Uint8Array(t.data) : new Uint8Array(elementCount(t.shape) * DTYPE_BYTES[t.dtype]);
      buffers.set(id, b);
    }
    return b;
  };
  const s8 = (id: number): Int8Array => {
    const b = buffer(id);
    return new Int8Array(b.buffer, b.byteOffset, b.byteLength);
  };
  const f32 = (id: number): Float32Array => {
    const b = buffer(id);
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  };
  const weights = (id: number): Int8Array => int8Constant(graph.tensors[id] as Tensor);
  const bias = (id: number): Int32Array | null => (id < 0 ? null : int32Constant(graph.tensors[id] as Tensor));

  for (const l of layers) {
    const in0 = l.inputs[0] as number;
    const out0 = l.outputs[0] as number;
    switch (l.kernel) {
      case 'conv_s8':
        convS8(l, s8(in0), weights(l.weights), bias(l.bias), s8(out0));
        break;
      case 'depthwise_conv_s8':
        depthwiseConvS8(l, s8(in0), weights(l.weights), bias(l.bias), s8(out0));
        break;
      case 'fully_connected_s8':
        fullyConnectedS8(l, s8(in0), weights(l.weights), bias(l.bias), s8(out0));
        break;
      case 'avg_pool_s8':
        avgPoolS8(l, s8(in0), s8(out0));
        break;
      case 'max_pool_s8':
        maxPoolS8(l, s8(in0), s8(out0));
        break;
      case 'add_s8':
        addS8(l, s8(in0), s8(l.inputs[1] as number), s8(out0));
        break;
      case 'mul_s8':
        mulS8(l, s8(in0), s8(l.inputs[1] as number), s8(out0));
        break;
      case 'softmax_s8':
        softmaxS8(l, s8(in0), s8(out0));
        break;
      case 'reshape':
        buffer(out0).set(buffer(in0).subarray(0, l.bytes));
        break;
      case 'pad_s8':
        padS8(l, s8(in0), s8(out0));
        break;
      case 'concatenation_s8':
        concatenationS8(l, l.inputs.map((id) => s8(id)), s8(out0));
        break;
      case 'requantize_s8':
        requantizeS8(l, s8(in0), s8(out0));
        break;
      case 'quantize_f32_s8':
        quantizeF32S8(l, f32(in0), s8(out0));
        break;
      case 'dequantize_s8_f32':
        dequantizeS8F32(l, s8(in0), f32(out0));
        break;
      case 'module': {
        const io: KernelIo = {
          graph,
          input: (i) => tensorData(graph.tensors[l.inputs[i] as number] as Tensor, buffer(l.inputs[i] as number)),
          output: (i) => tensorData(graph.tensors[l.outputs[i] as number] as Tensor, buffer(l.outputs[i] as number)),
          inputCount: l.inputs.length,
          outputCount: l.outputs.length,
        };
        requireModule(l.module).run(l.params, io);
        break;
      }
    }
  }
  return graph.outputs.map((id) => new Uint8Array(buffer(id)));
}
