// Broadcasting for two-input element-wise ops, NumPy style as TFLite does it: shapes are aligned at
// their last dimension and a dimension of 1 repeats. At compile time the output is described as the
// fewest nested loops: dimensions of 1 are dropped and neighbours that repeat the same inputs are
// merged, so a same-shape op is one flat loop and [1,4,4,16] + [16] is two. The C walker in
// runtime-c-templates/portable/tf_broadcast.h runs exactly this description.

/** Loops of a planned broadcast (TF_BROADCAST_MAX_RANK in tf_broadcast.h). */
export const MAX_BROADCAST_RANK = 6;

export interface BroadcastPlan {
  /** Loop extents, outermost first; never empty. */
  readonly dims: readonly number[];
  /** Element step of each input per loop; 0 where the input repeats. The innermost step is 0 or 1. */
  readonly stride1: readonly number[];
  readonly stride2: readonly number[];
}

/** The shape two shapes broadcast to, or undefined when some dimension pair is neither equal nor 1. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Row-major element strides of `shape` padded with leading 1s to `rank`, 0 where it repeats along `out`. */
function repeatStrides(shape: readonly number[], out: readonly number[]): number[] {
  const rank = out.length;
  const strides = new Array<number>(rank).fill(0);
  let step = 1;
  for (let d = rank - 1; d >= 0; d--) {
    const n = shape[shape.length - rank + d] ?? 1;
    strides[d] = n === 1 ? 0 : step;
    step *= n;
  }
  return strides;
}

/** The loops that walk `out` (the broadcast of a and b) in row-major order. */
export function planBroadcast(a: readonly number[], b: readonly number[], out: readonly number[]): BroadcastPlan {
  const s1 = repeatStrides(a, out);
  const s2 = repeatStrides(b, out);
  const dims: number[] = [];
  const stride1: number[] = [];
  const stride2: number[] = [];
  out.forEach((n, d) => {
    if (n === 1) return;
    const x1 = s1[d] as number;
    const x2 = s2[d] as number;
    const last = dims.length - 1;
    // Neighbouring loops where each input either repeats in both or is contiguous in both are one
    // loop: a contiguous input's outer step is the inner extent times its inner step.
    if (last >= 0 && (stride1[last] === 0) === (x1 === 0) && (stride2[last] === 0) === (x2 === 0)) {
      dims[last] = (dims[last] as number) * n;
      stride1[last] = x1;
      stride2[last] = x2;
    } else {
      dims.push(n);
      stride1.push(x1);
      stride2.push(x2);
    }
  });
  if (dims.length === 0) return { dims: [1], stride1: [0], stride2: [0] };
  return { dims, stride1, stride2 };
}

/** Calls `visit(output index, input 1 index, input 2 index)` for every output element in order. */
export function forEachBroadcast(p: BroadcastPlan, visit: (o: number, i1: number, i2: number) => void): void {
  const inner = p.dims.length - 1;
  const n = p.dims[inner] as number;
  const step1 = p.stride1[inner] as number;
  const step2 = p.stride2[inner] as number;
  const index = new Array<number>(inner).fill(0);
  let rows = 1;
  for (let d = 0; d < inner; d++) rows *= p.dims[d] as number;
  let o = 0;
  let off1 = 0;
  let off2 = 0;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < n; i++) visit(o++, off1 + i * step1, off2 + i * step2);
    for (let d = inner - 1; d >= 0; d--) {
      off1 += p.stride1[d] as number;
      off2 += p.stride2[d] as number;
      index[d] = (index[d] as number) + 1;
      if ((index[d] as number) < (p.dims[d] as number)) break;
      index[d] = 0;
      off1 -= (p.stride1[d] as number) * (p.dims[d] as number);
      off2 -= (p.stride2[d] as number) * (p.dims[d] as number);
    }
  }
}

/** The C initializer of a `tf_broadcast` (tf_broadcast.h) for a plan. */
export function cBroadcast(p: BroadcastPlan): string {
  const list = (v: readonly number[]): string => `{ ${v.join(', ')} }`;
  return `{ .rank = ${p.dims.length}, .dims = ${list(p.dims)}, .stride1 = ${list(p.stride1)}, .stride2 = ${list(p.stride2)} }`;
}

// Per-operand strides over the output (PRELU's alpha, LEAKY-style unary-with-parameter ops).
/** `shape` with leading 1s up to `rank` dimensions (TFLite's RuntimeShape::ExtendedShape). */
export function extendShape(shape: readonly number[], rank: number): number[] {
  return [...new Array<number>(rank - shape.length).fill(1), ...shape];
}

/**
 * Element strides of an operand of `shape` walked over `outShape` (both extended to `rank`):
 * 0 on every dimension where the operand has extent 1. Undefined when the shapes do not broadcast.
 */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[], rank: number): number[] | undefined {
  const s = extendShape(shape, rank);
  const o = extendShape(outShape, rank);
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let d = rank - 1; d >= 0; d--) {
    const extent = s[d] as number;
    if (extent !== o[d] && extent !== 1) return undefined;
    // An extent of 1 is only ever read at index 0, broadcast or not.
    strides[d] = extent === 1 ? 0 : stride;
    stride *= extent;
  }
  return strides;
}
