// SELECT_V2 as TFLite Micro's select.cc: output = condition ? x : y element by element, with the
// three inputs broadcast together (up to 5 dimensions). condition is bool; x, y and the output
// share one type, int8, int16 or float32, and are moved as raw elements: Micro never looks at the
// quantization, so neither does tinyforge (x and y are expected to share the output's).

import { elementCount, isConstant, DTYPE_BYTES, type Tensor } from '../ir/graph.ts';
import { constantData } from '../reference/run_reference.ts';
import { broadcastShape, broadcastStrides, extendShape } from './broadcast.ts';
import { defineOp, type KernelIo, type ModuleLowering, type TensorData } from './op_module.ts';

const RANK = 5;
const SELECT_TYPES: readonly string[] = ['int8', 'int16', 'float32'];

type Operand = { kind: 'constant'; tensor: number } | { kind: 'activation'; index: number };

interface SelectParams {
  elementBytes: number;
  /** The output's dimensions extended to 5, and each input's element strides over them. */
  dims: number[];
  strides: [number[], number[], number[]];
  operands: [Operand, Operand, Operand];
}

function operandData(io: KernelIo, o: Operand): TensorData {
  return o.kind === 'constant' ? constantData(io.graph.tensors[o.tensor] as Tensor) : io.input(o.index);
}

export const selectV2Op = defineOp({
  builtins: ['SELECT_V2'],
  read(r) {
    r.arity(3, 3, 1);
    r.input(0, 'condition');
    r.input(1, 'x');
    r.input(2, 'y');
    r.output(0);
    return {};
  },
  lower(ctx): ModuleLowering<SelectParams> {
    const c = ctx.tensor(0);
    const x = ctx.tensor(1);
    const y = ctx.tensor(2);
    const out = ctx.tensor(0, 'output');
    if (c.dtype !== 'bool') ctx.fail(`condition '${c.name}' is ${c.dtype}; SELECT_V2 takes a bool condition`);
    if (!SELECT_TYPES.includes(x.dtype)) ctx.fail(`x '${x.name}' is ${x.dtype}; TFLite Micro's SELECT_V2 takes int8, int16 or float32`);
    if (y.dtype !== x.dtype || out.dtype !== x.dtype) ctx.fail(`x, y and the output must share one type (x ${x.dtype}, y ${y.dtype}, output ${out.dtype})`);
    const xy = broadcastShape(x.shape, y.shape);
    const shape = xy && broadcastShape(c.shape, xy);
    if (!shape) return ctx.fail(`condition [${c.shape}], x [${x.shape}] and y [${y.shape}] do not broadcast`);
    if (shape.length > RANK) ctx.fail(`the inputs broadcast to rank ${shape.length}; TFLite Micro's SELECT_V2 supports at most ${RANK}`);
    if (elementCount(shape) !== elementCount(out.shape)) ctx.fail(`output '${out.name}' has shape [${out.shape}] but the inputs broadcast to [${shape}]`);
    const stridesOf = (t: Tensor): number[] => broadcastStrides(t.shape, shape, RANK) as number[];
    let activations = 0;
    const operand = (t: Tensor): Operand => (isConstant(t) ? { kind: 'constant', tensor: t.id } : { kind: 'activation', index: activations++ });
    const constants = [c, x, y].filter(isConstant).map((t) => t.id);
    return {
      params: { elementBytes: DTYPE_BYTES[x.dtype], dims: extendShape(shape, RANK), strides: [stridesOf(c), stridesOf(x), stridesOf(y)], operands: [operand(c), operand(x), operand(y)] },
      kernel: `select_v2_${x.dtype === 'int8' ? 's8' : x.dtype === 'int16' ? 's16' : 'f32'}`,
      cFiles: ['portable/select_v2.c'],
      ...(constants.length > 0 ? { constants } : {}),
    };
  },
  run(p: SelectParams, io) {
    const [cond, x, y] = p.operands.map((o) => operandData(io, o).bytes) as [Uint8Array, Uint8Array, Uint8Array];
    const out = io.output(0).bytes;
    const e = p.elementBytes;
    const [d0, d1, d2, d3, d4] = p.dims as [number, number, number, number, number];
    const at = (s: number[], i: number[]): number => s.reduce((sum, v, k) => sum + v * (i[k] as number), 0);
    let o = 0;
    for (let i0 = 0; i0 < d0; i0++)
      for (let i1 = 0; i1 < d1; i1++)
        for (let i2 = 0; i2 < d2; i2++)
          for (let i3 = 0; i3 < d3; i3++)
            for (let i4 = 0; i4 < d4; i4++, o++) {
              const i = [i0, i1, i2, i3, i4];
              const pick = cond[at(p.strides[0], i)] !== 0;
              const from = pick ? x : y;
              const k = at(p.strides[pick ? 1 : 2], i) * e;
              out.set(from.subarray(k, k + e), o * e);
            }
  },
  emitC(p: SelectParams, e) {
    const list = (v: readonly number[]): string => `{${v.join(', ')}}`;
    const params = e.params('tf_select_v2_params', {
      dims: list(p.dims),
      cond_strides: list(p.strides[0]),
      x_strides: list(p.strides[1]),
      y_strides: list(p.strides[2]),
      element_bytes: p.elementBytes,
    });
    const arg = (o: Operand): string => (o.kind === 'constant' ? e.constant(o.tensor) : e.input(o.index));
    const [c, x, y] = p.operands;
    e.call(`tf_select_v2(${params}, ${arg(c)}, ${arg(x)}, ${arg(y)}, ${e.output(0)});`);
  },
});
