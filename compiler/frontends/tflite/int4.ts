// TFLite INT4 tensors: two signed 4-bit values per byte. TFLite Micro accepts them only as the
// filter of FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D with an int8 input (fully_connected.cc,
// conv_common.cc, depthwise_conv.cc) and unpacks them into int8 before computing
// (tensor_utils::UnpackDenseInt4IntoInt8). tinyforge unpacks them once, at compile time, so every
// int8 kernel runs them unchanged; packed kernels may pack them again (packInt4).

import type { Op, Tensor } from '../../ir/graph.ts';
import type { Fail } from './checked_reader.ts';
import { tensorLabel } from './op_reader.ts';

/** Ops whose filter (input 1) TFLite Micro reads as INT4, with an int8 input. */
export const INT4_FILTER_OPS: ReadonlySet<string> = new Set(['FULLY_CONNECTED', 'CONV_2D', 'DEPTHWISE_CONV_2D']);

/** Bytes of `count` packed INT4 values: the last byte's high nibble is padding when count is odd. */
export function int4Bytes(count: number): number {
  return Math.ceil(count / 2);
}

/**
 * UnpackDenseInt4IntoInt8: element 2i is the low nibble of byte i, element 2i + 1 its high nibble,
 * both sign-extended; an odd count ignores the last byte's high nibble. Returns the int8 values as
 * bytes (two's complement).
 */
export function unpackInt4(packed: Uint8Array, count: number): Uint8Array {
  if (packed.length < int4Bytes(count)) throw new RangeError(`${count} INT4 values need ${int4Bytes(count)} bytes, got ${packed.length}`);
  const out = new Uint8Array(count);
  for (let e = 0; e < count; e++) {
    const byte = packed[e >> 1] as number;
    const nibble = e & 1 ? byte >> 4 : byte & 0x0f;
    out[e] = nibble & 0x08 ? nibble | 0xf0 : nibble;
  }
  return out;
}

/** The inverse of unpackInt4 for values in [-8, 7] (a RangeError otherwise); an odd count leaves the last high nibble 0. */
export function packInt4(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(int4Bytes(values.length));
  for (let e = 0; e < values.length; e++) {
    const v = values[e] as number;
    if (!Number.isInteger(v) || v < -8 || v > 7) throw new RangeError(`value ${v} at ${e} does not fit in INT4 [-8, 7]`);
    out[e >> 1] = (out[e >> 1] as number) | ((v & 0x0f) << (e & 1 ? 4 : 0));
  }
  return out;
}

/**
 * Refuses INT4 tensors anywhere TFLite Micro would not run them: every one must be the constant
 * filter (input 1) of a FULLY_CONNECTED, CONV_2D or DEPTHWISE_CONV_2D whose input is int8 (not
 * itself INT4), and never a model input or output. `opName` gives the builtin an op was read from.
 */
export function checkInt4Uses(
  tensors: readonly Tensor[],
  ops: readonly Op[],
  opName: (op: Op) => string,
  graphInputs: readonly number[],
  graphOutputs: readonly number[],
  fail: Fail,
): void {
  const isInt4 = (id: number): boolean => id >= 0 && tensors[id]?.int4 === true;
  const label = (id: number): string => tensorLabel(tensors[id] as Tensor);
  for (const op of ops) {
    const name = opName(op);
    const where = `operator ${op.sourceIndex} (${name})`;
    op.outputs.forEach((id, k) => {
      if (isInt4(id)) fail(`${where} output ${k} (${label(id)}) is INT4: INT4 activations are not supported (only constant filters)`);
    });
    op.inputs.forEach((id, k) => {
      if (!isInt4(id)) return;
      const t = tensors[id] as Tensor;
      if (!INT4_FILTER_OPS.has(name) || k !== 1) {
        fail(`${where} input ${k} (${label(id)}) is INT4; TFLite Micro reads INT4 only as the filter (input 1) of ${[...INT4_FILTER_OPS].join(', ')}`);
      }
      if (t.data === undefined) fail(`${where} filter ${label(id)} is INT4 but not constant; tinyforge reads INT4 filters only from the model's buffers`);
      const x = tensors[op.inputs[0] ?? -1];
      if (!x || x.dtype !== 'int8' || x.int4) {
        fail(`${where} has an INT4 filter ${label(id)} with ${x ? (x.int4 ? 'INT4' : x.dtype) : 'no'} input; TFLite Micro runs INT4 filters only with int8 inputs`);
      }
    });
  }
  // Ops first, so a message names the operator; an INT4 input or output no op reads or writes ends here.
  for (const [k, id] of graphInputs.entries()) if (isInt4(id)) fail(`model input ${k} (${label(id)}) is INT4; tinyforge reads INT4 only as a constant filter of ${[...INT4_FILTER_OPS].join(', ')}`);
  for (const [k, id] of graphOutputs.entries()) if (isInt4(id)) fail(`model output ${k} (${label(id)}) is INT4; tinyforge reads INT4 only as a constant filter of ${[...INT4_FILTER_OPS].join(', ')}`);
}
