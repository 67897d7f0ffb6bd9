// Broadcasting index arithmetic shared by elementwise ops: TFLite's NdArrayDescsForElementwiseBroadcast
// as strides over the output's dimensions, with stride 0 where an operand is broadcast.

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
