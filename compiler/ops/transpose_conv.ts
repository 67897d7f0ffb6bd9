// TRANSPOSE_CONV: int8 (int32 accumulator and bias) and int16x8 (int64 accumulator and bias), as
// TFLite Micro's reference kernels: every input pixel scatters its products into an accumulator
// per output element (the scratch), then each accumulator gets the bias and a per-channel
// requantization. A constant output shape input must equal the output tensor's shape; a runtime
// one (the seanet integration models feed it as a model input) is not read, since the output's
// static shape is what the arena is planned with, as in TFLite Micro, which cannot resize tensors.
// The kernel's inner loop runs over input channels, contiguous in both the input and the filter.

import { elementCount, type Activation, type Padding, type Tensor } from '../ir/graph.ts';
import { clamp, multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierInt64 } from '../quant/fixed_point.ts';
import { activationRange } from '../quant/multiplier.ts';
import { constantInts, showShape, tensorLabel } from '../frontends/tflite/op_reader.ts';
import { BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';
import { computeLeadingPad, computeOutSize, perChannelMultipliers } from '../passes/lower.ts';
import { constantData } from '../reference/run_reference.ts';
import { INT16_INPUT, INT8_INPUT, type AccumulatorShape } from '../passes/check_accumulators.ts';
import { defineOp } from './op_module.ts';
import { windowFields } from '../emit-c/emit_module.ts';
import type { WindowGeometry } from '../ir/layers.ts';

export interface TransposeConvParams extends TransposeConvGeometry {
  int16: boolean;
  weights: number;
  /** -1 without a bias. */
  bias: number;
  inputOffset: number;
  outputOffset: number;
  multipliers: number[];
  shifts: number[];
  actMin: number;
  actMax: number;
}

/** The sizes, strides and leading pads both dtypes' kernels loop with: a window without dilation. */
export type TransposeConvGeometry = WindowGeometry & { batches: number };

export interface TransposeConvAttrs {
  padding: Padding;
  strideH: number;
  strideW: number;
  activation: Activation;
  [k: string]: string | number;
}

/** Shapes of input (2), weights (1) and output, and TFLite's padding: as if a forward convolution ran from the output back to the input. */
export function transposeConvGeometry(x: Tensor, w: Tensor, y: Tensor, attrs: TransposeConvAttrs): TransposeConvGeometry {
  const [batches, inH, inW, inC] = x.shape as [number, number, number, number];
  const [, outH, outW, outC] = y.shape as [number, number, number, number];
  const [, kH, kW] = w.shape as [number, number, number, number];
  const fwdH = computeOutSize(attrs.padding, outH, kH, attrs.strideH, 1);
  const fwdW = computeOutSize(attrs.padding, outW, kW, attrs.strideW, 1);
  return {
    batches,
    inH,
    inW,
    inC,
    outH,
    outW,
    outC,
    kH,
    kW,
    strideH: attrs.strideH,
    strideW: attrs.strideW,
    padTop: computeLeadingPad(attrs.strideH, 1, outH, kH, fwdH),
    padLeft: computeLeadingPad(attrs.strideW, 1, outW, kW, fwdW),
  };
}

export const transposeConvOp = defineOp({
  builtins: ['TRANSPOSE_CONV'],
  read(r): TransposeConvAttrs {
    r.arity(3, 4, 1);
    const shape = r.input(0, 'output_shape');
    const w = r.input(1, 'weights');
    const x = r.input(2, 'input');
    const b = r.optionalInput(3, 'bias');
    const y = r.output(0);
    r.rank(w, 'weights', 4);
    r.rank(x, 'input', 4);
    r.rank(y, 'output', 4);
    if (shape.dtype !== 'int32' || shape.shape.join() !== '4') r.fail(`${r.label} output_shape ${tensorLabel(shape)} must be an int32 [4] tensor (it is ${shape.dtype} ${showShape(shape.shape)})`);
    const dims = constantInts(shape);
    if (dims && dims.join() !== y.shape.join()) r.fail(`${r.label} output_shape ${showShape(dims)} differs from the output ${tensorLabel(y)} shape ${showShape(y.shape)}`);
    r.sameDim('weights output channels differ from the output channels', w.shape[0], y.shape[3]);
    r.sameDim('weights input channels differ from the input channels', w.shape[3], x.shape[3]);
    r.sameDim('output batch differs from input batch', y.shape[0], x.shape[0]);
    r.bias(b, y.shape[3] as number);
    const f = F.TransposeConvOptions;
    const t = r.options(BuiltinOptionsType.TransposeConvOptions, 'TransposeConvOptions');
    return {
      padding: r.padding(t, f.padding),
      strideH: r.positive(t, f.strideH, 1, 'stride_h'),
      strideW: r.positive(t, f.strideW, 1, 'stride_w'),
      activation: r.activation(t, f.fusedActivation),
    };
  },
  lower(ctx, attrs) {
    const w = ctx.tensor(1);
    const x = ctx.tensor(2);
    const y = ctx.tensor(0, 'output');
    const biasId = ctx.optionalTensorId(3);
    const dtype = ctx.quantizedType(x, 'input', ['int8', 'int16']);
    if (y.dtype !== dtype) ctx.fail(`output '${y.name}' is ${y.dtype} but the input is ${dtype}`);
    if (w.dtype !== 'int8') ctx.fail(`weights '${w.name}' are ${w.dtype}; TRANSPOSE_CONV takes int8 weights`);
    ctx.constantWeights(w, 'weights');
    if ((w.quant?.zeroPoint ?? []).some((z) => z !== 0)) ctx.fail(`weights '${w.name}' have a non-zero zero point; TFLite Micro's TRANSPOSE_CONV assumes symmetric weights`);
    const inQ = ctx.quant(x, 'input');
    const outQ = ctx.quant(y, 'output');
    if (dtype === 'int16' && (inQ.zeroPoint !== 0 || outQ.zeroPoint !== 0)) ctx.fail('int16 TRANSPOSE_CONV needs input and output zero points of 0');
    const geometry = transposeConvGeometry(x, w, y, attrs);
    const { batches, inH, inW, inC, outC, kH, kW } = geometry;
    if (biasId >= 0) {
      const bias = ctx.tensor(3);
      ctx.constantWeights(bias, 'bias');
      // The 16x8 kernel reads its bias as int64 whatever the file says; TFLite Micro aborts on int32.
      const want = dtype === 'int16' ? 'int64' : 'int32';
      if (bias.dtype !== want) ctx.fail(`bias '${bias.name}' is ${bias.dtype}; ${dtype} TRANSPOSE_CONV needs an ${want} bias`);
      if (elementCount(bias.shape) !== outC) ctx.fail(`bias '${bias.name}' has ${elementCount(bias.shape)} values for ${outC} channels`);
    }
    const { multipliers, shifts } = perChannelMultipliers(ctx, inQ.scale, w, outQ.scale, outC);
    const act = activationRange(attrs.activation, outQ.scale, outQ.zeroPoint, dtype);
    const params: TransposeConvParams = {
      int16: dtype === 'int16',
      weights: ctx.op.inputs[1] as number,
      bias: biasId,
      ...geometry,
      inputOffset: -inQ.zeroPoint,
      outputOffset: outQ.zeroPoint,
      multipliers: Array.from(multipliers),
      shifts: Array.from(shifts),
      actMin: act.min,
      actMax: act.max,
    };
    const kernel = `transpose_conv_${dtype === 'int16' ? 's16' : 's8'}`;
    const accBytes = dtype === 'int16' ? 8 : 4;
    return {
      params,
      kernel,
      cFiles: ['portable/transpose_conv.h', `portable/${kernel}.c`],
      scratchBytes: accBytes * elementCount(y.shape),
      inputs: [ctx.op.inputs[2] as number],
      macs: batches * inH * inW * kH * kW * inC * outC,
    };
  },
  accumulators(p: TransposeConvParams) {
    // An output element sums the taps of one stride phase (ky = ry, ry + strideH, ...; the same
    // across) over every input channel: each phase is an accumulator of its own, with the bias.
    const shapes: AccumulatorShape[] = [];
    for (let ry = 0; ry < Math.min(p.strideH, p.kH); ry++) {
      for (let rx = 0; rx < Math.min(p.strideW, p.kW); rx++) {
        const taps: number[] = [];
        for (let ky = ry; ky < p.kH; ky += p.strideH) for (let kx = rx; kx < p.kW; kx += p.strideW) taps.push(ky * p.kW + kx);
        shapes.push({
          weights: p.weights,
          bias: p.bias,
          inputOffset: p.inputOffset,
          filterOffset: 0,
          inputRange: p.int16 ? INT16_INPUT : INT8_INPUT,
          bits: p.int16 ? 64 : 32,
          shifts: p.shifts,
          channels: p.outC,
          depth: taps.length * p.inC,
          // Weights [outC, kH, kW, inC].
          weightIndex: (c, k) => (c * p.kH * p.kW + (taps[Math.floor(k / p.inC)] as number)) * p.inC + (k % p.inC),
        });
      }
    }
    return shapes;
  },
  run(p: TransposeConvParams, io) {
    const x = p.int16 ? io.input(0).s16() : io.input(0).s8();
    const y = p.int16 ? io.output(0).s16() : io.output(0).s8();
    const w = constantData(io.graph.tensors[p.weights] as Tensor).s8();
    const biasData = p.bias >= 0 ? constantData(io.graph.tensors[p.bias] as Tensor) : undefined;
    // int8 sums wrap like TFLite's int32 scratch; int16x8 sums stay exact in doubles (int64 scratch).
    const acc = new Float64Array(p.batches * p.outH * p.outW * p.outC);
    for (let b = 0; b < p.batches; b++) {
      for (let iy = 0; iy < p.inH; iy++) {
        for (let ix = 0; ix < p.inW; ix++) {
          const inBase = ((b * p.inH + iy) * p.inW + ix) * p.inC;
          for (let ky = 0; ky < p.kH; ky++) {
            const oy = iy * p.strideH - p.padTop + ky;
            if (oy < 0 || oy >= p.outH) continue;
            for (let kx = 0; kx < p.kW; kx++) {
              const ox = ix * p.strideW - p.padLeft + kx;
              if (ox < 0 || ox >= p.outW) continue;
              const outBase = ((b * p.outH + oy) * p.outW + ox) * p.outC;
              for (let oc = 0; oc < p.outC; oc++) {
                const wBase = ((oc * p.kH + ky) * p.kW + kx) * p.inC;
                let s = 0;
                for (let ic = 0; ic < p.inC; ic++) s += ((x[inBase + ic] as number) + p.inputOffset) * (w[wBase + ic] as number);
                acc[outBase + oc] = p.int16 ? (acc[outBase + oc] as number) + s : ((acc[outBase + oc] as number) + s) | 0;
              }
            }
          }
        }
      }
    }
    for (let i = 0; i < acc.length; i++) {
      const oc = i % p.outC;
      let v: number;
      if (p.int16) {
        const bias = biasData ? (biasData.s64()[oc] as bigint) : 0n;
        v = multiplyByQuantizedMultiplierInt64(BigInt(acc[i] as number) + bias, p.multipliers[oc] as number, p.shifts[oc] as number);
      } else {
        const bias = biasData ? (biasData.s32()[oc] as number) : 0;
        v = multiplyByQuantizedMultiplier(((acc[i] as number) + bias) | 0, p.multipliers[oc] as number, p.shifts[oc] as number);
      }
      y[i] = clamp(v + p.outputOffset, p.actMin, p.actMax);
    }
  },
  emitC(p: TransposeConvParams, e) {
    const params = e.params('tf_transpose_conv_params', {
      batches: p.batches,
      ...windowFields(p),
      input_offset: p.inputOffset,
      output_offset: p.outputOffset,
      act_min: p.actMin,
      act_max: p.actMax,
      filter: e.constant(p.weights),
      bias: p.bias >= 0 ? `(const void *)${e.constant(p.bias)}` : 'NULL',
      multipliers: e.array('multipliers', 'int32_t', p.multipliers, 'per-channel multipliers'),
      shifts: e.array('shifts', 'int32_t', p.shifts, 'per-channel shifts'),
    });
    e.call(`tf_transpose_conv_${p.int16 ? 's16' : 's8'}(${params}, ${e.input(0)}, ${e.output(0)}, ${e.scratch()});`);
  },
});
