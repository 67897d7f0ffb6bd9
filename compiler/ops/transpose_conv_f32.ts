// TRANSPOSE_CONV on float32 (TFLite Micro's reference_ops::TransposeConv for float): the output is
// zeroed, then every input element, in batch / row / column / input channel order, scatters
// input * filter into each output it reaches (filter row, filter column, output channel), each
// product and each sum rounded to float32; then + bias (only when there is one) and the
// activation clamp. The per-element order of the sums is what makes the bits, so the loops are
// TFLite's exactly. Shapes and padding are the int8 lowering's (transpose_conv.ts).

import { elementCount, type Tensor } from '../ir/graph.ts';
import { constantData } from '../reference/run_reference.ts';
import { clampF32, f32ActivationRange, f32Literal, FLOAT_HELPERS, requireF32 } from './float32.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';
import { transposeConvGeometry, type TransposeConvAttrs, type TransposeConvGeometry } from './transpose_conv.ts';
import { windowFields } from '../emit-c/emit_module.ts';

export interface TransposeConvF32Params extends TransposeConvGeometry {
  weights: number;
  /** -1 without a bias. */
  bias: number;
  actMin: number;
  actMax: number;
}

const f = Math.fround;

export function runTransposeConvF32(p: TransposeConvF32Params, x: Float32Array, w: Float32Array, bias: Float32Array | undefined, y: Float32Array): void {
  y.fill(0);
  for (let b = 0; b < p.batches; b++) {
    for (let iy = 0; iy < p.inH; iy++) {
      for (let ix = 0; ix < p.inW; ix++) {
        for (let ic = 0; ic < p.inC; ic++) {
          const v = x[((b * p.inH + iy) * p.inW + ix) * p.inC + ic] as number;
          const oy0 = iy * p.strideH - p.padTop;
          const ox0 = ix * p.strideW - p.padLeft;
          for (let ky = 0; ky < p.kH; ky++) {
            const oy = oy0 + ky;
            if (oy < 0 || oy >= p.outH) continue;
            for (let kx = 0; kx < p.kW; kx++) {
              const ox = ox0 + kx;
              if (ox < 0 || ox >= p.outW) continue;
              const at = ((b * p.outH + oy) * p.outW + ox) * p.outC;
              for (let oc = 0; oc < p.outC; oc++) {
                const wv = w[((oc * p.kH + ky) * p.kW + kx) * p.inC + ic] as number;
                y[at + oc] = f((y[at + oc] as number) + f(v * wv));
              }
            }
          }
        }
      }
    }
  }
  for (let i = 0; i < y.length; i++) {
    const acc = bias ? f((y[i] as number) + (bias[i % p.outC] as number)) : (y[i] as number);
    y[i] = clampF32(acc, p.actMin, p.actMax);
  }
}

export const transposeConvF32Kernel = defineOp({
  builtins: [],
  key: 'transpose_conv_f32',
  float32For: ['TRANSPOSE_CONV'],
  read(r): TransposeConvAttrs {
    return r.fail('internal: transpose_conv_f32 is chosen by the TRANSPOSE_CONV lowering');
  },
  lower(ctx, attrs): ModuleLowering<TransposeConvF32Params> {
    const w = ctx.tensor(1);
    const x = ctx.tensor(2);
    const y = ctx.tensor(0, 'output');
    requireF32(ctx, x, 'input');
    requireF32(ctx, y, 'output');
    if (w.dtype !== 'float32') ctx.fail(`weights '${w.name}' are ${w.dtype}; a float32 TRANSPOSE_CONV needs float32 weights (TFLite Micro refuses hybrid models)`);
    ctx.constantWeights(w, 'weights');
    const geometry = transposeConvGeometry(x, w, y, attrs);
    const bias = ctx.optionalTensorId(3);
    if (bias >= 0) {
      const t = ctx.tensor(3);
      if (t.dtype !== 'float32') ctx.fail(`bias '${t.name}' is ${t.dtype}; a float32 TRANSPOSE_CONV needs a float32 bias`);
      ctx.constantWeights(t, 'bias');
      if (elementCount(t.shape) !== geometry.outC) ctx.fail(`bias '${t.name}' has ${elementCount(t.shape)} values for ${geometry.outC} channels`);
    }
    const act = f32ActivationRange(attrs.activation);
    const { batches, inH, inW, inC, outC, kH, kW } = geometry;
    return {
      params: { ...geometry, weights: w.id, bias, actMin: act.min, actMax: act.max },
      kernel: 'transpose_conv_f32',
      cFiles: [...FLOAT_HELPERS, 'portable/transpose_conv_f32.c'],
      inputs: [x.id],
      constants: bias >= 0 ? [w.id, bias] : [w.id],
      macs: batches * inH * inW * kH * kW * inC * outC,
    };
  },
  run(p: TransposeConvF32Params, io) {
    const w = constantData(io.graph.tensors[p.weights] as Tensor).f32();
    const bias = p.bias >= 0 ? constantData(io.graph.tensors[p.bias] as Tensor).f32() : undefined;
    runTransposeConvF32(p, io.input(0).f32(), w, bias, io.output(0).f32());
  },
  emitC(p: TransposeConvF32Params, e) {
    const params = e.params('tf_transpose_conv_f32_params', {
      batches: p.batches,
      ...windowFields(p),
      act_min: f32Literal(p.actMin),
      act_max: f32Literal(p.actMax),
      filter: e.constant(p.weights),
      bias: p.bias >= 0 ? e.constant(p.bias) : 'NULL',
    });
    e.call(`tf_transpose_conv_f32(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
