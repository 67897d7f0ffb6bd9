// BATCH_MATMUL on int8 (int32 accumulator) and int16 (int64 accumulator, zero points 0), as
// TFLite Micro's reference BatchMatMul. adj_x / adj_y and the broadcast of the batch dimensions
// become strides and per-batch base offsets computed here, so the kernel never transposes at run
// time; a constant RHS is stored transposed ([N][K]) so its inner loop reads contiguously.

import { elementCount, isConstant, type Tensor } from '../ir/graph.ts';
import { clamp, multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierInt64 } from '../quant/fixed_point.ts';
import { quantizedTypeRange, quantizeMultiplier } from '../quant/multiplier.ts';
import { MAX_INT64_REQUANTIZE_SHIFT } from '../passes/check_accumulators.ts';
import { showShape, tensorLabel } from '../frontends/tflite/op_reader.ts';
import { BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';
import { constantData } from '../reference/run_reference.ts';
import { defineOp } from './op_module.ts';

export interface BatchMatMulParams {
  int16: boolean;
  batches: number;
  rows: number;
  cols: number;
  depth: number;
  /** Element strides of LHS(m, k) and RHS(k, n) inside one batch. */
  lhsRowStride: number;
  lhsDepthStride: number;
  rhsDepthStride: number;
  rhsColStride: number;
  /** Where each output batch's LHS and RHS matrices start (broadcast batches repeat). */
  lhsBatchOffsets: number[];
  rhsBatchOffsets: number[];
  /** The constant RHS stored [batch][N][K], or undefined when the RHS is an activation. */
  rhsConstant?: number[];
  /** The rhs tensor (named when its constants could overflow the accumulator). */
  rhs: number;
  lhsOffset: number;
  rhsOffset: number;
  outputOffset: number;
  multiplier: number;
  shift: number;
  actMin: number;
  actMax: number;
}

/** Base offsets of the matrices of every output batch, with size-1 batch dimensions broadcast. */
function batchOffsets(batchDims: readonly number[], outBatch: readonly number[], matrixSize: number): number[] {
  const strides = batchDims.map((_, i) => (batchDims[i] === 1 ? 0 : elementCount(batchDims.slice(i + 1)) * matrixSize));
  const offsets: number[] = [];
  const idx = new Array<number>(outBatch.length).fill(0);
  for (let b = 0; b < elementCount(outBatch); b++) {
    offsets.push(idx.reduce((acc, v, i) => acc + v * (strides[i] as number), 0));
    for (let d = outBatch.length - 1; d >= 0; d--) {
      idx[d] = (idx[d] as number) + 1;
      if ((idx[d] as number) < (outBatch[d] as number)) break;
      idx[d] = 0;
    }
  }
  return offsets;
}

/** How one output batch's matrices are walked: sizes, element strides and per-batch base offsets. */
export interface BatchMatMulLayout {
  batches: number;
  rows: number;
  cols: number;
  depth: number;
  lhsRowStride: number;
  lhsDepthStride: number;
  rhsDepthStride: number;
  rhsColStride: number;
  lhsBatchOffsets: number[];
  rhsBatchOffsets: number[];
}

export interface BatchMatMulAttrs {
  adjX: boolean;
  adjY: boolean;
  [k: string]: boolean;
}

/**
 * adj_x / adj_y and the broadcast batch dimensions as strides and offsets into lhs and rhs as
 * stored; `rhsTransposed` when the rhs will be stored [batch][N][K] (a constant the int8 kernel
 * transposes at compile time).
 */
export function batchMatMulLayout(a: Tensor, b: Tensor, y: Tensor, attrs: BatchMatMulAttrs, rhsTransposed: boolean): BatchMatMulLayout {
  const rank = y.shape.length;
  const ext = (t: Tensor): number[] => [...new Array<number>(rank - t.shape.length).fill(1), ...t.shape];
  const ea = ext(a);
  const eb = ext(b);
  const rows = y.shape[rank - 2] as number;
  const cols = y.shape[rank - 1] as number;
  const depth = (attrs.adjX ? ea[rank - 2] : ea[rank - 1]) as number;
  const outBatch = y.shape.slice(0, rank - 2);
  return {
    batches: elementCount(outBatch),
    rows,
    cols,
    depth,
    lhsRowStride: attrs.adjX ? 1 : depth,
    lhsDepthStride: attrs.adjX ? rows : 1,
    rhsDepthStride: attrs.adjY || rhsTransposed ? 1 : cols,
    rhsColStride: attrs.adjY || rhsTransposed ? depth : 1,
    lhsBatchOffsets: batchOffsets(ea.slice(0, rank - 2), outBatch, rows * depth),
    rhsBatchOffsets: batchOffsets(eb.slice(0, rank - 2), outBatch, depth * cols),
  };
}

export const batchMatMulOp = defineOp({
  builtins: ['BATCH_MATMUL'],
  read(r): BatchMatMulAttrs {
    r.arity(2, 2, 1);
    const a = r.input(0, 'lhs');
    const b = r.input(1, 'rhs');
    const y = r.output(0);
    for (const [t, role] of [[a, 'lhs'], [b, 'rhs']] as const) {
      if (t.shape.length < 2 || t.shape.length > 5) r.fail(`${r.label} ${role} ${tensorLabel(t)} has rank ${t.shape.length}; BATCH_MATMUL takes ranks 2 to 5`);
    }
    const t = r.options(BuiltinOptionsType.BatchMatMulOptions, 'BatchMatMulOptions');
    const adjX = t ? t.bool(F.BatchMatMulOptions.adjX, false, 'adj_x') : false;
    const adjY = t ? t.bool(F.BatchMatMulOptions.adjY, false, 'adj_y') : false;
    const rank = Math.max(a.shape.length, b.shape.length);
    const ext = (s: readonly number[]): number[] => [...new Array<number>(rank - s.length).fill(1), ...s];
    const ea = ext(a.shape);
    const eb = ext(b.shape);
    const outBatch = ea.slice(0, rank - 2).map((d, i) => {
      const e = eb[i] as number;
      if (d !== e && d !== 1 && e !== 1) r.fail(`${r.label} batch dimension ${i} does not broadcast: ${d} vs ${e}`);
      return Math.max(d, e);
    });
    const [m, ka] = adjX ? [ea[rank - 1], ea[rank - 2]] : [ea[rank - 2], ea[rank - 1]];
    const [kb, n] = adjY ? [eb[rank - 1], eb[rank - 2]] : [eb[rank - 2], eb[rank - 1]];
    if (ka !== kb) r.fail(`${r.label} lhs ${showShape(a.shape)} and rhs ${showShape(b.shape)} have different inner dimensions (${ka} vs ${kb}) with adj_x=${adjX}, adj_y=${adjY}`);
    const expected = [...outBatch, m as number, n as number];
    if (expected.join() !== y.shape.join()) r.fail(`${r.label} output ${tensorLabel(y)} has shape ${showShape(y.shape)}, expected ${showShape(expected)}`);
    return { adjX, adjY };
  },
  lower(ctx, attrs) {
    const a = ctx.tensor(0);
    const b = ctx.tensor(1);
    const y = ctx.tensor(0, 'output');
    const dtype = ctx.quantizedType(a, 'lhs', ['int8', 'int16']);
    if (b.dtype !== dtype || y.dtype !== dtype) ctx.fail(`lhs, rhs and output must share one type (got ${a.dtype}, ${b.dtype}, ${y.dtype})`);
    if (isConstant(a) && !isConstant(b)) ctx.fail(`lhs '${a.name}' is a constant and rhs '${b.name}' is not; only a constant rhs is supported`);
    const aQ = ctx.quant(a, 'lhs');
    const bQ = ctx.quant(b, 'rhs');
    const yQ = ctx.quant(y, 'output');
    if (dtype === 'int16' && (aQ.zeroPoint !== 0 || bQ.zeroPoint !== 0 || yQ.zeroPoint !== 0)) ctx.fail('int16 BATCH_MATMUL needs zero points of 0 on lhs, rhs and output (TFLite Micro requires it)');
    const rhsConst = isConstant(b) && !isConstant(a);
    const layout = batchMatMulLayout(a, b, y, attrs, rhsConst);
    const { rows, cols, depth } = layout;
    // TFLite multiplies the two float32 scales in float32, then divides in double.
    const q = quantizeMultiplier(Math.fround(aQ.scale * bQ.scale) / yQ.scale);
    const range = quantizedTypeRange(dtype);
    const params: BatchMatMulParams = {
      int16: dtype === 'int16',
      ...layout,
      rhs: ctx.op.inputs[1] as number,
      lhsOffset: -aQ.zeroPoint,
      rhsOffset: -bQ.zeroPoint,
      outputOffset: yQ.zeroPoint,
      multiplier: q.multiplier,
      shift: q.shift,
      actMin: range.min,
      actMax: range.max,
    };
    // Two int8 activations: every product can reach max |lhs| x max |rhs| in the kernel's int32 sum
    // (a constant rhs is checked value by value, by check_accumulators). The int16 sum is int64, but
    // its requantization takes |sum| < 2^47 and a shift whose 15 - shift is positive (tf_quant.h).
    const maxAbs = (offset: number): number => Math.max(Math.abs(range.min + offset), Math.abs(range.max + offset));
    const worst = depth * maxAbs(params.lhsOffset) * maxAbs(params.rhsOffset);
    if (dtype === 'int8' && !rhsConst && worst > 2 ** 31 - 1) ctx.fail(`depth ${depth} x max |lhs| ${maxAbs(params.lhsOffset)} x max |rhs| ${maxAbs(params.rhsOffset)} = ${worst} can overflow the 32-bit accumulator`);
    if (dtype === 'int16' && worst > 2 ** 47 - 1) ctx.fail(`depth ${depth} x max |lhs| 32768 x max |rhs| 32768 = ${worst} can overflow the 64-bit accumulator's requantization (TFLite Micro's bound is 2^47)`);
    if (dtype === 'int16' && q.shift > MAX_INT64_REQUANTIZE_SHIFT) ctx.fail(`needs a requantization shift of ${q.shift}; the 64-bit requantization takes at most ${MAX_INT64_REQUANTIZE_SHIFT} (the output scale is too small for the lhs and rhs scales)`);
    if (rhsConst) {
      const data = dtype === 'int16' ? constantData(b).s16() : constantData(b).s8();
      if (attrs.adjY) params.rhsConstant = Array.from(data);
      else {
        // [batch][K][N] -> [batch][N][K]
        const out: number[] = [];
        for (let base = 0; base < data.length; base += depth * cols) {
          for (let n = 0; n < cols; n++) for (let k = 0; k < depth; k++) out.push(data[base + k * cols + n] as number);
        }
        params.rhsConstant = out;
      }
    }
    const kernel = `batch_matmul_${dtype === 'int16' ? 's16' : 's8'}`;
    return { params, kernel, cFiles: ['portable/batch_matmul.h', `portable/${kernel}.c`], inputs: rhsConst ? [ctx.op.inputs[0] as number] : [ctx.op.inputs[0] as number, ctx.op.inputs[1] as number], macs: params.batches * rows * cols * depth };
  },
  accumulators(p: BatchMatMulParams) {
    // int16 sums (zero points 0) are bounded by depth x 2^30, checked at lowering.
    if (p.int16 || !p.rhsConstant) return [];
    const depth = p.depth;
    return [
      {
        weights: p.rhs,
        weightValues: p.rhsConstant,
        bias: -1,
        inputOffset: p.lhsOffset,
        filterOffset: p.rhsOffset,
        channels: p.rhsConstant.length / depth,
        channelName: 'rhs column',
        depth,
        weightIndex: (c: number, k: number) => c * depth + k,
      },
    ];
  },
  run(p: BatchMatMulParams, io) {
    const view = (i: number): Int8Array | Int16Array => (p.int16 ? io.input(i).s16() : io.input(i).s8());
    const lhs = view(0);
    const rhs: ArrayLike<number> = p.rhsConstant ?? view(1);
    const y = p.int16 ? io.output(0).s16() : io.output(0).s8();
    let o = 0;
    for (let b = 0; b < p.batches; b++) {
      const la = p.lhsBatchOffsets[b] as number;
      const rb = p.rhsBatchOffsets[b] as number;
      for (let m = 0; m < p.rows; m++) {
        for (let n = 0; n < p.cols; n++) {
          let acc = 0;
          for (let k = 0; k < p.depth; k++) {
            const av = (lhs[la + m * p.lhsRowStride + k * p.lhsDepthStride] as number) + p.lhsOffset;
            const bv = (rhs[rb + k * p.rhsDepthStride + n * p.rhsColStride] as number) + p.rhsOffset;
            acc += av * bv;
          }
          // int16 sums stay far below 2^53, so the double is the exact int64 accumulator.
          const v = p.int16 ? multiplyByQuantizedMultiplierInt64(BigInt(acc), p.multiplier, p.shift) : multiplyByQuantizedMultiplier(acc | 0, p.multiplier, p.shift);
          y[o++] = clamp(v + p.outputOffset, p.actMin, p.actMax);
        }
      }
    }
  },
  emitC(p: BatchMatMulParams, e) {
    const type = p.int16 ? 'int16_t' : 'int8_t';
    const rhs = p.rhsConstant ? e.array('rhs', type, p.rhsConstant, 'constant rhs, stored [batch][N][K]') : e.input(1);
    const params = e.params('tf_batch_matmul_params', {
      batches: p.batches,
      rows: p.rows,
      cols: p.cols,
      depth: p.depth,
      lhs_row_stride: p.lhsRowStride,
      lhs_depth_stride: p.lhsDepthStride,
      rhs_depth_stride: p.rhsDepthStride,
      rhs_col_stride: p.rhsColStride,
      lhs_offset: p.lhsOffset,
      rhs_offset: p.rhsOffset,
      output_offset: p.outputOffset,
      multiplier: p.multiplier,
      shift: p.shift,
      act_min: p.actMin,
      act_max: p.actMax,
      lhs_batch_offsets: e.array('lhs_batches', 'int32_t', p.lhsBatchOffsets, 'lhs matrix offset of each output batch'),
      rhs_batch_offsets: e.array('rhs_batches', 'int32_t', p.rhsBatchOffsets, 'rhs matrix offset of each output batch'),
    });
    e.call(`tf_batch_matmul_${p.int16 ? 's16' : 's8'}(${params}, ${e.input(0)}, ${rhs}, ${e.output(0)});`);
  },
});
