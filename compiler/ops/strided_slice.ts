// STRIDED_SLICE: begin/end/strides with begin, end and shrink-axis masks, negative indices and
// strides, as TFLite Micro does it. Micro reads begin/end/strides in Prepare (so they must be
// constants), checks the output shape with one set of index rules (StartForAxis/StopForAxis) and
// copies with another (StridedSliceStartForAxis/StridedSliceEndForAxis); both are replayed here and
// a slice where they disagree is refused rather than left half written. Micro ignores the
// ellipsis and new-axis masks and the offset flag, and so does this module.

import type { Tensor } from '../ir/graph.ts';
import { BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';
import { defineOp } from './op_module.ts';
import { constantVector, emitCopies, lowerCopies, movableType, rowMajorStrides, runCopies, sourceResolver, type CopyParams } from './strided_copy.ts';

/** TFLite Micro's strided_slice.cc kMaxDim. */
const MAX_RANK = 4;
const INT_MAX = 2147483647;
const INT_MIN = -2147483648;

type StridedSliceAttrs = { beginMask: number; endMask: number; shrinkAxisMask: number };

function clamp(v: number, lo: number, hi: number): number {
  return v > hi ? hi : v < lo ? lo : v;
}

/** One axis, as Micro's Prepare sees it (StartForAxis / StopForAxis): the output extent. */
function shapeExtent(a: StridedSliceAttrs, axis: number, size: number, begin: number, end: number, stride: number): number {
  if (size === 0) return 0;
  const bit = 1 << axis;
  let start = a.beginMask & bit ? (stride > 0 ? INT_MIN : INT_MAX) : begin;
  if (start < 0) start += size;
  start = stride > 0 ? clamp(start, 0, size) : clamp(start, -1, size - 1);
  let stop: number;
  if (a.shrinkAxisMask & bit) {
    stop = start + 1;
  } else {
    stop = a.endMask & bit ? (stride > 0 ? INT_MAX : INT_MIN) : end;
    if (stop < 0) stop += size;
    stop = stride > 0 ? clamp(stop, 0, size) : clamp(stop, -1, size - 1);
  }
  // Micro divides in float; these small integers make that exact.
  return Math.max(0, Math.ceil((stop - start) / stride));
}

/** One axis, as Micro's Eval walks it (StridedSliceStartForAxis / StridedSliceEndForAxis). */
function walk(a: StridedSliceAttrs, axis: number, size: number, begin: number, end: number, stride: number): { start: number; count: number } {
  const bit = 1 << axis;
  let start = begin < 0 ? begin + size : begin;
  start = stride > 0 ? clamp(start, 0, size) : clamp(start, -1, size - 1);
  if (a.beginMask & bit) start = stride > 0 ? 0 : size - 1;
  let stop: number;
  if (a.shrinkAxisMask & bit) {
    stop = start >= size ? start : start + 1;
  } else {
    stop = end < 0 ? end + size : end;
    stop = stride > 0 ? clamp(stop, 0, size) : clamp(stop, -1, size - 1);
    if (a.endMask & bit) stop = stride > 0 ? size : -1;
  }
  const count = stride > 0 ? Math.ceil((stop - start) / stride) : Math.ceil((start - stop) / -stride);
  return { start, count: Math.max(0, count) };
}

export const stridedSliceOp = defineOp({
  builtins: ['STRIDED_SLICE'],
  read(r): StridedSliceAttrs {
    r.arity(4, 4, 1);
    r.input(0, 'input');
    r.input(1, 'begin');
    r.input(2, 'end');
    r.input(3, 'strides');
    r.output(0);
    const t = r.options(BuiltinOptionsType.StridedSliceOptions, 'StridedSliceOptions');
    const o = F.StridedSliceOptions;
    return {
      beginMask: t ? t.i32(o.beginMask, 0, 'begin_mask') : 0,
      endMask: t ? t.i32(o.endMask, 0, 'end_mask') : 0,
      shrinkAxisMask: t ? t.i32(o.shrinkAxisMask, 0, 'shrink_axis_mask') : 0,
    };
  },
  lower(ctx, attrs, op) {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    const dtype = movableType(ctx, x, 'input', ['int8', 'int16', 'int32', 'float32']);
    if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype}`);
    const rank = x.shape.length;
    if (rank > MAX_RANK) ctx.fail(`input '${x.name}' has rank ${rank}; TFLite Micro's STRIDED_SLICE takes at most ${MAX_RANK} dimensions`);
    const vectors = (['begin', 'end', 'strides'] as const).map((what, k) => {
      const t = ctx.tensor(k + 1) as Tensor;
      const v = constantVector(ctx, t, what);
      if (v.length !== rank) ctx.fail(`${what} '${t.name}' has ${v.length} values for an input of rank ${rank}`);
      return v;
    });
    const [begin, end, strides] = vectors as [number[], number[], number[]];
    const expected: number[] = [];
    const starts: number[] = [];
    const counts: number[] = [];
    for (let d = 0; d < rank; d++) {
      const size = x.shape[d] as number;
      const stride = strides[d] as number;
      if (stride === 0) ctx.fail(`strides '${ctx.tensor(3).name}' has a zero stride on axis ${d}`);
      const extent = shapeExtent(attrs, d, size, begin[d] as number, end[d] as number, stride);
      if (!(attrs.shrinkAxisMask & (1 << d))) expected.push(extent);
      const w = walk(attrs, d, size, begin[d] as number, end[d] as number, stride);
      // Micro sizes the output by one rule and copies by the other; where they differ it leaves
      // output elements unwritten, which no compiled code could reproduce.
      if (w.count !== (attrs.shrinkAxisMask & (1 << d) ? 1 : extent)) ctx.fail(`axis ${d} selects ${w.count} elements but the output shape allows for ${extent} (begin ${begin[d]} out of range?)`);
      starts.push(w.start);
      counts.push(w.count);
    }
    if (expected.join() !== y.shape.join()) ctx.fail(`output '${y.name}' has shape [${y.shape}] but the slice gives [${expected}]`);
    const inStrides = rowMajorStrides(x.shape);
    const resolver = sourceResolver(ctx.graph);
    const source = resolver.source(op.inputs[0] as number);
    const copy = {
      count: counts,
      inStride: inStrides.map((s, d) => s * (strides[d] as number)),
      outStride: rowMajorStrides(counts),
      inOffset: starts.reduce((acc, s, d) => acc + s * (inStrides[d] as number), 0),
      outOffset: 0,
    };
    return lowerCopies(ctx, op, [{ source, output: 0, copy }], resolver, dtype);
  },
  run: (p: CopyParams, io) => runCopies(p, io),
  emitC: (p: CopyParams, e) => emitCopies(p, e),
});
