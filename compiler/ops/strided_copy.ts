// Data movement shared by the ops that only rearrange elements (STRIDED_SLICE, SLICE, PACK,
// UNPACK, SPLIT, SPLIT_V, TRANSPOSE, TILE, FILL): each is lowered at compile time to one or more
// strided copies, out[o + sum(i_d * os_d)] = in[s + sum(i_d * is_d)], with the slicing, permuting
// and repeating folded into the strides. One C kernel per element size runs them all, and a copy
// that moves the whole input unchanged becomes a reshape (no copy at all).

import { DTYPE_BYTES, elementCount, type DType, type Graph, type ModuleOp, type Tensor } from '../ir/graph.ts';
import type { Layer } from '../ir/layers.ts';
import type { LoweringContext } from '../passes/lower.ts';
import { constantData } from '../reference/run_reference.ts';
import type { CEmitter, KernelIo, ModuleLowering } from './op_module.ts';

/** Loop depth of the C kernel (TF_COPY_DIMS in strided_copy.h); a rank-4 TILE needs 8. */
export const COPY_DIMS = 8;

/** A strided copy in elements, outermost dimension first. */
export interface StridedCopy {
  count: number[];
  inStride: number[];
  outStride: number[];
  inOffset: number;
  outOffset: number;
}

/** Where a copy reads: activation input `input` of the layer, or constant tensor `constant`. */
export type CopySource = { input: number } | { constant: number };

export interface CopyCall {
  source: CopySource;
  /** The layer output written. */
  output: number;
  copy: StridedCopy;
}

export interface CopyParams {
  /** Bytes per element: selects the C kernel (1, 2 or 4). */
  elementBytes: number;
  calls: CopyCall[];
}

/** Row-major strides (in elements) of a shape. */
export function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) strides[d] = (strides[d + 1] as number) * (shape[d + 1] as number);
  return strides;
}

/** The same copy with size-1 dimensions dropped and dimensions that continue each other merged. */
export function simplifyCopy(c: StridedCopy): StridedCopy {
  const count: number[] = [];
  const inStride: number[] = [];
  const outStride: number[] = [];
  c.count.forEach((n, d) => {
    if (n === 1) return;
    const last = count.length - 1;
    const is = c.inStride[d] as number;
    const os = c.outStride[d] as number;
    // The previous (outer) dimension steps exactly over this one's whole extent: one longer run.
    if (last >= 0 && inStride[last] === is * n && outStride[last] === os * n) {
      count[last] = (count[last] as number) * n;
      inStride[last] = is;
      outStride[last] = os;
      return;
    }
    count.push(n);
    inStride.push(is);
    outStride.push(os);
  });
  return { count, inStride, outStride, inOffset: c.inOffset, outOffset: c.outOffset };
}

function copyElements(c: StridedCopy): number {
  return c.count.reduce((a, b) => a * b, 1);
}

/** The plain copy of a whole source into a whole output of the same size. */
function isWholeCopy(c: StridedCopy, elements: number): boolean {
  const s = simplifyCopy(c);
  if (s.inOffset !== 0 || s.outOffset !== 0 || copyElements(s) !== elements) return false;
  return s.count.length === 0 || (s.count.length === 1 && s.inStride[0] === 1 && s.outStride[0] === 1);
}

/** C kernel name suffix for an element size. */
function kernelSuffix(elementBytes: number): 's8' | 's16' | 's32' {
  if (elementBytes === 1) return 's8';
  if (elementBytes === 2) return 's16';
  if (elementBytes === 4) return 's32';
  throw new Error(`internal: no strided copy kernel for ${elementBytes}-byte elements`);
}

/** Checks that `t` has one of the element types the op takes (its TFLite Micro kernel's list). */
export function movableType(ctx: LoweringContext, t: Tensor, what: string, allowed: readonly DType[]): DType {
  if (!allowed.includes(t.dtype)) ctx.fail(`${what} '${t.name}' is ${t.dtype}; this op takes ${allowed.join(', ')}`);
  return t.dtype;
}

/** The axis in [0, rank), from one in [-rank, rank). */
export function normalizeAxis(ctx: LoweringContext, axis: number, rank: number, what: string): number {
  if (axis < -rank || axis >= rank) ctx.fail(`${what} ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

/** An integer vector read from a constant tensor (int32, or int64 where the op allows it). */
export function constantVector(ctx: LoweringContext, t: Tensor, what: string, allowInt64 = false): number[] {
  if (t.data === undefined) ctx.fail(`${what} '${t.name}' must be a constant tensor`);
  if (t.dtype !== 'int32' && !(allowInt64 && t.dtype === 'int64')) ctx.fail(`${what} '${t.name}' is ${t.dtype}; expected int32${allowInt64 ? ' or int64' : ''}`);
  const d = constantData(t);
  return t.dtype === 'int64' ? Array.from(d.s64(), (v) => Number(v)) : Array.from(d.s32());
}

/** An op input tensor id, resolved as the layer will see it: a constant or activation input k. */
export interface SourceResolver {
  source(tensorId: number): CopySource;
  /** The activation inputs in kernel order (the lowering's `inputs`). */
  readonly inputs: number[];
}

export function sourceResolver(graph: Graph): SourceResolver {
  const inputs: number[] = [];
  return {
    inputs,
    source(id) {
      if ((graph.tensors[id] as Tensor).data !== undefined) return { constant: id };
      let k = inputs.indexOf(id);
      if (k < 0) k = inputs.push(id) - 1;
      return { input: k };
    },
  };
}

/**
 * The lowering of a data-movement op: its copies (simplified, empty ones dropped), or a reshape when
 * the op has one activation input and one output and moves every element where it already is.
 */
export function lowerCopies(ctx: LoweringContext, op: ModuleOp, calls: CopyCall[], resolver: SourceResolver, dtype: DType): ModuleLowering<CopyParams> | Layer {
  const outputs = op.outputs;
  const single = calls.length === 1 && outputs.length === 1 ? calls[0] : undefined;
  if (single && 'input' in single.source) {
    const inId = resolver.inputs[single.source.input] as number;
    const outT = ctx.tensor(0, 'output');
    const n = elementCount(outT.shape);
    if (elementCount((ctx.graph.tensors[inId] as Tensor).shape) === n && isWholeCopy(single.copy, n)) {
      return { kernel: 'reshape', sourceIndex: op.sourceIndex, inputs: [inId], outputs: [outputs[0] as number], bytes: n * DTYPE_BYTES[dtype], macs: 0 };
    }
  }
  const kept: CopyCall[] = [];
  for (const c of calls) {
    if (copyElements(c.copy) === 0) continue;
    const copy = simplifyCopy(c.copy);
    if (copy.count.length > COPY_DIMS) ctx.fail(`needs a copy over ${copy.count.length} dimensions after merging; tinyforge supports ${COPY_DIMS}`);
    kept.push({ ...c, copy });
  }
  const elementBytes = DTYPE_BYTES[dtype];
  const suffix = kernelSuffix(elementBytes);
  return {
    params: { elementBytes, calls: kept },
    kernel: `strided_copy_${suffix}`,
    cFiles: ['portable/strided_copy.h', `portable/strided_copy_${suffix}.c`],
    inputs: resolver.inputs,
    outputs: [...outputs],
  };
}

/** The reference kernel: every copy, byte for byte. */
export function runCopies(p: CopyParams, io: KernelIo): void {
  const e = p.elementBytes;
  for (const call of p.calls) {
    const src = 'input' in call.source ? io.input(call.source.input).bytes : constantData(io.graph.tensors[call.source.constant] as Tensor).bytes;
    const dst = io.output(call.output).bytes;
    const { count, inStride, outStride } = call.copy;
    const rank = count.length;
    const idx = new Array<number>(rank).fill(0);
    let i = call.copy.inOffset;
    let o = call.copy.outOffset;
    const total = copyElements(call.copy);
    for (let n = 0; n < total; n++) {
      dst.set(src.subarray(i * e, i * e + e), o * e);
      for (let d = rank - 1; d >= 0; d--) {
        i += inStride[d] as number;
        o += outStride[d] as number;
        if (++(idx[d] as number) < (count[d] as number)) break;
        idx[d] = 0;
        i -= (inStride[d] as number) * (count[d] as number);
        o -= (outStride[d] as number) * (count[d] as number);
      }
    }
  }
}

/** `count` etc. padded with outer dimensions of 1 to the C kernel's fixed depth. */
function padded(values: readonly number[], fill: number): string {
  const all = [...new Array<number>(COPY_DIMS - values.length).fill(fill), ...values];
  return `{ ${all.join(', ')} }`;
}

export function emitCopies(p: CopyParams, e: CEmitter): void {
  const suffix = kernelSuffix(p.elementBytes);
  p.calls.forEach((call, k) => {
    const params = e.params(
      'tf_strided_copy_params',
      {
        count: padded(call.copy.count, 1),
        in_stride: padded(call.copy.inStride, 0),
        out_stride: padded(call.copy.outStride, 0),
        in_offset: call.copy.inOffset,
        out_offset: call.copy.outOffset,
      },
      p.calls.length > 1 ? `copy${k}` : undefined,
    );
    const src = 'input' in call.source ? e.input(call.source.input) : e.constant(call.source.constant);
    // float32 moves as its 32-bit patterns (integer loads and stores keep every bit, NaNs included).
    const [cs, cd] = p.elementBytes === 4 ? ['(const int32_t *)', '(int32_t *)'] : ['', ''];
    e.call(`tf_strided_copy_${suffix}(${params}, ${cs}${src}, ${cd}${e.output(call.output)});`);
  });
}
