// SignalWindow: each frame of int16 samples times an int16 window (typically Hann in Q12), shifted
// right by `shift` and saturated to int16 (signal/src/window.cc). The window repeats over every
// window-length chunk of the input.

import { elementCount, type Tensor } from '../../ir/graph.ts';
import { constantData } from '../../reference/run_reference.ts';
import { defineOp } from '../op_module.ts';
import { constantInt16, typed } from './common.ts';

interface WindowParams {
  weights: number;
  size: number;
  weightSize: number;
  shift: number;
}

export const signalWindowOp = defineOp({
  builtins: ['CUSTOM:SignalWindow'],
  read(r) {
    r.arity(2, 2, 1);
    return { shift: r.customInt(r.customOptions(), 'shift', 0, 31) };
  },
  lower(ctx, attrs) {
    const x = typed(ctx, 0, 'input', 'input', 'int16');
    const { tensor: w } = constantInt16(ctx, 1, 'window');
    const y = typed(ctx, 0, 'output', 'output', 'int16', x.shape.length);
    const size = elementCount(x.shape);
    const weightSize = elementCount(w.shape);
    if (elementCount(y.shape) !== size) ctx.fail(`output '${y.name}' has shape [${y.shape}] but the input has [${x.shape}]`);
    if (size % weightSize !== 0) ctx.fail(`input '${x.name}' has ${size} samples, not a multiple of the ${weightSize}-sample window`);
    const params: WindowParams = { weights: w.id, size, weightSize, shift: attrs.shift as number };
    return { params, kernel: 'signal_window', cFiles: ['portable/signal.h', 'portable/signal_window.c'], macs: size, inPlace: [0] };
  },
  run(p: WindowParams, io) {
    const x = io.input(0).s16();
    const w = constantData(io.graph.tensors[p.weights] as Tensor).s16();
    const y = io.output(0).s16();
    for (let i = 0; i < p.size; i++) {
      const raw = ((x[i] as number) * (w[i % p.weightSize] as number)) >> p.shift;
      y[i] = Math.min(32767, Math.max(-32768, raw));
    }
  },
  emitC(p: WindowParams, e) {
    const params = e.params('tf_signal_window_params', { size: p.size, weight_size: p.weightSize, shift: p.shift });
    e.call(`tf_signal_window(${params}, ${e.input(0)}, ${e.constant(p.weights)}, ${e.output(0)});`);
  },
});
