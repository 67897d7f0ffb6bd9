// AVERAGE_POOL_2D and MAX_POOL_2D on int16 activations: the int8 kernels' arithmetic on 16-bit
// values (TFLite Micro uses the same reference loops for both types). The built-in pooling
// lowering picks this kernel when the input is int16.

import type { Pool2DS8Fields } from '../ir/layers.ts';
import { avgPoolS8 } from '../kernels/avg_pool_s8.ts';
import { maxPoolS8 } from '../kernels/max_pool_s8.ts';
import { defineOp } from './op_module.ts';

export interface PoolS16Params {
  average: boolean;
  fields: Pool2DS8Fields;
}

export const poolS16Kernel = defineOp({
  builtins: [],
  key: 'pool_s16',
  read(r) {
    return r.fail('internal: pool_s16 is chosen by the pooling lowering');
  },
  lower(ctx) {
    return ctx.fail('internal: pool_s16 is chosen by the pooling lowering');
  },
  run(p: PoolS16Params, io) {
    (p.average ? avgPoolS8 : maxPoolS8)(p.fields, io.input(0).s16(), io.output(0).s16());
  },
  emitC(p: PoolS16Params, e) {
    const f = p.fields;
    const params = e.params('tf_pool_s8_params', {
      in_h: f.inH,
      in_w: f.inW,
      channels: f.channels,
      out_h: f.outH,
      out_w: f.outW,
      filter_h: f.filterH,
      filter_w: f.filterW,
      stride_h: f.strideH,
      stride_w: f.strideW,
      pad_top: f.padTop,
      pad_left: f.padLeft,
      act_min: f.actMin,
      act_max: f.actMax,
    });
    e.call(`tf_${p.average ? 'avg' : 'max'}_pool_s16(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
