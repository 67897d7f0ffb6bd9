// SignalRfft (int16): each input frame, zero-padded to fft_length, through KISS FFT's fixed-point
// real FFT (kiss_fft.ts); the output holds fft_length / 2 + 1 complex bins per frame as
// interleaved int16 re, im. The work buffer and KISS FFT's complex half-spectrum live in the
// layer's scratch space.

import { elementCount } from '../../ir/graph.ts';
import { defineOp } from '../op_module.ts';
import { typed } from './common.ts';
import { kissFactors, kissFftr, kissSuperTwiddles, kissTwiddles, type KissPlan } from './kiss_fft.ts';

/** TFLite's TensorType code of int16, the only RFFT type tinyforge compiles. */
const TENSOR_TYPE_INT16 = 7;

interface RfftParams extends KissPlan {
  fftLength: number;
  inputLength: number;
  frames: number;
}

export const signalRfftOp = defineOp({
  builtins: ['CUSTOM:SignalRfft'],
  read(r) {
    r.arity(1, 1, 1);
    const o = r.customOptions();
    const type = r.customInt(o, 'T', 0, 255);
    if (type !== TENSOR_TYPE_INT16) r.fail(`${r.label} is an RFFT of TensorType ${type}; tinyforge compiles the int16 (7) RFFT only`);
    return { fftLength: r.customInt(o, 'fft_length', 2, 1 << 16) };
  },
  lower(ctx, attrs) {
    const fftLength = attrs.fftLength as number;
    const x = typed(ctx, 0, 'input', 'input', 'int16');
    const y = typed(ctx, 0, 'output', 'output', 'int16', x.shape.length);
    if (x.shape.length < 1) ctx.fail(`input '${x.name}' is a scalar (expected frames of samples)`);
    const inputLength = x.shape[x.shape.length - 1] as number;
    const frames = elementCount(x.shape) / inputLength;
    const bins = fftLength / 2 + 1;
    if (inputLength > fftLength) ctx.fail(`input frames of ${inputLength} samples are longer than fft_length ${fftLength}`);
    if (y.shape[y.shape.length - 1] !== 2 * bins || elementCount(y.shape) !== 2 * bins * frames) {
      ctx.fail(`output '${y.name}' has shape [${y.shape}]; an fft_length of ${fftLength} gives ${bins} complex bins (${2 * bins} int16) per frame`);
    }
    if (fftLength % 2 !== 0) ctx.fail(`fft_length ${fftLength} is odd (the real FFT needs an even length)`);
    const ncfft = fftLength / 2;
    const factors = kissFactors(ncfft);
    const radix = factors.filter((_, i) => i % 2 === 0);
    if (radix.some((p) => p !== 2 && p !== 4)) {
      ctx.fail(`fft_length ${fftLength} needs radix ${radix.join(', ')} butterflies; tinyforge implements powers of two only`);
    }
    const params: RfftParams = { fftLength, inputLength, frames, ncfft, factors, twiddles: kissTwiddles(ncfft), superTwiddles: kissSuperTwiddles(ncfft) };
    // Scratch: the zero-padded frame (fft_length int16) and KISS FFT's ncfft complex bins.
    const scratchBytes = 2 * fftLength + 4 * ncfft;
    const macs = frames * 4 * ncfft * radix.length + frames * 4 * ncfft;
    return { params, kernel: 'signal_rfft_s16', cFiles: ['portable/signal.h', 'portable/signal_rfft_s16.c'], scratchBytes, macs };
  },
  run(p: RfftParams, io) {
    const x = io.input(0).s16();
    const y = io.output(0).s16();
    const bins = p.fftLength / 2 + 1;
    for (let f = 0; f < p.frames; f++) {
      const frame = new Int16Array(p.fftLength);
      frame.set(x.subarray(f * p.inputLength, (f + 1) * p.inputLength));
      kissFftr(p, frame, y.subarray(2 * bins * f, 2 * bins * (f + 1)));
    }
  },
  emitC(p: RfftParams, e) {
    const factors = e.array('factors', 'int32_t', p.factors);
    const twiddles = e.array('twiddles', 'int16_t', p.twiddles);
    const superTwiddles = e.array('super_twiddles', 'int16_t', p.superTwiddles);
    const params = e.params('tf_signal_rfft_params', {
      fft_length: p.fftLength,
      input_length: p.inputLength,
      frames: p.frames,
      factors,
      twiddles,
      super_twiddles: superTwiddles,
    });
    e.call(`tf_signal_rfft_s16(${params}, ${e.input(0)}, ${e.output(0)}, ${e.scratch()});`);
  },
});
