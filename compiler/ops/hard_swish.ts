// HARD_SWISH on int8 (TFLite Micro has no int16 path). TFLite's reference kernel works in int16
// fixed point (a "relu-ish" factor in [0, 1] times the input on the output scale); all of it runs
// at compile time over the 256 input values into a lookup table (lut8.ts).

import { quantizeMultiplier } from '../quant/multiplier.ts';
import { buildLut8, emitLut8, lut8Lowering, runLut8, type Lut8Params } from './lut8.ts';
import { defineOp } from './op_module.ts';

const f = Math.fround;
const toInt16 = (x: number): number => (x << 16) >> 16;
const sat16 = (x: number): number => Math.min(32767, Math.max(-32768, x));

/** TFLite DownScaleInt32ToInt16Multiplier: the top 16 bits, rounded. */
function downScaleToInt16(m: number): number {
  if (m >= 2147483647 - 32768) return 32767;
  return (m + 32768) >> 16;
}

/** gemmlowp SaturatingRoundingDoublingHighMul on int16. */
function srdhm16(a: number, b: number): number {
  if (a === b && a === -32768) return 32767;
  const ab = a * b;
  const nudge = ab >= 0 ? 1 << 14 : 1 - (1 << 14);
  return toInt16(Math.trunc((ab + nudge) / 32768));
}

/** TFLite SaturatingDoublingHighMul on int16: as above but truncating toward zero. */
function sdhm16(a: number, b: number): number {
  if (a === b && a === -32768) return 32767;
  return toInt16(Math.trunc((a * b) / 32768));
}

/** gemmlowp RoundingDivideByPOT on int16 operands (the mask and threshold are int16 too). */
function rdbpot16(x: number, exponent: number): number {
  const mask = toInt16(2 ** exponent - 1);
  const remainder = toInt16(x & mask);
  const threshold = toInt16((mask >> 1) + (x < 0 ? 1 : 0));
  return toInt16((x >> exponent) + (remainder > threshold ? 1 : 0));
}

function satLeftShift16(x: number, amount: number): number {
  return sat16(x * 2 ** amount);
}

export const hardSwishOp = defineOp({
  builtins: ['HARD_SWISH'],
  read(r) {
    r.elementwise();
    return {};
  },
  lower(ctx) {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    if (x.dtype !== 'int8') ctx.fail(`input '${x.name}' is ${x.dtype}; TFLite Micro's HARD_SWISH supports int8 only`);
    if (y.dtype !== 'int8') ctx.fail(`output '${y.name}' is ${y.dtype} but the input is int8`);
    const inQ = ctx.quant(x, 'input');
    const outQ = ctx.quant(y, 'output');
    // Prepare, in float32 as TFLite does: the input on a 128x finer scale, and 3.0 as 32768.
    const hiresInputScale = f(f(1 / 128) * f(inQ.scale));
    const reluishScale = f(3 / 32768);
    const out = quantizeMultiplier(f(hiresInputScale / f(outQ.scale)));
    if (out.shift > 0) ctx.fail(`output scale ${outQ.scale} is too small for HARD_SWISH (input scale / 128 / output scale must be below 1, TFLite Micro requires it)`);
    const reluish = quantizeMultiplier(f(hiresInputScale / reluishScale));
    const outMul = downScaleToInt16(out.multiplier);
    const reluMul = downScaleToInt16(reluish.multiplier);
    const table = buildLut8('int8', (v) => {
      const inputValue = toInt16(v - inQ.zeroPoint);
      const hires = toInt16(inputValue * 128);
      const preshiftOutput = srdhm16(hires, outMul);
      let r = hires;
      if (reluish.shift > 0) r = satLeftShift16(r, reluish.shift - 1);
      r = srdhm16(r, reluMul);
      if (reluish.shift > 0) r = satLeftShift16(r, 1);
      if (reluish.shift < 0) r = rdbpot16(r, -reluish.shift);
      r = toInt16((r + (1 << 15)) >> 1);
      const preshiftValue = sdhm16(r, preshiftOutput);
      const outputValue = toInt16(rdbpot16(preshiftValue, -out.shift) + outQ.zeroPoint);
      return Math.max(-128, Math.min(127, outputValue));
    });
    const size = x.shape.reduce((a, b) => a * b, 1);
    return lut8Lowering(table, size, 'int8', 'hard_swish_s8_lut');
  },
  run(p: Lut8Params, io) {
    runLut8(p, io);
  },
  emitC(p: Lut8Params, e) {
    emitLut8(p, e);
  },
});
