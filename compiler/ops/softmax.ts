// SOFTMAX with an int16 output: int8 -> int16 (TFLite's gemmlowp softmax with a 16-bit output
// stage) and int16 -> int16 (TFLite's SoftmaxInt16: exp and 1/(1+x) interpolated in two 513-entry
// tables that TFLite builds in Prepare and tinyforge builds at compile time). int8 -> int8 is the
// builtin softmax_s8 kernel (passes/lower.ts), which hands the other type pairs to this module.

import { softmaxInt8, type SoftmaxInt8Params } from '../kernels/softmax_s8.ts';
import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { genLutInt16, lutLookupInt16 } from '../quant/lut.ts';
import { quantizeMultiplier, softmaxInt8Scaling } from '../quant/multiplier.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

interface SoftmaxS8S16Params extends SoftmaxInt8Params {
  kind: 's8_s16';
}

interface SoftmaxS16Params {
  kind: 's16';
  outer: number;
  depth: number;
  inputMultiplier: number;
  inputShift: number;
  expLut: number[];
  recipLut: number[];
}

type Params = SoftmaxS8S16Params | SoftmaxS16Params;

const f = Math.fround;
let tables: { exp: number[]; recip: number[] } | undefined;

/** TFLite's int16 softmax tables: exp on [-10, 0] and 1 / (1 + x) on [0, 1], both to [-1, 1]. */
function softmaxTables(): { exp: number[]; recip: number[] } {
  tables ??= {
    exp: Array.from(genLutInt16((x) => f(Math.exp(x)), -10, 0, -1, 1)),
    recip: Array.from(genLutInt16((x) => f(1 / f(1 + x)), 0, 1, -1, 1)),
  };
  return tables;
}

function softmaxS16(p: SoftmaxS16Params, input: Int16Array, output: Int16Array): void {
  const expLut = Int16Array.from(p.expLut);
  const recipLut = Int16Array.from(p.recipLut);
  for (let row = 0; row < p.outer; row++) {
    const base = row * p.depth;
    let maxInRow = -32768;
    for (let c = 0; c < p.depth; c++) maxInRow = Math.max(maxInRow, input[base + c] as number);
    let sumOfExps = 0;
    for (let c = 0; c < p.depth; c++) {
      const scaled = multiplyByQuantizedMultiplier((input[base + c] as number) - maxInRow, p.inputMultiplier, p.inputShift) + 32767;
      const e = lutLookupInt16(clamp(scaled, -32768, 32767), expLut);
      output[base + c] = e;
      sumOfExps += e;
    }
    const headroomPlusOne = Math.clz32(sumOfExps);
    const shiftedSum = Math.floor((sumOfExps * 2 ** (headroomPlusOne - 1) + (1 << 13)) / 2 ** 14);
    const reciprocal = lutLookupInt16(clamp(shiftedSum - ((1 << 15) + (1 << 16)), -32768, 32767), recipLut);
    const rightShift = 31 - headroomPlusOne;
    for (let c = 0; c < p.depth; c++) {
      const result = Math.floor(((output[base + c] as number) * reciprocal + 2 ** (rightShift - 1)) / 2 ** rightShift);
      output[base + c] = clamp(result, 0, 32767);
    }
  }
}

export const softmaxOp = defineOp({
  // Read by the frontend as the builtin 'softmax' op kind; lower.ts hands int16 outputs here.
  builtins: ['SOFTMAX'],
  read(r) {
    r.arity(1, 1, 1);
    r.input(0, 'input');
    r.output(0);
    return { beta: 1 };
  },
  lower(ctx, attrs): ModuleLowering<Params> {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    const dtype = ctx.quantizedType(x, 'input', ['int8', 'int16']);
    if (y.dtype !== 'int16') ctx.fail(`output '${y.name}' is ${y.dtype}; an ${dtype} softmax produces ${dtype === 'int8' ? 'int8 or int16' : 'int16'}`);
    if (x.shape.length < 1) ctx.fail(`input '${x.name}' is a scalar; SOFTMAX needs at least one dimension`);
    const inQ = ctx.quant(x, 'input');
    const outQ = ctx.quant(y, 'output');
    const depth = x.shape[x.shape.length - 1] as number;
    const outer = x.shape.reduce((a, b) => a * b, 1) / depth;
    const beta = Number(attrs.beta);
    if (dtype === 'int8') {
      if (outQ.zeroPoint !== -32768 || Math.abs(outQ.scale - 1 / 65536) > 0.001 / 65536) ctx.fail(`int8 -> int16 softmax output must have scale 1/65536 and zero point -32768 (got ${outQ.scale}, ${outQ.zeroPoint})`);
      const s = softmaxInt8Scaling(beta, inQ.scale, 5);
      if (!s) return ctx.fail(`input scale ${inQ.scale} is too small for the int8 softmax`);
      const params: SoftmaxS8S16Params = { kind: 's8_s16', outer, depth, inputMultiplier: s.multiplier, inputLeftShift: s.leftShift, diffMin: s.diffMin };
      return { params, kernel: 'softmax_s8_s16', cFiles: ['portable/tf_fixedpoint.h', 'portable/softmax_s8.h', 'portable/softmax_s8_s16.c'] };
    }
    if (outQ.zeroPoint !== 0 || Math.abs(outQ.scale - 1 / 32768) > 0.001 / 32768) ctx.fail(`int16 softmax output must have scale 1/32768 and zero point 0 (got ${outQ.scale}, ${outQ.zeroPoint})`);
    // [-65535, 0] of the scaled difference stands for [-10, 0].
    const q = quantizeMultiplier((inQ.scale * beta) / (10 / 65535));
    const t = softmaxTables();
    const params: SoftmaxS16Params = { kind: 's16', outer, depth, inputMultiplier: q.multiplier, inputShift: q.shift, expLut: t.exp, recipLut: t.recip };
    return { params, kernel: 'softmax_s16', cFiles: ['portable/softmax_s16.c'] };
  },
  run(p: Params, io) {
    if (p.kind === 's8_s16') softmaxInt8(p, io.input(0).s8(), io.output(0).s16(), 16);
    else softmaxS16(p, io.input(0).s16(), io.output(0).s16());
  },
  emitC(p: Params, e) {
    if (p.kind === 's8_s16') {
      const params = e.params('tf_softmax_s8_params', { outer: p.outer, depth: p.depth, input_multiplier: p.inputMultiplier, input_left_shift: p.inputLeftShift, diff_min: p.diffMin });
      e.call(`tf_softmax_s8_s16(${params}, ${e.input(0)}, ${e.output(0)});`);
      return;
    }
    const expLut = e.array('exp_lut', 'int16_t', p.expLut, 'exp(x) on [-10, 0] in Q0.15, 512 steps and one for the last slope');
    const recipLut = e.array('recip_lut', 'int16_t', p.recipLut, '1 / (1 + x) on [0, 1] in Q0.15, 512 steps and one for the last slope');
    const params = e.params('tf_softmax_s16_params', { outer: p.outer, depth: p.depth, input_multiplier: p.inputMultiplier, input_shift: p.inputShift, exp_lut: expLut, recip_lut: recipLut });
    e.call(`tf_softmax_s16(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
