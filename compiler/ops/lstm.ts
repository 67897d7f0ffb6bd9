// UNIDIRECTIONAL_SEQUENCE_LSTM as TFLite Micro's integer kernel runs it (lstm_eval.h): int8 (or
// int16) input and hidden state, int8 weights, int32 (int64) biases, an int16 cell state, and the
// hidden and cell states as variable tensors kept across invokes. TFLite Micro supports only the
// standard (Keras) LSTM: no CIFG, peephole, projection or layer normalization, a tanh cell gate;
// the rest is refused here as it refuses it. Its gates use fixed Q3.12 / Q0.15 formats, so the
// operator's intermediate tensors are not read. Prepare is in lstm_params.ts, the reference kernel
// in lstm_reference.ts, the C kernel in runtime-c-templates/portable/lstm_s8.c. float32 LSTMs are
// lowered by lstm_float.ts (the float32 kernel module of this builtin).

import { elementCount, type Tensor } from '../ir/graph.ts';
import { showShape, tensorLabel, type OpReader } from '../frontends/tflite/op_reader.ts';
import { activationName, BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';
import type { LoweringContext } from '../passes/lower.ts';
import { interleaveRows4 } from '../passes/select_kernels.ts';
import { quantizedTypeRange } from '../quant/multiplier.ts';
import { sigmoidTableU16 } from '../quant/lut.ts';
import { constantData } from '../reference/run_reference.ts';
import { defineOp, type CEmitter } from './op_module.ts';
import {
  cellScalePower,
  cellTanhRescale,
  foldOffsetIntoBias,
  GATE_ACTIVATION_RESCALE,
  GATE_OUTPUT_SCALE,
  gateMatMulMultiplier,
  gateProductRequantMode,
  interGateMultiplier,
  quantizedCellClip,
} from './lstm_params.ts';
import { LSTM_GATES, runLstm, type LstmGate, type LstmGateData, type LstmGateName, type LstmParams } from './lstm_reference.ts';
import { LSTM_INPUTS, lstmLeadingFields } from './lstm_inputs.ts';

const IN = LSTM_INPUTS;

/** Optional inputs of LSTM variants TFLite Micro's kernel refuses. */
const VARIANT_INPUTS: readonly { from: number; to: number; what: string }[] = [
  { from: 9, to: 11, what: 'peephole weights' },
  { from: 16, to: 17, what: 'a projection' },
  { from: 20, to: 23, what: 'layer normalization coefficients' },
];

/** ActivationFunctionType TANH: the only cell gate activation TFLite Micro's LSTM computes. */
const ACTIVATION_TANH = 4;

/** The largest cell tanh rescaling the int32 product of the kernel still holds (32767 * 3 * 2^14 < 2^31). */
const MAX_CELL_TANH_LEFT_SHIFT = 14;

function readLstm(r: OpReader): { timeMajor: boolean; cellClip: number } {
  r.arity(24, 24, 1);
  for (const v of VARIANT_INPUTS) {
    for (let i = v.from; i <= v.to; i++) {
      if (r.optionalInput(i, v.what)) r.fail(`${r.label} has ${v.what} (input ${i}); TFLite Micro's LSTM supports only the standard LSTM (no peephole, projection or layer normalization)`);
    }
  }
  const x = r.input(IN.input, 'input');
  r.rank(x, 'input', 3);
  const h = r.input(IN.hiddenState, 'hidden state');
  // TFLite Micro takes the state size from the hidden state's second dimension.
  r.rank(h, 'hidden state', 2);
  const c = r.input(IN.cellState, 'cell state');
  const y = r.output(0);
  r.rank(y, 'output', 3);
  const t = r.options(BuiltinOptionsType.UnidirectionalSequenceLSTMOptions, 'UnidirectionalSequenceLSTMOptions');
  const f = F.UnidirectionalSequenceLSTMOptions;
  const activation = t ? t.i8(f.fusedActivation, 0, 'fused_activation_function') : 0;
  if (activation !== ACTIVATION_TANH) r.fail(`${r.label} has cell gate activation ${activationName(activation)}; TFLite Micro's LSTM computes only TANH`);
  const cellClip = t ? t.f32(f.cellClip, 0, 'cell_clip') : 0;
  if (!(cellClip >= 0) || !Number.isFinite(cellClip)) r.fail(`${r.label} has cell_clip ${cellClip} (must be finite and >= 0)`);
  const timeMajor = t ? t.bool(f.timeMajor, false, 'time_major') : false;

  const [d0 = 0, d1 = 0, inputSize = 0] = x.shape;
  const batches = timeMajor ? d1 : d0;
  const stateSize = h.shape[1] ?? 0;
  const expect = (i: number, role: string, shape: readonly number[]): void => {
    const w = r.input(i, role);
    if (w.shape.join() !== shape.join()) r.fail(`${r.label} ${role} ${tensorLabel(w)} has shape ${showShape(w.shape)} (expected ${showShape(shape)})`);
  };
  for (const g of LSTM_GATES) {
    expect(IN.inputWeights[g], `${g} gate input weights`, [stateSize, inputSize]);
    expect(IN.recurrentWeights[g], `${g} gate recurrent weights`, [stateSize, stateSize]);
    expect(IN.bias[g], `${g} gate bias`, [stateSize]);
  }
  for (const [s, role] of [[h, 'hidden state'], [c, 'cell state']] as const) {
    if (elementCount(s.shape) !== batches * stateSize) r.fail(`${r.label} ${role} ${tensorLabel(s)} has ${elementCount(s.shape)} elements (expected ${batches} batches x ${stateSize})`);
  }
  if (y.shape[0] !== d0 || y.shape[1] !== d1 || y.shape[2] !== stateSize) r.fail(`${r.label} output ${tensorLabel(y)} has shape ${showShape(y.shape)} (expected ${showShape([d0, d1, stateSize])})`);
  return { timeMajor, cellClip };
}

/** Scale of a per-tensor int8 weight tensor with zero point 0, as the gates' fully connected Prepare requires. */
function weightScale(ctx: LoweringContext, w: Tensor, what: string): number {
  if (w.dtype !== 'int8') ctx.fail(`${what} '${w.name}' is ${w.dtype}; TFLite Micro's quantized LSTM takes int8 weights`);
  ctx.constantWeights(w, what);
  const q = w.quant;
  if (!q || q.scale.length === 0) ctx.fail(`${what} '${w.name}' has no quantization parameters`);
  if (q.scale.length > 1) ctx.fail(`${what} '${w.name}' is quantized per channel; TFLite Micro's LSTM uses per-tensor weight scales`);
  if ((q.zeroPoint[0] ?? 0) !== 0) ctx.fail(`${what} '${w.name}' has zero point ${q.zeroPoint[0]}; LSTM weights must be symmetric`);
  return q.scale[0] as number;
}

function lowerLstm(ctx: LoweringContext, attrs: { timeMajor: boolean; cellClip: number }): LstmParams {
  const x = ctx.tensor(IN.input);
  const h = ctx.tensor(IN.hiddenState);
  const c = ctx.tensor(IN.cellState);
  const y = ctx.tensor(0, 'output');
  const dtype = ctx.quantizedType(x, 'input', ['int8', 'int16']);
  if (x.data) ctx.fail(`input '${x.name}' is a constant; tinyforge runs LSTMs on computed inputs only`);
  if (h.dtype !== dtype) ctx.fail(`hidden state '${h.name}' is ${h.dtype} but the input is ${dtype} (TFLite Micro requires the same type)`);
  if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype} (TFLite Micro requires the same type)`);
  if (c.dtype !== 'int16') ctx.fail(`cell state '${c.name}' is ${c.dtype}; TFLite Micro's quantized LSTM needs an int16 cell state`);
  for (const s of [h, c]) if (!s.state) ctx.fail(`${s === h ? 'hidden' : 'cell'} state '${s.name}' is not a variable tensor (TFLite Micro requires it)`);
  const inQ = ctx.quant(x, 'input');
  const hQ = ctx.quant(h, 'hidden state');
  const cQ = ctx.quant(c, 'cell state');
  const biasType = dtype === 'int16' ? 'int64' : 'int32';
  const gates = {} as Record<LstmGateName, LstmGate>;
  for (const g of LSTM_GATES) {
    const wi = ctx.tensor(IN.inputWeights[g]);
    const wr = ctx.tensor(IN.recurrentWeights[g]);
    const b = ctx.tensor(IN.bias[g]);
    const wiScale = weightScale(ctx, wi, `${g} gate input weights`);
    const wrScale = weightScale(ctx, wr, `${g} gate recurrent weights`);
    ctx.constantWeights(b, `${g} gate bias`);
    if (b.dtype !== biasType) ctx.fail(`${g} gate bias '${b.name}' is ${b.dtype}; an ${dtype} LSTM needs an ${biasType} bias`);
    gates[g] = {
      inputWeights: wi.id,
      recurrentWeights: wr.id,
      bias: b.id,
      input: gateMatMulMultiplier(inQ.scale, wiScale),
      recurrent: gateMatMulMultiplier(hQ.scale, wrScale),
    };
  }
  const power = cellScalePower(cQ.scale);
  const cellTanh = cellTanhRescale(power);
  if (15 + power - 3 > MAX_CELL_TANH_LEFT_SHIFT || cellTanh.shift > 30) ctx.fail(`cell state '${c.name}' has scale ${cQ.scale} (2^${power}), outside what the int16 tanh of TFLite Micro's LSTM handles (2^-42 .. 2^2)`);
  const [d0, d1, inputSize] = x.shape as [number, number, number];
  const range = quantizedTypeRange(dtype);
  return {
    int16: dtype === 'int16',
    timeMajor: attrs.timeMajor,
    batches: attrs.timeMajor ? d1 : d0,
    steps: attrs.timeMajor ? d0 : d1,
    inputSize,
    stateSize: h.shape[1] as number,
    inputOffset: -inQ.zeroPoint,
    hiddenOffset: -hQ.zeroPoint,
    gates,
    forgetCell: interGateMultiplier(GATE_OUTPUT_SCALE, cQ.scale, cQ.scale),
    inputCell: interGateMultiplier(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, cQ.scale),
    hidden: interGateMultiplier(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, hQ.scale),
    hiddenZeroPoint: hQ.zeroPoint,
    hiddenMin: range.min,
    hiddenMax: range.max,
    cellTanh,
    cellClip: quantizedCellClip(attrs.cellClip, cQ.scale),
  };
}

function gateData(p: LstmParams, graph: { tensors: Tensor[] }): Record<LstmGateName, LstmGateData> {
  const data = {} as Record<LstmGateName, LstmGateData>;
  for (const g of LSTM_GATES) {
    const gate = p.gates[g];
    const bias = constantData(graph.tensors[gate.bias] as Tensor);
    data[g] = {
      inputWeights: constantData(graph.tensors[gate.inputWeights] as Tensor).s8(),
      recurrentWeights: constantData(graph.tensors[gate.recurrentWeights] as Tensor).s8(),
      bias: p.int16 ? bias.s64() : bias.s32(),
    };
  }
  return data;
}

function emitLstm(p: LstmParams, e: CEmitter): void {
  if (p.int16) throw new Error('internal: int16 LSTMs are refused at lowering');
  const data = gateData(p, e.graph);
  const gate = (g: LstmGateName): string => {
    const d = data[g];
    const q = p.gates[g];
    const folded = foldOffsetIntoBias(d.inputWeights, p.stateSize, p.inputSize, p.inputOffset, d.bias as Int32Array, q.input.shift);
    const recurrent = foldOffsetIntoBias(d.recurrentWeights, p.stateSize, p.stateSize, p.hiddenOffset, undefined, q.recurrent.shift);
    const packed = (w: Int8Array, k: number): Int8Array => interleaveRows4(p.stateSize, k, (r, i) => w[r * k + i] as number);
    return e.params(
      'tf_lstm_gate_params',
      {
        input_weights: e.array(`${g}_input_weights`, 'int8_t', packed(d.inputWeights, p.inputSize), `${g} gate input weights, groups of 4 rows interleaved in 4-byte steps`),
        recurrent_weights: e.array(`${g}_recurrent_weights`, 'int8_t', packed(d.recurrentWeights, p.stateSize), `${g} gate recurrent weights, groups of 4 rows interleaved in 4-byte steps`),
        input_bias: e.array(`${g}_input_bias`, 'int32_t', folded.bias, `${g} gate bias + input offset x input weight row sums`),
        recurrent_bias: p.hiddenOffset === 0 ? 'NULL' : e.array(`${g}_recurrent_bias`, 'int32_t', recurrent.bias, `hidden offset x ${g} gate recurrent weight row sums`),
        input_multiplier: q.input.multiplier,
        input_shift: q.input.shift,
        input_requant: folded.requant,
        recurrent_multiplier: q.recurrent.multiplier,
        recurrent_shift: q.recurrent.shift,
        recurrent_requant: recurrent.requant,
      },
      `${g}_gate`,
    );
  };
  const table = e.array('sigmoid', 'uint16_t', sigmoidTableU16(), 'TFLite sigmoid(i / 24) table, Q0.16');
  const activation = (suffix: string, r: { multiplier: number; shift: number }): string => e.params('tf_sigmoid_s16_params', { size: p.stateSize, multiplier: r.multiplier, shift: r.shift, table }, suffix);
  const params = e.params('tf_lstm_params', {
    ...lstmLeadingFields(p, gate),
    gate_activation: activation('gate_activation', GATE_ACTIVATION_RESCALE),
    cell_tanh: activation('cell_tanh', p.cellTanh),
    forget_cell_multiplier: p.forgetCell.multiplier,
    forget_cell_shift: p.forgetCell.shift,
    forget_cell_requant: gateProductRequantMode(p.forgetCell.shift),
    input_cell_multiplier: p.inputCell.multiplier,
    input_cell_shift: p.inputCell.shift,
    input_cell_requant: gateProductRequantMode(p.inputCell.shift),
    hidden_multiplier: p.hidden.multiplier,
    hidden_shift: p.hidden.shift,
    hidden_requant: gateProductRequantMode(p.hidden.shift),
    hidden_offset: p.hiddenZeroPoint,
    hidden_min: p.hiddenMin,
    hidden_max: p.hiddenMax,
    cell_clip: p.cellClip,
  });
  e.call(`tf_lstm_s8(${params}, ${e.input(0)}, ${e.input(1)}, ${e.input(2)}, ${e.output(0)}, ${e.scratch()});`);
}

export const lstmOp = defineOp({
  builtins: ['UNIDIRECTIONAL_SEQUENCE_LSTM'],
  read: (r) => readLstm(r),
  lower(ctx, attrs, op) {
    const params = lowerLstm(ctx, attrs);
    if (params.int16) ctx.fail('int16 (16x8) LSTMs are not supported yet; tinyforge compiles int8 LSTMs');
    return {
      params,
      kernel: 'lstm_s8',
      cFiles: ['portable/tf_simd.h', 'portable/mac_4rows_s8.h', 'portable/sigmoid_s16.h', 'portable/logistic_s16.c', 'portable/tanh_s16.c', 'portable/lstm.h', 'portable/lstm_s8.c'],
      inputs: [op.inputs[IN.input], op.inputs[IN.hiddenState], op.inputs[IN.cellState]] as number[],
      macs: params.batches * params.steps * 4 * params.stateSize * (params.inputSize + params.stateSize),
      scratchBytes: 3 * params.stateSize * 2,
    };
  },
  run(p: LstmParams, io) {
    const x = p.int16 ? io.input(0).s16() : io.input(0).s8();
    const h = p.int16 ? io.input(1).s16() : io.input(1).s8();
    const y = p.int16 ? io.output(0).s16() : io.output(0).s8();
    runLstm(p, gateData(p, io.graph), x, h, io.input(2).s16(), y);
  },
  emitC: emitLstm,
});
