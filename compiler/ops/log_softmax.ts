// LOG_SOFTMAX int8 over the last axis, as TFLite Micro's log_softmax.cc and
// reference_ops::LogSoftmaxQuantized. Prepare (PreprocessLogSoftmaxScalingExp, beta 1): the input
// scale times 2^26 becomes a multiplier greater than one that turns a difference from the row
// maximum into Q5.26, its reverse as a multiplier below one, and diff_min (CalculateInputRadius).
// Eval: the sum of exp(difference) in Q12.19 (gemmlowp exp_on_negative_values, each rescaled from
// Q0.31), its natural log in Q5.26 (TFLite's log_x_for_x_greater_than_or_equal_to_1: a range
// reduction by powers of sqrt(2) and a rational polynomial, below), and each output
// (difference - log sum) in 1/16 steps from 127. Micro requires the output scale 16/256 and zero
// point 127. float32 (reference_ops::LogSoftmax): the row maximum from -FLT_MAX by std::max, the
// float sum of expf(x - max) in order, and x - max - logf(sum), with glibc's expf / logf bits
// (expf.ts / float_math.ts, tf_expf / tf_logf in C).

import { elementCount } from '../ir/graph.ts';
import { INT32_MAX, INT32_MIN, addInt32, clamp, multiplyByQuantizedMultiplier, roundingDivideByPOT, saturatingRoundingDoublingHighMul as mul, saturatingRoundingMultiplyByPOT as mulPOT, subInt32 } from '../quant/fixed_point.ts';
import { expOnNegativeValues, oneOverOnePlusXForXIn01 } from '../quant/fixed_point_math.ts';
import { calculateInputRadius, quantizeMultiplier } from '../quant/multiplier.ts';
import { logf } from '../reference/float_math.ts';
import { expf } from './expf.ts';
import { FLOAT_HELPERS, FLT_MAX } from './float32.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

interface LogSoftmaxF32Params {
  dtype: 'float32';
  outer: number;
  depth: number;
}

interface LogSoftmaxParams {
  dtype?: 'int8';
  outer: number;
  depth: number;
  inputMultiplier: number;
  inputLeftShift: number;
  reverseMultiplier: number;
  /** QuantizeMultiplier's shift of the reverse scaling (at most 0). */
  reverseShift: number;
  diffMin: number;
}

const INPUT_INTEGER_BITS = 5;
const ACCUMULATION_INTEGER_BITS = 12;
const OUTPUT_INTEGER_BITS = 4;
const OUTPUT_SCALE = 16 / 256;
const OUTPUT_ZERO_POINT = 127;
/** Rows longer than this could overflow the Q12.19 sum of exps (each term up to 2^19). */
const MAX_DEPTH = 4095;

const saturate = (x: number): number => clamp(x, INT32_MIN, INT32_MAX);

/**
 * TFLite log_x_for_x_greater_than_or_equal_to_1<5>(x) for a Q12.19 x: ln(x) in Q5.26. The input's
 * power of two is found twice, once for x and once for x * sqrt(1/2), and the reduction whose
 * mantissa r is smaller wins; ln(r) comes from a rational approximation around 2^(-1/4).
 */
export function logQ5FromQ12(x: number): number {
  const accumBits = INPUT_INTEGER_BITS + 1;
  const log2 = 1488522236;
  const sqrtSqrtHalf = 1805811301;
  const sqrtHalf = 1518500250;
  const alphaN = 117049297;
  const alphaD = 127690142;
  const alphaI = 1057819769;
  const alphaF = 638450708;
  const shiftedQuarter = roundingDivideByPOT(536870912, accumBits);
  const aHeadroomPlusOne = Math.clz32(x);
  const rA = mulPOT(mul(mulPOT(x, aHeadroomPlusOne - 1), sqrtHalf), 1);
  const aPow2Adj = saturate(mulPOT(ACCUMULATION_INTEGER_BITS - aHeadroomPlusOne, 31 - accumBits) + shiftedQuarter);
  const zB = mul(x, sqrtHalf);
  const bHeadroom = Math.clz32(zB) - 1;
  const rB = mulPOT(x, bHeadroom);
  const bPow2Adj = saturate(mulPOT(ACCUMULATION_INTEGER_BITS - bHeadroom, 31 - accumBits) - shiftedQuarter);
  const r = Math.min(rA, rB);
  const pow2Adj = Math.max(aPow2Adj, bPow2Adj);
  const sum = r + sqrtSqrtHalf;
  const p = Math.trunc((sum + (sum >= 0 ? 1 : -1)) / 2);
  let q = subInt32(r, sqrtSqrtHalf);
  q = addInt32(q, q);
  const commonSq = mul(q, q);
  const num = addInt32(mul(q, r), mul(mul(q, commonSq), alphaN));
  const denomMinusOne = addInt32(mul(p, addInt32(addInt32(alphaI, q), mul(alphaD, commonSq))), mul(alphaF, q));
  const recipDenom = oneOverOnePlusXForXIn01(denomMinusOne);
  const numScaled = roundingDivideByPOT(num, accumBits);
  return mulPOT(addInt32(mul(pow2Adj, log2), mul(numScaled, recipDenom)), accumBits - INPUT_INTEGER_BITS);
}

export function logSoftmaxRow(p: LogSoftmaxParams, x: ArrayLike<number>, y: Int8Array | number[]): void {
  let max = -128;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i] as number);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const diff = (x[i] as number) - max;
    if (diff >= p.diffMin) {
      const scaled = multiplyByQuantizedMultiplier(diff, p.inputMultiplier, p.inputLeftShift);
      sum = addInt32(sum, roundingDivideByPOT(expOnNegativeValues(scaled, INPUT_INTEGER_BITS), ACCUMULATION_INTEGER_BITS));
    }
  }
  const logSum = logQ5FromQ12(sum);
  const adjustedDiffMin = Math.max(p.diffMin - 1, multiplyByQuantizedMultiplier(addInt32(logSum, INT32_MIN), p.reverseMultiplier, p.reverseShift));
  for (let i = 0; i < x.length; i++) {
    const diff = (x[i] as number) - max;
    if (diff > adjustedDiffMin) {
      const scaled = multiplyByQuantizedMultiplier(diff, p.inputMultiplier, p.inputLeftShift);
      const out = roundingDivideByPOT(subInt32(scaled, logSum), 31 - INPUT_INTEGER_BITS - OUTPUT_INTEGER_BITS) + 127;
      y[i] = clamp(out, -128, 127);
    } else {
      y[i] = -128;
    }
  }
}

const f = Math.fround;

/** reference_ops::LogSoftmax (float) on one row. */
export function logSoftmaxF32Row(x: Float32Array, y: Float32Array): void {
  let max = -FLT_MAX;
  for (const v of x) max = max < v ? v : max;
  let sum = 0;
  for (const v of x) sum = f(sum + expf(f(v - max)));
  const logSum = logf(sum);
  x.forEach((v, i) => {
    y[i] = f(f(v - max) - logSum);
  });
}

type Params = LogSoftmaxParams | LogSoftmaxF32Params;

const isF32 = (p: Params): p is LogSoftmaxF32Params => p.dtype === 'float32';

export const logSoftmaxOp = defineOp({
  builtins: ['LOG_SOFTMAX'],
  key: 'log_softmax_f32',
  float32For: ['LOG_SOFTMAX'],
  read(r) {
    r.elementwise();
    return {};
  },
  lower(ctx): ModuleLowering<Params> {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    if (x.dtype !== 'int8' && x.dtype !== 'float32') ctx.fail(`input '${x.name}' is ${x.dtype}; TFLite Micro's LOG_SOFTMAX takes int8 or float32`);
    if (y.dtype !== x.dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${x.dtype}`);
    if (x.shape.length < 1) ctx.fail(`input '${x.name}' is a scalar; LOG_SOFTMAX works along the last axis`);
    if (x.dtype === 'float32') {
      const depth = x.shape[x.shape.length - 1] as number;
      return { params: { dtype: 'float32', outer: elementCount(x.shape) / Math.max(depth, 1), depth }, kernel: 'log_softmax_f32', cFiles: [...FLOAT_HELPERS, 'portable/float_math.h', 'portable/log_softmax_f32.c'], inputs: [x.id] };
    }
    const outQ = ctx.quant(y, 'output');
    if (Math.fround(outQ.scale) !== OUTPUT_SCALE || outQ.zeroPoint !== OUTPUT_ZERO_POINT) {
      ctx.fail(`output '${y.name}' has scale ${outQ.scale} and zero point ${outQ.zeroPoint}; TFLite Micro's int8 LOG_SOFTMAX requires 16/256 and 127`);
    }
    const depth = x.shape[x.shape.length - 1] as number;
    if (depth > MAX_DEPTH) ctx.fail(`last axis of input '${x.name}' has ${depth} elements; TFLite Micro's Q12.19 sum of exps overflows past ${MAX_DEPTH}`);
    const inScale = ctx.quant(x, 'input').scale;
    // PreprocessSoftmaxScaling (beta 1) then the reverse divisor, in double as TFLite does.
    const input = quantizeMultiplier(Math.min(inScale * 2 ** (31 - INPUT_INTEGER_BITS), 2 ** 31 - 1));
    if (input.shift < 1) ctx.fail(`input scale ${inScale} is too small: TFLite's LOG_SOFTMAX needs a Q5.26 input multiplier above one`);
    const reverse = quantizeMultiplier(2 ** (31 - input.shift) / input.multiplier);
    return {
      params: {
        outer: elementCount(x.shape) / Math.max(depth, 1),
        depth,
        inputMultiplier: input.multiplier,
        inputLeftShift: input.shift,
        reverseMultiplier: reverse.multiplier,
        reverseShift: reverse.shift,
        diffMin: -calculateInputRadius(INPUT_INTEGER_BITS, input.shift),
      },
      kernel: 'log_softmax_s8',
      cFiles: ['portable/tf_fixedpoint.h', 'portable/log_softmax_s8.c'],
      inputs: [x.id],
    };
  },
  run(p: Params, io) {
    if (isF32(p)) {
      const x = io.input(0).f32();
      const y = io.output(0).f32();
      for (let o = 0; o < p.outer; o++) logSoftmaxF32Row(x.subarray(o * p.depth, (o + 1) * p.depth), y.subarray(o * p.depth, (o + 1) * p.depth));
      return;
    }
    const x = io.input(0).s8();
    const y = io.output(0).s8();
    for (let o = 0; o < p.outer; o++) logSoftmaxRow(p, x.subarray(o * p.depth, (o + 1) * p.depth), y.subarray(o * p.depth, (o + 1) * p.depth));
  },
  emitC(p: Params, e) {
    if (isF32(p)) {
      e.call(`tf_log_softmax_f32(${e.params('tf_log_softmax_f32_params', { outer: p.outer, depth: p.depth })}, ${e.input(0)}, ${e.output(0)});`);
      return;
    }
    const params = e.params('tf_log_softmax_s8_params', {
      outer: p.outer,
      depth: p.depth,
      input_multiplier: p.inputMultiplier,
      input_left_shift: p.inputLeftShift,
      reverse_multiplier: p.reverseMultiplier,
      reverse_shift: p.reverseShift,
      diff_min: p.diffMin,
    });
    e.call(`tf_log_softmax_s8(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
