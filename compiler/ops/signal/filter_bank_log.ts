// SignalFilterBankLog: output_scale * ln(x << input_correction_bits) per channel, rounded and
// saturated to int16; values of 0 or 1 give 0 (signal/src/filter_bank_log.cc, log.cc).

import { defineOp } from '../op_module.ts';
import { sameCount, typed } from './common.ts';
import { log32 } from './signal_math.ts';

interface FilterBankLogParams {
  channels: number;
  correctionBits: number;
  outputScale: number;
}

export const signalFilterBankLogOp = defineOp({
  builtins: ['CUSTOM:SignalFilterBankLog'],
  read(r) {
    r.arity(1, 1, 1);
    const o = r.customOptions();
    return { correctionBits: r.customInt(o, 'input_correction_bits', 0, 31), outputScale: r.customInt(o, 'output_scale', 0, 0x7fffffff) };
  },
  lower(ctx, attrs) {
    const x = typed(ctx, 0, 'input', 'input', 'uint32', 1);
    const y = typed(ctx, 0, 'output', 'output', 'int16', 1);
    const params: FilterBankLogParams = { channels: sameCount(ctx, x, y), correctionBits: attrs.correctionBits as number, outputScale: attrs.outputScale as number };
    return { params, kernel: 'signal_filter_bank_log', cFiles: ['portable/signal.h', 'portable/signal_filter_bank_log.c'] };
  },
  run(p: FilterBankLogParams, io) {
    const x = io.input(0).u32();
    const y = io.output(0).s16();
    for (let i = 0; i < p.channels; i++) {
      const scaled = (x[i] as number) * 2 ** p.correctionBits % 2 ** 32;
      y[i] = scaled > 1 ? Math.min(log32(scaled, p.outputScale), 32767) : 0;
    }
  },
  emitC(p: FilterBankLogParams, e) {
    const params = e.params('tf_signal_filter_bank_log_params', { channels: p.channels, correction_bits: p.correctionBits, output_scale: p.outputScale });
    e.call(`tf_signal_filter_bank_log(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
