// MAX_POOL_2D, AVERAGE_POOL_2D and L2_POOL_2D on float32 (TFLite Micro's reference MaxPool /
// AveragePool / L2Pool for float): the window is clipped to the image; max starts from -FLT_MAX
// and keeps std::max's comparison; average sums in float32 in row order and divides by the float
// count of taps; L2 sums val * val in float32 in row order, divides by the count and takes sqrtf
// (tf_sqrtf, correctly rounded); then the activation clamp.

import type { Activation, Padding } from '../ir/graph.ts';
import type { PoolGeometry } from '../ir/layers.ts';
import { poolGeometry } from '../passes/lower.ts';
import { clampF32, f32ActivationRange, f32Literal, FLOAT_HELPERS, FLT_MAX, requireF32 } from './float32.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

interface PoolF32Attrs {
  padding: Padding;
  strideH: number;
  strideW: number;
  filterH: number;
  filterW: number;
  activation: Activation;
  [k: string]: string | number;
}

/** Codes shared with tf_pool_f32.c. */
const POOL_KINDS = { max: 0, average: 1, l2: 2 } as const;
type PoolKind = keyof typeof POOL_KINDS;

interface PoolF32Params extends PoolGeometry {
  kind: PoolKind;
  batches: number;
  actMin: number;
  actMax: number;
}

const f = Math.fround;

function runPoolF32(p: PoolF32Params, input: Float32Array, output: Float32Array): void {
  for (let b = 0; b < p.batches; b++) {
    for (let oy = 0; oy < p.outH; oy++) {
      for (let ox = 0; ox < p.outW; ox++) {
        const y0 = oy * p.strideH - p.padTop;
        const x0 = ox * p.strideW - p.padLeft;
        const fy0 = Math.max(0, -y0);
        const fy1 = Math.min(p.filterH, p.inH - y0);
        const fx0 = Math.max(0, -x0);
        const fx1 = Math.min(p.filterW, p.inW - x0);
        for (let c = 0; c < p.channels; c++) {
          let acc = p.kind === 'max' ? -FLT_MAX : 0;
          let count = 0;
          for (let fy = fy0; fy < fy1; fy++) {
            for (let fx = fx0; fx < fx1; fx++) {
              const v = input[((b * p.inH + y0 + fy) * p.inW + x0 + fx) * p.channels + c] as number;
              if (p.kind === 'average') acc = f(acc + v);
              else if (p.kind === 'l2') acc = f(acc + f(v * v));
              else acc = acc < v ? v : acc;
              count++;
            }
          }
          // TFLite Micro fails on an empty window; padding never makes one for valid shapes.
          const value = p.kind === 'max' ? acc : p.kind === 'average' ? f(acc / count) : f(Math.sqrt(f(acc / count)));
          output[((b * p.outH + oy) * p.outW + ox) * p.channels + c] = clampF32(value, p.actMin, p.actMax);
        }
      }
    }
  }
}

export const poolF32Kernel = defineOp({
  builtins: [],
  key: 'pool_f32',
  float32For: ['MAX_POOL_2D', 'AVERAGE_POOL_2D', 'L2_POOL_2D'],
  read(r): PoolF32Attrs {
    return r.fail('internal: pool_f32 is chosen by the MAX_POOL_2D / AVERAGE_POOL_2D / L2_POOL_2D lowering');
  },
  lower(ctx, a): ModuleLowering<PoolF32Params> {
    const kind: PoolKind = ctx.op.kind === 'average_pool2d' ? 'average' : ctx.op.kind === 'max_pool2d' ? 'max' : 'l2';
    const input = ctx.tensor(0);
    const output = ctx.tensor(0, 'output');
    requireF32(ctx, input, 'input');
    requireF32(ctx, output, 'output');
    const { batches, geometry } = poolGeometry(ctx, a);
    const act = f32ActivationRange(a.activation);
    const params: PoolF32Params = {
      kind,
      batches,
      ...geometry,
      actMin: act.min,
      actMax: act.max,
    };
    const name = { max: 'max_pool_f32', average: 'avg_pool_f32', l2: 'l2_pool_f32' }[kind];
    return { params, kernel: name, cFiles: [...FLOAT_HELPERS, 'portable/tf_pool_f32.c'] };
  },
  run(p: PoolF32Params, io) {
    runPoolF32(p, io.input(0).f32(), io.output(0).f32());
  },
  emitC(p: PoolF32Params, e) {
    const params = e.params('tf_pool_f32_params', {
      kind: POOL_KINDS[p.kind],
      batches: p.batches,
      in_h: p.inH,
      in_w: p.inW,
      channels: p.channels,
      out_h: p.outH,
      out_w: p.outW,
      filter_h: p.filterH,
      filter_w: p.filterW,
      stride_h: p.strideH,
      stride_w: p.strideW,
      pad_top: p.padTop,
      pad_left: p.padLeft,
      act_min: f32Literal(p.actMin),
      act_max: f32Literal(p.actMax),
    });
    e.call(`tf_pool_f32(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
