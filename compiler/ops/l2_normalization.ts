// L2_NORMALIZATION over the last axis, int8 and float32, as TFLite Micro's l2norm.cc. int8
// (reference_integer_ops::L2Normalization): the int32 sum of squared distances from the input zero
// point gives 1/sqrt(sum) as a multiplier and shift (GetInvSqrtQuantizedMultiplierExp in
// fixed_point_math.ts); each distance is multiplied by it with 7 more bits of left shift (the
// output is in 1/128 steps) and clamped to int8. Micro writes that value whatever the output tensor's scale and zero point
// say (the converter gives 1/128 and 0), so tinyforge does too. float32 (reference_ops):
// x / max(sqrtf(sum of x * x in float32, in order), 1e-6f). Micro takes rank <= 4 and no fused
// activation; a sum of squares that could overflow int32 (its accumulator) is refused.

import { elementCount } from '../ir/graph.ts';
import { F, BuiltinOptionsType } from '../frontends/tflite/schema.ts';
import { clamp, INT32_MAX, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { invSqrtQuantizedMultiplierExp } from '../quant/fixed_point_math.ts';
import { FLOAT_HELPERS } from './float32.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

interface L2NormParams {
  dtype: 'int8' | 'float32';
  outer: number;
  depth: number;
  inputZeroPoint: number;
}

/** Micro's hard-coded epsilon of the float kernel, as float32. */
const EPSILON = Math.fround(1e-6);
/** The int8 output is in Q0.7: 1/128 steps. */
const OUTPUT_SHIFT = 7;

const f = Math.fround;

export function l2NormalizeInt8Row(x: ArrayLike<number>, zeroPoint: number): number[] {
  let acc = 0;
  for (let i = 0; i < x.length; i++) {
    const d = (x[i] as number) - zeroPoint;
    acc += d * d;
  }
  const inv = invSqrtQuantizedMultiplierExp(acc);
  return Array.from(x, (v) => clamp(multiplyByQuantizedMultiplier(v - zeroPoint, inv.multiplier, inv.shift + OUTPUT_SHIFT), -128, 127));
}

function l2NormalizeF32Row(x: Float32Array): Float32Array {
  let sum = 0;
  for (const v of x) sum = f(sum + f(v * v));
  const root = f(Math.sqrt(sum));
  const norm = root < EPSILON ? EPSILON : root;
  return x.map((v) => f(v / norm));
}

export const l2NormalizationOp = defineOp({
  builtins: ['L2_NORMALIZATION'],
  key: 'l2_normalization_f32',
  float32For: ['L2_NORMALIZATION'],
  read(r) {
    r.elementwise();
    const t = r.options(BuiltinOptionsType.L2NormOptions, 'L2NormOptions');
    if (r.activation(t, F.L2NormOptions.fusedActivation) !== 'none') r.fail(`${r.label} has a fused activation; TFLite Micro's L2_NORMALIZATION takes none`);
    return {};
  },
  lower(ctx): ModuleLowering<L2NormParams> {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    if (x.dtype !== 'int8' && x.dtype !== 'float32') ctx.fail(`input '${x.name}' is ${x.dtype}; TFLite Micro's L2_NORMALIZATION takes int8 or float32`);
    if (y.dtype !== x.dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${x.dtype}`);
    if (x.shape.length < 1 || x.shape.length > 4) ctx.fail(`input '${x.name}' has rank ${x.shape.length}; TFLite Micro's L2_NORMALIZATION takes rank 1 to 4`);
    const depth = x.shape[x.shape.length - 1] as number;
    const outer = elementCount(x.shape) / Math.max(depth, 1);
    if (x.dtype === 'float32') {
      return { params: { dtype: 'float32', outer, depth, inputZeroPoint: 0 }, kernel: 'l2_normalization_f32', cFiles: [...FLOAT_HELPERS, 'portable/l2_normalization_f32.c'], inputs: [x.id] };
    }
    const zp = ctx.quant(x, 'input').zeroPoint;
    const widest = Math.max(127 - zp, zp + 128);
    if (depth * widest * widest > INT32_MAX) ctx.fail(`last axis of input '${x.name}' has ${depth} elements; their squared distances from zero point ${zp} could overflow TFLite Micro's int32 sum`);
    return { params: { dtype: 'int8', outer, depth, inputZeroPoint: zp }, kernel: 'l2_normalization_s8', cFiles: ['portable/tf_fixedpoint.h', 'portable/l2_normalization_s8.c'], inputs: [x.id] };
  },
  run(p: L2NormParams, io) {
    for (let o = 0; o < p.outer; o++) {
      const from = o * p.depth;
      if (p.dtype === 'float32') {
        io.output(0).f32().set(l2NormalizeF32Row(io.input(0).f32().subarray(from, from + p.depth)), from);
      } else {
        io.output(0).s8().set(l2NormalizeInt8Row(io.input(0).s8().subarray(from, from + p.depth), p.inputZeroPoint), from);
      }
    }
  },
  emitC(p: L2NormParams, e) {
    const suffix = p.dtype === 'int8' ? 's8' : 'f32';
    const fields: Record<string, number> = p.dtype === 'int8' ? { outer: p.outer, depth: p.depth, input_zero_point: p.inputZeroPoint } : { outer: p.outer, depth: p.depth };
    const params = e.params(`tf_l2_normalization_${suffix}_params`, fields);
    e.call(`tf_l2_normalization_${suffix}(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
