// ADD_N on int8 and float32, as TFLite Micro's add_n.cc: two or more inputs of one shape and type
// (int8 ones of one scale and zero point), summed element by element. float32: x = 0, then each
// input added in order. int8 (reference_ops::AddN with ArithmeticParams): every input's distance
// from the zero point is shifted left 20 bits and halved (QuantizeMultiplierSmallerThanOneExp of
// 0.5), the halves are summed in int32, and the sum is requantized by 2 * input scale /
// (2^20 * output scale) plus zout, clamped to int8. Micro's sum starts not at zero but at the
// halved, shifted -zin (its "x = 0" is the input offset): tinyforge keeps that, so a nonzero input
// zero point shifts the result exactly as on Micro.

import { elementCount, isConstant, type Tensor } from '../ir/graph.ts';
import { constantData } from '../reference/run_reference.ts';
import { clamp, addInt32, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { quantizeMultiplier } from '../quant/multiplier.ts';
import { FLOAT_HELPERS } from './float32.ts';
import { defineOp, type KernelIo, type ModuleLowering, type TensorData } from './op_module.ts';

type Operand = { kind: 'constant'; tensor: number } | { kind: 'activation'; index: number };

interface AddNParams {
  dtype: 'int8' | 'float32';
  size: number;
  operands: Operand[];
  inputOffset: number;
  outputOffset: number;
  inputMultiplier: number;
  inputShift: number;
  outputMultiplier: number;
  outputShift: number;
}

const LEFT_SHIFT = 20;
/** Largest |distance from the zero point| of an int8 value, shifted and halved: a bound on each term. */
const TERM_BOUND = 255 * 2 ** (LEFT_SHIFT - 1);

const f = Math.fround;

function operandData(io: KernelIo, o: Operand): TensorData {
  return o.kind === 'constant' ? constantData(io.graph.tensors[o.tensor] as Tensor) : io.input(o.index);
}

/** One int8 output element of Micro's quantized AddN from the inputs' values at that element. */
export function addNInt8(p: AddNParams, values: readonly number[]): number {
  const term = (v: number): number => multiplyByQuantizedMultiplier((v + p.inputOffset) * 2 ** LEFT_SHIFT, p.inputMultiplier, p.inputShift);
  let sum = multiplyByQuantizedMultiplier(p.inputOffset * 2 ** LEFT_SHIFT, p.inputMultiplier, p.inputShift);
  for (const v of values) sum = addInt32(sum, term(v));
  return clamp(multiplyByQuantizedMultiplier(sum, p.outputMultiplier, p.outputShift) + p.outputOffset, -128, 127);
}

export const addNOp = defineOp({
  builtins: ['ADD_N'],
  key: 'add_n_f32',
  float32For: ['ADD_N'],
  read(r) {
    if (r.raw.inputs.length < 2) r.fail(`${r.label} has ${r.raw.inputs.length} inputs; ADD_N takes at least 2`);
    r.arity(2, r.raw.inputs.length, 1);
    const first = r.input(0, 'input 0');
    for (let i = 1; i < r.raw.inputs.length; i++) {
      const t = r.input(i, `input ${i}`);
      if (t.shape.join() !== first.shape.join()) r.fail(`${r.label} input ${i} has shape [${t.shape}] but input 0 has [${first.shape}]; ADD_N does not broadcast`);
    }
    const y = r.output(0);
    if (y.shape.join() !== first.shape.join()) r.fail(`${r.label} output shape [${y.shape}] differs from the inputs' [${first.shape}]`);
    return {};
  },
  lower(ctx): ModuleLowering<AddNParams> {
    const ins = ctx.op.inputs.map((_, i) => ctx.tensor(i));
    const first = ins[0] as Tensor;
    const y = ctx.tensor(0, 'output');
    if (first.dtype !== 'int8' && first.dtype !== 'float32') ctx.fail(`input '${first.name}' is ${first.dtype}; TFLite Micro's ADD_N takes int8 or float32`);
    for (const t of [...ins, y]) if (t.dtype !== first.dtype) ctx.fail(`'${t.name}' is ${t.dtype} but input '${first.name}' is ${first.dtype}`);
    let activations = 0;
    const operands: Operand[] = ins.map((t) => (isConstant(t) ? { kind: 'constant', tensor: t.id } : { kind: 'activation', index: activations++ }));
    const constants = ins.filter(isConstant).map((t) => t.id);
    const size = elementCount(first.shape);
    const base = { size, operands, inputOffset: 0, outputOffset: 0, inputMultiplier: 0, inputShift: 0, outputMultiplier: 0, outputShift: 0 };
    const cConstants = constants.length > 0 ? { constants } : {};
    if (first.dtype === 'float32') return { params: { dtype: 'float32', ...base }, kernel: 'add_n_f32', cFiles: [...FLOAT_HELPERS, 'portable/add_n_f32.c'], ...cConstants };
    const inQ = ctx.quant(first, 'input');
    for (const t of ins.slice(1)) {
      const q = ctx.quant(t, 'input');
      if (f(q.scale) !== f(inQ.scale) || q.zeroPoint !== inQ.zeroPoint) ctx.fail(`input '${t.name}' has scale ${q.scale} and zero point ${q.zeroPoint} but input '${first.name}' has ${inQ.scale} and ${inQ.zeroPoint}; TFLite Micro's ADD_N needs them equal`);
    }
    if ((ins.length + 1) * TERM_BOUND > 2147483647) ctx.fail(`${ins.length} int8 inputs could overflow TFLite Micro's int32 sum (at most ${Math.floor(2147483647 / TERM_BOUND) - 1})`);
    const outQ = ctx.quant(y, 'output');
    const twiceScale = 2 * inQ.scale;
    const realOutput = twiceScale / (2 ** LEFT_SHIFT * outQ.scale);
    if (!(realOutput < 1)) ctx.fail(`output scale ${outQ.scale} is too small for input scale ${inQ.scale}: TFLite Micro's ADD_N needs 2 * input scale / (2^20 * output scale) below 1`);
    const input = quantizeMultiplier(inQ.scale / twiceScale);
    const output = quantizeMultiplier(realOutput);
    return {
      params: { dtype: 'int8', ...base, inputOffset: -inQ.zeroPoint, outputOffset: outQ.zeroPoint, inputMultiplier: input.multiplier, inputShift: input.shift, outputMultiplier: output.multiplier, outputShift: output.shift },
      kernel: 'add_n_s8',
      cFiles: ['portable/tf_quant.h', 'portable/add_n_s8.c'],
      ...cConstants,
    };
  },
  run(p: AddNParams, io) {
    if (p.dtype === 'float32') {
      const xs = p.operands.map((o) => operandData(io, o).f32());
      const y = io.output(0).f32();
      for (let i = 0; i < p.size; i++) {
        let x = 0;
        for (const a of xs) x = f(x + (a[i] as number));
        y[i] = x;
      }
      return;
    }
    const xs = p.operands.map((o) => operandData(io, o).s8());
    const y = io.output(0).s8();
    for (let i = 0; i < p.size; i++) y[i] = addNInt8(p, xs.map((a) => a[i] as number));
  },
  emitC(p: AddNParams, e) {
    const arg = (o: Operand): string => (o.kind === 'constant' ? e.constant(o.tensor) : e.input(o.index));
    const ctype = p.dtype === 'int8' ? 'int8_t' : 'float';
    const list = `{${p.operands.map(arg).join(', ')}}`;
    if (p.dtype === 'float32') {
      e.call(`{ const float *const inputs[${p.operands.length}] = ${list}; tf_add_n_f32(inputs, ${p.operands.length}, ${e.output(0)}, ${p.size}); }`);
      return;
    }
    const params = e.params('tf_add_n_s8_params', {
      size: p.size,
      input_offset: p.inputOffset,
      output_offset: p.outputOffset,
      input_multiplier: p.inputMultiplier,
      input_shift: p.inputShift,
      output_multiplier: p.outputMultiplier,
      output_shift: p.outputShift,
    });
    e.call(`{ const ${ctype} *const inputs[${p.operands.length}] = ${list}; tf_add_n_s8(${params}, inputs, ${p.operands.length}, ${e.output(0)}); }`);
  },
});
