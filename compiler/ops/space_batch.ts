// SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND: the spatial dimensions split into block_shape
// interleaved grids that become batches, and back (what a converter leaves around a dilated
// convolution it could not fuse), as TFLite Micro's space_to_batch_nd.cc / batch_to_space_nd.cc:
// 3-D [b, h, c] or 4-D [b, h, w, c] tensors, int8 or float32, constant block_shape and
// paddings / crops. Each grid position is one strided copy; SPACE_TO_BATCH_ND first fills its
// output with the padding byte, which is what TFLite's memset writes: the output zero point for
// int8, zero for float32.

import type { Tensor } from '../ir/graph.ts';
import type { LoweringContext } from '../passes/lower.ts';
import { elementCount } from '../ir/graph.ts';
import { defineOp, isModuleLowering } from './op_module.ts';
import { constantVector, emitCopies, lowerCopies, movableType, runCopies, sourceResolver, type CopyCall, type CopyParams } from './strided_copy.ts';

interface SpaceBatchParams {
  copies: CopyParams;
  /** The byte every padded element holds (SPACE_TO_BATCH_ND with padding only). */
  fill?: { byte: number; bytes: number };
}

/** The tensor as [batch, height, width, channels] (a 3-D one has width 1). */
function asNhwc(ctx: LoweringContext, t: Tensor, what: string): [number, number, number, number] {
  if (t.shape.length === 4) return t.shape as [number, number, number, number];
  if (t.shape.length === 3) return [t.shape[0] as number, t.shape[1] as number, 1, t.shape[2] as number];
  return ctx.fail(`${what} '${t.name}' has shape [${t.shape}]; this op takes 3-D or 4-D tensors`);
}

/** block_shape and the [spatial, 2] paddings or crops, for the spatial dimensions of `x`. */
function blockAndEdges(ctx: LoweringContext, x: Tensor, edgesWhat: string): { block: [number, number]; edges: [number, number, number, number] } {
  const spatial = x.shape.length - 2;
  const blockT = ctx.tensor(1);
  const edgesT = ctx.tensor(2);
  const block = constantVector(ctx, blockT, 'block_shape');
  const edges = constantVector(ctx, edgesT, edgesWhat);
  if (block.length !== spatial) ctx.fail(`block_shape '${blockT.name}' has ${block.length} values for ${spatial} spatial dimensions`);
  if (edges.length !== 2 * spatial) ctx.fail(`${edgesWhat} '${edgesT.name}' has ${edges.length} values; expected ${spatial} x 2`);
  if (block.some((v) => v < 1)) ctx.fail(`block_shape '${blockT.name}' = [${block}] must be positive`);
  if (edges.some((v) => v < 0)) ctx.fail(`${edgesWhat} '${edgesT.name}' = [${edges}] must not be negative`);
  return spatial === 2
    ? { block: [block[0] as number, block[1] as number], edges: edges as [number, number, number, number] }
    : { block: [block[0] as number, 1], edges: [edges[0] as number, edges[1] as number, 0, 0] };
}

/** The first index i >= 0 with lo <= i * step + shift (step > 0). */
const firstAtLeast = (lo: number, step: number, shift: number): number => Math.max(0, Math.ceil((lo - shift) / step));

export const spaceBatchOps = defineOp({
  builtins: ['SPACE_TO_BATCH_ND', 'BATCH_TO_SPACE_ND'],
  read(r, builtin) {
    r.arity(3, 3, 1);
    r.input(0, 'input');
    r.input(1, 'block_shape');
    r.input(2, builtin === 'SPACE_TO_BATCH_ND' ? 'paddings' : 'crops');
    r.output(0);
    return { toBatch: builtin === 'SPACE_TO_BATCH_ND' };
  },
  lower(ctx, attrs, op) {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    const dtype = movableType(ctx, x, 'input', ['int8', 'float32']);
    if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype}`);
    if (y.shape.length !== x.shape.length) ctx.fail(`output '${y.name}' has rank ${y.shape.length} but the input has ${x.shape.length}`);
    const { block, edges } = blockAndEdges(ctx, x, attrs.toBatch ? 'paddings' : 'crops');
    const [bh, bw] = block;
    const [top, bottom, left, right] = edges;
    const [b, h, w, c] = asNhwc(ctx, x, 'input');
    const grids = bh * bw;
    let expected: number[];
    if (attrs.toBatch) {
      if ((h + top + bottom) % bh !== 0 || (w + left + right) % bw !== 0) ctx.fail(`the padded input (${h + top + bottom} x ${w + left + right}) is not a multiple of block_shape [${bh}, ${bw}]`);
      expected = [b * grids, (h + top + bottom) / bh, (w + left + right) / bw, c];
    } else {
      if (b % grids !== 0) ctx.fail(`input batch ${b} is not a multiple of the block_shape product ${grids}`);
      if (top + bottom > h * bh || left + right > w * bw) ctx.fail(`crops [${edges}] remove more than the ${h * bh} x ${w * bw} output`);
      expected = [b / grids, h * bh - top - bottom, w * bw - left - right, c];
    }
    if (x.shape.length === 3) expected.splice(2, 1);
    if (expected.join() !== y.shape.join()) ctx.fail(`output '${y.name}' has shape [${y.shape}] but block_shape and ${attrs.toBatch ? 'paddings' : 'crops'} give [${expected}]`);
    const [ob, oh, ow] = attrs.toBatch ? [b * grids, expected[1] as number, x.shape.length === 4 ? (expected[2] as number) : 1] : [b / grids, expected[1] as number, x.shape.length === 4 ? (expected[2] as number) : 1];
    const resolver = sourceResolver(ctx.graph);
    const source = resolver.source(op.inputs[0] as number);
    const calls: CopyCall[] = [];
    for (let grid = 0; grid < grids; grid++) {
      const [sh, sw] = [Math.floor(grid / bw), grid % bw];
      if (attrs.toBatch) {
        // Output row r of this grid reads input row r * bh + sh - top, when that is inside the input.
        const r0 = firstAtLeast(top, bh, sh);
        const r1 = Math.min(oh, Math.floor((top + h - 1 - sh) / bh) + 1);
        const c0 = firstAtLeast(left, bw, sw);
        const c1 = Math.min(ow, Math.floor((left + w - 1 - sw) / bw) + 1);
        if (r1 <= r0 || c1 <= c0) continue;
        calls.push({
          source,
          output: 0,
          copy: {
            count: [b, r1 - r0, c1 - c0, c],
            inStride: [h * w * c, bh * w * c, bw * c, 1],
            outStride: [oh * ow * c, ow * c, c, 1],
            inOffset: (r0 * bh + sh - top) * w * c + (c0 * bw + sw - left) * c,
            outOffset: grid * b * oh * ow * c + r0 * ow * c + c0 * c,
          },
        });
      } else {
        // Input row r of this grid lands on output row r * bh + sh - top, when that is not cropped.
        const r0 = firstAtLeast(top, bh, sh);
        const r1 = Math.min(h, Math.floor((oh - 1 + top - sh) / bh) + 1);
        const c0 = firstAtLeast(left, bw, sw);
        const c1 = Math.min(w, Math.floor((ow - 1 + left - sw) / bw) + 1);
        if (r1 <= r0 || c1 <= c0) continue;
        calls.push({
          source,
          output: 0,
          copy: {
            count: [ob, r1 - r0, c1 - c0, c],
            inStride: [h * w * c, w * c, c, 1],
            outStride: [oh * ow * c, bh * ow * c, bw * c, 1],
            inOffset: grid * ob * h * w * c + r0 * w * c + c0 * c,
            outOffset: (r0 * bh + sh - top) * ow * c + (c0 * bw + sw - left) * c,
          },
        });
      }
    }
    const lowered = lowerCopies(ctx, op, calls, resolver, dtype);
    const padded = attrs.toBatch && edges.some((v) => v !== 0);
    if (!isModuleLowering(lowered)) return lowered;
    const zeroPoint = dtype === 'int8' ? (y.quant?.zeroPoint[0] ?? 0) : 0;
    const params: SpaceBatchParams = { copies: lowered.params as CopyParams, ...(padded ? { fill: { byte: zeroPoint & 0xff, bytes: elementCount(y.shape) * (dtype === 'int8' ? 1 : 4) } } : {}) };
    return { ...lowered, params, kernel: attrs.toBatch ? 'space_to_batch_nd' : 'batch_to_space_nd' };
  },
  run(p: SpaceBatchParams, io) {
    if (p.fill) io.output(0).bytes.fill(p.fill.byte);
    runCopies(p.copies, io);
  },
  emitC(p: SpaceBatchParams, e) {
    if (p.fill) e.call(`memset(${e.output(0)}, 0x${p.fill.byte.toString(16).padStart(2, '0')}, ${p.fill.bytes}u);`);
    emitCopies(p.copies, e);
  },
});
