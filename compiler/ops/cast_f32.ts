// CAST from an integer type to float32 (TFLite Micro's static_cast<float>): each value rounded to
// the nearest float32 (exact up to 2^24). Casts between integer types are cast.ts; casts from
// float32 are not built.

import { elementCount } from '../ir/graph.ts';
import { FLOAT_HELPERS, requireF32 } from './float32.ts';
import { CAST_TYPES, isCastType, SUFFIX, view, type CastType } from './cast.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

interface CastF32Params {
  from: CastType;
  size: number;
}

export const castF32Kernel = defineOp({
  builtins: [],
  key: 'cast_f32',
  float32For: ['CAST'],
  read(r): Record<string, never> {
    return r.fail('internal: cast_f32 is chosen by the CAST lowering');
  },
  lower(ctx): ModuleLowering<CastF32Params> {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    requireF32(ctx, y, 'output');
    if (!isCastType(x.dtype)) return ctx.fail(`input '${x.name}' is ${x.dtype}; tinyforge casts ${CAST_TYPES.join(', ')} to float32`);
    const params: CastF32Params = { from: x.dtype, size: elementCount(x.shape) };
    // Same-size types (int32, uint32) may be converted in place: element i is read, then written.
    return { params, kernel: `cast_${SUFFIX[x.dtype]}_f32`, cFiles: [...FLOAT_HELPERS, 'portable/tf_cast_f32.h'], inputs: [x.id], inPlace: x.dtype === 'int32' || x.dtype === 'uint32' ? [0] : [] };
  },
  run(p: CastF32Params, io) {
    const x = view(io.input(0), p.from);
    const y = io.output(0).f32();
    // Float32Array stores round to nearest, as the C conversion does.
    for (let i = 0; i < p.size; i++) y[i] = x[i] as number;
  },
  emitC(p: CastF32Params, e) {
    e.call(`tf_cast_${SUFFIX[p.from]}_f32(${e.input(0)}, ${e.output(0)}, ${p.size});`);
  },
});
