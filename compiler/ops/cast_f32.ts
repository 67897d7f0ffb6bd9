// CAST from an integer type to float32 (TFLite Micro's static_cast<float>): each value rounded to
// the nearest float32 (exact up to 2^24). Casts between integer types are cast.ts; casts from
// float32 are not built.

import { elementCount } from '../ir/graph.ts';
import { FLOAT_HELPERS, requireF32 } from './float32.ts';
import { defineOp, type ModuleLowering, type TensorData } from './op_module.ts';

const FROM_TYPES = ['int8', 'uint8', 'int16', 'int32', 'uint32'] as const;
type FromType = (typeof FROM_TYPES)[number];
const SUFFIX: Readonly<Record<FromType, string>> = { int8: 's8', uint8: 'u8', int16: 's16', int32: 's32', uint32: 'u32' };

interface CastF32Params {
  from: FromType;
  size: number;
}

function view(d: TensorData, t: FromType): Int8Array | Uint8Array | Int16Array | Int32Array | Uint32Array {
  switch (t) {
    case 'int8':
      return d.s8();
    case 'uint8':
      return d.u8();
    case 'int16':
      return d.s16();
    case 'int32':
      return d.s32();
    case 'uint32':
      return d.u32();
  }
}

function isFromType(t: string): t is FromType {
  return (FROM_TYPES as readonly string[]).includes(t);
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
    if (!isFromType(x.dtype)) return ctx.fail(`input '${x.name}' is ${x.dtype}; tinyforge casts ${FROM_TYPES.join(', ')} to float32`);
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
