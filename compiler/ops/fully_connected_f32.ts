// FULLY_CONNECTED on float32 (TFLite Micro's reference FullyConnected for float): for each batch
// and output, total = sum over the depth of input * weight, accumulated in float32 in depth order
// starting from 0, then total + bias (0 without a bias), then the activation clamp. Weights and
// bias are constant float32 tensors; int8 weights with float activations (hybrid, dynamic-range
// models) are refused, as TFLite Micro refuses them.

import { elementCount } from '../ir/graph.ts';
import { constantData } from '../reference/run_reference.ts';
import { clampF32, f32ActivationRange, f32Literal, FLOAT_HELPERS, requireF32 } from './float32.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';
import type { Activation } from '../ir/graph.ts';

interface FullyConnectedF32Params {
  batches: number;
  accumDepth: number;
  outDepth: number;
  weights: number;
  /** -1 without a bias. */
  bias: number;
  actMin: number;
  actMax: number;
}

const f = Math.fround;

export const fullyConnectedF32Kernel = defineOp({
  builtins: [],
  key: 'fully_connected_f32',
  float32For: ['FULLY_CONNECTED'],
  read(r): { activation: Activation } {
    return r.fail('internal: fully_connected_f32 is chosen by the FULLY_CONNECTED lowering');
  },
  lower(ctx, attrs): ModuleLowering<FullyConnectedF32Params> {
    const input = ctx.tensor(0);
    const filter = ctx.tensor(1);
    const output = ctx.tensor(0, 'output');
    requireF32(ctx, input, 'input');
    if (filter.dtype !== 'float32') ctx.fail(`filter '${filter.name}' is ${filter.dtype}; float32 FULLY_CONNECTED needs float32 weights (hybrid int8-weight models are not supported)`);
    requireF32(ctx, output, 'output');
    ctx.constantWeights(filter, 'filter');
    ctx.rank(filter, 2, 'filter');
    const [outDepth, accumDepth] = filter.shape as [number, number];
    const inputElements = elementCount(input.shape);
    if (accumDepth === 0 || inputElements % accumDepth !== 0) ctx.fail(`input '${input.name}' has ${inputElements} values, not a multiple of ${accumDepth}`);
    const batches = inputElements / accumDepth;
    if (elementCount(output.shape) !== batches * outDepth) ctx.fail(`output shape [${output.shape}] does not hold ${batches}x${outDepth} values`);
    const bias = ctx.optionalTensorId(2);
    if (bias >= 0) {
      const b = ctx.tensor(2);
      if (b.dtype !== 'float32') ctx.fail(`bias '${b.name}' is ${b.dtype}; float32 FULLY_CONNECTED needs a float32 bias`);
      ctx.constantWeights(b, 'bias');
      if (elementCount(b.shape) !== outDepth) ctx.fail(`bias '${b.name}' has ${elementCount(b.shape)} values for ${outDepth} outputs`);
    }
    const act = f32ActivationRange(attrs.activation);
    const params: FullyConnectedF32Params = { batches, accumDepth, outDepth, weights: filter.id, bias, actMin: act.min, actMax: act.max };
    return { params, kernel: 'fully_connected_f32', cFiles: [...FLOAT_HELPERS, 'portable/tf_fully_connected_f32.c'], inputs: [input.id], constants: bias >= 0 ? [filter.id, bias] : [filter.id], macs: batches * outDepth * accumDepth };
  },
  run(p: FullyConnectedF32Params, io) {
    const x = io.input(0).f32();
    const y = io.output(0).f32();
    const w = constantData(io.graph.tensors[p.weights]!).f32();
    const bias = p.bias >= 0 ? constantData(io.graph.tensors[p.bias]!).f32() : undefined;
    for (let b = 0; b < p.batches; b++) {
      for (let o = 0; o < p.outDepth; o++) {
        let total = 0;
        for (let d = 0; d < p.accumDepth; d++) total = f(total + f((x[b * p.accumDepth + d] as number) * (w[o * p.accumDepth + d] as number)));
        y[o + p.outDepth * b] = clampF32(f(total + (bias ? (bias[o] as number) : 0)), p.actMin, p.actMax);
      }
    }
  },
  emitC(p: FullyConnectedF32Params, e) {
    const params = e.params('tf_fully_connected_f32_params', {
      batches: p.batches,
      accum_depth: p.accumDepth,
      out_depth: p.outDepth,
      act_min: f32Literal(p.actMin),
      act_max: f32Literal(p.actMax),
      weights: e.constant(p.weights),
      bias: p.bias >= 0 ? e.constant(p.bias) : 'NULL',
    });
    e.call(`tf_fully_connected_f32(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
