// SignalFftAutoScale: shifts a frame left by as many bits as its largest magnitude leaves free
// in int16 (so the fixed-point FFT keeps precision) and outputs that shift, which
// SignalFilterBankSquareRoot later takes back out (signal/src/fft_auto_scale.cc).

import { elementCount } from '../../ir/graph.ts';
import { defineOp } from '../op_module.ts';
import { msb32 } from './signal_math.ts';
import { typed } from './common.ts';

interface FftAutoScaleParams {
  size: number;
}

/**
 * The library's MaxAbs16 exactly: its running maximum is an int16, so a -32768 sample stores
 * -32768 (the negation wraps) and a later sample may replace it.
 */
function maxAbs16(x: Int16Array, n: number): number {
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i] as number;
    if (v > max) max = v;
    else if (-v > max) max = (-v << 16) >> 16;
  }
  return max;
}

export const signalFftAutoScaleOp = defineOp({
  builtins: ['CUSTOM:SignalFftAutoScale'],
  read(r) {
    r.arity(1, 1, 2);
    return {};
  },
  lower(ctx) {
    const x = typed(ctx, 0, 'input', 'input', 'int16', 1);
    const y = typed(ctx, 0, 'output', 'output', 'int16', 1);
    typed(ctx, 1, 'output', 'scale bits output', 'int32', 0);
    const size = elementCount(y.shape);
    if (elementCount(x.shape) !== size) ctx.fail(`output '${y.name}' has shape [${y.shape}] but the input has [${x.shape}]`);
    return { params: { size }, kernel: 'signal_fft_auto_scale', cFiles: ['portable/signal.h', 'portable/signal_fft_auto_scale.c'] };
  },
  run(p: FftAutoScaleParams, io) {
    const x = io.input(0).s16();
    const y = io.output(0).s16();
    // max is an int16 converted to uint32 for the bit count, as in the library.
    const bits = Math.max(0, 16 - msb32(maxAbs16(x, p.size) >>> 0) - 1);
    for (let i = 0; i < p.size; i++) y[i] = (x[i] as number) * (1 << bits);
    io.output(1).s32()[0] = bits;
  },
  emitC(p: FftAutoScaleParams, e) {
    e.call(`tf_signal_fft_auto_scale(${p.size}, ${e.input(0)}, ${e.output(0)}, ${e.output(1)});`);
  },
});
