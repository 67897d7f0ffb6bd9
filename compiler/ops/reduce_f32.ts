// MEAN, SUM and REDUCE_MAX on float32 (TFLite Micro's reference Mean / ReduceSum / ReduceMax for
// float): each output is the float32 sum of its inputs in the input's row-major order, starting
// from 0; MEAN then divides it by the number of inputs as a float. REDUCE_MAX starts from
// std::numeric_limits<float>::lowest() (-FLT_MAX) and keeps `in > current ? in : current` in the
// same order: NaN inputs are skipped, the first of +0 / -0 stays, all -inf gives -FLT_MAX. The special 4-D spatial Mean TFLite Micro takes for axes
// [1, 2] with keep_dims visits the same inputs in the same order. The reduction is planned at
// compile time with the quantized reductions' merged walk (reduce.ts).

import { elementCount } from '../ir/graph.ts';
import { f32Literal, FLOAT_HELPERS, FLT_MAX, requireF32 } from './float32.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';
import { mergeReduction } from './reduce.ts';

/** Most merged dimensions the walk takes (TF_REDUCE_F32_MAX_DIMS in tf_reduce_f32.c). */
const MAX_DIMS = 6;

/** Operation codes shared with tf_reduce_f32.c. */
const REDUCE_F32_OPS = { SUM: 0, MEAN: 1, REDUCE_MAX: 2 } as const;
type ReduceF32Op = keyof typeof REDUCE_F32_OPS;

function isReduceOp(name: string): name is ReduceF32Op {
  return name in REDUCE_F32_OPS;
}

interface ReduceF32Params {
  op: ReduceF32Op;
  dims: number[];
  /** Output stride of each merged dimension; 0 for a reduced one. */
  outStrides: number[];
  outputSize: number;
  count: number;
}

const f = Math.fround;

export const reduceF32Kernel = defineOp({
  builtins: [],
  key: 'reduce_f32',
  float32For: ['MEAN', 'SUM', 'REDUCE_MAX'],
  read(r): { op: string; keepDims: boolean; axes: readonly number[] } {
    return r.fail('internal: reduce_f32 is chosen by the MEAN / SUM / REDUCE_MAX lowering');
  },
  lower(ctx, attrs): ModuleLowering<ReduceF32Params> {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    requireF32(ctx, x, 'input');
    requireF32(ctx, y, 'output');
    const axes = new Set<number>();
    for (const a of attrs.axes) {
      const d = a < 0 ? a + x.shape.length : a;
      if (d < 0 || d >= x.shape.length) ctx.fail(`axis ${a} is outside the input's rank ${x.shape.length}`);
      axes.add(d);
    }
    const { dims, outStrides } = mergeReduction(x.shape, axes);
    if (dims.length > MAX_DIMS) ctx.fail(`input '${x.name}' [${x.shape}] needs ${dims.length} merged dimensions; the kernel walks at most ${MAX_DIMS}`);
    const outputSize = elementCount(y.shape);
    const count = outputSize === 0 ? 0 : elementCount(x.shape) / outputSize;
    const op = attrs.op;
    if (!isReduceOp(op)) return ctx.fail(`internal: reduce_f32 does not compute ${op}`);
    const params: ReduceF32Params = { op, dims, outStrides, outputSize, count };
    return { params, kernel: `${op === 'REDUCE_MAX' ? 'reduce_max' : op.toLowerCase()}_f32`, cFiles: [...FLOAT_HELPERS, 'portable/tf_reduce_f32.c'], inputs: [x.id], macs: elementCount(x.shape) };
  },
  run(p: ReduceF32Params, io) {
    const x = io.input(0).f32();
    const y = io.output(0).f32();
    const max = p.op === 'REDUCE_MAX';
    y.fill(max ? -FLT_MAX : 0, 0, p.outputSize);
    const rank = p.dims.length;
    const idx = new Array<number>(rank).fill(0);
    let out = 0;
    for (let i = 0; i < x.length; i++) {
      const cur = y[out] as number;
      const v = x[i] as number;
      y[out] = max ? (v > cur ? v : cur) : f(cur + v);
      for (let d = rank - 1; d >= 0; d--) {
        idx[d] = (idx[d] as number) + 1;
        out += p.outStrides[d] as number;
        if ((idx[d] as number) < (p.dims[d] as number)) break;
        out -= (p.outStrides[d] as number) * (p.dims[d] as number);
        idx[d] = 0;
      }
    }
    if (p.op === 'MEAN' && p.count > 0) for (let o = 0; o < p.outputSize; o++) y[o] = f((y[o] as number) / p.count);
  },
  emitC(p: ReduceF32Params, e) {
    const pad = (v: readonly number[]): string => `{ ${[...v, ...new Array<number>(MAX_DIMS - v.length).fill(0)].join(', ')} }`;
    const params = e.params('tf_reduce_f32_params', {
      op: REDUCE_F32_OPS[p.op],
      num_dims: p.dims.length,
      dims: pad(p.dims),
      out_strides: pad(p.outStrides),
      output_size: p.outputSize,
      count: f32Literal(p.count),
    });
    e.call(`tf_reduce_f32(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
