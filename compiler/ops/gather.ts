// GATHER: slices of the input picked by int32 positions along an axis, with optional batch
// dimensions, as TFLite Micro's gather.cc (int8 or float32 input, the float32 slices copied as
// bytes; Micro refuses int16 and int32).
// Micro bounds-checks every position at Invoke and fails the call on a bad one: constant positions
// are checked here at compile time, positions computed at run time by the kernel, whose failure
// makes invoke return non-zero.

import { TinyforgeError } from '../errors.ts';
import { DTYPE_BYTES, type Tensor } from '../ir/graph.ts';
import { BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';
import { constantData } from '../reference/run_reference.ts';
import { defineOp } from './op_module.ts';
import { movableType, normalizeAxis, sourceResolver, type CopySource } from './strided_copy.ts';

interface GatherParams {
  batch: number;
  outer: number;
  coords: number;
  axisSize: number;
  inner: number;
  input: CopySource;
  positions: CopySource;
}

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

export const gatherOp = defineOp({
  builtins: ['GATHER'],
  read(r) {
    r.arity(2, 2, 1);
    r.input(0, 'input');
    r.input(1, 'positions');
    r.output(0);
    const t = r.options(BuiltinOptionsType.GatherOptions, 'GatherOptions');
    return { axis: t ? t.i32(F.GatherOptions.axis, 0, 'axis') : 0, batchDims: t ? t.i32(F.GatherOptions.batchDims, 0, 'batch_dims') : 0 };
  },
  lower(ctx, attrs, op) {
    const x = ctx.tensor(0);
    const pos = ctx.tensor(1);
    const y = ctx.tensor(0, 'output');
    const dtype = movableType(ctx, x, 'input', ['int8', 'float32']);
    if (y.dtype !== x.dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${x.dtype}`);
    if (pos.dtype !== 'int32') ctx.fail(`positions '${pos.name}' are ${pos.dtype}; TFLite Micro's GATHER takes int32 positions`);
    const rank = x.shape.length;
    const axis = normalizeAxis(ctx, attrs.axis, rank, 'axis');
    const batchDims = attrs.batchDims < 0 ? attrs.batchDims + pos.shape.length : attrs.batchDims;
    if (batchDims < 0 || batchDims > axis || batchDims >= rank || batchDims > pos.shape.length) ctx.fail(`batch_dims ${attrs.batchDims} is out of range for axis ${axis} and positions of rank ${pos.shape.length}`);
    for (let d = 0; d < batchDims; d++) if (x.shape[d] !== pos.shape[d]) ctx.fail(`batch dimension ${d} is ${x.shape[d]} in the input but ${pos.shape[d]} in the positions`);
    const expected = [...x.shape.slice(0, axis), ...pos.shape.slice(batchDims), ...x.shape.slice(axis + 1)];
    if (expected.join() !== y.shape.join()) ctx.fail(`output '${y.name}' has shape [${y.shape}] but the gather gives [${expected}]`);
    const axisSize = x.shape[axis] as number;
    if (pos.data !== undefined) {
      const bad = Array.from(constantData(pos).s32()).find((v) => v < 0 || v >= axisSize);
      if (bad !== undefined) ctx.fail(`positions '${pos.name}' hold ${bad}, outside axis ${axis} of size ${axisSize}`);
    }
    const resolver = sourceResolver(ctx.graph);
    const params: GatherParams = {
      batch: product(x.shape.slice(0, batchDims)),
      outer: product(x.shape.slice(batchDims, axis)),
      coords: product(pos.shape.slice(batchDims)),
      axisSize,
      // In bytes: the kernel copies slices of any element size.
      inner: product(x.shape.slice(axis + 1)) * DTYPE_BYTES[dtype],
      input: resolver.source(op.inputs[0] as number),
      positions: resolver.source(op.inputs[1] as number),
    };
    return { params, kernel: 'gather_s8', cFiles: ['portable/gather_s8.c'], inputs: resolver.inputs };
  },
  run(p: GatherParams, io) {
    const data = (s: CopySource): Uint8Array => ('input' in s ? io.input(s.input).bytes : constantData(io.graph.tensors[s.constant] as Tensor).bytes);
    const x = data(p.input);
    const posBytes = data(p.positions);
    const positions = new Int32Array(posBytes.buffer.slice(posBytes.byteOffset, posBytes.byteOffset + posBytes.byteLength));
    const y = io.output(0).bytes;
    for (let b = 0; b < p.batch; b++) {
      for (let o = 0; o < p.outer; o++) {
        for (let c = 0; c < p.coords; c++) {
          const at = positions[b * p.coords + c] as number;
          if (at < 0 || at >= p.axisSize) throw new TinyforgeError(`GATHER position ${at} is outside an axis of size ${p.axisSize}`);
          const from = ((b * p.outer + o) * p.axisSize + at) * p.inner;
          y.set(x.subarray(from, from + p.inner), ((b * p.outer + o) * p.coords + c) * p.inner);
        }
      }
    }
  },
  emitC(p: GatherParams, e) {
    const params = e.params('tf_gather_params', { batch: p.batch, outer: p.outer, coords: p.coords, axis_size: p.axisSize, inner: p.inner });
    const ref = (s: CopySource): string => ('input' in s ? e.input(s.input) : e.constant(s.constant));
    // float32 slices go through the byte kernel unchanged.
    e.call(`if (tf_gather_s8(${params}, (const int8_t *)(const void *)${ref(p.input)}, ${ref(p.positions)}, (int8_t *)(void *)${e.output(0)}) != 0) return 1;`);
  },
});
