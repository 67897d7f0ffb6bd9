// NEG as TFLite Micro's neg.cc registers it: float32 only (its int8 case is an open TODO there),
// so int8 and int16 are refused with that reason. The kernel flips the sign bit, which is exactly
// the float negation Micro's reference_ops::Negate does (NaNs and zeros included) on every target.

import { elementCount } from '../ir/graph.ts';
import { FLOAT_HELPERS } from './float32.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

interface NegParams {
  size: number;
}

export const negOp = defineOp({
  builtins: ['NEG'],
  key: 'neg_f32',
  float32For: ['NEG'],
  read(r) {
    r.arity(1, 1, 1);
    const x = r.input(0, 'input');
    const y = r.output(0);
    if (x.shape.join() !== y.shape.join()) r.fail(`${r.label} output shape [${y.shape}] differs from input shape [${x.shape}]`);
    return {};
  },
  lower(ctx): ModuleLowering<NegParams> {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    if (x.dtype !== 'float32' || y.dtype !== 'float32') {
      return ctx.fail(`input '${x.name}' is ${x.dtype} and output '${y.name}' is ${y.dtype}; TFLite Micro's NEG computes float32 only`);
    }
    return { params: { size: elementCount(x.shape) }, kernel: 'neg_f32', cFiles: [...FLOAT_HELPERS, 'portable/neg_f32.c'], inputs: [x.id], inPlace: [0] };
  },
  run(p: NegParams, io) {
    const xf = io.input(0).f32();
    const yf = io.output(0).f32();
    const x = new Uint32Array(xf.buffer, xf.byteOffset, xf.length);
    const y = new Uint32Array(yf.buffer, yf.byteOffset, yf.length);
    for (let i = 0; i < p.size; i++) y[i] = ((x[i] as number) ^ 0x80000000) >>> 0;
  },
  emitC(p: NegParams, e) {
    e.call(`tf_neg_f32(${e.input(0)}, ${e.output(0)}, ${p.size});`);
  },
});
