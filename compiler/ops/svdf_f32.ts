// SVDF on float32 (TFLite Micro's EvalFloatSvdfReference). The activation state is a variable
// tensor, a state tensor here (kept across invokes, as for the int8 SVDF in svdf.ts). Each invoke:
// the whole state buffer moves left by one element; each filter's newest slot gets the float32 dot
// product of its weights_feature row with the input (from 0.0f, in input order); then per unit the
// output starts at the bias (0.0f without one) and adds, filter by filter of its `rank`, the dot
// product of weights_time with that filter's memory (each from 0.0f, oldest slot first); last the
// fused activation as ActivationValFloat applies it, which is not the clamp the other float kernels
// use: NONE passes everything (no clamp to +-FLT_MAX), and RELU / RELU6 / RELU_N1_TO_1 are
// std::fmax / std::fmin (TfLiteMax / TfLiteMin in TFLite Micro's default build): NaN gives the
// other operand, and on equal operands the first is returned (glibc's fmaxf(+0, -0) is +0).

import { elementCount, type Activation, type Tensor } from '../ir/graph.ts';
import { constantData } from '../reference/run_reference.ts';
import { FLOAT_HELPERS, requireF32 } from './float32.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';
import { svdfGeometry } from './svdf.ts';

export interface SvdfF32Params {
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
  activation: Activation;
}

/** Codes shared with svdf_f32.c. */
const ACTIVATIONS: Readonly<Record<Activation, number>> = { none: 0, relu: 1, relu6: 2, relu_n1_to_1: 3 };

const f = Math.fround;

/** C's fmaxf / fminf as glibc computes them: a NaN operand gives the other one; equal operands give the first. */
const fmax = (x: number, y: number): number => (x >= y || Number.isNaN(y) ? x : y);
const fmin = (x: number, y: number): number => (x <= y || Number.isNaN(y) ? x : y);

/** TFLite Micro's ActivationValFloat for the activations an SVDF reads. */
export function activationValFloat(activation: Activation, a: number): number {
  switch (activation) {
    case 'none':
      return a;
    case 'relu':
      return fmax(0, a);
    case 'relu6':
      return fmax(0, fmin(a, 6));
    case 'relu_n1_to_1':
      return fmax(-1, fmin(a, 1));
  }
}

export function runSvdfF32(p: SvdfF32Params, x: Float32Array, state: Float32Array, wf: Float32Array, wt: Float32Array, bias: Float32Array | undefined, y: Float32Array): void {
  state.copyWithin(0, 1, p.batches * p.filters * p.memory);
  for (let b = 0; b < p.batches; b++) {
    for (let j = 0; j < p.filters; j++) {
      let dot = 0;
      for (let k = 0; k < p.inputSize; k++) dot = f(dot + f((wf[j * p.inputSize + k] as number) * (x[b * p.inputSize + k] as number)));
      state[(b * p.filters + j) * p.memory + p.memory - 1] = dot;
    }
  }
  for (let b = 0; b < p.batches; b++) {
    for (let u = 0; u < p.units; u++) {
      let acc = bias ? (bias[u] as number) : 0;
      for (let r = 0; r < p.rank; r++) {
        const filter = u * p.rank + r;
        const s0 = (b * p.filters + filter) * p.memory;
        let dot = 0;
        for (let m = 0; m < p.memory; m++) dot = f(dot + f((wt[filter * p.memory + m] as number) * (state[s0 + m] as number)));
        acc = f(acc + dot);
      }
      y[b * p.units + u] = activationValFloat(p.activation, acc);
    }
  }
}

export const svdfF32Kernel = defineOp({
  builtins: [],
  key: 'svdf_f32',
  float32For: ['SVDF'],
  read(r): { rank: number; activation: Activation } {
    return r.fail('internal: svdf_f32 is chosen by the SVDF lowering');
  },
  lower(ctx, attrs, op): ModuleLowering<SvdfF32Params> {
    const input = ctx.tensor(0);
    const wf = ctx.tensor(1);
    const wt = ctx.tensor(2);
    const state = ctx.tensor(4);
    const output = ctx.tensor(0, 'output');
    const biasId = ctx.optionalTensorId(3);
    requireF32(ctx, input, 'input');
    requireF32(ctx, output, 'output');
    requireF32(ctx, wf, 'weights_feature');
    requireF32(ctx, wt, 'weights_time');
    requireF32(ctx, state, 'activation_state');
    const { batches, inputSize, filters, units, memory } = svdfGeometry(ctx, { input, wf, wt, state, output }, attrs.rank);
    const rank = attrs.rank;
    if (biasId >= 0) {
      const bias = ctx.tensor(3);
      requireF32(ctx, bias, 'bias');
      ctx.constantWeights(bias, 'bias');
      if (elementCount(bias.shape) !== units) ctx.fail(`bias '${bias.name}' has ${elementCount(bias.shape)} values for ${units} units`);
    }
    const params: SvdfF32Params = { batches, inputSize, filters, units, rank, memory, weightsFeature: wf.id, weightsTime: wt.id, bias: biasId, activation: attrs.activation };
    return {
      params,
      kernel: 'svdf_f32',
      cFiles: [...FLOAT_HELPERS, 'portable/svdf_f32.c'],
      inputs: [op.inputs[0] as number, op.inputs[4] as number],
      constants: biasId >= 0 ? [wf.id, wt.id, biasId] : [wf.id, wt.id],
      macs: batches * filters * (inputSize + memory),
    };
  },
  run(p: SvdfF32Params, io) {
    const wf = constantData(io.graph.tensors[p.weightsFeature] as Tensor).f32();
    const wt = constantData(io.graph.tensors[p.weightsTime] as Tensor).f32();
    const bias = p.bias >= 0 ? constantData(io.graph.tensors[p.bias] as Tensor).f32() : undefined;
    runSvdfF32(p, io.input(0).f32(), io.input(1).f32(), wf, wt, bias, io.output(0).f32());
  },
  emitC(p: SvdfF32Params, e) {
    const params = e.params('tf_svdf_f32_params', {
      batches: p.batches,
      input_size: p.inputSize,
      filters: p.filters,
      rank: p.rank,
      memory: p.memory,
      activation: ACTIVATIONS[p.activation],
      weights_feature: e.constant(p.weightsFeature),
      weights_time: e.constant(p.weightsTime),
      bias: p.bias >= 0 ? e.constant(p.bias) : 'NULL',
    });
    e.call(`tf_svdf_f32(${params}, ${e.input(0)}, (float *)${e.input(1)}, ${e.output(0)});`);
  },
});
