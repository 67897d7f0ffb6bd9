// ARG_MAX and ARG_MIN: the position of the largest (smallest) value along one axis, as TFLite
// Micro's arg_min_max.cc: int8, int32 or float32 input, a constant int32 axis, int32 output. The
// scan keeps the first position on ties (it replaces only on a strictly greater or smaller value),
// so the result is exact on every target; a NaN never replaces and is never replaced by a later
// value, as with C's comparisons. TFLite Micro's conformance suite has no ARG_MAX case: the tests
// check values written out by hand.

import type { Tensor } from '../ir/graph.ts';
import { constantData } from '../reference/run_reference.ts';
import { defineOp, type TensorData } from './op_module.ts';
import { normalizeAxis } from './strided_copy.ts';

type ArgInput = 'int8' | 'int32' | 'float32';
const ARG_INPUTS: readonly ArgInput[] = ['int8', 'int32', 'float32'];
const C_SUFFIX: Readonly<Record<ArgInput, string>> = { int8: 's8', int32: 's32', float32: 'f32' };

interface ArgParams {
  /** True for ARG_MAX. */
  max: boolean;
  dtype: ArgInput;
  /** Products of the dimensions before and after the axis, and the axis' extent. */
  outer: number;
  axisSize: number;
  inner: number;
}

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

function values(d: TensorData, dtype: ArgInput): Int8Array | Int32Array | Float32Array {
  return dtype === 'int8' ? d.s8() : dtype === 'int32' ? d.s32() : d.f32();
}

function axisValue(t: Tensor): number | undefined {
  if (t.data === undefined || t.shape.reduce((a, b) => a * b, 1) !== 1) return undefined;
  const d = constantData(t);
  return t.dtype === 'int32' ? d.s32()[0] : t.dtype === 'int64' ? Number(d.s64()[0]) : undefined;
}

export const argMinMaxOps = defineOp({
  builtins: ['ARG_MAX', 'ARG_MIN'],
  read(r, builtin) {
    r.arity(2, 2, 1);
    r.input(0, 'input');
    r.input(1, 'axis');
    r.output(0);
    return { max: builtin === 'ARG_MAX' };
  },
  lower(ctx, attrs) {
    const x = ctx.tensor(0);
    const axisT = ctx.tensor(1);
    const y = ctx.tensor(0, 'output');
    if (!(ARG_INPUTS as readonly string[]).includes(x.dtype)) ctx.fail(`input '${x.name}' is ${x.dtype}; TFLite Micro's ARG_MAX/ARG_MIN take int8, int32 or float32`);
    if (y.dtype !== 'int32') ctx.fail(`output '${y.name}' is ${y.dtype}; TFLite Micro's ARG_MAX/ARG_MIN write int32 positions only`);
    const a = axisValue(axisT);
    if (a === undefined) return ctx.fail(`axis '${axisT.name}' must be one constant int32 or int64 value`);
    const axis = normalizeAxis(ctx, a, x.shape.length, 'axis');
    const expected = x.shape.filter((_, k) => k !== axis);
    if (expected.join() !== y.shape.join()) ctx.fail(`output '${y.name}' has shape [${y.shape}] but reducing axis ${axis} of [${x.shape}] gives [${expected}]`);
    if ((x.shape[axis] as number) < 1) ctx.fail(`axis ${axis} of input '${x.name}' is empty`);
    const params: ArgParams = {
      max: attrs.max,
      dtype: x.dtype as ArgInput,
      outer: product(x.shape.slice(0, axis)),
      axisSize: x.shape[axis] as number,
      inner: product(x.shape.slice(axis + 1)),
    };
    const suffix = C_SUFFIX[params.dtype];
    return { params, kernel: `arg_${attrs.max ? 'max' : 'min'}_${suffix}`, cFiles: ['portable/arg_min_max.h'], inputs: [ctx.op.inputs[0] as number] };
  },
  run(p: ArgParams, io) {
    const x = values(io.input(0), p.dtype);
    const y = io.output(0).s32();
    for (let o = 0; o < p.outer; o++) {
      for (let i = 0; i < p.inner; i++) {
        const base = o * p.axisSize * p.inner + i;
        let best = x[base] as number;
        let at = 0;
        for (let k = 1; k < p.axisSize; k++) {
          const v = x[base + k * p.inner] as number;
          if (p.max ? v > best : v < best) {
            best = v;
            at = k;
          }
        }
        y[o * p.inner + i] = at;
      }
    }
  },
  emitC(p: ArgParams, e) {
    const params = e.params('tf_arg_params', { outer: p.outer, axis_size: p.axisSize, inner: p.inner });
    e.call(`tf_arg_${p.max ? 'max' : 'min'}_${C_SUFFIX[p.dtype]}(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
