// LOGISTIC and TANH. int8: TFLite Micro's gemmlowp fixed-point logistic / tanh on a Q4.27 input,
// run over all 256 input values at compile time into a lookup table (lut8.ts). int16: TFLite
// Micro's table interpolation in its sigmoid table, rescaled so that 2^17 stands for 10.7.

import type { Tensor } from '../ir/graph.ts';
import { clamp, multiplyByQuantizedMultiplier, roundingDivideByPOT } from '../quant/fixed_point.ts';
import { logisticQ0, tanhQ0 } from '../quant/fixed_point_math.ts';
import { sigmoidTableU16 } from '../quant/lut.ts';
import { calculateInputRadius, checkedLog2, frexpMultiplier } from '../quant/multiplier.ts';
import type { LoweringContext } from '../passes/lower.ts';
import { buildLut8, emitLut8, isLut8, lut8Lowering, runLut8, type Lut8Params } from './lut8.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

export interface Sigmoid16Params {
  tanh: boolean;
  size: number;
  multiplier: number;
  shift: number;
}

type Params = Lut8Params | Sigmoid16Params;

const INPUT_INTEGER_BITS = 4;

function lowerInt8(ctx: LoweringContext, x: Tensor, y: Tensor, tanh: boolean, size: number): ModuleLowering<Lut8Params> {
  const inQ = ctx.quant(x, 'input');
  const outQ = ctx.quant(y, 'output');
  if (!tanh && outQ.zeroPoint !== -128) ctx.fail(`output '${y.name}' has zero point ${outQ.zeroPoint}; int8 LOGISTIC needs -128 (TFLite Micro requires it)`);
  // Prepare: the input scale times 2^27 (Q4.27) as a frexp multiplier, and the radius beyond which
  // the result saturates.
  const q = frexpMultiplier(inQ.scale * 2 ** (31 - INPUT_INTEGER_BITS));
  if (q.multiplier >= 2 ** 31) ctx.fail(`input scale ${inQ.scale} rounds to a multiplier of 2^31, which TFLite Micro cannot represent`);
  const radius = calculateInputRadius(INPUT_INTEGER_BITS, q.shift);
  const table = buildLut8('int8', (v) => {
    const input = v - inQ.zeroPoint;
    if (input <= -radius) return -128;
    if (input >= radius) return 127;
    const inQ4 = multiplyByQuantizedMultiplier(input, q.multiplier, q.shift);
    if (tanh) return clamp(roundingDivideByPOT(tanhQ0(inQ4, INPUT_INTEGER_BITS), 31 - 7), -128, 127);
    return clamp(roundingDivideByPOT(logisticQ0(inQ4, INPUT_INTEGER_BITS), 31 - 8) - 128, -128, 127);
  });
  return lut8Lowering(table, size, 'int8', tanh ? 'tanh_s8_lut' : 'logistic_s8_lut');
}

function lowerInt16(ctx: LoweringContext, x: Tensor, y: Tensor, tanh: boolean, size: number): ModuleLowering<Sigmoid16Params> {
  const inQ = ctx.quant(x, 'input');
  const outQ = ctx.quant(y, 'output');
  if (inQ.zeroPoint !== 0 || outQ.zeroPoint !== 0) ctx.fail(`int16 ${tanh ? 'TANH' : 'LOGISTIC'} needs zero points 0 (input ${inQ.zeroPoint}, output ${outQ.zeroPoint})`);
  const out = checkedLog2(outQ.scale);
  if (!out.exact || out.log2 !== -15) ctx.fail(`output '${y.name}' scale ${outQ.scale} must be 2^-15 for int16 ${tanh ? 'TANH' : 'LOGISTIC'}`);
  const inLog2 = checkedLog2(inQ.scale);
  let shift = 15 - 3 + inLog2.log2;
  let multiplier: number;
  // A power-of-two input scale of 2^-12 (TANH also 2^-11) is handled by the kernel's fixed factor 3.
  if (inLog2.exact && (shift === 0 || (tanh && shift === 1))) {
    multiplier = 3 << shift;
    shift = 0;
  } else {
    // Otherwise rescale to 1 / (3 * 4096) with at most 15 significant bits, as TFLite's Prepare does.
    let real = inQ.scale * 4096 * 3;
    shift = 0;
    while (real <= 32767 / 2 && shift <= 30) {
      shift++;
      real *= 2;
    }
    multiplier = Math.trunc(real);
  }
  if (multiplier > 32767) ctx.fail(`input scale ${inQ.scale} is too large for int16 ${tanh ? 'TANH' : 'LOGISTIC'} (multiplier ${multiplier} exceeds 32767)`);
  return {
    params: { tanh, size, multiplier, shift },
    kernel: tanh ? 'tanh_s16' : 'logistic_s16',
    cFiles: ['portable/sigmoid_s16.h', tanh ? 'portable/tanh_s16.c' : 'portable/logistic_s16.c'],
  };
}

/** TFLite Micro's int16 LOGISTIC / TANH (reference_integer_ops), in place when input is output. */
export function runSigmoid16(p: Sigmoid16Params, input: Int16Array, output: Int16Array): void {
  const table = sigmoidTableU16();
  const round = p.shift > 0 ? 1 << (p.shift - 1) : 0;
  for (let i = 0; i < p.size; i++) {
    const x = ((input[i] as number) * p.multiplier + round) >> p.shift;
    const abs = Math.abs(x);
    if (p.tanh) {
      const uh = abs >>> 8;
      let result: number;
      if (uh >= 255) result = 0xffff << 8;
      else {
        const ua = table[uh] as number;
        result = ua * 256 + (abs & 0xff) * ((table[uh + 1] as number) - ua);
      }
      result = x >= 0 ? result - (1 << 23) + (1 << 7) : -result + (1 << 23) + (1 << 7) - 1;
      output[i] = result >> 8;
    } else {
      const uh = abs >>> 9;
      let result: number;
      if (uh >= 255) result = 0x7fff << 10;
      else {
        const ua = table[uh] as number;
        result = ua * 512 + (abs & 0x1ff) * ((table[uh + 1] as number) - ua);
      }
      result = x >= 0 ? result + (1 << 9) : (1 << 25) - result + (1 << 9) - 1;
      output[i] = result >>> 10;
    }
  }
}

export const logisticTanhOps = defineOp({
  builtins: ['LOGISTIC', 'TANH'],
  read(r, builtin) {
    r.elementwise();
    return { tanh: builtin === 'TANH' };
  },
  lower(ctx, attrs): ModuleLowering<Params> {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    const dtype = ctx.quantizedType(x, 'input', ['int8', 'int16']);
    if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype}`);
    const size = x.shape.reduce((a, b) => a * b, 1);
    return dtype === 'int8' ? lowerInt8(ctx, x, y, attrs.tanh, size) : lowerInt16(ctx, x, y, attrs.tanh, size);
  },
  run(p: Params, io) {
    if (isLut8(p)) runLut8(p, io);
    else runSigmoid16(p, io.input(0).s16(), io.output(0).s16());
  },
  emitC(p: Params, e) {
    if (isLut8(p)) {
      emitLut8(p, e);
      return;
    }
    const table = e.array('sigmoid', 'uint16_t', sigmoidTableU16(), 'TFLite sigmoid(i / 24) table, Q0.16');
    const params = e.params('tf_sigmoid_s16_params', { size: p.size, multiplier: p.multiplier, shift: p.shift, table });
    e.call(`tf_${p.tanh ? 'tanh' : 'logistic'}_s16(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
