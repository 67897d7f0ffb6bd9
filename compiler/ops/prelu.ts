// PRELU on int8 / int16 with a constant alpha (int8, as TFLite Micro requires for int16 outputs),
// broadcast over up to 4 dimensions (TFLite Micro's BroadcastPrelu4DSlow).

import { constantData } from '../reference/run_reference.ts';
import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { quantizedTypeRange, quantizeMultiplier } from '../quant/multiplier.ts';
import { broadcastStrides, extendShape } from './broadcast.ts';
import { defineOp } from './op_module.ts';

interface PreluParams {
  int16: boolean;
  dims: number[];
  inStrides: number[];
  alphaStrides: number[];
  /** Alpha values minus alpha's zero point. */
  alpha: number[];
  inputOffset: number;
  outputOffset: number;
  multiplierPos: number;
  shiftPos: number;
  multiplierNeg: number;
  shiftNeg: number;
}

const RANK = 4;

export const preluOp = defineOp({
  builtins: ['PRELU'],
  read(r) {
    r.arity(2, 2, 1);
    r.input(0, 'input');
    r.input(1, 'alpha');
    r.output(0);
    return {};
  },
  lower(ctx) {
    const x = ctx.tensor(0);
    const a = ctx.tensor(1);
    const y = ctx.tensor(0, 'output');
    const dtype = ctx.quantizedType(x, 'input', ['int8', 'int16']);
    if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype}`);
    if (a.dtype !== 'int8') ctx.fail(`alpha '${a.name}' is ${a.dtype}; tinyforge's PRELU takes int8 alpha (TFLite Micro requires it for int16)`);
    if (!a.data) ctx.fail(`alpha '${a.name}' must be a constant tensor`);
    for (const t of [x, a, y]) if (t.shape.length > RANK) ctx.fail(`'${t.name}' has rank ${t.shape.length}; PRELU supports at most ${RANK} dimensions`);
    const inStrides = broadcastStrides(x.shape, y.shape, RANK);
    const alphaStrides = broadcastStrides(a.shape, y.shape, RANK);
    if (inStrides === undefined || alphaStrides === undefined) return ctx.fail(`input [${x.shape}] and alpha [${a.shape}] do not broadcast to the output [${y.shape}]`);
    const inQ = ctx.quant(x, 'input');
    const aQ = ctx.quant(a, 'alpha');
    const outQ = ctx.quant(y, 'output');
    if ((a.quant?.scale.length ?? 0) > 1) ctx.fail(`alpha '${a.name}' is quantized per channel; TFLite Micro's PRELU uses one alpha scale`);
    // TFLite: input / output scale, and input * alpha / output scale, in double.
    const pos = quantizeMultiplier(inQ.scale / outQ.scale);
    const neg = quantizeMultiplier((inQ.scale * aQ.scale) / outQ.scale);
    const params: PreluParams = {
      int16: dtype === 'int16',
      dims: extendShape(y.shape, RANK),
      inStrides,
      alphaStrides,
      alpha: Array.from(constantData(a).s8(), (v) => v - aQ.zeroPoint),
      inputOffset: -inQ.zeroPoint,
      outputOffset: outQ.zeroPoint,
      multiplierPos: pos.multiplier,
      shiftPos: pos.shift,
      multiplierNeg: neg.multiplier,
      shiftNeg: neg.shift,
    };
    return { params, kernel: params.int16 ? 'prelu_s16' : 'prelu_s8', cFiles: ['portable/prelu.h', params.int16 ? 'portable/prelu_s16.c' : 'portable/prelu_s8.c'] };
  },
  run(p: PreluParams, io) {
    const x = p.int16 ? io.input(0).s16() : io.input(0).s8();
    const y = p.int16 ? io.output(0).s16() : io.output(0).s8();
    const { min, max } = quantizedTypeRange(p.int16 ? 'int16' : 'int8');
    const [d0, d1, d2, d3] = p.dims as [number, number, number, number];
    const [s0, s1, s2, s3] = p.inStrides as [number, number, number, number];
    const [a0, a1, a2, a3] = p.alphaStrides as [number, number, number, number];
    let o = 0;
    for (let i0 = 0; i0 < d0; i0++)
      for (let i1 = 0; i1 < d1; i1++)
        for (let i2 = 0; i2 < d2; i2++)
          for (let i3 = 0; i3 < d3; i3++, o++) {
            const v = p.inputOffset + (x[i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3] as number);
            const alpha = p.alpha[i0 * a0 + i1 * a1 + i2 * a2 + i3 * a3] as number;
            const r = v >= 0 ? multiplyByQuantizedMultiplier(v, p.multiplierPos, p.shiftPos) : multiplyByQuantizedMultiplier(v * alpha, p.multiplierNeg, p.shiftNeg);
            y[o] = clamp(r + p.outputOffset, min, max);
          }
  },
  emitC(p: PreluParams, e) {
    const alpha = e.array('alpha', 'int16_t', p.alpha, `${e.name} alpha minus its zero point`);
    const vec = (v: readonly number[]): string => `{ ${v.join(', ')} }`;
    const params = e.params('tf_prelu_params', {
      dims: vec(p.dims),
      in_strides: vec(p.inStrides),
      alpha_strides: vec(p.alphaStrides),
      input_offset: p.inputOffset,
      output_offset: p.outputOffset,
      multiplier_pos: p.multiplierPos,
      shift_pos: p.shiftPos,
      multiplier_neg: p.multiplierNeg,
      shift_neg: p.shiftNeg,
      alpha,
    });
    e.call(`tf_prelu_${p.int16 ? 's16' : 's8'}(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
