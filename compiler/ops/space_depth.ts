// SPACE_TO_DEPTH and DEPTH_TO_SPACE: blocks of block_size x block_size pixels moved into channels
// and back, as TFLite Micro's space_to_depth.cc / depth_to_space.cc (4-D NHWC, int8 or float32).
// Pure data movement: each is one strided copy over (batch, block row, block column, row in the
// block, column in the block, channel), with the two layouts' strides.

import type { Tensor } from '../ir/graph.ts';
import { BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';
import type { LoweringContext } from '../passes/lower.ts';
import { defineOp } from './op_module.ts';
import { emitCopies, lowerCopies, movableType, runCopies, sourceResolver, type CopyParams } from './strided_copy.ts';

function nhwc(ctx: LoweringContext, t: Tensor, what: string): [number, number, number, number] {
  if (t.shape.length !== 4) ctx.fail(`${what} '${t.name}' has shape [${t.shape}]; this op takes 4-D NHWC tensors`);
  return t.shape as [number, number, number, number];
}

export const spaceDepthOps = defineOp({
  builtins: ['SPACE_TO_DEPTH', 'DEPTH_TO_SPACE'],
  read(r, builtin) {
    r.arity(1, 1, 1);
    r.input(0, 'input');
    r.output(0);
    const toDepth = builtin === 'SPACE_TO_DEPTH';
    const t = toDepth ? r.options(BuiltinOptionsType.SpaceToDepthOptions, 'SpaceToDepthOptions') : r.options(BuiltinOptionsType.DepthToSpaceOptions, 'DepthToSpaceOptions');
    return { toDepth, blockSize: r.positive(t, toDepth ? F.SpaceToDepthOptions.blockSize : F.DepthToSpaceOptions.blockSize, 0, 'block_size') };
  },
  lower(ctx, attrs, op) {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    const dtype = movableType(ctx, x, 'input', ['int8', 'float32']);
    if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype}`);
    const bs = attrs.blockSize;
    const [b, h, w, c] = nhwc(ctx, x, 'input');
    nhwc(ctx, y, 'output');
    let expected: number[];
    // The pixel-space tensor is [b, bh, bw, c] with bh x bw blocks; the channel-space one [b, ph, pw, pc].
    let ph: number, pw: number, pc: number, sc: number;
    if (attrs.toDepth) {
      if (h % bs !== 0 || w % bs !== 0) ctx.fail(`input '${x.name}' is ${h} x ${w} pixels, not a multiple of block_size ${bs}`);
      [ph, pw, pc, sc] = [h / bs, w / bs, c * bs * bs, c];
      expected = [b, ph, pw, pc];
    } else {
      if (c % (bs * bs) !== 0) ctx.fail(`input '${x.name}' has ${c} channels, not a multiple of block_size^2 = ${bs * bs}`);
      [ph, pw, pc, sc] = [h, w, c, c / (bs * bs)];
      expected = [b, h * bs, w * bs, sc];
    }
    if (expected.join() !== y.shape.join()) ctx.fail(`output '${y.name}' has shape [${y.shape}] but block_size ${bs} gives [${expected}]`);
    const [sh, sw] = [ph * bs, pw * bs];
    // Strides of the two layouts over (batch, block row, block column, row in block, column in block, channel).
    const pixelStrides = [sh * sw * sc, bs * sw * sc, bs * sc, sw * sc, sc, 1];
    const channelStrides = [ph * pw * pc, pw * pc, pc, bs * sc, sc, 1];
    const count = [b, ph, pw, bs, bs, sc];
    const copy = attrs.toDepth
      ? { count, inStride: pixelStrides, outStride: channelStrides, inOffset: 0, outOffset: 0 }
      : { count, inStride: channelStrides, outStride: pixelStrides, inOffset: 0, outOffset: 0 };
    const resolver = sourceResolver(ctx.graph);
    return lowerCopies(ctx, op, [{ source: resolver.source(op.inputs[0] as number), output: 0, copy }], resolver, dtype);
  },
  run: (p: CopyParams, io) => runCopies(p, io),
  emitC: (p: CopyParams, e) => emitCopies(p, e),
});
