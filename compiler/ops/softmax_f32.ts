// SOFTMAX on float32 (TFLite Micro's reference Softmax for float): per row, the maximum (starting
// from -FLT_MAX), then exp((x - max) * beta) with expf stored in the output and summed in float32
// in order, then each output divided by the sum. expf is tf_expf / expf.ts, glibc's algorithm,
// the same bits on every target.

import { elementCount } from '../ir/graph.ts';
import { expf } from './expf.ts';
import { f32Literal, FLOAT_HELPERS, FLT_MAX, requireF32 } from './float32.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

interface SoftmaxF32Params {
  outer: number;
  depth: number;
  /** static_cast<float>(params.beta). */
  beta: number;
}

const f = Math.fround;

export const softmaxF32Kernel = defineOp({
  builtins: [],
  key: 'softmax_f32',
  float32For: ['SOFTMAX'],
  read(r): { beta: number } {
    return r.fail('internal: softmax_f32 is chosen by the SOFTMAX lowering');
  },
  lower(ctx, attrs): ModuleLowering<SoftmaxF32Params> {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    requireF32(ctx, x, 'input');
    requireF32(ctx, y, 'output');
    if (x.shape.length < 1) ctx.fail(`input '${x.name}' is a scalar; SOFTMAX needs at least one dimension`);
    if (elementCount(x.shape) !== elementCount(y.shape)) ctx.fail(`output shape [${y.shape}] differs from input shape [${x.shape}]`);
    const depth = x.shape[x.shape.length - 1] as number;
    const outer = depth === 0 ? 0 : elementCount(x.shape) / depth;
    const params: SoftmaxF32Params = { outer, depth, beta: f(Number(attrs.beta)) };
    return { params, kernel: 'softmax_f32', cFiles: [...FLOAT_HELPERS, 'portable/tf_softmax_f32.c'] };
  },
  run(p: SoftmaxF32Params, io) {
    const x = io.input(0).f32();
    const y = io.output(0).f32();
    for (let i = 0; i < p.outer; i++) {
      const base = i * p.depth;
      let max = -FLT_MAX;
      for (let c = 0; c < p.depth; c++) {
        const v = x[base + c] as number;
        max = max < v ? v : max;
      }
      let sum = 0;
      for (let c = 0; c < p.depth; c++) {
        const e = expf(f(f((x[base + c] as number) - max) * p.beta));
        y[base + c] = e;
        sum = f(sum + e);
      }
      for (let c = 0; c < p.depth; c++) y[base + c] = f((y[base + c] as number) / sum);
    }
  },
  emitC(p: SoftmaxF32Params, e) {
    const params = e.params('tf_softmax_f32_params', { outer: p.outer, depth: p.depth, beta: f32Literal(p.beta) });
    e.call(`tf_softmax_f32(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
