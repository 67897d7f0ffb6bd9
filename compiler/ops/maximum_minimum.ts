// MAXIMUM and MINIMUM with broadcasting: TFLite Micro compares the raw integers without
// requantizing, which means something only when both inputs and the output share one quantization
// (the converter guarantees it); tinyforge refuses models where they differ.

import type { Tensor } from '../ir/graph.ts';
import { emitArithS32, emitBinary, lowerArithS32, lowerBinary, readBinary, runBinary, typeSuffix, type BinaryParams } from './binary.ts';
import { defineOp } from './op_module.ts';

interface MaximumMinimumParams extends BinaryParams {
  /** 1: MAXIMUM, 0: MINIMUM. */
  max: number;
}

function quantLabel(t: Tensor): string {
  return `scale ${t.quant?.scale[0] ?? 'none'}, zero point ${t.quant?.zeroPoint[0] ?? 'none'}`;
}

export const maximumMinimumOps = defineOp({
  builtins: ['MAXIMUM', 'MINIMUM'],
  read(r) {
    readBinary(r);
    return {};
  },
  lower(ctx, _attrs, op) {
    const { a, b, out, base, inPlace } = lowerBinary(ctx, ['int8', 'int16', 'int32'], 6, true);
    if (base.dtype !== 'int32') {
      for (const t of [b, out]) {
        if (quantLabel(t) !== quantLabel(a)) {
          ctx.fail(`'${t.name}' is quantized with ${quantLabel(t)} but input 1 '${a.name}' with ${quantLabel(a)}; ${op.module} compares raw values and needs them equal`);
        }
      }
    }
    const kind = op.module === 'MAXIMUM' ? 'maximum' : 'minimum';
    const params: MaximumMinimumParams = { ...base, max: op.module === 'MAXIMUM' ? 1 : 0 };
    if (base.dtype === 'int32') return lowerArithS32(params, kind, inPlace);
    const t = typeSuffix(base.dtype);
    return { params, kernel: `maximum_minimum_${t}`, cFiles: ['portable/tf_broadcast.h', 'portable/maximum_minimum.h', `portable/maximum_minimum_${t}.c`], inPlace };
  },
  run(p: MaximumMinimumParams, io) {
    runBinary(p, io, p.max ? (x, y) => Math.max(x, y) : (x, y) => Math.min(x, y));
  },
  emitC(p: MaximumMinimumParams, e) {
    if (p.dtype === 'int32') return emitArithS32(e, p, p.max ? 'maximum' : 'minimum', -2147483648, 2147483647);
    emitBinary(e, p, 'tf_maximum_minimum', 'tf_maximum_minimum_params', { max: p.max });
  },
});
