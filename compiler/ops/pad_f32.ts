// PAD and PADV2 on float32 (TFLite Micro's pad.cc with reference_ops::Pad): every output element
// is the next input element when its position lies inside the input, else the pad value: 0.0f for
// PAD (and PADV2 without constant_values), PADV2's constant otherwise (its exact bits, -0 and NaN
// included). The reader checks the paddings (constant int32, non-negative, rank at most 4).

import { isConstant, type Tensor } from '../ir/graph.ts';
import { constantData } from '../reference/run_reference.ts';
import { f32Literal, f32Values, FLOAT_HELPERS, requireF32 } from './float32.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

const RANK = 4;

interface PadF32Params {
  inDims: number[];
  outDims: number[];
  before: number[];
  padValue: number;
}

/** `v` padded at the front to RANK entries with `fill` (TFLite's extended 4-D shape). */
function extend(v: readonly number[], fill: number): number[] {
  return [...new Array<number>(RANK - v.length).fill(fill), ...v];
}

export const padF32Kernel = defineOp({
  builtins: [],
  key: 'pad_f32',
  float32For: ['PAD', 'PADV2'],
  read(r): Record<string, never> {
    return r.fail('internal: pad_f32 is chosen by the float32 PAD / PADV2 lowering');
  },
  lower(ctx, _attrs, op): ModuleLowering<PadF32Params> {
    const x = ctx.tensor(0);
    const paddings = ctx.tensor(1);
    const y = ctx.tensor(0, 'output');
    requireF32(ctx, x, 'input');
    requireF32(ctx, y, 'output');
    const rank = x.shape.length;
    if (rank > RANK || y.shape.length !== rank) ctx.fail(`input '${x.name}' [${x.shape}] and output [${y.shape}]: PAD supports equal ranks up to ${RANK}`);
    if (!isConstant(paddings) || paddings.dtype !== 'int32') return ctx.fail(`paddings '${paddings.name}' must be a constant int32 tensor`);
    const pads = Array.from(constantData(paddings).s32());
    const before = Array.from({ length: rank }, (_, d) => pads[2 * d] as number);
    let padValue = 0;
    const cId = op.inputs[2] ?? -1;
    if (cId >= 0) {
      const c = ctx.graph.tensors[cId] as Tensor;
      requireF32(ctx, c, 'constant_values');
      // TFLite Micro reads it at Invoke; tinyforge emits it as a literal, so it must be constant.
      if (!isConstant(c)) return ctx.fail(`constant_values '${c.name}' must be a constant tensor`);
      padValue = f32Values(c)[0] as number;
    }
    const params: PadF32Params = { inDims: extend(x.shape, 1), outDims: extend(y.shape, 1), before: extend(before, 0), padValue };
    return { params, kernel: 'pad_f32', cFiles: [...FLOAT_HELPERS, 'portable/tf_pad_f32.c'], inputs: [x.id] };
  },
  run(p: PadF32Params, io) {
    const x = io.input(0).f32();
    const y = io.output(0).f32();
    const [o0, o1, o2, o3] = p.outDims as [number, number, number, number];
    const inside = (d: number, i: number): boolean => i >= (p.before[d] as number) && i < (p.before[d] as number) + (p.inDims[d] as number);
    let src = 0;
    let dst = 0;
    for (let a = 0; a < o0; a++) {
      for (let b = 0; b < o1; b++) {
        for (let c = 0; c < o2; c++) {
          for (let d = 0; d < o3; d++) {
            y[dst++] = inside(0, a) && inside(1, b) && inside(2, c) && inside(3, d) ? (x[src++] as number) : p.padValue;
          }
        }
      }
    }
  },
  emitC(p: PadF32Params, e) {
    const v = (a: readonly number[]): string => `{ ${a.join(', ')} }`;
    const params = e.params('tf_pad_f32_params', { in_dims: v(p.inDims), out_dims: v(p.outDims), before: v(p.before), pad_value: f32Literal(p.padValue) });
    e.call(`tf_pad_f32(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
