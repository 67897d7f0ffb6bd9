// In-place layers write their output over their dying input. An independent byte-level check:
// replay each such layer's reads and writes in output order and make sure no input byte is
// overwritten before the last pixel that reads it is done.

import { describe, expect, it } from 'vitest';
import type { Layer } from '../compiler/ir/layers.ts';
import { pixelStreamGap } from '../compiler/passes/in_place.ts';
import { SHARED_MODELS, sharedModel } from './helpers/shared.ts';

interface Access {
  /** Number of output units (pixels, or elements for element-wise layers). */
  units: number;
  reads: (unit: number) => number[];
  writes: (unit: number) => number[];
  /** Element-wise layers read element i before writing it; pixel layers may still read during writes. */
  readsBeforeWrite: boolean;
}

function pixelAccess(l: Layer & { inH: number; inW: number; outH: number; outW: number; strideH: number; strideW: number; padTop: number; padLeft: number }, kH: number, kW: number, dilH: number, dilW: number, inC: number, outC: number): Access {
  return {
    units: l.outH * l.outW,
    readsBeforeWrite: false,
    reads: (p) => {
      const oy = Math.floor(p / l.outW);
      const ox = p % l.outW;
      const bytes: number[] = [];
      for (let ky = 0; ky < kH; ky++) {
        for (let kx = 0; kx < kW; kx++) {
          const iy = oy * l.strideH - l.padTop + ky * dilH;
          const ix = ox * l.strideW - l.padLeft + kx * dilW;
          if (iy < 0 || iy >= l.inH || ix < 0 || ix >= l.inW) continue;
          for (let c = 0; c < inC; c++) bytes.push((iy * l.inW + ix) * inC + c);
        }
      }
      return bytes;
    },
    writes: (p) => Array.from({ length: outC }, (_, c) => p * outC + c),
  };
}

function accessOf(l: Layer): Access | undefined {
  switch (l.kernel) {
    case 'conv_s8':
    case 'depthwise_conv_s8':
      return pixelAccess(l, l.kH, l.kW, l.dilationH, l.dilationW, l.inC, l.outC);
    case 'avg_pool_s8':
    case 'max_pool_s8':
      return pixelAccess(l, l.filterH, l.filterW, 1, 1, l.channels, l.channels);
    case 'add_s8':
    case 'mul_s8':
    case 'requantize_s8':
      return { units: l.size, readsBeforeWrite: true, reads: (i) => [i], writes: (i) => [i] };
    case 'softmax_s8':
      return { units: l.outer * l.depth, readsBeforeWrite: true, reads: (i) => [i], writes: (i) => [i] };
    default:
      return undefined;
  }
}

describe('in-place execution', () => {
  for (const name of SHARED_MODELS) {
    it(`${name}: no in-place layer overwrites an input byte before its last read`, () => {
      const { compiled } = sharedModel(name);
      const { plan, layers } = compiled;
      for (const index of plan.inPlaceLayers) {
        const l = layers[index] as Layer;
        const access = accessOf(l);
        expect(access, `layer ${index} (${l.kernel}) is in place but not a streaming kernel`).toBeDefined();
        if (!access) continue;
        const out = plan.storageOf.get(l.outputs[0] as number);
        for (const inputId of l.inputs) {
          const input = plan.storageOf.get(inputId);
          if (input?.kind !== 'arena' || out?.kind !== 'arena') continue;
          const lastRead = new Map<number, number>();
          for (let u = 0; u < access.units; u++) for (const b of access.reads(u)) lastRead.set(input.offset + b, u);
          for (let u = 0; u < access.units; u++) {
            for (const b of access.writes(u)) {
              const last = lastRead.get(out.offset + b);
              if (last === undefined) continue;
              const hazard = access.readsBeforeWrite ? last > u : last >= u;
              expect(hazard, `layer ${index} (${l.kernel}): output unit ${u} overwrites an input byte read by unit ${last}`).toBe(false);
            }
          }
        }
      }
    });
  }

  it('actually runs layers in place and goes below the lifetime bound where that is legal', () => {
    for (const name of ['kws_dscnn', 'ic_resnet8', 'vww_mobilenet'] as const) {
      const { plan } = sharedModel(name).compiled;
      expect(plan.inPlaceLayers.length, name).toBeGreaterThan(0);
      expect(plan.arenaBytes, name).toBeLessThan(plan.lowerBound);
    }
  });

  it('pixelStreamGap: equal sizes need no gap for 1x1, wider outputs start earlier', () => {
    const base = { inH: 4, inW: 4, outH: 4, outW: 4, strideH: 1, strideW: 1, padTop: 0, padLeft: 0 };
    expect(pixelStreamGap({ ...base, inPixelBytes: 8, outPixelBytes: 8 })).toBe(8);
    expect(pixelStreamGap({ ...base, inPixelBytes: 8, outPixelBytes: 16 })).toBe(16 * 16 - 15 * 8);
    expect(pixelStreamGap({ ...base, inPixelBytes: 8, outPixelBytes: 4 })).toBeLessThanOrEqual(4);
  });
});
