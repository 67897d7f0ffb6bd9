// SignalPCAN: per-channel energy normalization. A gain looked up from the noise estimate (a
// piecewise quadratic in a 125-entry int16 table indexed by the estimate's bit length) scales the
// channel into an SNR with 12 fractional bits, which a soft "shrink" maps to 6 output bits
// (signal/src/pcan_argc_fixed.cc).

import { type Tensor } from '../../ir/graph.ts';
import { constantData } from '../../reference/run_reference.ts';
import { defineOp } from '../op_module.ts';
import { constantInt16, sameCount, typed } from './common.ts';
import { msb32 } from './signal_math.ts';

interface PcanParams {
  channels: number;
  snrShift: number;
  lut: number;
}

const SNR_BITS = 12;
const OUTPUT_BITS = 6;
/** WideDynamicFunction reads lut[4 * msb - 6 + 0..2] for msb up to 32. */
const LUT_ENTRIES = 4 * 32 - 6 + 3;

/** The gain for noise estimate x, an int16 (the library returns int16_t). */
function wideDynamicFunction(x: number, lut: Int16Array): number {
  if (x <= 2) return lut[x] as number;
  const interval = msb32(x);
  const base = 4 * interval - 6;
  const frac = (interval < 11 ? x << (11 - interval) : x >>> (interval - 11)) & 0x3ff;
  let result = ((lut[base + 2] as number) * frac) >> 5;
  result = (result + Math.imul(lut[base + 1] as number, 32)) | 0;
  result = Math.imul(result, frac);
  result = ((result + (1 << 14)) | 0) >> 15;
  result += lut[base] as number;
  return (result << 16) >> 16;
}

/** x^2 / 4 below 2 (in Q12), x - 1 above, to Q6. */
function shrink(x: number): number {
  if (x < 2 << SNR_BITS) return Math.floor((x * x) / 2 ** (2 + 2 * SNR_BITS - OUTPUT_BITS));
  return (x >>> (SNR_BITS - OUTPUT_BITS)) - (1 << OUTPUT_BITS);
}

export const signalPcanOp = defineOp({
  builtins: ['CUSTOM:SignalPCAN'],
  read(r) {
    r.arity(3, 3, 1);
    return { snrShift: r.customInt(r.customOptions(), 'snr_shift', 0, 63) };
  },
  lower(ctx, attrs) {
    const x = typed(ctx, 0, 'input', 'input', 'uint32', 1);
    const noise = typed(ctx, 1, 'input', 'noise estimate', 'uint32', 1);
    const lut = constantInt16(ctx, 2, 'gain table');
    const y = typed(ctx, 0, 'output', 'output', 'uint32', 1);
    const channels = sameCount(ctx, x, y);
    sameCount(ctx, x, noise);
    if (lut.values.length < LUT_ENTRIES) ctx.fail(`gain table '${lut.tensor.name}' has ${lut.values.length} entries; the gain function reads ${LUT_ENTRIES}`);
    const params: PcanParams = { channels, snrShift: attrs.snrShift as number, lut: lut.tensor.id };
    return { params, kernel: 'signal_pcan', cFiles: ['portable/signal.h', 'portable/signal_pcan.c'], macs: 4 * channels };
  },
  run(p: PcanParams, io) {
    const x = io.input(0).u32();
    const noise = io.input(1).u32();
    const lut = constantData(io.graph.tensors[p.lut] as Tensor).s16();
    const y = io.output(0).u32();
    const shift = BigInt(p.snrShift);
    for (let i = 0; i < p.channels; i++) {
      // The int16 gain converts to uint32 (a negative gain wraps).
      const gain = wideDynamicFunction(noise[i] as number, lut) >>> 0;
      const snr = Number(BigInt.asUintN(32, (BigInt(x[i] as number) * BigInt(gain)) >> shift));
      y[i] = shrink(snr);
    }
  },
  emitC(p: PcanParams, e) {
    const params = e.params('tf_signal_pcan_params', { channels: p.channels, snr_shift: p.snrShift, lut: e.constant(p.lut) });
    e.call(`tf_signal_pcan(${params}, ${e.input(0)}, ${e.input(1)}, ${e.output(0)});`);
  },
});
