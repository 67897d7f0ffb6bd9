// MIRROR_PAD: padding that repeats the input mirrored at each edge, as TFLite Micro's
// mirror_pad.cc (int8 or float32, constant int32 or int64 paddings). REFLECT leaves the edge
// element out of the mirror ([1 2 3] padded by 2 on the left: 3 2 | 1 2 3), SYMMETRIC repeats it
// (2 1 | 1 2 3). Along each dimension the output is three runs: the left mirror (read backwards),
// the input, the right mirror (backwards), so the op is one strided copy per combination of runs,
// with negative strides on the mirrored ones.

import { BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';
import { defineOp } from './op_module.ts';
import { constantVector, emitCopies, lowerCopies, movableType, rowMajorStrides, runCopies, sourceResolver, type CopyCall, type CopyParams } from './strided_copy.ts';

/** One run along one dimension: `count` output positions from `outStart`, reading from `inStart` in direction `dir`. */
interface Run {
  count: number;
  inStart: number;
  outStart: number;
  dir: 1 | -1;
}

export const mirrorPadOp = defineOp({
  builtins: ['MIRROR_PAD'],
  read(r) {
    r.arity(2, 2, 1);
    r.input(0, 'input');
    r.input(1, 'paddings');
    r.output(0);
    const t = r.options(BuiltinOptionsType.MirrorPadOptions, 'MirrorPadOptions');
    const mode = t ? t.i8(F.MirrorPadOptions.mode, 0, 'mode') : 0;
    if (mode !== 0 && mode !== 1) r.fail(`${r.label} has mirror mode ${mode} (expected REFLECT = 0 or SYMMETRIC = 1)`);
    return { symmetric: mode === 1 };
  },
  lower(ctx, attrs, op) {
    const x = ctx.tensor(0);
    const padT = ctx.tensor(1);
    const y = ctx.tensor(0, 'output');
    const dtype = movableType(ctx, x, 'input', ['int8', 'float32']);
    if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype}`);
    const pads = constantVector(ctx, padT, 'paddings', true);
    const rank = x.shape.length;
    if (pads.length !== 2 * rank) ctx.fail(`paddings '${padT.name}' has ${pads.length} values; expected ${rank} x 2`);
    // REFLECT mirrors about the edge element, so it can pad at most dim - 1; SYMMETRIC at most dim.
    const offset = attrs.symmetric ? 0 : 1;
    const runs: Run[][] = x.shape.map((n, d) => {
      const [before, after] = [pads[2 * d] as number, pads[2 * d + 1] as number];
      if (before < 0 || after < 0 || before > n - offset || after > n - offset) {
        ctx.fail(`paddings [${before}, ${after}] of dimension ${d} (size ${n}) must lie in 0..${n - offset} for ${attrs.symmetric ? 'SYMMETRIC' : 'REFLECT'}`);
      }
      return [
        { count: before, inStart: before + offset - 1, outStart: 0, dir: -1 as const },
        { count: n, inStart: 0, outStart: before, dir: 1 as const },
        { count: after, inStart: n - 1 - offset, outStart: before + n, dir: -1 as const },
      ].filter((run) => run.count > 0);
    });
    const expected = x.shape.map((n, d) => n + (pads[2 * d] as number) + (pads[2 * d + 1] as number));
    if (expected.join() !== y.shape.join()) ctx.fail(`output '${y.name}' has shape [${y.shape}] but the paddings give [${expected}]`);
    const inStrides = rowMajorStrides(x.shape);
    const outStrides = rowMajorStrides(y.shape);
    const resolver = sourceResolver(ctx.graph);
    const source = resolver.source(op.inputs[0] as number);
    // Every combination of one run per dimension is one copy.
    let combos: Run[][] = [[]];
    for (const dimRuns of runs) combos = combos.flatMap((prefix) => dimRuns.map((run) => [...prefix, run]));
    const calls: CopyCall[] = combos.map((combo) => ({
      source,
      output: 0,
      copy: {
        count: combo.map((r) => r.count),
        inStride: combo.map((r, d) => r.dir * (inStrides[d] as number)),
        outStride: outStrides.slice(),
        inOffset: combo.reduce((s, r, d) => s + r.inStart * (inStrides[d] as number), 0),
        outOffset: combo.reduce((s, r, d) => s + r.outStart * (outStrides[d] as number), 0),
      },
    }));
    return lowerCopies(ctx, op, calls, resolver, dtype);
  },
  run: (p: CopyParams, io) => runCopies(p, io),
  emitC: (p: CopyParams, e) => emitCopies(p, e),
});
