// SignalFilterBankSquareRoot: rounded integer square root of each uint64 channel energy, shifted
// right by the FFT auto-scale bits to undo that scaling (signal/src/filter_bank_square_root.cc).

import { elementCount } from '../../ir/graph.ts';
import { defineOp } from '../op_module.ts';
import { sameCount, typed } from './common.ts';
import { sqrt64 } from './signal_math.ts';

interface SquareRootParams {
  channels: number;
  /** The shift when the scale-bits input is a constant; -1 when it is read at run time (input 1). */
  constantBits: number;
}

/** uint32 >> s; the library shifts by a value in [0, 15] from SignalFftAutoScale, other shifts are defined here as 0 (>= 32) or no shift (< 0). */
export function shiftDown(v: number, s: number): number {
  return s >= 32 ? 0 : s <= 0 ? v : v >>> s;
}

export const signalFilterBankSquareRootOp = defineOp({
  builtins: ['CUSTOM:SignalFilterBankSquareRoot'],
  read(r) {
    r.arity(2, 2, 1);
    return {};
  },
  lower(ctx) {
    const x = typed(ctx, 0, 'input', 'input', 'uint64', 1);
    const bits = typed(ctx, 1, 'input', 'scale bits', 'int32', 0);
    const y = typed(ctx, 0, 'output', 'output', 'uint32', 1);
    const channels = sameCount(ctx, x, y);
    if (elementCount(bits.shape) !== 1) ctx.fail(`scale bits '${bits.name}' must be a scalar`);
    const constantBits = bits.data ? new DataView(bits.data.buffer, bits.data.byteOffset, 4).getInt32(0, true) : -1;
    if (bits.data && constantBits < 0) ctx.fail(`scale bits '${bits.name}' is ${constantBits} (must not be negative)`);
    return { params: { channels, constantBits }, kernel: 'signal_filter_bank_sqrt', cFiles: ['portable/signal.h', 'portable/signal_filter_bank_sqrt.c'] };
  },
  run(p: SquareRootParams, io) {
    const x = io.input(0).u64();
    const bits = p.constantBits >= 0 ? p.constantBits : (io.input(1).s32()[0] as number);
    const y = io.output(0).u32();
    for (let i = 0; i < p.channels; i++) y[i] = shiftDown(sqrt64(x[i] as bigint), bits);
  },
  emitC(p: SquareRootParams, e) {
    const bits = p.constantBits >= 0 ? String(p.constantBits) : `(${e.input(1)})[0]`;
    e.call(`tf_signal_filter_bank_sqrt(${p.channels}, ${e.input(0)}, ${bits}, ${e.output(0)});`);
  },
});
