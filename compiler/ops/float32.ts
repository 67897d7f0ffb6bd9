// What the float32 op modules share: TFLite's float activation range, its clamp with the exact
// comparison order of std::min(std::max(x, lo), hi) (NaN passes through, infinities clamp to
// +-FLT_MAX under activation NONE), and (re-exported) exact float32 C literals.

import type { Activation, Tensor } from '../ir/graph.ts';
import type { LoweringContext } from '../passes/lower.ts';

export { f32Literal } from '../emit-c/c_literals.ts';

/** FLT_MAX: std::numeric_limits<float>::max(); its negation is lowest(). */
export const FLT_MAX = 3.4028234663852886e38;

/**
 * Ops that take float32 without a float32 kernel of their own: they move elements (as 32-bit
 * patterns) or compare them (ARG_MAX/ARG_MIN, the comparisons) without computing on them, which
 * TFLite Micro does for float32 too. For the README's op table; the modules themselves decide what
 * they accept.
 */
export const FLOAT32_BY_COPY: readonly string[] = [
  'ARG_MAX', 'ARG_MIN', 'BATCH_TO_SPACE_ND', 'BROADCAST_TO', 'CONCATENATION', 'DEPTH_TO_SPACE', 'EQUAL', 'EXPAND_DIMS', 'GATHER', 'GATHER_ND',
  'GREATER', 'GREATER_EQUAL', 'LESS', 'LESS_EQUAL', 'MIRROR_PAD', 'NOT_EQUAL', 'PACK', 'RESHAPE', 'RESIZE_NEAREST_NEIGHBOR', 'SELECT_V2', 'SLICE',
  'SPACE_TO_BATCH_ND', 'SPACE_TO_DEPTH', 'SPLIT', 'SPLIT_V', 'SQUEEZE', 'STRIDED_SLICE', 'TILE', 'TRANSPOSE', 'UNPACK', 'ZEROS_LIKE',
];

/** The C source files every float32 kernel needs (tf_float.h: the clamp, and tf_expf). */
export const FLOAT_HELPERS = ['portable/tf_float.h'] as const;

/** TFLite's CalculateActivationRange(float): the fused activation's output interval. */
export function f32ActivationRange(activation: Activation): { min: number; max: number } {
  switch (activation) {
    case 'none':
      return { min: -FLT_MAX, max: FLT_MAX };
    case 'relu':
      return { min: 0, max: FLT_MAX };
    case 'relu6':
      return { min: 0, max: 6 };
    case 'relu_n1_to_1':
      return { min: -1, max: 1 };
  }
}

/** ActivationFunctionWithMinMax: std::min(std::max(x, lo), hi), comparisons in that order. */
export function clampF32(x: number, lo: number, hi: number): number {
  const y = x < lo ? lo : x;
  return hi < y ? hi : y;
}

/** Fails unless `t` is float32. */
export function requireF32(ctx: LoweringContext, t: Tensor, what: string): void {
  if (t.dtype !== 'float32') ctx.fail(`${what} '${t.name}' is ${t.dtype}; the float32 kernel needs float32`);
}

/** A float32 constant tensor's values (for compile-time checks and the reference). */
export function f32Values(t: Tensor): Float32Array {
  const d = t.data ?? new Uint8Array(0);
  return new Float32Array(new Uint8Array(d).buffer);
}
