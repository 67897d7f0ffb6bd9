// CUMSUM on int8 and float32 along one constant axis, as TFLite Micro's cumsum.cc, with its
// exclusive (each output leaves out its own element) and reverse (sums from the far end) options.
// float32: an accumulator from 0 adding elements in scan order. int8 (reference_ops::CumSum with
// ArithmeticParams, the ADD_N arithmetic of add_n.ts): each distance from the zero point shifted
// left 20 bits and halved, accumulated in int32 starting from Micro's halved shifted -zin, and each
// running sum requantized by 2 * input scale / (2^20 * output scale) plus zout, clamped. A long
// axis of large values overflows Micro's int32 accumulator (signed overflow in its C++, which
// wraps on the machines Micro runs on): tinyforge wraps it explicitly, so the bits still agree.

import { elementCount } from '../ir/graph.ts';
import { BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';
import { constantData } from '../reference/run_reference.ts';
import { addInt32, clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { quantizeMultiplier } from '../quant/multiplier.ts';
import { FLOAT_HELPERS } from './float32.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';
import { normalizeAxis } from './strided_copy.ts';

interface CumsumParams {
  dtype: 'int8' | 'float32';
  /** Products of the dimensions before and after the axis, and the axis' extent. */
  before: number;
  depth: number;
  after: number;
  exclusive: boolean;
  reverse: boolean;
  inputOffset: number;
  outputOffset: number;
  inputMultiplier: number;
  inputShift: number;
  outputMultiplier: number;
  outputShift: number;
}

const LEFT_SHIFT = 20;
const f = Math.fround;

/** Calls visit(index) for each element of one (before, after) line in scan order. */
function scan(p: CumsumParams, b: number, a: number, visit: (index: number) => void): void {
  for (let k = 0; k < p.depth; k++) {
    const d = p.reverse ? p.depth - 1 - k : k;
    visit(b * p.depth * p.after + d * p.after + a);
  }
}

export const cumsumOp = defineOp({
  builtins: ['CUMSUM'],
  key: 'cumsum_f32',
  float32For: ['CUMSUM'],
  read(r) {
    r.arity(2, 2, 1);
    const x = r.input(0, 'input');
    r.input(1, 'axis');
    const y = r.output(0);
    r.sameShape(x, y);
    const t = r.options(BuiltinOptionsType.CumsumOptions, 'CumsumOptions');
    return { exclusive: t ? t.bool(F.CumsumOptions.exclusive, false, 'exclusive') : false, reverse: t ? t.bool(F.CumsumOptions.reverse, false, 'reverse') : false };
  },
  lower(ctx, attrs): ModuleLowering<CumsumParams> {
    const x = ctx.tensor(0);
    const axisT = ctx.tensor(1);
    const y = ctx.tensor(0, 'output');
    if (x.dtype !== 'int8' && x.dtype !== 'float32') ctx.fail(`input '${x.name}' is ${x.dtype}; TFLite Micro's CUMSUM takes int8 or float32`);
    if (y.dtype !== x.dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${x.dtype}`);
    if (x.shape.length < 1) ctx.fail(`input '${x.name}' is a scalar; TFLite Micro's CUMSUM needs rank 1 or more`);
    if (axisT.dtype !== 'int32' || axisT.data === undefined || elementCount(axisT.shape) !== 1) ctx.fail(`axis '${axisT.name}' must be one constant int32 value`);
    const axis = normalizeAxis(ctx, constantData(axisT).s32()[0] as number, x.shape.length, 'axis');
    const base: CumsumParams = {
      dtype: x.dtype === 'int8' ? 'int8' : 'float32',
      before: elementCount(x.shape.slice(0, axis)),
      depth: x.shape[axis] as number,
      after: elementCount(x.shape.slice(axis + 1)),
      exclusive: attrs.exclusive,
      reverse: attrs.reverse,
      inputOffset: 0,
      outputOffset: 0,
      inputMultiplier: 0,
      inputShift: 0,
      outputMultiplier: 0,
      outputShift: 0,
    };
    if (x.dtype === 'float32') return { params: base, kernel: 'cumsum_f32', cFiles: [...FLOAT_HELPERS, 'portable/cumsum_f32.c'], inputs: [x.id] };
    const inQ = ctx.quant(x, 'input');
    const outQ = ctx.quant(y, 'output');
    const twiceScale = 2 * inQ.scale;
    const realOutput = twiceScale / (2 ** LEFT_SHIFT * outQ.scale);
    if (!(realOutput < 1)) ctx.fail(`output scale ${outQ.scale} is too small for input scale ${inQ.scale}: TFLite Micro's CUMSUM needs 2 * input scale / (2^20 * output scale) below 1`);
    const input = quantizeMultiplier(inQ.scale / twiceScale);
    const output = quantizeMultiplier(realOutput);
    const params: CumsumParams = { ...base, inputOffset: -inQ.zeroPoint, outputOffset: outQ.zeroPoint, inputMultiplier: input.multiplier, inputShift: input.shift, outputMultiplier: output.multiplier, outputShift: output.shift };
    return { params, kernel: 'cumsum_s8', cFiles: ['portable/tf_quant.h', 'portable/cumsum_s8.c'], inputs: [x.id] };
  },
  run(p: CumsumParams, io) {
    for (let b = 0; b < p.before; b++) {
      for (let a = 0; a < p.after; a++) {
        if (p.dtype === 'float32') {
          const x = io.input(0).f32();
          const y = io.output(0).f32();
          let acc = 0;
          scan(p, b, a, (i) => {
            const v = x[i] as number;
            if (p.exclusive) y[i] = acc;
            acc = f(acc + v);
            if (!p.exclusive) y[i] = acc;
          });
          continue;
        }
        const x = io.input(0).s8();
        const y = io.output(0).s8();
        const term = (v: number): number => multiplyByQuantizedMultiplier((v + p.inputOffset) * 2 ** LEFT_SHIFT, p.inputMultiplier, p.inputShift);
        let acc = term(0);
        scan(p, b, a, (i) => {
          const before = acc;
          acc = addInt32(acc, term(x[i] as number));
          const sum = p.exclusive ? before : acc;
          y[i] = clamp(multiplyByQuantizedMultiplier(sum, p.outputMultiplier, p.outputShift) + p.outputOffset, -128, 127);
        });
      }
    }
  },
  emitC(p: CumsumParams, e) {
    const shape = { before: p.before, depth: p.depth, after: p.after, exclusive: p.exclusive ? 1 : 0, reverse: p.reverse ? 1 : 0 };
    if (p.dtype === 'float32') {
      e.call(`tf_cumsum_f32(${e.params('tf_cumsum_f32_params', shape)}, ${e.input(0)}, ${e.output(0)});`);
      return;
    }
    const params = e.params('tf_cumsum_s8_params', {
      ...shape,
      input_offset: p.inputOffset,
      output_offset: p.outputOffset,
      input_multiplier: p.inputMultiplier,
      input_shift: p.inputShift,
      output_multiplier: p.outputMultiplier,
      output_shift: p.outputShift,
    });
    e.call(`tf_cumsum_s8(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
