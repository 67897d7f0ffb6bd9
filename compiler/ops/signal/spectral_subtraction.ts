// SignalFilterBankSpectralSubtraction: a per-channel low-pass noise estimate (smoothing in Q
// spectral_subtraction_bits, with smoothing_bits extra fractional bits; odd channels may use an
// alternate coefficient) subtracted from the signal, never below min_signal_remaining of it
// (signal/src/filter_bank_spectral_subtraction.cc). The estimate persists from one invoke to the
// next: TFLite Micro keeps it in a persistent buffer, tinyforge in a state tensor the reader adds
// as input 1. Output 1 is a copy of the updated estimate (SignalPCAN reads it).

import { defineOp } from '../op_module.ts';
import { sameCount, typed } from './common.ts';

interface SpectralSubtractionParams {
  channels: number;
  smoothing: number;
  oneMinusSmoothing: number;
  alternateSmoothing: number;
  alternateOneMinusSmoothing: number;
  minSignalRemaining: number;
  smoothingBits: number;
  spectralSubtractionBits: number;
  clamping: number;
}

const U32 = 0xffffffff;

export const signalSpectralSubtractionOp = defineOp({
  builtins: ['CUSTOM:SignalFilterBankSpectralSubtraction'],
  read(r) {
    r.arity(1, 1, 2);
    const o = r.customOptions();
    return {
      channels: r.customInt(o, 'num_channels', 1, 1 << 16),
      smoothing: r.customInt(o, 'smoothing', 0, U32),
      oneMinusSmoothing: r.customInt(o, 'one_minus_smoothing', 0, U32),
      alternateSmoothing: r.customInt(o, 'alternate_smoothing', 0, U32),
      alternateOneMinusSmoothing: r.customInt(o, 'alternate_one_minus_smoothing', 0, U32),
      minSignalRemaining: r.customInt(o, 'min_signal_remaining', 0, U32),
      smoothingBits: r.customInt(o, 'smoothing_bits', 0, 31),
      spectralSubtractionBits: r.customInt(o, 'spectral_subtraction_bits', 0, 63),
      clamping: r.customInt(o, 'clamping', 0, 1),
    };
  },
  stateTensors(_r, attrs) {
    return [{ name: 'noise_estimate', shape: [attrs.channels as number], dtype: 'uint32' }];
  },
  lower(ctx, attrs) {
    const x = typed(ctx, 0, 'input', 'input', 'uint32', 1);
    const state = typed(ctx, 1, 'input', 'noise estimate state', 'uint32', 1);
    const y = typed(ctx, 0, 'output', 'output', 'uint32', 1);
    const noise = typed(ctx, 1, 'output', 'noise estimate output', 'uint32', 1);
    const channels = attrs.channels as number;
    if (!state.state) ctx.fail(`input 1 '${state.name}' is not a state tensor`);
    for (const t of [y, noise, state]) sameCount(ctx, x, t);
    if (sameCount(ctx, x, y) !== channels) ctx.fail(`input '${x.name}' has shape [${x.shape}] but num_channels is ${channels}`);
    const params: SpectralSubtractionParams = {
      channels,
      smoothing: attrs.smoothing as number,
      oneMinusSmoothing: attrs.oneMinusSmoothing as number,
      alternateSmoothing: attrs.alternateSmoothing as number,
      alternateOneMinusSmoothing: attrs.alternateOneMinusSmoothing as number,
      minSignalRemaining: attrs.minSignalRemaining as number,
      smoothingBits: attrs.smoothingBits as number,
      spectralSubtractionBits: attrs.spectralSubtractionBits as number,
      clamping: attrs.clamping as number,
    };
    return { params, kernel: 'signal_spectral_subtraction', cFiles: ['portable/signal.h', 'portable/signal_spectral_subtraction.c'], macs: 3 * channels };
  },
  run(p: SpectralSubtractionParams, io) {
    const x = io.input(0).u32();
    const estimate = io.input(1).u32();
    const y = io.output(0).u32();
    const noiseOut = io.output(1).u32();
    const ssBits = BigInt(p.spectralSubtractionBits);
    for (let i = 0; i < p.channels; i++) {
      const odd = (i & 1) === 1;
      const smoothing = BigInt(odd ? p.alternateSmoothing : p.smoothing);
      const oneMinus = BigInt(odd ? p.alternateOneMinusSmoothing : p.oneMinusSmoothing);
      const signal = x[i] as number;
      const scaledUp = (signal * 2 ** p.smoothingBits) % 2 ** 32;
      const next = Number(BigInt.asUintN(32, (BigInt(scaledUp) * smoothing + BigInt(estimate[i] as number) * oneMinus) >> ssBits));
      estimate[i] = next;
      let bounded = next;
      if (bounded > scaledUp) {
        bounded = scaledUp;
        if (p.clamping) estimate[i] = bounded;
      }
      const floor = Number(BigInt.asUintN(32, (BigInt(signal) * BigInt(p.minSignalRemaining)) >> ssBits));
      const subtracted = (scaledUp - bounded) / 2 ** p.smoothingBits;
      y[i] = Math.max(Math.floor(subtracted), floor);
    }
    noiseOut.set(estimate.subarray(0, p.channels));
  },
  emitC(p: SpectralSubtractionParams, e) {
    const params = e.params('tf_signal_spectral_subtraction_params', {
      channels: p.channels,
      smoothing: `${p.smoothing}u`,
      one_minus_smoothing: `${p.oneMinusSmoothing}u`,
      alternate_smoothing: `${p.alternateSmoothing}u`,
      alternate_one_minus_smoothing: `${p.alternateOneMinusSmoothing}u`,
      min_signal_remaining: `${p.minSignalRemaining}u`,
      smoothing_bits: p.smoothingBits,
      spectral_subtraction_bits: p.spectralSubtractionBits,
      clamping: p.clamping,
    });
    e.call(`tf_signal_spectral_subtraction(${params}, ${e.input(0)}, ${e.input(1)}, ${e.output(0)}, ${e.output(1)});`);
  },
});
