// QUANTIZE and DEQUANTIZE for the type pairs the int8 builtin kernels (quantize_f32_s8,
// requantize_s8, dequantize_s8_f32 in passes/lower.ts) do not cover: TFLite Micro's Requantize
// between int8 / uint8 / int16 / int32 inputs and int8 / uint8 / int16 / int32 outputs, AffineQuantize from
// float32 to int16, and Dequantize from int16 / uint8. 8-bit inputs go through a compile-time
// lookup table (lut8.ts), which makes uint8 -> int8 model inputs one load per element.

import { floatLiteral } from '../emit-c/c_literals.ts';
import type { DType } from '../ir/graph.ts';
import { clamp, INT32_MAX, INT32_MIN, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { float32DequantizeExact } from '../quant/float_exact.ts';
import { quantizedTypeRange, quantizeMultiplier, roundHalfAwayFromZero } from '../quant/multiplier.ts';
import { buildLut8, emitLut8, isLut8, lut8Lowering, runLut8, type Lut8Params } from './lut8.ts';
import { defineOp, type KernelIo, type ModuleLowering } from './op_module.ts';

type IntType = 'int8' | 'uint8' | 'int16';

interface RequantizeParams {
  kind: 'requantize';
  input: 'int8' | 'int16' | 'int32';
  output: 'int8' | 'int16' | 'int32';
  size: number;
  inputOffset: number;
  outputOffset: number;
  multiplier: number;
  shift: number;
}

interface AffineParams {
  kind: 'quantize_f32' | 'dequantize';
  /** The integer side's type. */
  type: IntType;
  size: number;
  scale: number;
  zeroPoint: number;
  /** DEQUANTIZE: the float32 product equals TFLite's double one for every input (quant/float_exact.ts). */
  single?: boolean;
}

type Params = Lut8Params | RequantizeParams | AffineParams;

/** Input -> output type pairs TFLite Micro's QUANTIZE accepts. */
const REQUANTIZE_PAIRS: ReadonlySet<string> = new Set([
  'int8>int8',
  'int8>uint8',
  'uint8>int8',
  'int8>int16',
  'int16>int8',
  'int16>int16',
  'int32>int8',
  'int32>int16',
  'int8>int32',
  'int16>int32',
]);

const ctypeOf = (t: IntType | 'int32'): string => ({ int8: 's8', uint8: 'u8', int16: 's16', int32: 's32' })[t];

function requantize(v: number, p: { inputOffset: number; outputOffset: number; multiplier: number; shift: number }, out: IntType | 'int32'): number {
  const scaled = multiplyByQuantizedMultiplier((v - p.inputOffset) | 0, p.multiplier, p.shift);
  // An int32 output is not saturated; the zero point is added in int32 (wrapping).
  if (out === 'int32') return (scaled + p.outputOffset) | 0;
  const { min, max } = quantizedTypeRange(out);
  return clamp(scaled + p.outputOffset, min, max);
}

function intView(io: KernelIo, which: 'input' | 'output', type: DType): Int8Array | Uint8Array | Int16Array | Int32Array {
  const d = which === 'input' ? io.input(0) : io.output(0);
  return type === 'int8' ? d.s8() : type === 'uint8' ? d.u8() : type === 'int16' ? d.s16() : d.s32();
}

export const quantizeOps = defineOp({
  // Read by the frontend as the builtin 'quantize' / 'dequantize' op kinds; lower.ts hands the type
  // pairs its int8 kernels do not cover to this module.
  builtins: ['QUANTIZE', 'DEQUANTIZE'],
  read(r) {
    r.arity(1, 1, 1);
    r.input(0, 'input');
    r.output(0);
    return {};
  },
  lower(ctx, _attrs, op): ModuleLowering<Params> {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    const size = y.shape.reduce((a, b) => a * b, 1);
    if (op.module === 'DEQUANTIZE') {
      if (y.dtype !== 'float32') ctx.fail(`output '${y.name}' is ${y.dtype}; DEQUANTIZE produces float32`);
      const type = ctx.quantizedType(x, 'input', ['int8', 'uint8', 'int16']);
      const q = ctx.quant(x, 'input');
      const { min, max } = quantizedTypeRange(type);
      const single = float32DequantizeExact(q.scale, q.zeroPoint, min, max);
      return { params: { kind: 'dequantize', type, size, scale: q.scale, zeroPoint: q.zeroPoint, single }, kernel: `dequantize_${ctypeOf(type)}_f32`, cFiles: ['portable/affine.h', `portable/dequantize_${ctypeOf(type)}_f32.c`] };
    }
    const outQ = ctx.quant(y, 'output');
    if ((y.quant?.scale.length ?? 0) > 1) ctx.fail(`output '${y.name}' is quantized per channel; QUANTIZE supports per-tensor outputs only (as TFLite Micro)`);
    if (x.dtype === 'float32') {
      if (y.dtype !== 'int8' && y.dtype !== 'int16') return ctx.fail(`QUANTIZE from float32 to ${y.dtype} is not supported (TFLite Micro quantizes float32 to int8 or int16)`);
      const type = y.dtype;
      return { params: { kind: 'quantize_f32', type, size, scale: outQ.scale, zeroPoint: outQ.zeroPoint }, kernel: `quantize_f32_${ctypeOf(type)}`, cFiles: ['portable/affine.h', `portable/quantize_f32_${ctypeOf(type)}.c`] };
    }
    if (!REQUANTIZE_PAIRS.has(`${x.dtype}>${y.dtype}`)) ctx.fail(`QUANTIZE from ${x.dtype} to ${y.dtype} is not supported (TFLite Micro requantizes int8/uint8/int16/int32 to int8, uint8 only from int8, int16 from int8/int16/int32, int32 from int8/int16)`);
    const inQ = ctx.quant(x, 'input');
    const q = quantizeMultiplier(inQ.scale / outQ.scale);
    const rq = { inputOffset: inQ.zeroPoint, outputOffset: outQ.zeroPoint, multiplier: q.multiplier, shift: q.shift };
    if ((x.dtype === 'int8' || x.dtype === 'uint8') && y.dtype !== 'int32') {
      const input = x.dtype;
      const out = y.dtype as IntType;
      return lut8Lowering(buildLut8(input, (v) => requantize(v, rq, out)), size, out, `requantize_${ctypeOf(input)}_${ctypeOf(out)}_lut`);
    }
    const input = x.dtype as 'int8' | 'int16' | 'int32';
    const output = y.dtype as 'int8' | 'int16' | 'int32';
    return {
      params: { kind: 'requantize', input, output, size, ...rq },
      kernel: `requantize_${ctypeOf(input)}_${ctypeOf(output)}`,
      cFiles: ['portable/requantize.h', `portable/requantize_${ctypeOf(input)}_${ctypeOf(output)}.c`],
    };
  },
  run(p: Params, io) {
    if (isLut8(p)) {
      runLut8(p, io);
      return;
    }
    if (p.kind === 'requantize') {
      const x = intView(io, 'input', p.input);
      const y = intView(io, 'output', p.output);
      for (let i = 0; i < p.size; i++) y[i] = requantize(x[i] as number, p, p.output);
      return;
    }
    if (p.kind === 'dequantize') {
      const x = intView(io, 'input', p.type);
      const y = io.output(0).f32();
      // The product is formed in double and stored as float32, as TFLite does.
      for (let i = 0; i < p.size; i++) y[i] = p.scale * ((x[i] as number) - p.zeroPoint);
      return;
    }
    const x = io.input(0).f32();
    const y = intView(io, 'output', p.type);
    const { min, max } = quantizedTypeRange(p.type);
    for (let i = 0; i < p.size; i++) {
      // float32 division; NaN quantizes to the zero point like the C kernel.
      const scaled = Math.fround((x[i] as number) / Math.fround(p.scale));
      y[i] = clamp((Number.isNaN(scaled) ? 0 : roundHalfAwayFromZero(scaled)) + p.zeroPoint, min, max);
    }
  },
  emitC(p: Params, e) {
    if (isLut8(p)) {
      emitLut8(p, e);
      return;
    }
    if (p.kind === 'requantize') {
      const { min, max } = p.output === 'int32' ? { min: INT32_MIN, max: INT32_MAX } : quantizedTypeRange(p.output);
      const params = e.params('tf_requantize_params', {
        size: p.size,
        input_offset: p.inputOffset,
        output_offset: p.outputOffset,
        multiplier: p.multiplier,
        shift: p.shift,
        out_min: min,
        out_max: max,
      });
      e.call(`tf_requantize_${ctypeOf(p.input)}_${ctypeOf(p.output)}(${params}, ${e.input(0)}, ${e.output(0)});`);
      return;
    }
    const params = e.params('tf_affine_params', { size: p.size, zero_point: p.zeroPoint, scale: floatLiteral(p.scale), single: p.single ? 1 : 0 });
    const fn = p.kind === 'dequantize' ? `tf_dequantize_${ctypeOf(p.type)}_f32` : `tf_quantize_f32_${ctypeOf(p.type)}`;
    e.call(`${fn}(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});

