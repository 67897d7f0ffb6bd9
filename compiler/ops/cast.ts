// CAST between integer types: each element converted as C's static_cast does (two's complement
// wrap-around when narrowing or changing signedness; TFLite Micro's copyCast). tinyforge casts
// among int8, uint8, int16, int32 and uint32; float casts are refused.

import { DTYPE_BYTES, elementCount } from '../ir/graph.ts';
import { defineOp, type TensorData } from './op_module.ts';

/** The integer types CAST converts among (and, in cast_f32.ts, to float32). */
export const CAST_TYPES = ['int8', 'uint8', 'int16', 'int32', 'uint32'] as const;
export type CastType = (typeof CAST_TYPES)[number];

/** The C kernels' type suffixes. */
export const SUFFIX: Readonly<Record<CastType, string>> = { int8: 's8', uint8: 'u8', int16: 's16', int32: 's32', uint32: 'u32' };

interface CastParams {
  from: CastType;
  to: CastType;
  size: number;
}

export function view(d: TensorData, t: CastType): Int8Array | Uint8Array | Int16Array | Int32Array | Uint32Array {
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

export function isCastType(t: string): t is CastType {
  return (CAST_TYPES as readonly string[]).includes(t);
}

export const castOp = defineOp({
  builtins: ['CAST'],
  read(r) {
    r.arity(1, 1, 1);
    const x = r.input(0, 'input');
    const y = r.output(0);
    if (elementCount(x.shape) !== elementCount(y.shape)) r.fail(`${r.label} output shape [${y.shape}] holds a different number of elements than input shape [${x.shape}]`);
    return {};
  },
  lower(ctx) {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    for (const [t, what] of [[x, 'input'], [y, 'output']] as const) {
      if (!isCastType(t.dtype)) ctx.fail(`${what} '${t.name}' is ${t.dtype}; tinyforge casts between ${CAST_TYPES.join(', ')}`);
    }
    const from = x.dtype as CastType;
    const to = y.dtype as CastType;
    const params: CastParams = { from, to, size: elementCount(x.shape) };
    // Between types of one size the output may overwrite the input (element i is read, then written).
    const inPlace = DTYPE_BYTES[from] === DTYPE_BYTES[to] ? [0] : [];
    return { params, kernel: `cast_${SUFFIX[from]}_${SUFFIX[to]}`, cFiles: ['portable/cast.h'], inPlace };
  },
  run(p: CastParams, io) {
    const x = view(io.input(0), p.from);
    const y = view(io.output(0), p.to);
    // Typed-array stores wrap modulo 2^bits, which is static_cast's two's complement conversion.
    for (let i = 0; i < p.size; i++) y[i] = x[i] as number;
  },
  emitC(p: CastParams, e) {
    e.call(`tf_cast_${SUFFIX[p.from]}_${SUFFIX[p.to]}(${e.input(0)}, ${e.output(0)}, ${p.size});`);
  },
});
