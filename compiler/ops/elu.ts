// ELU on int8 and float32, as TFLite Micro's elu.cc. int8: Micro fills a 256-entry table at
// Prepare in float32 arithmetic (x = input scale * (q - zin); x < 0 ? expf(x) - 1 : x; times
// 1 / output scale, std::round, plus zout, clamped); tinyforge computes the same table at compile
// time with glibc's expf (expf.ts) and the device does one load per element (lut8.ts). float32
// (reference_ops::Elu): x < 0 ? expm1f(x) : x, with glibc's expm1f (float_math.ts / float_math.h).
// Note the two paths differ: the table uses expf(x) - 1, the float kernel expm1f(x).

import { elementCount } from '../ir/graph.ts';
import { expm1f } from '../reference/float_math.ts';
import { roundHalfAwayFromZero } from '../quant/multiplier.ts';
import { expf } from './expf.ts';
import { FLOAT_HELPERS } from './float32.ts';
import { buildLut8, emitLut8, isLut8, lut8Lowering, runLut8, type Lut8Params } from './lut8.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

interface EluF32Params {
  size: number;
}

type Params = Lut8Params | EluF32Params;

const f = Math.fround;
/** Beyond this the float32 sum with the zero point is no longer exact, and Micro's cast to int32 can overflow. */
const EXACT_FLOAT_INTEGER = 2 ** 24;

/** One entry of Micro's PopulateLookupTable for ELU, before the clamp. */
export function eluTableValue(q: number, inScale: number, inZeroPoint: number, outScale: number, outZeroPoint: number): number {
  const x = f(f(inScale) * (q - inZeroPoint));
  const y = x < 0 ? f(expf(x) - 1) : x;
  const rescaled = roundHalfAwayFromZero(f(y * f(1 / f(outScale))));
  return Math.trunc(f(rescaled + outZeroPoint));
}

export const eluOp = defineOp({
  builtins: ['ELU'],
  key: 'elu_f32',
  float32For: ['ELU'],
  read(r) {
    r.elementwise();
    return {};
  },
  lower(ctx): ModuleLowering<Params> {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    if (x.dtype !== 'int8' && x.dtype !== 'float32') ctx.fail(`input '${x.name}' is ${x.dtype}; TFLite Micro's ELU takes int8 or float32`);
    if (y.dtype !== x.dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${x.dtype}`);
    const size = elementCount(x.shape);
    if (x.dtype === 'float32') return { params: { size }, kernel: 'elu_f32', cFiles: [...FLOAT_HELPERS, 'portable/float_math.h', 'portable/elu_f32.c'], inputs: [x.id], inPlace: [0] };
    const inQ = ctx.quant(x, 'input');
    const outQ = ctx.quant(y, 'output');
    const largest = Math.max(1, f(inQ.scale) * Math.max(127 - inQ.zeroPoint, inQ.zeroPoint + 128));
    if (largest / outQ.scale > EXACT_FLOAT_INTEGER) ctx.fail(`output scale ${outQ.scale} is too small for ELU of input scale ${inQ.scale}: TFLite Micro's float table would leave the int32 range`);
    const table = buildLut8('int8', (q) => Math.min(127, Math.max(-128, eluTableValue(q, inQ.scale, inQ.zeroPoint, outQ.scale, outQ.zeroPoint))));
    return lut8Lowering(table, size, 'int8', 'elu_s8_lut');
  },
  run(p: Params, io) {
    if (isLut8(p)) {
      runLut8(p, io);
      return;
    }
    const x = io.input(0).f32();
    const y = io.output(0).f32();
    for (let i = 0; i < p.size; i++) {
      const v = x[i] as number;
      y[i] = v < 0 ? expm1f(v) : v;
    }
  },
  emitC(p: Params, e) {
    if (isLut8(p)) {
      emitLut8(p, e);
      return;
    }
    e.call(`tf_elu_f32(${e.input(0)}, ${e.output(0)}, ${p.size});`);
  },
});
