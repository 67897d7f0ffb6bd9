// RELU and RELU6 on int8 / int16. RELU requantizes from the input's scale to the output's, then
// clamps to the quantized [0, inf) (TFLite Micro's ReluQuantized); RELU6 only clamps the input to
// its own quantized [0, 6] (Relu6Quantized), assuming the output shares the input's quantization.

import type { Tensor } from '../ir/graph.ts';
import { clamp, multiplyByQuantizedMultiplier } from '../quant/fixed_point.ts';
import { activationRange, quantizedTypeRange, quantizeMultiplier, roundHalfAwayFromZero } from '../quant/multiplier.ts';
import { defineOp } from './op_module.ts';

interface ReluParams {
  int16: boolean;
  /** 0 for RELU6: the kernel clamps without requantizing. */
  requantize: number;
  size: number;
  inputOffset: number;
  outputOffset: number;
  multiplier: number;
  shift: number;
  actMin: number;
  actMax: number;
}

export const reluOps = defineOp({
  builtins: ['RELU', 'RELU6'],
  read(r, builtin) {
    r.elementwise();
    return { relu6: builtin === 'RELU6' };
  },
  lower(ctx, attrs) {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    const dtype = ctx.quantizedType(x, 'input', ['int8', 'int16']);
    if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype}`);
    const inQ = ctx.quant(x, 'input');
    const outQ = ctx.quant(y, 'output');
    // TFLite divides the float32 scales in float32, then widens to double.
    const q = quantizeMultiplier(Math.fround(inQ.scale / outQ.scale));
    const type = quantizedTypeRange(dtype);
    // RELU6: TFLite's FloatToQuantizedType(6, input scale, input zero point), a float32 quotient.
    const range = attrs.relu6
      ? { min: inQ.zeroPoint, max: clamp(inQ.zeroPoint + roundHalfAwayFromZero(Math.fround(6 / inQ.scale)), type.min, type.max) }
      : activationRange('relu', outQ.scale, outQ.zeroPoint, dtype);
    const params: ReluParams = {
      int16: dtype === 'int16',
      requantize: attrs.relu6 ? 0 : 1,
      size: (x as Tensor).shape.reduce((a, b) => a * b, 1),
      inputOffset: inQ.zeroPoint,
      outputOffset: outQ.zeroPoint,
      multiplier: q.multiplier,
      shift: q.shift,
      actMin: range.min,
      actMax: range.max,
    };
    return { params, kernel: dtype === 'int16' ? 'relu_s16' : 'relu_s8', cFiles: ['portable/relu.h', dtype === 'int16' ? 'portable/relu_s16.c' : 'portable/relu_s8.c'] };
  },
  run(p: ReluParams, io) {
    const x = p.int16 ? io.input(0).s16() : io.input(0).s8();
    const y = p.int16 ? io.output(0).s16() : io.output(0).s8();
    for (let i = 0; i < p.size; i++) {
      const v = p.requantize ? p.outputOffset + multiplyByQuantizedMultiplier((x[i] as number) - p.inputOffset, p.multiplier, p.shift) : (x[i] as number);
      y[i] = clamp(v, p.actMin, p.actMax);
    }
  },
  emitC(p: ReluParams, e) {
    const params = e.params('tf_relu_params', {
      requantize: p.requantize,
      size: p.size,
      input_offset: p.inputOffset,
      output_offset: p.outputOffset,
      multiplier: p.multiplier,
      shift: p.shift,
      act_min: p.actMin,
      act_max: p.actMax,
    });
    e.call(`tf_relu_${p.int16 ? 's16' : 's8'}(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
