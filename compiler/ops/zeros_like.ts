// ZEROS_LIKE as TFLite Micro's zeros_like.cc: an output of the input's shape and type (int8, int32,
// int64 or float32) whose every element is the integer or float 0. For int8 that is the raw byte 0
// whatever the zero point, exactly as Micro writes it. The input is never read; the kernel is one
// memset of the output on each invoke.

import { DTYPE_BYTES, elementCount } from '../ir/graph.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

interface ZerosLikeParams {
  bytes: number;
}

const ZEROS_LIKE_TYPES: readonly string[] = ['int8', 'int32', 'int64', 'float32'];

export const zerosLikeOp = defineOp({
  builtins: ['ZEROS_LIKE'],
  read(r) {
    r.elementwise();
    return {};
  },
  lower(ctx): ModuleLowering<ZerosLikeParams> {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    if (!ZEROS_LIKE_TYPES.includes(x.dtype)) ctx.fail(`input '${x.name}' is ${x.dtype}; TFLite Micro's ZEROS_LIKE takes int8, int32, int64 or float32`);
    if (y.dtype !== x.dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${x.dtype}`);
    return { params: { bytes: elementCount(y.shape) * DTYPE_BYTES[y.dtype] }, kernel: 'zeros_like', cFiles: [], inputs: [] };
  },
  run(_p: ZerosLikeParams, io) {
    io.output(0).bytes.fill(0);
  },
  emitC(p: ZerosLikeParams, e) {
    e.call(`memset(${e.output(0)}, 0, ${p.bytes});`);
  },
});
