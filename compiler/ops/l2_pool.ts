// The reader for L2_POOL_2D, which TFLite Micro computes on float32 only (l2_pool_2d.cc): one NHWC
// input and output and Pool2DOptions, read into the attributes MAX_POOL_2D / AVERAGE_POOL_2D have;
// lower.ts hands a float32 one to pool_f32. Any other type reaches this module's lowering, which
// refuses it in one line.

import type { Activation, Padding } from '../ir/graph.ts';
import { BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';
import { defineOp } from './op_module.ts';

interface L2PoolAttrs {
  padding: Padding;
  strideH: number;
  strideW: number;
  filterH: number;
  filterW: number;
  activation: Activation;
  [k: string]: string | number;
}

export const l2PoolOp = defineOp({
  builtins: ['L2_POOL_2D'],
  read(r): L2PoolAttrs {
    r.arity(1, 1, 1);
    const x = r.input(0, 'input');
    const y = r.output(0);
    r.rank(x, 'input', 4);
    r.rank(y, 'output', 4);
    if (x.dtype !== y.dtype) r.fail(`${r.label} output is ${y.dtype} but its input is ${x.dtype}`);
    r.sameDim('output channels differ from input channels', y.shape[3], x.shape[3]);
    const f = F.Pool2DOptions;
    const t = r.options(BuiltinOptionsType.Pool2DOptions, 'Pool2DOptions');
    return {
      padding: r.padding(t, f.padding),
      strideH: r.positive(t, f.strideH, 0, 'stride_h'),
      strideW: r.positive(t, f.strideW, 0, 'stride_w'),
      filterH: r.positive(t, f.filterH, 0, 'filter_height'),
      filterW: r.positive(t, f.filterW, 0, 'filter_width'),
      activation: r.activation(t, f.fusedActivation),
    };
  },
  lower(ctx) {
    const x = ctx.tensor(0);
    return ctx.fail(`L2_POOL_2D on ${x.dtype} is not supported (TFLite Micro computes L2_POOL_2D on float32 only)`);
  },
  run() {
    throw new Error('internal: float32 L2_POOL_2D runs as pool_f32');
  },
  emitC() {
    throw new Error('internal: float32 L2_POOL_2D is emitted as pool_f32');
  },
});
