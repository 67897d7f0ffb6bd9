// SVDF on int8 inputs (TFLite Micro's EvalIntegerSvdfReference). The activation state is a TFLite
// variable tensor, so it is a state tensor here: every invoke shifts it left by one time step,
// writes the new feature column (input x weights_feature, requantized to the state scale) into each
// filter's last slot, then takes each filter's dot product with weights_time, sums the `rank`
// filters of a unit onto the bias and requantizes to the int8 output.
//
// TFLite Micro picks the element type of the time weights AND of the state from weights_time's
// type: an int8 weights_time reads the state buffer as int8 even when the state tensor is declared
// int16 (it then uses the first half of that buffer), and that is reproduced. The fused activation
// is ignored by TFLite Micro's integer kernel (the output is only clamped to int8), and so here.

import { elementCount, type Activation, type Tensor } from '../ir/graph.ts';
import { BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';
import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { quantizeMultiplier } from '../quant/multiplier.ts';
import { constantData, int32Constant } from '../reference/run_reference.ts';
import { defineOp, type TensorData } from './op_module.ts';
import type { LoweringContext } from '../passes/lower.ts';
import type { AccumulatorShape } from '../passes/check_accumulators.ts';

export interface SvdfParams {
  batches: number;
  inputSize: number;
  filters: number;
  units: number;
  rank: number;
  memory: number;
  weightsFeature: number;
  weightsTime: number;
  /** -1 without a bias. */
  bias: number;
  /** Element type of weights_time and of the state as the kernel reads it. */
  time: 'int8' | 'int16';
  inputZeroPoint: number;
  stateZeroPoint: number;
  outputZeroPoint: number;
  featureMultiplier: number;
  featureShift: number;
  outputMultiplier: number;
  outputShift: number;
}

const RANGE = { int8: { min: -128, max: 127 }, int16: { min: -32768, max: 32767 } } as const;

function view(d: TensorData, type: 'int8' | 'int16'): Int8Array | Int16Array {
  return type === 'int8' ? d.s8() : d.s16();
}

/** The tensors an SVDF's shapes relate (TFLite Micro's svdf_common Prepare checks). */
export interface SvdfTensors {
  input: Tensor;
  /** weights_feature [filters, input size] */
  wf: Tensor;
  /** weights_time [filters, memory] */
  wt: Tensor;
  /** activation_state [batches, memory * filters], a variable */
  state: Tensor;
  output: Tensor;
}

/** Checks an SVDF's shapes for the int8 and float32 lowerings alike; returns its dimensions. */
export function svdfGeometry(ctx: LoweringContext, t: SvdfTensors, rank: number): { batches: number; inputSize: number; filters: number; units: number; memory: number } {
  const { input, wf, wt, state, output } = t;
  ctx.constantWeights(wf, 'weights_feature');
  ctx.constantWeights(wt, 'weights_time');
  if (!state.state) ctx.fail(`activation_state '${state.name}' is not a variable tensor (TFLite Micro requires is_variable)`);
  ctx.rank(input, 2, 'input');
  ctx.rank(output, 2, 'output');
  ctx.rank(wf, 2, 'weights_feature');
  ctx.rank(wt, 2, 'weights_time');
  ctx.rank(state, 2, 'activation_state');
  const [batches, inputSize] = input.shape as [number, number];
  const [filters, featureDepth] = wf.shape as [number, number];
  if (filters % rank !== 0) ctx.fail(`weights_feature '${wf.name}' has ${filters} filters, not a multiple of rank ${rank}`);
  const units = filters / rank;
  const memory = wt.shape[1] as number;
  if (featureDepth !== inputSize) ctx.fail(`weights_feature '${wf.name}' [${wf.shape}] does not match input size ${inputSize}`);
  if (wt.shape[0] !== filters) ctx.fail(`weights_time '${wt.name}' [${wt.shape}] does not have ${filters} rows`);
  if (output.shape[0] !== batches || output.shape[1] !== units) ctx.fail(`output '${output.name}' is [${output.shape}], expected [${batches}, ${units}]`);
  if (state.shape[0] !== batches || state.shape[1] !== memory * filters) ctx.fail(`activation_state '${state.name}' is [${state.shape}], expected [${batches}, ${memory * filters}]`);
  return { batches, inputSize, filters, units, memory };
}

export const svdfOp = defineOp({
  builtins: ['SVDF'],
  read(r): { rank: number; activation: Activation } {
    r.arity(5, 5, 1);
    r.input(0, 'input');
    r.input(1, 'weights_feature');
    r.input(2, 'weights_time');
    r.input(4, 'activation_state');
    r.output(0);
    const t = r.options(BuiltinOptionsType.SVDFOptions, 'SVDFOptions');
    const rank = t ? t.i32(F.SVDFOptions.rank, 0, 'rank') : 0;
    if (rank < 1) r.fail(`${r.label} has rank ${rank} (must be at least 1)`);
    return { rank, activation: r.activation(t, F.SVDFOptions.fusedActivation) };
  },
  lower(ctx, attrs, op) {
    const input = ctx.tensor(0);
    const wf = ctx.tensor(1);
    const wt = ctx.tensor(2);
    const state = ctx.tensor(4);
    const output = ctx.tensor(0, 'output');
    const biasId = ctx.optionalTensorId(3);
    // TFLite Micro's Prepare reads the bias scale unconditionally, so it cannot run without one.
    if (biasId < 0) ctx.fail('has no bias; TFLite Micro\'s SVDF needs one (its Prepare reads the bias scale)');
    const bias = ctx.tensor(3);
    ctx.quantizedType(input, 'input', ['int8']);
    ctx.quantizedType(output, 'output', ['int8']);
    if (wf.dtype !== 'int8') ctx.fail(`weights_feature '${wf.name}' is ${wf.dtype}; the int8 SVDF needs int8`);
    const time = ctx.quantizedType(wt, 'weights_time', ['int8', 'int16']);
    const stateType = ctx.quantizedType(state, 'activation_state', ['int8', 'int16']);
    if (bias.dtype !== 'int32') ctx.fail(`bias '${bias.name}' is ${bias.dtype}; the int8 SVDF needs int32`);
    ctx.constantWeights(bias, 'bias');
    const { batches, inputSize, filters, units, memory } = svdfGeometry(ctx, { input, wf, wt, state, output }, attrs.rank);
    const rank = attrs.rank;
    if (elementCount(bias.shape) !== units) ctx.fail(`bias '${bias.name}' has ${elementCount(bias.shape)} values for ${units} units`);
    // An int16 weights_time would read the int8 state as int16, past its end.
    if (time === 'int16' && stateType === 'int8') ctx.fail(`weights_time '${wt.name}' is int16 but activation_state '${state.name}' is int8; TFLite Micro would read the state past its end`);
    const inQ = ctx.quant(input, 'input');
    const wfQ = ctx.quant(wf, 'weights_feature');
    const wtQ = ctx.quant(wt, 'weights_time');
    const stQ = ctx.quant(state, 'activation_state');
    const outQ = ctx.quant(output, 'output');
    const biasQ = ctx.quant(bias, 'bias');
    // TFLite Micro multiplies and divides the scales in float32, then widens to double.
    const f = Math.fround;
    const timeScale = f(stQ.scale * wtQ.scale);
    if (!(Math.abs(biasQ.scale - timeScale) < 1e-5)) ctx.fail(`bias '${bias.name}' scale ${biasQ.scale} differs from activation_state scale x weights_time scale ${timeScale} (TFLite Micro requires them within 1e-5)`);
    const q1 = quantizeMultiplier(f(f(inQ.scale * wfQ.scale) / stQ.scale));
    const q2 = quantizeMultiplier(f(timeScale / outQ.scale));
    const params: SvdfParams = {
      batches,
      inputSize,
      filters,
      units,
      rank,
      memory,
      weightsFeature: op.inputs[1] as number,
      weightsTime: op.inputs[2] as number,
      bias: biasId,
      time,
      inputZeroPoint: inQ.zeroPoint,
      stateZeroPoint: stQ.zeroPoint,
      outputZeroPoint: outQ.zeroPoint,
      featureMultiplier: q1.multiplier,
      featureShift: q1.shift,
      outputMultiplier: q2.multiplier,
      outputShift: q2.shift,
    };
    return {
      params,
      kernel: time === 'int16' ? 'svdf_s8' : 'svdf_s8_int8_time',
      cFiles: ['portable/svdf_s8.c'],
      inputs: [op.inputs[0] as number, op.inputs[4] as number],
      macs: batches * filters * (inputSize + memory),
    };
  },
  accumulators(p: SvdfParams) {
    const feature: AccumulatorShape = {
      weights: p.weightsFeature,
      bias: -1,
      inputOffset: -p.inputZeroPoint,
      filterOffset: 0,
      channels: p.filters,
      channelName: 'filter',
      depth: p.inputSize,
      weightIndex: (f, k) => f * p.inputSize + k,
    };
    // A unit sums the bias and its `rank` filters' memory x (weights_time x (state - zero point)).
    // With int16 weights_time and state that sum's worst case exceeds 32 bits in models TFLite's
    // converter writes (TFLite Micro's keyword model, the conformance SVDFs): TFLite Micro lets it
    // wrap, and so do the C kernel (through uint32, defined behaviour) and the reference, so only
    // the int8 time sum, which converters keep in range, is checked.
    if (p.time === 'int16') return [feature];
    const depth = p.rank * p.memory;
    const time: AccumulatorShape = {
      weights: p.weightsTime,
      bias: p.bias,
      inputOffset: -p.stateZeroPoint,
      filterOffset: 0,
      inputRange: RANGE[p.time],
      channels: p.units,
      depth,
      weightIndex: (u, k) => u * depth + k,
    };
    return [feature, time];
  },
  run(p: SvdfParams, io) {
    const x = io.input(0).s8();
    const state = view(io.input(1), p.time);
    const y = io.output(0).s8();
    const wf = constantData(io.graph.tensors[p.weightsFeature] as Tensor).s8();
    const wt = view(constantData(io.graph.tensors[p.weightsTime] as Tensor), p.time);
    const bias = p.bias >= 0 ? int32Constant(io.graph.tensors[p.bias] as Tensor) : undefined;
    const { min, max } = RANGE[p.time];
    // One time step older: the whole buffer moves by one element; each filter's last slot is then
    // overwritten with the new feature value below.
    state.copyWithin(0, 1, p.batches * p.filters * p.memory);
    for (let b = 0; b < p.batches; b++) {
      for (let f = 0; f < p.filters; f++) {
        let dot = 0;
        for (let c = 0; c < p.inputSize; c++) dot += (wf[f * p.inputSize + c] as number) * ((x[b * p.inputSize + c] as number) - p.inputZeroPoint);
        const v = clamp(multiplyByQuantizedMultiplier(dot | 0, p.featureMultiplier, p.featureShift), min, max);
        // The zero point is added after the clamp and the sum narrowed to the state type (it wraps
        // when it leaves the range), as TFLite Micro does.
        state[(b * p.filters + f) * p.memory + p.memory - 1] = v + p.stateZeroPoint;
      }
    }
    for (let b = 0; b < p.batches; b++) {
      for (let u = 0; u < p.units; u++) {
        let acc = bias ? (bias[u] as number) : 0;
        for (let r = 0; r < p.rank; r++) {
          const f = u * p.rank + r;
          let dot = 0;
          const s0 = (b * p.filters + f) * p.memory;
          for (let j = 0; j < p.memory; j++) dot += (wt[f * p.memory + j] as number) * ((state[s0 + j] as number) - p.stateZeroPoint);
          acc = (acc + dot) | 0;
        }
        y[b * p.units + u] = clamp(multiplyByQuantizedMultiplier(acc, p.outputMultiplier, p.outputShift) + p.outputZeroPoint, -128, 127);
      }
    }
  },
  emitC(p: SvdfParams, e) {
    const params = e.params('tf_svdf_params', {
      batches: p.batches,
      input_size: p.inputSize,
      filters: p.filters,
      rank: p.rank,
      memory: p.memory,
      time_int16: p.time === 'int16' ? 1 : 0,
      input_offset: -p.inputZeroPoint,
      state_zero_point: p.stateZeroPoint,
      output_offset: p.outputZeroPoint,
      feature_multiplier: p.featureMultiplier,
      feature_shift: p.featureShift,
      output_multiplier: p.outputMultiplier,
      output_shift: p.outputShift,
      weights_feature: e.constant(p.weightsFeature),
      weights_time: `(const void *)${e.constant(p.weightsTime)}`,
      bias: p.bias >= 0 ? e.constant(p.bias) : 'NULL',
    });
    e.call(`tf_svdf_s8(${params}, ${e.input(0)}, (void *)${e.input(1)}, ${e.output(0)});`);
  },
});
