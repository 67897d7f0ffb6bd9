// Checks the signal-library op modules share: TFLite Micro's Prepare of those kernels insists on
// exact tensor types and ranks, and tinyforge additionally needs their tables to be constants so
// it can bound every index the kernel will read.

import { elementCount, type DType, type Tensor } from '../../ir/graph.ts';
import type { LoweringContext } from '../../passes/lower.ts';

/** The tensor at input `position` (or output), which must be of `dtype` and, when given, of `rank`. */
export function typed(ctx: LoweringContext, position: number, role: 'input' | 'output', what: string, dtype: DType, rank?: number): Tensor {
  const t = ctx.tensor(position, role);
  if (t.dtype !== dtype) ctx.fail(`${what} '${t.name}' is ${t.dtype} (expected ${dtype})`);
  if (rank !== undefined && t.shape.length !== rank) ctx.fail(`${what} '${t.name}' has shape [${t.shape}] (expected rank ${rank})`);
  return t;
}

/** A constant int16 table input; returns its values. */
export function constantInt16(ctx: LoweringContext, position: number, what: string): { tensor: Tensor; values: Int16Array } {
  const t = typed(ctx, position, 'input', what, 'int16', 1);
  if (!t.data) ctx.fail(`${what} '${t.name}' must be a constant tensor (tinyforge checks its entries at compile time)`);
  const values = new Int16Array(elementCount(t.shape));
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  for (let i = 0; i < values.length; i++) values[i] = view.getInt16(2 * i, true);
  return { tensor: t, values };
}

export function sameCount(ctx: LoweringContext, a: Tensor, b: Tensor): number {
  const n = elementCount(a.shape);
  if (elementCount(b.shape) !== n) ctx.fail(`'${b.name}' has shape [${b.shape}] but '${a.name}' has [${a.shape}]; they must hold the same number of elements`);
  return n;
}
