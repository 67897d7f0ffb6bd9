// AVERAGE_POOL_2D and MAX_POOL_2D on int16 activations: the int8 kernels' arithmetic on 16-bit
// values (TFLite Micro uses the same reference loops for both types). The built-in pooling
// lowering picks this kernel when the input is int16.

import type { Pool2DS8Fields } from '../ir/layers.ts';
import { avgPoolS8 } from '../kernels/avg_pool_s8.ts';
import { maxPoolS8 } from '../kernels/max_pool_s8.ts';
import { INT16_INPUT } from '../passes/check_accumulators.ts';
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
  accumulators(p: PoolS16Params) {
    // The average sums its (clipped) window in int32, then adds or subtracts half the count to
    // round: 65535 inputs of -32768 still fit with that, 65536 do not (TFLite Micro's loop too).
    const f = p.fields;
    const h = Math.min(f.filterH, f.inH);
    const w = Math.min(f.filterW, f.inW);
    if (!p.average) return [];
    const summed = `window of ${h} x ${w} inputs`;
    return [{ weights: -1, weightValues: [1], summed, bias: -1, inputOffset: 0, filterOffset: 0, inputRange: INT16_INPUT, channels: 1, depth: h * w, weightIndex: () => 0 }];
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
