// TFLite Micro's signal-library custom ops (the micro_speech audio front end), registered by
// their CUSTOM:<name> operator names.

import { signalEnergyOp } from './energy.ts';
import { signalFftAutoScaleOp } from './fft_auto_scale.ts';
import { signalFilterBankOp } from './filter_bank.ts';
import { signalFilterBankLogOp } from './filter_bank_log.ts';
import { signalFilterBankSquareRootOp } from './filter_bank_square_root.ts';
import { signalPcanOp } from './pcan.ts';
import { signalRfftOp } from './rfft.ts';
import { signalSpectralSubtractionOp } from './spectral_subtraction.ts';
import { signalWindowOp } from './window.ts';
import type { RegisteredOp } from '../op_module.ts';

export const signalOps: readonly RegisteredOp[] = [
  signalWindowOp,
  signalFftAutoScaleOp,
  signalRfftOp,
  signalEnergyOp,
  signalFilterBankOp,
  signalFilterBankSquareRootOp,
  signalSpectralSubtractionOp,
  signalPcanOp,
  signalFilterBankLogOp,
];
