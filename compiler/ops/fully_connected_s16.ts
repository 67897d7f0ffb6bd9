// FULLY_CONNECTED with int16 activations and int8 weights (TFLite's int16x8 mode), per-tensor or
// per-channel. As for the int16 convolution (conv_s16.ts), the accumulator follows the bias: an
// int64 bias accumulates in 64 bits and requantizes with the 16-bit-multiplier variant; an int32
// bias or none accumulates in 32 bits (wrapping) with the ordinary double-rounding requantization.
// Per-tensor weights keep TFLite's filter offset; per-channel ones are symmetric (TFLite Micro
// ignores their zero point). The built-in FULLY_CONNECTED lowering picks this kernel for int16.

import { elementCount, type Activation, type Tensor } from '../ir/graph.ts';
import { clamp, multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierInt64 } from '../quant/fixed_point.ts';
import { activationRange, quantizeMultiplier } from '../quant/multiplier.ts';
import { checkBias, perChannelMultipliers, type LoweringContext } from '../passes/lower.ts';
import { constantData } from '../reference/run_reference.ts';
import { INT16_INPUT } from '../passes/check_accumulators.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

export interface FullyConnectedS16Params {
  batches: number;
  accumDepth: number;
  outDepth: number;
  weights: number;
  /** -1 when absent. */
  bias: number;
  bias64: boolean;
  /** Minus the per-tensor filter zero point (0 for per-channel weights). */
  filterOffset: number;
  /** One entry per output channel (repeated for per-tensor weights). */
  multipliers: number[];
  shifts: number[];
  actMin: number;
  actMax: number;
}

/** TFLite Micro's int16x8 FULLY_CONNECTED Prepare; `activation` is the op's fused activation. */
export function lowerFullyConnectedS16(ctx: LoweringContext, activation: Activation): ModuleLowering<FullyConnectedS16Params> {
  const input = ctx.tensor(0);
  const filter = ctx.tensor(1);
  const output = ctx.tensor(0, 'output');
  const biasId = ctx.optionalTensorId(2);
  if (output.dtype !== 'int16') ctx.fail(`input '${input.name}' is int16 but output '${output.name}' is ${output.dtype}`);
  if (filter.dtype !== 'int8') ctx.fail(`filter '${filter.name}' is ${filter.dtype}; int16 FULLY_CONNECTED takes int8 weights`);
  const inQ = ctx.quant(input, 'input');
  const outQ = ctx.quant(output, 'output');
  const fQ = ctx.quant(filter, 'filter');
  if (inQ.zeroPoint !== 0 || outQ.zeroPoint !== 0) ctx.fail("int16 activations must have zero point 0 (TFLite's int16x8 mode)");
  ctx.constantWeights(filter, 'filter');
  ctx.rank(filter, 2, 'filter');
  const [outDepth, accumDepth] = filter.shape as [number, number];
  const inputElements = elementCount(input.shape);
  if (inputElements % accumDepth !== 0) ctx.fail(`input '${input.name}' has ${inputElements} values, not a multiple of ${accumDepth}`);
  const batches = inputElements / accumDepth;
  if (elementCount(output.shape) !== batches * outDepth) ctx.fail(`output shape [${output.shape}] does not hold ${batches}x${outDepth} values`);
  checkBias(ctx, biasId, outDepth, ['int32', 'int64']);
  const perChannel = (filter.quant?.scale.length ?? 0) > 1;
  let multipliers: number[];
  let shifts: number[];
  if (perChannel) {
    if (filter.quant?.axis !== 0) ctx.fail(`filter '${filter.name}' is quantized along dimension ${filter.quant?.axis}; per-channel FULLY_CONNECTED weights are quantized along the output dimension 0`);
    const pc = perChannelMultipliers(ctx, inQ.scale, filter, outQ.scale, outDepth);
    multipliers = Array.from(pc.multipliers);
    shifts = Array.from(pc.shifts);
  } else {
    // TFLite multiplies input and filter scales in float32 first, then divides in double.
    const q = quantizeMultiplier(Math.fround(inQ.scale * fQ.scale) / outQ.scale);
    multipliers = new Array<number>(outDepth).fill(q.multiplier);
    shifts = new Array<number>(outDepth).fill(q.shift);
  }
  const act = activationRange(activation, outQ.scale, outQ.zeroPoint, 'int16');
  const bias64 = biasId >= 0 && (ctx.graph.tensors[biasId] as Tensor).dtype === 'int64';
  return {
    params: {
      batches,
      accumDepth,
      outDepth,
      weights: ctx.op.inputs[1] as number,
      bias: biasId,
      bias64,
      filterOffset: perChannel ? 0 : -fQ.zeroPoint,
      multipliers,
      shifts,
      actMin: act.min,
      actMax: act.max,
    },
    kernel: 'fully_connected_s16',
    cFiles: ['portable/fully_connected_s16.c'],
    inputs: [ctx.op.inputs[0] as number],
    macs: batches * outDepth * accumDepth,
  };
}

export const fullyConnectedS16Kernel = defineOp({
  builtins: [],
  key: 'fully_connected_s16',
  read(r) {
    return r.fail('internal: fully_connected_s16 is chosen by the FULLY_CONNECTED lowering');
  },
  lower(ctx) {
    return ctx.fail('internal: fully_connected_s16 is chosen by the FULLY_CONNECTED lowering');
  },
  accumulators(p: FullyConnectedS16Params) {
    // An int64 bias accumulates in 64 bits; an int32 one or none in 32 bits.
    return [
      {
        weights: p.weights,
        bias: p.bias,
        inputOffset: 0,
        filterOffset: p.filterOffset,
        inputRange: INT16_INPUT,
        bits: p.bias64 ? 64 : 32,
        shifts: p.shifts,
        channels: p.outDepth,
        depth: p.accumDepth,
        weightIndex: (c: number, k: number) => c * p.accumDepth + k,
      },
    ] as const;
  },
  run(p: FullyConnectedS16Params, io) {
    const x = io.input(0).s16();
    const y = io.output(0).s16();
    const w = constantData(io.graph.tensors[p.weights] as Tensor).s8();
    const biasData = p.bias >= 0 ? constantData(io.graph.tensors[p.bias] as Tensor) : undefined;
    const bias64 = biasData && p.bias64 ? biasData.s64() : undefined;
    const bias32 = biasData && !p.bias64 ? biasData.s32() : undefined;
    for (let b = 0; b < p.batches; b++) {
      for (let o = 0; o < p.outDepth; o++) {
        // |acc| < 2^8 * 2^15 * depth: exact in a double for any realistic depth.
        let acc = 0;
        for (let d = 0; d < p.accumDepth; d++) acc += ((w[o * p.accumDepth + d] as number) + p.filterOffset) * (x[b * p.accumDepth + d] as number);
        const m = p.multipliers[o] as number;
        const sh = p.shifts[o] as number;
        const v = bias64 ? multiplyByQuantizedMultiplierInt64(BigInt(acc) + (bias64[o] as bigint), m, sh) : multiplyByQuantizedMultiplier((acc + (bias32 ? (bias32[o] as number) : 0)) | 0, m, sh);
        y[b * p.outDepth + o] = clamp(v, p.actMin, p.actMax);
      }
    }
  },
  emitC(p: FullyConnectedS16Params, e) {
    const params = e.params('tf_fully_connected_s16_params', {
      batches: p.batches,
      accum_depth: p.accumDepth,
      out_depth: p.outDepth,
      filter_offset: p.filterOffset,
      act_min: p.actMin,
      act_max: p.actMax,
      filter: e.constant(p.weights),
      bias64: p.bias >= 0 && p.bias64 ? e.constant(p.bias) : 'NULL',
      bias32: p.bias >= 0 && !p.bias64 ? e.constant(p.bias) : 'NULL',
      multipliers: e.array('multipliers', 'int32_t', p.multipliers, 'per-channel requantization multipliers'),
      shifts: e.array('shifts', 'int32_t', p.shifts, 'per-channel requantization shifts'),
    });
    e.call(`tf_fully_connected_s16(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
