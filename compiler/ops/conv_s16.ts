// CONV_2D and DEPTHWISE_CONV_2D with int16 activations and int8 weights (TFLite's int16x8 mode).
// TFLite Micro's accumulator type follows the bias: with an int64 bias it accumulates in 64 bits
// and requantizes with the 16-bit-multiplier variant; with an int32 bias or none it accumulates
// in 32 bits (wrapping) and uses the ordinary double-rounding requantization. The built-in
// convolution lowering picks this kernel when the input is int16.

import type { ConvS8Layer } from '../ir/layers.ts';
import { clamp, multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierInt64 } from '../quant/fixed_point.ts';
import { constantData } from '../reference/run_reference.ts';
import { INT16_INPUT } from '../passes/check_accumulators.ts';
import { defineOp } from './op_module.ts';

/** Geometry and requantization of an int16x8 convolution (the int8 layer's fields, minus offsets). */
export interface ConvS16Params {
  depthwise: boolean;
  depthMultiplier: number;
  geometry: Omit<ConvS8Layer, 'kernel' | 'sourceIndex' | 'inputs' | 'outputs' | 'macs' | 'multipliers' | 'shifts' | 'weights' | 'bias'>;
  weights: number;
  /** -1 when absent. */
  bias: number;
  bias64: boolean;
  multipliers: readonly number[];
  shifts: readonly number[];
}

export const convS16Kernel = defineOp({
  builtins: [],
  key: 'conv_s16',
  read(r) {
    return r.fail('internal: conv_s16 is chosen by the CONV_2D / DEPTHWISE_CONV_2D lowering');
  },
  lower(ctx) {
    return ctx.fail('internal: conv_s16 is chosen by the CONV_2D / DEPTHWISE_CONV_2D lowering');
  },
  accumulators(p: ConvS16Params) {
    const g = p.geometry;
    const common = { weights: p.weights, bias: p.bias, inputOffset: 0, filterOffset: 0, inputRange: INT16_INPUT, bits: p.bias64 ? (64 as const) : (32 as const), shifts: p.shifts, channels: g.outC };
    // Depthwise filter [1, kH, kW, outC]: channel c's weights are every outC-th value.
    const taps = g.kH * g.kW;
    const depth = taps * g.inC;
    return [p.depthwise ? { ...common, depth: taps, weightIndex: (c: number, k: number) => k * g.outC + c } : { ...common, depth, weightIndex: (c: number, k: number) => c * depth + k }];
  },
  run(p: ConvS16Params, io) {
    const g = p.geometry;
    const input = io.input(0).s16();
    const output = io.output(0).s16();
    const filter = constantData(io.graph.tensors[p.weights]!).s8();
    const biasData = p.bias >= 0 ? constantData(io.graph.tensors[p.bias]!) : undefined;
    // An int64 bias stays a bigint: beyond 2^53 a double would round it and differ from the C.
    const bias64 = biasData && p.bias64 ? biasData.s64() : undefined;
    const bias32 = biasData && !p.bias64 ? biasData.s32() : undefined;
    for (let oy = 0; oy < g.outH; oy++) {
      const y0 = oy * g.strideH - g.padTop;
      for (let ox = 0; ox < g.outW; ox++) {
        const x0 = ox * g.strideW - g.padLeft;
        for (let oc = 0; oc < g.outC; oc++) {
          // |acc| < 2^15 * 2^7 * taps stays well inside a double's exact integers.
          let acc = 0;
          const ic0 = p.depthwise ? Math.floor(oc / p.depthMultiplier) : 0;
          const icCount = p.depthwise ? 1 : g.inC;
          for (let ky = 0; ky < g.kH; ky++) {
            const iy = y0 + g.dilationH * ky;
            if (iy < 0 || iy >= g.inH) continue;
            for (let kx = 0; kx < g.kW; kx++) {
              const ix = x0 + g.dilationW * kx;
              if (ix < 0 || ix >= g.inW) continue;
              for (let k = 0; k < icCount; k++) {
                const x = input[(iy * g.inW + ix) * g.inC + ic0 + k] as number;
                const w = p.depthwise ? (filter[(ky * g.kW + kx) * g.outC + oc] as number) : (filter[((oc * g.kH + ky) * g.kW + kx) * g.inC + k] as number);
                acc += w * x;
              }
            }
          }
          const m = p.multipliers[oc] as number;
          const sh = p.shifts[oc] as number;
          const v =
            (p.bias64
              ? multiplyByQuantizedMultiplierInt64(BigInt(acc) + (bias64?.[oc] ?? 0n), m, sh)
              : multiplyByQuantizedMultiplier((acc + (bias32?.[oc] ?? 0)) | 0, m, sh)) + g.outputOffset;
          output[(oy * g.outW + ox) * g.outC + oc] = clamp(v, g.actMin, g.actMax);
        }
      }
    }
  },
  emitC(p: ConvS16Params, e) {
    const g = p.geometry;
    const params = e.params('tf_conv_s16_params', {
      in_h: g.inH,
      in_w: g.inW,
      in_c: g.inC,
      out_h: g.outH,
      out_w: g.outW,
      out_c: g.outC,
      k_h: g.kH,
      k_w: g.kW,
      stride_h: g.strideH,
      stride_w: g.strideW,
      dilation_h: g.dilationH,
      dilation_w: g.dilationW,
      pad_top: g.padTop,
      pad_left: g.padLeft,
      depth_multiplier: p.depthwise ? p.depthMultiplier : 0,
      output_offset: g.outputOffset,
      act_min: g.actMin,
      act_max: g.actMax,
      filter: e.constant(p.weights),
      bias64: p.bias >= 0 && p.bias64 ? e.constant(p.bias) : 'NULL',
      bias32: p.bias >= 0 && !p.bias64 ? e.constant(p.bias) : 'NULL',
      multiplier: e.array('multiplier', 'int32_t', p.multipliers, 'per-channel requantization multipliers'),
      shift: e.array('shift', 'int32_t', p.shifts, 'per-channel requantization shifts'),
    });
    e.call(`tf_conv_s16(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
