// MEAN, SUM and REDUCE_MAX on int8 / int16 (REDUCE_MAX: int8 only, as in TFLite Micro). The axes
// are a constant input, so the reduction is resolved at compile time into a walk over the input
// with its dimensions merged (adjacent reduced or kept dimensions fused, size-1 dimensions dropped):
// the kernel sums (or maxes) whole contiguous rows into an int32 accumulator per output element,
// then requantizes each sum as TFLite Micro's QuantizedMeanOrSum does. At the pinned TFLite Micro
// commit every int8/int16 MEAN takes that path (the goldens rule out the older 4-D spatial
// reference_integer_ops::Mean and the truncating same-quantization Mean): the 1/count factor is
// folded into the multiplier for MEAN, SUM keeps the plain scale ratio.

import { elementCount } from '../ir/graph.ts';
import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { quantizedTypeRange, quantizeMultiplier } from '../quant/multiplier.ts';
import { constantInts, showShape, tensorLabel } from '../frontends/tflite/op_reader.ts';
import { BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';
import { defineOp } from './op_module.ts';

/** How each output is finished from its accumulated sum (numbers shared with reduce.h). */
export const ReduceMode = { max: 0, requantize: 1 } as const;
type Mode = (typeof ReduceMode)[keyof typeof ReduceMode];

/** Most merged dimensions a reduction walks (TF_REDUCE_MAX_DIMS in reduce.h); TFLite allows rank 5. */
const MAX_DIMS = 6;

export interface ReduceParams {
  int16: boolean;
  mode: Mode;
  /** Merged input dimensions, outermost first. */
  dims: number[];
  /** Output stride of each merged dimension; 0 for a reduced one. */
  outStrides: number[];
  outputSize: number;
  /** Input elements per output element. */
  count: number;
  inputZeroPoint: number;
  outputZeroPoint: number;
  multiplier: number;
  shift: number;
  actMin: number;
  actMax: number;
}

/** The input's dimensions with the reduced ones flagged, size-1 dimensions dropped and neighbours merged. */
export function mergeReduction(shape: readonly number[], axes: ReadonlySet<number>): { dims: number[]; outStrides: number[] } {
  const merged: { size: number; reduced: boolean }[] = [];
  shape.forEach((size, d) => {
    if (size === 1) return;
    const reduced = axes.has(d);
    const last = merged[merged.length - 1];
    if (last && last.reduced === reduced) last.size *= size;
    else merged.push({ size, reduced });
  });
  if (merged.length === 0) merged.push({ size: 1, reduced: false });
  const outStrides = new Array<number>(merged.length).fill(0);
  let stride = 1;
  for (let d = merged.length - 1; d >= 0; d--) {
    const m = merged[d] as { size: number; reduced: boolean };
    if (m.reduced) continue;
    outStrides[d] = stride;
    stride *= m.size;
  }
  return { dims: merged.map((m) => m.size), outStrides };
}

/** TFLite's 1/count folded into a MEAN's multiplier (QuantizedMeanOrSum), in 64-bit integers. */
export function foldMeanCount(multiplier: number, shift: number, count: number): { multiplier: number; shift: number } {
  // floor(log2(count)), kept <= 32 against overflow and so that the final shift stays >= -31.
  const s = Math.min(31 - Math.clz32(count), 32, 31 + shift);
  return { multiplier: Number((BigInt(multiplier) << BigInt(s)) / BigInt(count)), shift: shift - s };
}

function resolveAxes(raw: readonly number[], rank: number, fail: (m: string) => never, label: string): Set<number> {
  const axes = new Set<number>();
  for (const a of raw) {
    const d = a < 0 ? a + rank : a;
    if (d < 0 || d >= rank) fail(`${label} has axis ${a}, outside the input's rank ${rank}`);
    axes.add(d);
  }
  return axes;
}

export const reduceOps = defineOp({
  builtins: ['MEAN', 'SUM', 'REDUCE_MAX'],
  read(r, builtin) {
    r.arity(2, 2, 1);
    const x = r.input(0, 'input');
    const axis = r.input(1, 'axis');
    const y = r.output(0);
    if (axis.dtype !== 'int32') r.fail(`${r.label} axis ${tensorLabel(axis)} is ${axis.dtype} (TFLite Micro requires int32)`);
    const raw = constantInts(axis);
    if (!raw) return r.fail(`${r.label} axis ${tensorLabel(axis)} is not a constant; tinyforge resolves the reduction at compile time`);
    const axes = resolveAxes(raw, x.shape.length, (m) => r.fail(m), r.label);
    const t = r.options(BuiltinOptionsType.ReducerOptions, 'ReducerOptions');
    const keepDims = t ? t.bool(F.ReducerOptions.keepDims, false, 'keep_dims') : false;
    const expected = x.shape.map((d, i) => (axes.has(i) ? 1 : d)).filter((_, i) => keepDims || !axes.has(i));
    if (elementCount(expected) !== elementCount(y.shape)) {
      r.fail(`${r.label} output ${tensorLabel(y)} has shape ${showShape(y.shape)} but reducing ${showShape(x.shape)} over [${[...axes]}] gives ${showShape(expected)}`);
    }
    if (x.dtype !== y.dtype) r.fail(`${r.label} output is ${y.dtype} but its input is ${x.dtype}`);
    return { op: builtin, keepDims, axes: raw };
  },
  lower(ctx, attrs) {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    const isMax = attrs.op === 'REDUCE_MAX';
    const dtype = ctx.quantizedType(x, 'input', isMax ? ['int8'] : ['int8', 'int16']);
    const inQ = ctx.quant(x, 'input');
    const outQ = ctx.quant(y, 'output');
    const rawAxes = attrs.axes as readonly number[];
    const axes = resolveAxes(rawAxes, x.shape.length, (m) => ctx.fail(m), 'the op');
    const { dims, outStrides } = mergeReduction(x.shape, axes);
    if (dims.length > MAX_DIMS) ctx.fail(`input '${x.name}' ${showShape(x.shape)} needs ${dims.length} merged dimensions; the kernel walks at most ${MAX_DIMS}`);
    const outputSize = elementCount(y.shape);
    const count = elementCount(x.shape) / outputSize;
    // TFLite computes the scale ratio in double from the float32 scales.
    let q = quantizeMultiplier(inQ.scale / outQ.scale);
    if (isMax && (inQ.scale !== outQ.scale || inQ.zeroPoint !== outQ.zeroPoint)) {
      ctx.fail(`input '${x.name}' and output '${y.name}' are quantized differently; TFLite Micro's int8 REDUCE_MAX requires equal scale and zero point`);
    }
    if (attrs.op === 'MEAN') q = foldMeanCount(q.multiplier, q.shift, count);
    const mode: Mode = isMax ? ReduceMode.max : ReduceMode.requantize;
    const range = quantizedTypeRange(dtype);
    const params: ReduceParams = {
      int16: dtype === 'int16',
      mode,
      dims,
      outStrides,
      outputSize,
      count,
      inputZeroPoint: inQ.zeroPoint,
      outputZeroPoint: outQ.zeroPoint,
      multiplier: q.multiplier,
      shift: q.shift,
      actMin: range.min,
      actMax: range.max,
    };
    const kernel = isMax ? 'reduce_max_s8' : `reduce_${dtype === 'int16' ? 's16' : 's8'}`;
    return { params, kernel, cFiles: ['portable/reduce.h', `portable/${kernel}.c`], scratchBytes: 4 * outputSize, macs: elementCount(x.shape) };
  },
  run(p: ReduceParams, io) {
    const x = p.int16 ? io.input(0).s16() : io.input(0).s8();
    const y = p.int16 ? io.output(0).s16() : io.output(0).s8();
    const acc = new Int32Array(p.outputSize).fill(p.mode === ReduceMode.max ? p.actMin : 0);
    const rank = p.dims.length;
    const idx = new Array<number>(rank).fill(0);
    let out = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i] as number;
      acc[out] = p.mode === ReduceMode.max ? Math.max(acc[out] as number, v) : ((acc[out] as number) + v) | 0;
      for (let d = rank - 1; d >= 0; d--) {
        idx[d] = (idx[d] as number) + 1;
        out += p.outStrides[d] as number;
        if ((idx[d] as number) < (p.dims[d] as number)) break;
        out -= (p.outStrides[d] as number) * (p.dims[d] as number);
        idx[d] = 0;
      }
    }
    for (let o = 0; o < p.outputSize; o++) y[o] = finish(p, acc[o] as number);
  },
  emitC(p: ReduceParams, e) {
    const pad = (v: readonly number[]): string => `{ ${[...v, ...new Array<number>(MAX_DIMS - v.length).fill(0)].join(', ')} }`;
    const params = e.params('tf_reduce_params', {
      num_dims: p.dims.length,
      dims: pad(p.dims),
      out_strides: pad(p.outStrides),
      output_size: p.outputSize,
      count: p.count,
      input_zero_point: p.inputZeroPoint,
      output_zero_point: p.outputZeroPoint,
      multiplier: p.multiplier,
      shift: p.shift,
      act_min: p.actMin,
      act_max: p.actMax,
    });
    const fn = p.mode === ReduceMode.max ? 'tf_reduce_max_s8' : `tf_reduce_${p.int16 ? 's16' : 's8'}`;
    e.call(`${fn}(${params}, ${e.input(0)}, ${e.output(0)}, ${e.scratch()});`);
  },
});

/** One output from its accumulated sum (or maximum); the C twin is tf_reduce_finish in reduce.h. */
function finish(p: ReduceParams, acc: number): number {
  switch (p.mode) {
    case ReduceMode.max:
      return acc;
    case ReduceMode.requantize: {
      const v = multiplyByQuantizedMultiplier((acc - Math.imul(p.inputZeroPoint, p.count)) | 0, p.multiplier, p.shift);
      return clamp(v + p.outputZeroPoint, p.actMin, p.actMax);
    }
  }
}

