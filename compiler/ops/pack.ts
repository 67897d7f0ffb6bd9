// PACK and UNPACK: stacking N equal tensors along a new axis, and the reverse. Each input (PACK) or
// output (UNPACK) is one strided copy into (or out of) its slot of the stacked tensor; a stack of
// one is a reshape. Element types as TFLite Micro's pack.cc / unpack.cc (the integer ones).

import type { Tensor } from '../ir/graph.ts';
import { BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';
import type { LoweringContext } from '../passes/lower.ts';
import { defineOp } from './op_module.ts';
import { emitCopies, lowerCopies, movableType, normalizeAxis, rowMajorStrides, runCopies, sourceResolver, type CopyCall, type CopyParams } from './strided_copy.ts';

type PackAttrs = { count: number; axis: number };

/** `stacked` must be `part` with `n` inserted at `axis`. */
function checkStacked(ctx: LoweringContext, part: Tensor, stacked: Tensor, axis: number, n: number): void {
  const want = [...part.shape.slice(0, axis), n, ...part.shape.slice(axis)];
  if (want.join() !== stacked.shape.join()) ctx.fail(`'${stacked.name}' has shape [${stacked.shape}] but stacking ${n} of '${part.name}' [${part.shape}] on axis ${axis} gives [${want}]`);
}

/** Element positions of the stacked tensor, seen from one part: its strides skip the stacking axis. */
function partStrides(stacked: Tensor, axis: number): { strides: number[]; slot: number } {
  const s = rowMajorStrides(stacked.shape);
  return { strides: s.filter((_, d) => d !== axis), slot: s[axis] as number };
}

export const packOps = defineOp({
  builtins: ['PACK', 'UNPACK'],
  read(r, builtin): PackAttrs {
    const pack = builtin === 'PACK';
    const t = pack ? r.options(BuiltinOptionsType.PackOptions, 'PackOptions') : r.options(BuiltinOptionsType.UnpackOptions, 'UnpackOptions');
    const count = t ? (pack ? t.i32(F.PackOptions.valuesCount, 0, 'values_count') : t.i32(F.UnpackOptions.num, 0, 'num')) : 0;
    const axis = t ? (pack ? t.i32(F.PackOptions.axis, 0, 'axis') : t.i32(F.UnpackOptions.axis, 0, 'axis')) : 0;
    if (count < 1) r.fail(`${r.label} has ${pack ? 'values_count' : 'num'} ${count} (must be at least 1)`);
    if (pack) r.arity(count, count, 1);
    else r.arity(1, 1, count);
    return { count, axis };
  },
  lower(ctx, attrs, op) {
    const pack = op.module === 'PACK';
    const stacked = pack ? ctx.tensor(0, 'output') : ctx.tensor(0);
    const parts = Array.from({ length: attrs.count }, (_, i) => (pack ? ctx.tensor(i) : ctx.tensor(i, 'output')));
    const dtype = movableType(ctx, stacked, pack ? 'output' : 'input', ['int8', 'int16', 'int32', 'float32']);
    const axis = normalizeAxis(ctx, attrs.axis, stacked.shape.length, 'axis');
    for (const p of parts) {
      if (p.dtype !== dtype) ctx.fail(`'${p.name}' is ${p.dtype} but '${stacked.name}' is ${dtype}`);
      checkStacked(ctx, p, stacked, axis, attrs.count);
    }
    const { strides, slot } = partStrides(stacked, axis);
    const resolver = sourceResolver(ctx.graph);
    const calls: CopyCall[] = parts.map((p, i) => {
      const own = rowMajorStrides(p.shape);
      const copy = pack
        ? { count: p.shape.slice(), inStride: own, outStride: strides, inOffset: 0, outOffset: i * slot }
        : { count: p.shape.slice(), inStride: strides, outStride: own, inOffset: i * slot, outOffset: 0 };
      return { source: resolver.source(op.inputs[pack ? i : 0] as number), output: pack ? 0 : i, copy };
    });
    return lowerCopies(ctx, op, calls, resolver, dtype);
  },
  run: (p: CopyParams, io) => runCopies(p, io),
  emitC: (p: CopyParams, e) => emitCopies(p, e),
});
