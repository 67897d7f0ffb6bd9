// FULLY_CONNECTED with per-channel int8 weights (TFLite Micro's FullyConnectedPerChannel). The
// frontend reads every FULLY_CONNECTED into the built-in op; its lowering hands the per-channel ones
// to this module so that the per-tensor kernels (portable, fast, Helium, sparse) stay as they are.
// The input offset is folded into the bias at compile time (bias + input_offset * sum of the
// channel's weights), so the device loop is a plain int8 dot product.

import { elementCount, type Activation, type Tensor } from '../ir/graph.ts';
import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { activationRange } from '../quant/multiplier.ts';
import { checkBias, perChannelMultipliers, type LoweringContext } from '../passes/lower.ts';
import { constantData, int32Constant } from '../reference/run_reference.ts';
import { defineOp } from './op_module.ts';

export interface FullyConnectedPerChannelParams {
  weights: number;
  /** The model's bias tensor, -1 without one (the kernel reads foldedBias). */
  bias: number;
  inputOffset: number;
  batches: number;
  accumDepth: number;
  outDepth: number;
  filterOffset: number;
  outputOffset: number;
  /** The model's bias (0 without one) plus the input offset times each channel's weight sum, wrapped to int32. */
  foldedBias: number[];
  multipliers: number[];
  shifts: number[];
  actMin: number;
  actMax: number;
}

export const fullyConnectedPerChannelOp = defineOp({
  builtins: ['FULLY_CONNECTED'],
  read(r): { activation: Activation } {
    return r.fail(`internal: ${r.label} is read by the built-in FULLY_CONNECTED converter`);
  },
  lower(ctx: LoweringContext, attrs) {
    const input = ctx.tensor(0);
    const filter = ctx.tensor(1);
    const output = ctx.tensor(0, 'output');
    const biasId = ctx.optionalTensorId(2);
    const inQ = ctx.int8(input, 'input');
    const outQ = ctx.int8(output, 'output');
    const fQ = ctx.int8(filter, 'filter');
    ctx.constantWeights(filter, 'filter');
    ctx.rank(filter, 2, 'filter');
    const [outDepth, accumDepth] = filter.shape as [number, number];
    if (filter.quant?.axis !== 0) ctx.fail(`filter '${filter.name}' is quantized along dimension ${filter.quant?.axis}; per-channel FULLY_CONNECTED weights are quantized along the output dimension 0`);
    const batches = elementCount(input.shape) / accumDepth;
    if (!Number.isInteger(batches)) ctx.fail(`input '${input.name}' has ${elementCount(input.shape)} values, not a multiple of ${accumDepth}`);
    checkBias(ctx, biasId, outDepth);
    const { multipliers, shifts } = perChannelMultipliers(ctx, inQ.scale, filter, outQ.scale, outDepth);
    const w = constantData(filter).s8();
    const bias = biasId >= 0 ? int32Constant(ctx.graph.tensors[biasId] as Tensor) : undefined;
    const inputOffset = -inQ.zeroPoint;
    const filterOffset = -fQ.zeroPoint;
    // sum((w + fo) * (x + io)) = sum(w * x) + io * sum(w) + depth * fo * io + fo * sum(x): the
    // constant terms go into the bias, the fo * sum(x) term stays in the kernel (0 for symmetric weights).
    const foldedBias = Array.from({ length: outDepth }, (_, o) => {
      let sumW = 0;
      for (let d = 0; d < accumDepth; d++) sumW += w[o * accumDepth + d] as number;
      return ((bias ? (bias[o] as number) : 0) + Math.imul(inputOffset, sumW) + Math.imul(Math.imul(accumDepth, filterOffset), inputOffset)) | 0;
    });
    const act = activationRange(attrs.activation, outQ.scale, outQ.zeroPoint, 'int8');
    const params: FullyConnectedPerChannelParams = {
      weights: ctx.op.inputs[1] as number,
      bias: biasId,
      inputOffset,
      batches,
      accumDepth,
      outDepth,
      filterOffset,
      outputOffset: outQ.zeroPoint,
      foldedBias,
      multipliers: Array.from(multipliers),
      shifts: Array.from(shifts),
      actMin: act.min,
      actMax: act.max,
    };
    return {
      params,
      kernel: 'fully_connected_per_channel_s8',
      cFiles: ['portable/fully_connected_per_channel_s8.c'],
      inputs: [ctx.op.inputs[0] as number],
      macs: batches * outDepth * accumDepth,
    };
  },
  accumulators(p: FullyConnectedPerChannelParams) {
    const weightIndex = (c: number, k: number): number => c * p.accumDepth + k;
    const common = { weights: p.weights, channels: p.outDepth, depth: p.accumDepth, weightIndex };
    // The sum TFLite Micro accumulates; and the kernel's plain int32 dot product of the raw weights
    // and inputs, which that bound covers unless the weights have a zero point.
    const dot = { ...common, bias: -1, inputOffset: 0, filterOffset: 0 };
    return [{ ...common, bias: p.bias, inputOffset: p.inputOffset, filterOffset: p.filterOffset }, ...(p.filterOffset !== 0 ? [dot] : [])];
  },
  run(p: FullyConnectedPerChannelParams, io) {
    const x = io.input(0).s8();
    const y = io.output(0).s8();
    const w = constantData(io.graph.tensors[p.weights] as Tensor).s8();
    for (let b = 0; b < p.batches; b++) {
      let sumX = 0;
      for (let d = 0; d < p.accumDepth; d++) sumX += x[b * p.accumDepth + d] as number;
      for (let o = 0; o < p.outDepth; o++) {
        let acc = 0;
        for (let d = 0; d < p.accumDepth; d++) acc += (w[o * p.accumDepth + d] as number) * (x[b * p.accumDepth + d] as number);
        acc = (acc + (p.foldedBias[o] as number) + Math.imul(p.filterOffset, sumX)) | 0;
        const v = multiplyByQuantizedMultiplier(acc, p.multipliers[o] as number, p.shifts[o] as number) + p.outputOffset;
        y[b * p.outDepth + o] = clamp(v, p.actMin, p.actMax);
      }
    }
  },
  emitC(p: FullyConnectedPerChannelParams, e) {
    const params = e.params('tf_fully_connected_per_channel_params', {
      batches: p.batches,
      accum_depth: p.accumDepth,
      out_depth: p.outDepth,
      filter_offset: p.filterOffset,
      output_offset: p.outputOffset,
      act_min: p.actMin,
      act_max: p.actMax,
      filter: e.constant(p.weights),
      bias: e.array('bias', 'int32_t', p.foldedBias, 'bias with the input offset folded in'),
      multipliers: e.array('multipliers', 'int32_t', p.multipliers, 'per-channel multipliers'),
      shifts: e.array('shifts', 'int32_t', p.shifts, 'per-channel shifts'),
    });
    e.call(`tf_fully_connected_per_channel_s8(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
