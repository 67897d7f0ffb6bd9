// UNIDIRECTIONAL_SEQUENCE_LSTM in float32, as TFLite Micro's EvalLstm<float, float, float, float>
// runs it: float input, hidden and cell state, float weights and biases. lower.ts hands this
// kernel-only module every LSTM whose output is float32, with the options lstm.ts read (and whose
// reader already refused the variants TFLite Micro does not run: peephole, projection, layer norm).
// Hybrid LSTMs (float activations with int8 weights) are refused as TFLite Micro refuses them. The
// reference kernel is lstm_float_reference.ts, the C kernel runtime-c-templates/portable/lstm_f32.c.

import type { Tensor } from '../ir/graph.ts';
import type { LoweringContext } from '../passes/lower.ts';
import { constantData } from '../reference/run_reference.ts';
import { f32Literal, FLOAT_HELPERS } from './float32.ts';
import { defineOp, type CEmitter, type KernelIo, type ModuleLowering } from './op_module.ts';
import { runLstmFloat, type LstmFloatGate, type LstmFloatGateData, type LstmFloatParams } from './lstm_float_reference.ts';
import { LSTM_GATES, type LstmGateName } from './lstm_reference.ts';
import { LSTM_INPUTS, lstmLeadingFields } from './lstm_inputs.ts';

function lowerFloatLstm(ctx: LoweringContext, attrs: { timeMajor: boolean; cellClip: number }, op: { inputs: readonly number[] }): ModuleLowering<LstmFloatParams> {
  const x = ctx.tensor(LSTM_INPUTS.input);
  const h = ctx.tensor(LSTM_INPUTS.hiddenState);
  const c = ctx.tensor(LSTM_INPUTS.cellState);
  const y = ctx.tensor(0, 'output');
  if (x.data) ctx.fail(`input '${x.name}' is a constant; tinyforge runs LSTMs on computed inputs only`);
  if (x.dtype !== 'float32') ctx.fail(`input '${x.name}' is ${x.dtype} but the output is float32 (TFLite Micro's LSTM needs the same type)`);
  for (const [t, role] of [[h, 'hidden state'], [c, 'cell state'], [y, 'output']] as const) {
    if (t.dtype !== 'float32') ctx.fail(`${role} '${t.name}' is ${t.dtype} but the input is float32 (TFLite Micro's float LSTM needs float32 throughout)`);
  }
  for (const s of [h, c]) if (!s.state) ctx.fail(`${s === h ? 'hidden' : 'cell'} state '${s.name}' is not a variable tensor (TFLite Micro requires it)`);
  const gates = {} as Record<LstmGateName, LstmFloatGate>;
  for (const g of LSTM_GATES) {
    const parts = [
      [LSTM_INPUTS.inputWeights[g], `${g} gate input weights`],
      [LSTM_INPUTS.recurrentWeights[g], `${g} gate recurrent weights`],
      [LSTM_INPUTS.bias[g], `${g} gate bias`],
    ] as const;
    for (const [i, what] of parts) {
      const t = ctx.tensor(i);
      ctx.constantWeights(t, what);
      if (t.dtype !== 'float32') ctx.fail(`${what} '${t.name}' is ${t.dtype}; a float32 LSTM needs float32 weights and biases (TFLite Micro does not run hybrid LSTMs)`);
    }
    gates[g] = { inputWeights: ctx.tensor(parts[0][0]).id, recurrentWeights: ctx.tensor(parts[1][0]).id, bias: ctx.tensor(parts[2][0]).id };
  }
  const [d0, d1, inputSize] = x.shape as [number, number, number];
  const stateSize = h.shape[1] as number;
  const params: LstmFloatParams = {
    timeMajor: attrs.timeMajor,
    batches: attrs.timeMajor ? d1 : d0,
    steps: attrs.timeMajor ? d0 : d1,
    inputSize,
    stateSize,
    gates,
    cellClip: Math.fround(attrs.cellClip),
  };
  return {
    params,
    kernel: 'lstm_f32',
    cFiles: [...FLOAT_HELPERS, 'portable/float_math.h', 'portable/lstm_f32.c'],
    inputs: [op.inputs[LSTM_INPUTS.input], op.inputs[LSTM_INPUTS.hiddenState], op.inputs[LSTM_INPUTS.cellState]] as number[],
    macs: params.batches * params.steps * 4 * stateSize * (inputSize + stateSize),
    scratchBytes: 3 * stateSize * 4,
    constants: LSTM_GATES.flatMap((g) => [gates[g].inputWeights, gates[g].recurrentWeights, gates[g].bias]),
  };
}

function gateData(p: LstmFloatParams, graph: { tensors: Tensor[] }): Record<LstmGateName, LstmFloatGateData> {
  const data = {} as Record<LstmGateName, LstmFloatGateData>;
  const floats = (id: number): Float32Array => constantData(graph.tensors[id] as Tensor).f32();
  for (const g of LSTM_GATES) {
    const gate = p.gates[g];
    data[g] = { inputWeights: floats(gate.inputWeights), recurrentWeights: floats(gate.recurrentWeights), bias: floats(gate.bias) };
  }
  return data;
}

function runFloatLstm(p: LstmFloatParams, io: KernelIo): void {
  runLstmFloat(p, gateData(p, io.graph), io.input(0).f32(), io.input(1).f32(), io.input(2).f32(), io.output(0).f32());
}

function emitFloatLstm(p: LstmFloatParams, e: CEmitter): void {
  const gate = (g: LstmGateName): string => {
    const q = p.gates[g];
    return e.params('tf_lstm_f32_gate_params', { input_weights: e.constant(q.inputWeights), recurrent_weights: e.constant(q.recurrentWeights), bias: e.constant(q.bias) }, `${g}_gate`);
  };
  const params = e.params('tf_lstm_f32_params', {
    ...lstmLeadingFields(p, gate),
    cell_clip: f32Literal(p.cellClip),
  });
  e.call(`tf_lstm_f32(${params}, ${e.input(0)}, ${e.input(1)}, ${e.input(2)}, ${e.output(0)}, (float *)${e.scratch()});`);
}

export const lstmF32Kernel = defineOp({
  builtins: [],
  key: 'lstm_f32',
  float32For: ['UNIDIRECTIONAL_SEQUENCE_LSTM'],
  read(r): { timeMajor: boolean; cellClip: number } {
    return r.fail('internal: lstm_f32 is chosen by the UNIDIRECTIONAL_SEQUENCE_LSTM lowering');
  },
  lower: (ctx, attrs, op) => lowerFloatLstm(ctx, attrs, op),
  run: runFloatLstm,
  emitC: emitFloatLstm,
});
