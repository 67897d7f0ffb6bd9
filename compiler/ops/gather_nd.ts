// GATHER_ND as TFLite Micro's gather_nd.cc: int8 or float32 params, int32 indices whose last
// dimension (at most 5, at most the params' rank) addresses the params' leading axes; each index
// row picks one slice of the remaining axes. Output shape: indices.shape[:-1] + params.shape[nd:].
// Micro checks only the flat start of each slice (0 <= start, start + slice <= params size), not
// each coordinate, and fails Invoke otherwise: tinyforge checks the same, constant indices at
// compile time, run-time ones in the kernel, whose failure makes invoke return non-zero.

import { TinyforgeError } from '../errors.ts';
import { DTYPE_BYTES, elementCount, type Tensor } from '../ir/graph.ts';
import { constantData } from '../reference/run_reference.ts';
import { defineOp } from './op_module.ts';
import { sourceResolver, type CopySource } from './strided_copy.ts';

interface GatherNdParams {
  elementBytes: number;
  slices: number;
  nd: number;
  sliceSize: number;
  paramsSize: number;
  /** Elements per step of each addressed axis. */
  strides: number[];
  params: CopySource;
  indices: CopySource;
}

const MAX_INDICES_ND = 5;

/** The flat start of slice `i`, or undefined where TFLite Micro fails. */
function sliceStart(p: GatherNdParams, indices: Int32Array, i: number): number | undefined {
  let from = 0;
  for (let j = 0; j < p.nd; j++) from += (indices[i * p.nd + j] as number) * (p.strides[j] as number);
  return from < 0 || from + p.sliceSize > p.paramsSize ? undefined : from;
}

export const gatherNdOp = defineOp({
  builtins: ['GATHER_ND'],
  read(r) {
    r.arity(2, 2, 1);
    r.input(0, 'params');
    r.input(1, 'indices');
    r.output(0);
    return {};
  },
  lower(ctx, _attrs, op) {
    const x = ctx.tensor(0);
    const idx = ctx.tensor(1);
    const y = ctx.tensor(0, 'output');
    if (x.dtype !== 'int8' && x.dtype !== 'float32') ctx.fail(`params '${x.name}' are ${x.dtype}; TFLite Micro's GATHER_ND takes int8 or float32`);
    if (y.dtype !== x.dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the params are ${x.dtype}`);
    if (idx.dtype !== 'int32') ctx.fail(`indices '${idx.name}' are ${idx.dtype}; TFLite Micro's GATHER_ND takes int32 indices`);
    if (x.shape.length < 1 || idx.shape.length < 1) ctx.fail(`params and indices must be at least vectors (ranks ${x.shape.length} and ${idx.shape.length})`);
    const nd = idx.shape[idx.shape.length - 1] as number;
    if (nd > x.shape.length) ctx.fail(`indices '${idx.name}' address ${nd} axes but the params have rank ${x.shape.length}`);
    if (nd > MAX_INDICES_ND) ctx.fail(`indices '${idx.name}' address ${nd} axes; TFLite Micro's GATHER_ND allows at most ${MAX_INDICES_ND}`);
    const expected = [...idx.shape.slice(0, -1), ...x.shape.slice(nd)];
    if (expected.join() !== y.shape.join()) ctx.fail(`output '${y.name}' has shape [${y.shape}] but the gather gives [${expected}]`);
    const strides: number[] = [];
    let remain = elementCount(x.shape);
    for (let j = 0; j < nd; j++) {
      remain = remain / (x.shape[j] as number);
      strides.push(remain);
    }
    const resolver = sourceResolver(ctx.graph);
    const params: GatherNdParams = {
      elementBytes: DTYPE_BYTES[x.dtype],
      slices: elementCount(idx.shape.slice(0, -1)),
      nd,
      sliceSize: elementCount(x.shape.slice(nd)),
      paramsSize: elementCount(x.shape),
      strides,
      params: resolver.source(op.inputs[0] as number),
      indices: resolver.source(op.inputs[1] as number),
    };
    if (idx.data !== undefined) {
      const values = constantData(idx).s32();
      for (let i = 0; i < params.slices; i++) {
        if (sliceStart(params, values, i) === undefined) ctx.fail(`indices '${idx.name}' row ${i} [${Array.from(values.subarray(i * nd, (i + 1) * nd))}] starts outside params '${x.name}' of shape [${x.shape}]`);
      }
    }
    return { params, kernel: `gather_nd_${x.dtype === 'int8' ? 's8' : 'f32'}`, cFiles: ['portable/gather_nd.c'], inputs: resolver.inputs };
  },
  run(p: GatherNdParams, io) {
    const data = (s: CopySource): Uint8Array => ('input' in s ? io.input(s.input).bytes : constantData(io.graph.tensors[s.constant] as Tensor).bytes);
    const x = data(p.params);
    const idxBytes = data(p.indices);
    const indices = new Int32Array(idxBytes.buffer.slice(idxBytes.byteOffset, idxBytes.byteOffset + idxBytes.byteLength));
    const y = io.output(0).bytes;
    const e = p.elementBytes;
    for (let i = 0; i < p.slices; i++) {
      const from = sliceStart(p, indices, i);
      if (from === undefined) throw new TinyforgeError(`GATHER_ND index row ${i} starts outside the params`);
      y.set(x.subarray(from * e, (from + p.sliceSize) * e), i * p.sliceSize * e);
    }
  },
  emitC(p: GatherNdParams, e) {
    const strides = [...p.strides, ...Array<number>(MAX_INDICES_ND - p.strides.length).fill(0)];
    const params = e.params('tf_gather_nd_params', {
      slices: p.slices,
      nd: p.nd,
      slice_bytes: p.sliceSize * p.elementBytes,
      slice_size: p.sliceSize,
      params_size: p.paramsSize,
      element_bytes: p.elementBytes,
      strides: `{${strides.join(', ')}}`,
    });
    const ref = (s: CopySource): string => ('input' in s ? e.input(s.input) : e.constant(s.constant));
    e.call(`if (tf_gather_nd(${params}, ${ref(p.params)}, ${ref(p.indices)}, ${e.output(0)}) != 0) return 1;`);
  },
});
