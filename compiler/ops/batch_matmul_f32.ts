// BATCH_MATMUL on float32 (TFLite Micro's batch_matmul.cc float path, reference_ops::BatchMatMul):
// each output is a float32 total from 0 of lhs * rhs over the inner dimension in order, every
// product and sum rounded to float32; no bias, no activation. adj_x / adj_y and broadcast batch
// dimensions are the int8 lowering's strides and offsets (batch_matmul.ts): Micro's transposes
// into scratch move values, they do not change the sums. Either operand may be a constant (read
// from flash as stored).

import { isConstant, type Tensor } from '../ir/graph.ts';
import { constantData } from '../reference/run_reference.ts';
import { batchMatMulLayout, type BatchMatMulAttrs, type BatchMatMulLayout } from './batch_matmul.ts';
import { FLOAT_HELPERS, requireF32 } from './float32.ts';
import type { TensorData } from './op_module.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';

export interface BatchMatMulF32Params extends BatchMatMulLayout {
  /** Constant operand tensors, -1 when the operand is an activation input. */
  lhsConstant: number;
  rhsConstant: number;
}

const f = Math.fround;

export function runBatchMatMulF32(p: BatchMatMulLayout, lhs: Float32Array, rhs: Float32Array, y: Float32Array): void {
  let o = 0;
  for (let b = 0; b < p.batches; b++) {
    const la = p.lhsBatchOffsets[b] as number;
    const rb = p.rhsBatchOffsets[b] as number;
    for (let m = 0; m < p.rows; m++) {
      for (let n = 0; n < p.cols; n++) {
        let total = 0;
        for (let k = 0; k < p.depth; k++) {
          total = f(total + f((lhs[la + m * p.lhsRowStride + k * p.lhsDepthStride] as number) * (rhs[rb + k * p.rhsDepthStride + n * p.rhsColStride] as number)));
        }
        y[o++] = total;
      }
    }
  }
}

export const batchMatMulF32Kernel = defineOp({
  builtins: [],
  key: 'batch_matmul_f32',
  float32For: ['BATCH_MATMUL'],
  read(r): BatchMatMulAttrs {
    return r.fail('internal: batch_matmul_f32 is chosen by the BATCH_MATMUL lowering');
  },
  lower(ctx, attrs): ModuleLowering<BatchMatMulF32Params> {
    const a = ctx.tensor(0);
    const b = ctx.tensor(1);
    const y = ctx.tensor(0, 'output');
    requireF32(ctx, a, 'lhs');
    requireF32(ctx, b, 'rhs');
    requireF32(ctx, y, 'output');
    const layout = batchMatMulLayout(a, b, y, attrs, false);
    const params: BatchMatMulF32Params = { ...layout, lhsConstant: isConstant(a) ? a.id : -1, rhsConstant: isConstant(b) ? b.id : -1 };
    return {
      params,
      kernel: 'batch_matmul_f32',
      cFiles: [...FLOAT_HELPERS, 'portable/batch_matmul_f32.c'],
      inputs: [a, b].filter((t) => !isConstant(t)).map((t) => t.id),
      constants: [a, b].filter((t) => isConstant(t)).map((t) => t.id),
      macs: layout.batches * layout.rows * layout.cols * layout.depth,
    };
  },
  run(p: BatchMatMulF32Params, io) {
    let next = 0;
    const operand = (constant: number): Float32Array => (constant >= 0 ? constantData(io.graph.tensors[constant] as Tensor) : (io.input(next++) as TensorData)).f32();
    const lhs = operand(p.lhsConstant);
    const rhs = operand(p.rhsConstant);
    runBatchMatMulF32(p, lhs, rhs, io.output(0).f32());
  },
  emitC(p: BatchMatMulF32Params, e) {
    let next = 0;
    const operand = (constant: number): string => (constant >= 0 ? e.constant(constant) : e.input(next++));
    const lhs = operand(p.lhsConstant);
    const rhs = operand(p.rhsConstant);
    const params = e.params('tf_batch_matmul_f32_params', {
      batches: p.batches,
      rows: p.rows,
      cols: p.cols,
      depth: p.depth,
      lhs_row_stride: p.lhsRowStride,
      lhs_depth_stride: p.lhsDepthStride,
      rhs_depth_stride: p.rhsDepthStride,
      rhs_col_stride: p.rhsColStride,
      lhs_batch_offsets: e.array('lhs_batches', 'int32_t', p.lhsBatchOffsets, 'lhs matrix offset of each output batch'),
      rhs_batch_offsets: e.array('rhs_batches', 'int32_t', p.rhsBatchOffsets, 'rhs matrix offset of each output batch'),
    });
    e.call(`tf_batch_matmul_f32(${params}, ${lhs}, ${rhs}, ${e.output(0)});`);
  },
});
