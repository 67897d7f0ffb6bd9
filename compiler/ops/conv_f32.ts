// CONV_2D and DEPTHWISE_CONV_2D on float32 (TFLite Micro's reference Conv / DepthwiseConv for
// float): for each output, a float32 total over filter rows, filter columns and (CONV_2D) input
// channels in that order, skipping taps outside the image (zero padding), then total + bias (0
// without a bias), then the activation clamp. Filters and biases are constant float32 tensors.

import type { Activation, Padding } from '../ir/graph.ts';
import type { ConvGeometry } from '../ir/layers.ts';
import { convGeometry } from '../passes/lower.ts';
import { constantData } from '../reference/run_reference.ts';
import { clampF32, f32ActivationRange, f32Literal, FLOAT_HELPERS, requireF32 } from './float32.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';
import { convFields } from '../emit-c/emit_module.ts';

interface ConvF32Attrs {
  padding: Padding;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  activation: Activation;
  [k: string]: string | number;
}

export interface ConvF32Params extends ConvGeometry {
  depthwise: boolean;
  batches: number;
  /** Output channels per input channel (depthwise only; 1 otherwise). */
  depthMultiplier: number;
  weights: number;
  bias: number;
  actMin: number;
  actMax: number;
}

const f = Math.fround;

function runConvF32(p: ConvF32Params, input: Float32Array, filter: Float32Array, bias: Float32Array | undefined, output: Float32Array): void {
  for (let b = 0; b < p.batches; b++) {
    const inBase = b * p.inH * p.inW * p.inC;
    const outBase = b * p.outH * p.outW * p.outC;
    for (let oy = 0; oy < p.outH; oy++) {
      const y0 = oy * p.strideH - p.padTop;
      for (let ox = 0; ox < p.outW; ox++) {
        const x0 = ox * p.strideW - p.padLeft;
        for (let oc = 0; oc < p.outC; oc++) {
          let total = 0;
          const ic0 = p.depthwise ? Math.floor(oc / p.depthMultiplier) : 0;
          for (let ky = 0; ky < p.kH; ky++) {
            const iy = y0 + p.dilationH * ky;
            for (let kx = 0; kx < p.kW; kx++) {
              const ix = x0 + p.dilationW * kx;
              if (iy < 0 || iy >= p.inH || ix < 0 || ix >= p.inW) continue;
              const at = inBase + (iy * p.inW + ix) * p.inC;
              if (p.depthwise) {
                total = f(total + f((input[at + ic0] as number) * (filter[(ky * p.kW + kx) * p.outC + oc] as number)));
              } else {
                const w = ((oc * p.kH + ky) * p.kW + kx) * p.inC;
                for (let ic = 0; ic < p.inC; ic++) total = f(total + f((input[at + ic] as number) * (filter[w + ic] as number)));
              }
            }
          }
          output[outBase + (oy * p.outW + ox) * p.outC + oc] = clampF32(f(total + (bias ? (bias[oc] as number) : 0)), p.actMin, p.actMax);
        }
      }
    }
  }
}

export const convF32Kernel = defineOp({
  builtins: [],
  key: 'conv_f32',
  float32For: ['CONV_2D', 'DEPTHWISE_CONV_2D'],
  read(r): ConvF32Attrs {
    return r.fail('internal: conv_f32 is chosen by the CONV_2D / DEPTHWISE_CONV_2D lowering');
  },
  lower(ctx, a): ModuleLowering<ConvF32Params> {
    const depthwise = ctx.op.kind === 'depthwise_conv2d';
    const input = ctx.tensor(0);
    const filter = ctx.tensor(1);
    const output = ctx.tensor(0, 'output');
    requireF32(ctx, input, 'input');
    requireF32(ctx, output, 'output');
    if (filter.dtype !== 'float32') ctx.fail(`filter '${filter.name}' is ${filter.dtype}; a float32 convolution needs float32 weights (hybrid int8-weight models are not supported)`);
    ctx.constantWeights(filter, 'filter');
    const { batches, geometry } = convGeometry(ctx, a, depthwise);
    const { inC, outH, outW, outC, kH, kW } = geometry;
    const bias = ctx.optionalTensorId(2);
    if (bias >= 0) {
      const t = ctx.tensor(2);
      if (t.dtype !== 'float32') ctx.fail(`bias '${t.name}' is ${t.dtype}; a float32 convolution needs a float32 bias`);
      ctx.constantWeights(t, 'bias');
      if (t.shape.reduce((x, y) => x * y, 1) !== outC) ctx.fail(`bias '${t.name}' has shape [${t.shape}] for ${outC} channels`);
    }
    const act = f32ActivationRange(a.activation);
    const params: ConvF32Params = {
      depthwise,
      batches,
      ...geometry,
      depthMultiplier: depthwise ? outC / inC : 1,
      weights: filter.id,
      bias,
      actMin: act.min,
      actMax: act.max,
    };
    const macs = batches * outH * outW * outC * kH * kW * (depthwise ? 1 : inC);
    const name = depthwise ? 'depthwise_conv_f32' : 'conv_f32';
    return { params, kernel: name, cFiles: [...FLOAT_HELPERS, 'portable/tf_conv_f32.h', `portable/tf_${name}.c`], inputs: [input.id], constants: bias >= 0 ? [filter.id, bias] : [filter.id], macs };
  },
  run(p: ConvF32Params, io) {
    const filter = constantData(io.graph.tensors[p.weights]!).f32();
    const bias = p.bias >= 0 ? constantData(io.graph.tensors[p.bias]!).f32() : undefined;
    runConvF32(p, io.input(0).f32(), filter, bias, io.output(0).f32());
  },
  emitC(p: ConvF32Params, e) {
    const fields: Record<string, string | number> = {
      batches: p.batches,
      ...convFields(p),
      depth_multiplier: p.depthMultiplier,
      act_min: f32Literal(p.actMin),
      act_max: f32Literal(p.actMax),
      filter: e.constant(p.weights),
      bias: p.bias >= 0 ? e.constant(p.bias) : 'NULL',
    };
    const fn = p.depthwise ? 'tf_depthwise_conv_f32' : 'tf_conv_f32';
    const params = e.params('tf_conv_f32_params', fields);
    e.call(`${fn}(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
