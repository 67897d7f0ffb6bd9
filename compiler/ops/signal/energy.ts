// SignalEnergy: squared magnitude re^2 + im^2 of the complex int16 spectrum bins in
// [start_index, end_index), as uint32 (signal/src/energy.cc). TFLite Micro leaves the other
// output elements untouched; tinyforge writes 0 there so every run is deterministic.

import { elementCount } from '../../ir/graph.ts';
import { defineOp } from '../op_module.ts';
import { typed } from './common.ts';

interface EnergyParams {
  bins: number;
  start: number;
  end: number;
}

export const signalEnergyOp = defineOp({
  builtins: ['CUSTOM:SignalEnergy'],
  read(r) {
    r.arity(1, 1, 1);
    const o = r.customOptions();
    return { start: r.customInt(o, 'start_index', 0, 0x7fffffff), end: r.customInt(o, 'end_index', 0, 0x7fffffff) };
  },
  lower(ctx, attrs) {
    const x = typed(ctx, 0, 'input', 'input', 'int16', 1);
    const y = typed(ctx, 0, 'output', 'output', 'uint32', 1);
    const bins = elementCount(y.shape);
    if (elementCount(x.shape) !== 2 * bins) ctx.fail(`input '${x.name}' has ${elementCount(x.shape)} values; ${bins} complex bins need ${2 * bins}`);
    const start = attrs.start as number;
    const end = attrs.end as number;
    if (start > end || end > bins) ctx.fail(`bins [${start}, ${end}) do not fit the ${bins}-bin spectrum`);
    const params: EnergyParams = { bins, start, end };
    return { params, kernel: 'signal_energy', cFiles: ['portable/signal.h', 'portable/signal_energy.c'], macs: 2 * (end - start) };
  },
  run(p: EnergyParams, io) {
    const x = io.input(0).s16();
    const y = io.output(0).u32();
    y.fill(0);
    for (let i = p.start; i < p.end; i++) {
      const re = x[2 * i] as number;
      const im = x[2 * i + 1] as number;
      // int32 sum in the library; -32768^2 * 2 wraps to 2^31, which the uint32 store keeps.
      y[i] = (re * re + im * im) >>> 0;
    }
  },
  emitC(p: EnergyParams, e) {
    const params = e.params('tf_signal_energy_params', { bins: p.bins, start: p.start, end: p.end });
    e.call(`tf_signal_energy(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
