// The Helium (MVE) kernel layouts (`isa: 'mve'`) against TFLite Micro and the TS reference:
//   1. every shared model compiled for MVE matches ../shared/golden byte for byte on the host
//      (the portable C path of the MVE layouts, -Werror, ASan + UBSan) and on the emulated
//      Cortex-M55 of mps3-an547 (the vector path);
//   2. synthetic layers reach the kernels' other branches (channel tails, rows not a multiple of
//      4 or 16, positive shifts, padding, dilation, strides, batches) on both paths, against the
//      TS reference;
//   3. the vector requantization (VQRDMULH, the negative-value fix-up and VRSHL) equals TFLite's
//      MultiplyByQuantizedMultiplier on edge values, run as a small C program on both paths.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBoard } from '../compiler/boards/load_boards.ts';
import { compileModel, compiledForBoard, isaForBoard, loadModel, writeCModule, type CompiledModel, type LoadedModel } from '../compiler/compile.ts';
import { BuiltinOp } from '../compiler/frontends/tflite/schema.ts';
import { multiplyByQuantizedMultiplier } from '../compiler/quant/fixed_point.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { buildForQemuMps2, runCasesOnQemuMps2 } from '../compiler/targets/qemu_mps2.ts';
import type { CompiledModuleRef } from '../compiler/targets/target.ts';
import { execTool, requireTool } from '../compiler/targets/toolchain.ts';
import { firstDifference, modelPath, SHARED_MODELS, sharedModel } from './helpers/shared.ts';
import { Act, GraphBuilder, loadSynthetic, Pad, perChannel, Prng, q } from './helpers/synthetic_models.ts';
import { addOptions, conv2dOptions, depthwiseOptions, fullyConnectedOptions } from './helpers/tflite_builder.ts';
import { writeExactScratchModule } from './helpers/exact_scratch.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-mve-test-'));
const AN547 = findBoard('qemu-mps3-an547');

/** Every case in one QEMU run of the semihosting test-vector runner on the Cortex-M55 of mps3-an547. */
function runCasesOnAn547(mod: CompiledModuleRef, cases: Uint8Array[][]): Promise<Uint8Array[][]> {
  return runCasesOnQemuMps2('mps3-an547', mod, cases, { workDir, timeoutMs: 300_000 });
}

/** The C module of `compiled` in `dir`; with `exactScratch` each call's scratch is an exact-size heap block (ASan). */
function writeModule(compiled: CompiledModel, dir: string, exactScratch: boolean): CompiledModuleRef {
  return exactScratch ? writeExactScratchModule(compiled, dir) : writeCModule(compiled, dir);
}

function compileMve(model: LoadedModel): CompiledModel {
  return compileModel(model, { isa: 'mve' });
}

const mveModels = new Map<string, CompiledModel>();
function sharedMve(name: (typeof SHARED_MODELS)[number]): CompiledModel {
  let c = mveModels.get(name);
  if (!c) {
    c = compileMve(sharedModel(name).compiled.model);
    mveModels.set(name, c);
  }
  return c;
}

describe('isa option', () => {
  it("selects the Helium layouts for boards with the 'mve' feature and keeps an explicit choice", () => {
    expect(isaForBoard(AN547)).toBe('mve');
    expect(isaForBoard(findBoard('qemu-mps2-an386'))).toBe('dsp');
    const dsp = compileModel(loadModel(modelPath('kws_dscnn')));
    expect(dsp.isa).toBe('dsp');
    const forM55 = compiledForBoard(dsp, AN547);
    expect(forM55.isa).toBe('mve');
    expect(forM55.calls.map((c) => c.kind)).toContain('conv_gemm_s8_mve');
    expect(forM55.calls.map((c) => c.kind)).toContain('depthwise_conv_s8_mve');
    expect(compiledForBoard(forM55, findBoard('qemu-mps2-an386'))).toBe(forM55);
    const explicitDsp = compileModel(dsp.model, { isa: 'dsp' });
    expect(compiledForBoard(explicitDsp, AN547)).toBe(explicitDsp);
  });

  it('packs every conv, depthwise and fully connected layer of the shared models in an MVE layout', () => {
    for (const name of SHARED_MODELS) {
      const c = sharedMve(name);
      for (const call of c.calls) {
        if (call.layer.kernel === 'conv_s8' || call.layer.kernel === 'depthwise_conv_s8' || call.layer.kernel === 'fully_connected_s8') {
          expect(call.kind, `${name}: ${call.layer.kernel}`).toMatch(/_mve(_sparse)?$/);
        }
        if (call.layer.kernel === 'add_s8') expect(call.kind === 'generic' && call.variant).toBe('mve');
      }
    }
  });
});

describe('shared models compiled for MVE match TFLite Micro byte for byte', () => {
  for (const name of SHARED_MODELS) {
    it(`${name}: host C (portable path of the MVE layouts) under ASan + UBSan, scratch bound-checked`, async () => {
      const { golden } = sharedModel(name);
      const mod = writeModule(sharedMve(name), path.join(workDir, 'host', name), true);
      const actual = await runCasesOnHost(mod, golden.cases.map((c) => c.inputs), { sanitize: true, workDir });
      expect(actual).toHaveLength(golden.cases.length);
      golden.cases.forEach((c, i) => expect(firstDifference(c.expected, actual[i] ?? []), `case ${c.id}`).toBeUndefined());
    });

    it(`${name}: emulated Cortex-M55 (mps3-an547, Helium path)`, async () => {
      const { golden } = sharedModel(name);
      const mod = writeCModule(sharedMve(name), path.join(workDir, 'an547', name));
      const actual = await runCasesOnAn547(mod, golden.cases.map((c) => c.inputs));
      expect(actual).toHaveLength(golden.cases.length);
      golden.cases.forEach((c, i) => expect(firstDifference(c.expected, actual[i] ?? []), `case ${c.id}`).toBeUndefined());
      // The image holds the vector kernels (the assembly exists only when __ARM_FEATURE_MVE is set).
      const { binary } = await buildForQemuMps2('mps3-an547', mod, { workDir });
      const symbols = (await execTool(requireTool('arm-none-eabi-nm'), [binary], { timeoutMs: 30_000 })).stdout;
      if (sharedMve(name).calls.some((c) => c.kind === 'conv_gemm_s8_mve' || c.kind === 'fully_connected_s8_mve')) expect(symbols).toMatch(/ t tf_mve_gemm_4x[12]\b/);
      if (sharedMve(name).calls.some((c) => c.kind === 'depthwise_conv_s8_mve')) expect(symbols).toMatch(/ t tf_dw9_mve\b/);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Synthetic layers: the branches of the Helium kernels the shared models do not reach.

interface MveSynthetic {
  name: string;
  covers: string;
  bytes: Uint8Array;
  /** Checks on the selected kernel calls (which path the layer takes). */
  calls: (c: CompiledModel) => void;
}

function callOf<K extends CompiledModel['calls'][number]['kind']>(c: CompiledModel, kind: K): Extract<CompiledModel['calls'][number], { kind: K }> {
  const found = c.calls.find((x) => x.kind === kind);
  if (!found) throw new Error(`no ${kind} call in ${c.prefix}`);
  return found as Extract<CompiledModel['calls'][number], { kind: K }>;
}

function convCase(
  name: string,
  covers: string,
  o: { inH: number; inW: number; inC: number; outC: number; k: [number, number]; stride: [number, number]; dilation?: [number, number]; padding: number; outScale: number; act?: number },
  calls: (c: CompiledModel) => void,
): MveSynthetic {
  const p = new Prng(name.length * 7919 + o.inC);
  const g = new GraphBuilder();
  const [kH, kW] = o.k;
  const [dH, dW] = o.dilation ?? [1, 1];
  const outH = o.padding === Pad.SAME ? Math.ceil(o.inH / o.stride[0]) : Math.floor((o.inH - (kH - 1) * dH - 1) / o.stride[0]) + 1;
  const outW = o.padding === Pad.SAME ? Math.ceil(o.inW / o.stride[1]) : Math.floor((o.inW - (kW - 1) * dW - 1) / o.stride[1]) + 1;
  const x = g.tensor('x', [1, o.inH, o.inW, o.inC], q(0.05, -3));
  const scales = Array.from({ length: o.outC }, (_, i) => 0.004 + 0.003 * i);
  const w = g.int8Constant('w', [o.outC, kH, kW, o.inC], p.ints(o.outC * kH * kW * o.inC, -127, 127), perChannel(scales, 0));
  const b = g.int32Constant('b', [o.outC], p.ints(o.outC, -5000, 5000));
  const y = g.tensor('y', [1, outH, outW, o.outC], q(o.outScale, 7));
  g.op(BuiltinOp.CONV_2D, [x, w, b], [y], conv2dOptions({ padding: o.padding, strideH: o.stride[0], strideW: o.stride[1], dilationH: dH, dilationW: dW, act: o.act }));
  return { name, covers, bytes: g.build([x], [y]), calls };
}

function depthwiseCase(
  name: string,
  covers: string,
  o: { inH: number; inW: number; C: number; k: [number, number]; stride: [number, number]; dilation?: [number, number]; padding: number; outScale: number },
  calls: (c: CompiledModel) => void,
): MveSynthetic {
  const p = new Prng(name.length * 104729 + o.C);
  const g = new GraphBuilder();
  const [kH, kW] = o.k;
  const [dH, dW] = o.dilation ?? [1, 1];
  const outH = o.padding === Pad.SAME ? Math.ceil(o.inH / o.stride[0]) : Math.floor((o.inH - (kH - 1) * dH - 1) / o.stride[0]) + 1;
  const outW = o.padding === Pad.SAME ? Math.ceil(o.inW / o.stride[1]) : Math.floor((o.inW - (kW - 1) * dW - 1) / o.stride[1]) + 1;
  const x = g.tensor('x', [1, o.inH, o.inW, o.C], q(0.04, 5));
  const scales = Array.from({ length: o.C }, (_, i) => 0.006 + 0.002 * (i % 7));
  const w = g.int8Constant('w', [1, kH, kW, o.C], p.ints(kH * kW * o.C, -127, 127), perChannel(scales, 3));
  const b = g.int32Constant('b', [o.C], p.ints(o.C, -3000, 3000));
  const y = g.tensor('y', [1, outH, outW, o.C], q(o.outScale, -9));
  g.op(
    BuiltinOp.DEPTHWISE_CONV_2D,
    [x, w, b],
    [y],
    depthwiseOptions({ padding: o.padding, strideH: o.stride[0], strideW: o.stride[1], depthMultiplier: 1, dilationH: dH, dilationW: dW }),
  );
  return { name, covers, bytes: g.build([x], [y]), calls };
}

const SYNTHETIC: MveSynthetic[] = [
  convCase(
    'mve_conv_gather_s2',
    'CONV 3x3 stride 2 SAME on 3 channels (whole-row gather, k16 padding), 5 output channels (a partial row group)',
    { inH: 9, inW: 11, inC: 3, outC: 5, k: [3, 3], stride: [2, 2], padding: Pad.SAME, outScale: 0.05, act: Act.RELU6 },
    (c) => expect(callOf(c, 'conv_gemm_s8_mve')).toMatchObject({ segLen: 0, nseg: 1, k16: 32 }),
  ),
  convCase(
    'mve_conv_gather_left_shift',
    'CONV 2x5 VALID on 1 channel with real multipliers above 1 (positive shifts: the left-shift table)',
    { inH: 8, inW: 12, inC: 1, outC: 7, k: [2, 5], stride: [1, 2], padding: Pad.VALID, outScale: 0.0004 },
    (c) => expect(callOf(c, 'conv_gemm_s8_mve').requant.left).toBeDefined(),
  ),
  convCase(
    'mve_conv_row_segments',
    'CONV 3x3 SAME on 16 channels with dilation 2x1 (one segment per kernel row: in place, padding, edge gathers)',
    { inH: 7, inW: 6, inC: 16, outC: 6, k: [3, 3], stride: [1, 1], dilation: [2, 1], padding: Pad.SAME, outScale: 0.2 },
    (c) => expect(callOf(c, 'conv_gemm_s8_mve')).toMatchObject({ segLen: 48, nseg: 3 }),
  ),
  convCase(
    'mve_conv_tap_segments',
    'CONV 3x2 SAME on 32 channels with dilation 1x2 (one segment per tap)',
    { inH: 5, inW: 7, inC: 32, outC: 9, k: [3, 2], stride: [1, 1], dilation: [1, 2], padding: Pad.SAME, outScale: 0.3 },
    (c) => expect(callOf(c, 'conv_gemm_s8_mve')).toMatchObject({ segLen: 32, nseg: 6 }),
  ),
  convCase(
    'mve_conv_1x1_s2_odd',
    'CONV 1x1 stride 2 on 32 channels, 25 output pixels (the last pixel alone)',
    { inH: 9, inW: 9, inC: 32, outC: 12, k: [1, 1], stride: [2, 2], padding: Pad.VALID, outScale: 0.15 },
    (c) => expect(callOf(c, 'conv_gemm_s8_mve')).toMatchObject({ segLen: 32, nseg: 1, pack: 0 }),
  ),
  convCase(
    'mve_conv_1x1_pack2',
    'CONV 1x1 on 8 channels, 25 pixels (two pixels per input vector; the last pixel copied into a padded vector)',
    { inH: 5, inW: 5, inC: 8, outC: 6, k: [1, 1], stride: [1, 1], padding: Pad.VALID, outScale: 0.1 },
    (c) => expect(callOf(c, 'conv_gemm_s8_mve')).toMatchObject({ pack: 2, k16: 16 }),
  ),
  convCase(
    'mve_conv_1x1_pack4',
    'CONV 1x1 on 4 channels, 9 pixels, 3 output channels (four pixels per input vector, 12 filter rows)',
    { inH: 3, inW: 3, inC: 4, outC: 3, k: [1, 1], stride: [1, 1], padding: Pad.SAME, outScale: 0.1 },
    (c) => expect(callOf(c, 'conv_gemm_s8_mve')).toMatchObject({ pack: 4, k16: 16 }),
  ),
  convCase(
    'mve_conv_1x1_direct48',
    'CONV 1x1 on 48 channels, 3 pixels (the input read as a matrix, an odd last vector)',
    { inH: 1, inW: 3, inC: 48, outC: 10, k: [1, 1], stride: [1, 1], padding: Pad.VALID, outScale: 0.3 },
    (c) => expect(callOf(c, 'conv_gemm_s8_mve')).toMatchObject({ pack: 1, k16: 48 }),
  ),
  depthwiseCase(
    'mve_dw_fast_s2',
    'DEPTHWISE 3x3 stride 2 SAME on 32 channels (nine-tap kernel, border pixels and interior runs with a tap step)',
    { inH: 9, inW: 10, C: 32, k: [3, 3], stride: [2, 2], padding: Pad.SAME, outScale: 0.05 },
    (c) => expect(callOf(c, 'depthwise_conv_s8_mve')).toMatchObject({ pack: 1 }),
  ),
  depthwiseCase(
    'mve_dw_fast_dilated',
    'DEPTHWISE 3x3 dilation 2 SAME on 16 channels (nine-tap kernel)',
    { inH: 8, inW: 9, C: 16, k: [3, 3], stride: [1, 1], dilation: [2, 2], padding: Pad.SAME, outScale: 0.05 },
    (c) => expect(callOf(c, 'depthwise_conv_s8_mve')).toMatchObject({ pack: 1 }),
  ),
  depthwiseCase(
    'mve_dw_pack2',
    'DEPTHWISE 3x3 SAME on 8 channels, width 7 (two pixels per vector, odd leftover pixel)',
    { inH: 5, inW: 7, C: 8, k: [3, 3], stride: [1, 1], padding: Pad.SAME, outScale: 0.05 },
    (c) => expect(callOf(c, 'depthwise_conv_s8_mve')).toMatchObject({ pack: 2 }),
  ),
  depthwiseCase(
    'mve_dw_pack4',
    'DEPTHWISE 3x3 VALID on 4 channels, width 12 (four pixels per vector)',
    { inH: 6, inW: 12, C: 4, k: [3, 3], stride: [1, 1], padding: Pad.VALID, outScale: 0.05 },
    (c) => expect(callOf(c, 'depthwise_conv_s8_mve')).toMatchObject({ pack: 4 }),
  ),
  depthwiseCase(
    'mve_dw_tail_24',
    'DEPTHWISE 3x3 stride 1x2 SAME on 24 channels (a half group: predicated loads and stores)',
    { inH: 6, inW: 7, C: 24, k: [3, 3], stride: [1, 2], padding: Pad.SAME, outScale: 0.05 },
    (c) => expect(callOf(c, 'depthwise_conv_s8_mve')).toMatchObject({ pack: 1 }),
  ),
  depthwiseCase(
    'mve_dw_5x5_left_shift',
    'DEPTHWISE 5x5 SAME on 19 channels with real multipliers above 1 (generic taps, left shifts, 3-lane tail)',
    { inH: 6, inW: 6, C: 19, k: [5, 5], stride: [1, 1], padding: Pad.SAME, outScale: 0.00005 },
    (c) => expect(callOf(c, 'depthwise_conv_s8_mve').left).toBeDefined(),
  ),
  depthwiseCase(
    'mve_dw_3ch',
    'DEPTHWISE 3x3 SAME on 3 channels (no packing: 3 does not divide 16)',
    { inH: 5, inW: 6, C: 3, k: [3, 3], stride: [1, 1], padding: Pad.SAME, outScale: 0.05 },
    (c) => expect(callOf(c, 'depthwise_conv_s8_mve')).toMatchObject({ pack: 1 }),
  ),
  (() => {
    const p = new Prng(77);
    const g = new GraphBuilder();
    const x = g.tensor('x', [3, 20], q(0.05, 10));
    const w = g.int8Constant('w', [6, 20], p.ints(120, -127, 127), q(0.004));
    const b = g.int32Constant('b', [6], p.ints(6, -900, 900));
    const y = g.tensor('y', [3, 6], q(0.08, -5));
    const x2 = g.tensor('x2', [1, 33], q(0.5, -20));
    const w2 = g.int8Constant('w2', [5, 33], p.ints(165, -127, 127), q(0.1));
    const y2 = g.tensor('y2', [1, 5], q(0.01, 3));
    g.op(BuiltinOp.FULLY_CONNECTED, [x, w, b], [y], fullyConnectedOptions({ act: Act.RELU }));
    g.op(BuiltinOp.FULLY_CONNECTED, [x2, w2, -1], [y2], fullyConnectedOptions({}));
    return {
      name: 'mve_fc',
      covers: 'FULLY_CONNECTED 3 batches of 20 (a batch pair, then one; padded input rows) and 1 x 33 -> 5 with a multiplier above 1',
      bytes: g.build([x, x2], [y, y2]),
      calls: (c: CompiledModel) => expect(c.calls.filter((k) => k.kind === 'fully_connected_s8_mve').map((k) => (k as { k16: number }).k16)).toEqual([32, 48]),
    };
  })(),
  (() => {
    const g = new GraphBuilder();
    const a = g.tensor('a', [1, 3, 5, 7], q(0.07, -12));
    const b = g.tensor('b', [1, 3, 5, 7], q(0.02, 30));
    const y = g.tensor('y', [1, 3, 5, 7], q(0.05, -1));
    const c = g.tensor('a2', [1, 3, 5, 7], q(0.3, 2));
    const z = g.tensor('z', [1, 3, 5, 7], q(0.011, 4));
    g.op(BuiltinOp.ADD, [a, b], [y], addOptions(Act.RELU6));
    g.op(BuiltinOp.ADD, [y, c], [z], addOptions());
    return {
      name: 'mve_add',
      covers: 'ADD of 105 elements (a 1-element tail) with different input scales, RELU6, then an output scale below the inputs (positive output shift)',
      bytes: g.build([a, b, c], [z]),
      calls: (cm: CompiledModel) => {
        const adds = cm.calls.filter((k) => k.layer.kernel === 'add_s8');
        expect(adds.map((k) => k.kind === 'generic' && k.variant)).toEqual(['mve', 'mve']);
      },
    };
  })(),
];

function syntheticCases(m: CompiledModel, seed: number): Uint8Array[][] {
  const p = new Prng(seed);
  const sizes = m.summary.inputs.map((i) => i.bytes);
  const cases = Array.from({ length: 8 }, () => sizes.map((n) => p.int8Bytes(n)));
  cases.push(sizes.map((n) => new Uint8Array(n).fill(0x80)), sizes.map((n) => new Uint8Array(n).fill(0x7f)));
  return cases;
}

describe('synthetic layers in the MVE layouts: TS reference = host C (ASan + UBSan) = emulated Cortex-M55', () => {
  for (const s of SYNTHETIC) {
    it(`${s.name}: ${s.covers}`, async () => {
      // host: exact-size scratch buffers under ASan; Cortex-M55: the planned arena
      const compiled = compileMve(loadSynthetic(s.name, s.bytes));
      s.calls(compiled);
      const cases = syntheticCases(compiled, s.name.length * 31 + 5);
      const expected = cases.map((c) => runReference(compiled.model.graph, compiled.layers, c));
      const hostMod = writeModule(compiled, path.join(workDir, 'synthetic-host', s.name), true);
      const m55Mod = writeModule(compiled, path.join(workDir, 'synthetic-m55', s.name), false);
      const [host, m55] = await Promise.all([runCasesOnHost(hostMod, cases, { sanitize: true, workDir }), runCasesOnAn547(m55Mod, cases)]);
      cases.forEach((_, i) => {
        expect(firstDifference(expected[i] as Uint8Array[], host[i] ?? []), `host, case ${i}`).toBeUndefined();
        expect(firstDifference(expected[i] as Uint8Array[], m55[i] ?? []), `Cortex-M55, case ${i}`).toBeUndefined();
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The vector requantization on edge values, as a small C program over tf_mve.h.

const RQ_COUNT = 22; // not a multiple of 4: the row functions' predicated tails run too
const RQ_OFFSET = -7;
const RQ_MIN = -100;
const RQ_MAX = 90;

/** A module whose invoke reads RQ_COUNT (acc, multiplier, shift) triples and writes the int32
 * results of tf_mve_requantize (after the left shift), tf_mve_requantize_row and, with the first
 * triple's multiplier and shift, tf_mve_requantize_row_tensor. */
function writeRequantModule(dir: string): CompiledModuleRef {
  mkdirSync(dir, { recursive: true });
  const n = RQ_COUNT;
  writeFileSync(path.join(dir, 'tf_rq.h'), '#include <stdint.h>\nvoid tf_rq_reset(void);\nint tf_rq_invoke(const uint8_t *input0, uint8_t *output0);\n');
  writeFileSync(
    path.join(dir, 'tf_rq.c'),
    `#include "tf_rq.h"
#include "portable/tf_mve.h"

#define N ${n}
#define N4 ${Math.ceil(n / 4) * 4}

void tf_rq_reset(void) {}
int tf_rq_invoke(const uint8_t *input0, uint8_t *output0) {
    static int32_t acc[N4], mult[N4], left[N4], right[N4], raw[N4];
    static int8_t row[N], tensor_row[N];
    int32_t in[3 * N];
    memcpy(in, input0, sizeof in);
    for (int i = 0; i < N4; ++i) {
        const int32_t s = i < N ? in[3 * i + 2] : 0;
        acc[i] = i < N ? in[3 * i] : 0;
        mult[i] = i < N ? in[3 * i + 1] : 0;
        left[i] = s > 0 ? s : 0;
        right[i] = s < 0 ? s : 0;
    }
    for (int i = 0; i < N4; i += 4) {
#if TF_HAVE_MVE
        const int32x4_t x = vshlq_s32(vldrwq_s32(acc + i), vldrwq_s32(left + i));
        vstrwq_s32(raw + i, tf_mve_requantize(x, vldrwq_s32(mult + i), vldrwq_s32(right + i)));
#else
        for (int j = i; j < i + 4; ++j) raw[j] = tf_requantize(acc[j], mult[j], left[j] + right[j]);
#endif
    }
    tf_mve_requantize_row(acc, N, mult, left, right, row, ${RQ_OFFSET}, ${RQ_MIN}, ${RQ_MAX});
    tf_mve_requantize_row_tensor(acc, N, mult[0], left[0] + right[0], tensor_row, ${RQ_OFFSET}, ${RQ_MIN}, ${RQ_MAX});
    memcpy(output0, raw, 4 * N);
    memcpy(output0 + 4 * N, row, N);
    memcpy(output0 + 5 * N, tensor_row, N);
    return 0;
}
`,
  );
  return { dir, prefix: 'tf_rq', inputBytes: [12 * n], outputBytes: [6 * n] };
}

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;

/** Edge-value triples: saturation, ties of both signs at every rounding step, wrapping left shifts, extreme shifts. */
function requantCases(): Array<Array<[number, number, number]>> {
  const p = new Prng(4242);
  const cases: Array<Array<[number, number, number]>> = [];
  const push = (triples: Array<[number, number, number]>): void => {
    for (let i = 0; i < triples.length; i += RQ_COUNT) {
      const chunk = triples.slice(i, i + RQ_COUNT);
      while (chunk.length < RQ_COUNT) chunk.push([p.int(-100000, 100000), 1 << 30, -1]);
      cases.push(chunk);
    }
  };
  const accs = [0, 1, -1, 2, -2, 3, -3, 5, -5, 6, -6, 7, -7, 255, -255, 1 << 20, -(1 << 20), (1 << 30) - 1, -(1 << 30), I32_MAX, I32_MIN, I32_MIN + 1, I32_MAX - 1];
  const mults = [I32_MIN, 1, 1 << 30, (1 << 30) + 1, I32_MAX, 1518500250, 1073741823];
  const shifts = [0, -1, -2, -3, -7, -30, -31, 1, 2, 5, 30];
  const all: Array<[number, number, number]> = [];
  for (const a of accs) for (const m of mults) for (const s of shifts) all.push([a, m, s]);
  // Exact halves before the rounding divide: x = (2k + 1) * 2^(e - 1) for both signs, with
  // a multiplier of 2^30 (a real 0.5) so that the doubling high multiply gives x from 2x.
  for (let e = 1; e <= 12; e++) {
    for (const k of [0, 1, 2, 17, -1, -2, -18]) all.push([(2 * k + 1) * 2 ** e, 1 << 30, -e]);
  }
  for (let i = 0; i < 400; i++) all.push([p.int(-(2 ** 31), 2 ** 31 - 1), p.int(1 << 30, I32_MAX), p.int(-31, 8)]);
  push(all);
  return cases;
}

describe('vector requantization (tf_mve.h) equals TFLite MultiplyByQuantizedMultiplier', () => {
  const cases = requantCases();
  const inputs = cases.map((triples) => [new Uint8Array(Int32Array.from(triples.flat()).buffer)]);
  const expected = cases.map((triples) => {
    const raw = triples.map(([a, m, s]) => multiplyByQuantizedMultiplier(a, m, s));
    // TFLite adds the output offset in int32, which wraps on every compiler (CMSIS-NN's VADD too).
    const clamp = (v: number): number => Math.min(RQ_MAX, Math.max(RQ_MIN, (v + RQ_OFFSET) | 0));
    const [, m0, s0] = triples[0] as [number, number, number];
    const tensor = triples.map(([a]) => clamp(multiplyByQuantizedMultiplier(a, m0, s0)));
    return new Uint8Array([...new Uint8Array(Int32Array.from(raw).buffer), ...new Uint8Array(Int8Array.from(raw.map(clamp)).buffer), ...new Uint8Array(Int8Array.from(tensor).buffer)]);
  });

  it('covers saturation and negative ties', () => {
    expect(multiplyByQuantizedMultiplier(I32_MIN, I32_MIN, 0)).toBe(I32_MAX);
    // -3 / 2 = -1.5 rounds away from zero to -2 in the divide (VRSHL alone would give -1).
    expect(multiplyByQuantizedMultiplier(-6, 1 << 30, -1)).toBe(-2);
    expect(cases.length).toBeGreaterThan(20);
  });

  for (const [target, run] of [
    ['host C (portable path, ASan + UBSan)', (mod: CompiledModuleRef, c: Uint8Array[][]) => runCasesOnHost(mod, c, { sanitize: true, workDir })],
    ['emulated Cortex-M55 (VQRDMULH, fix-up, VRSHL)', (mod: CompiledModuleRef, c: Uint8Array[][]) => runCasesOnAn547(mod, c)],
  ] as const) {
    it(target, async () => {
      const mod = writeRequantModule(path.join(workDir, 'requant', target.startsWith('host') ? 'host' : 'm55'));
      const actual = await run(mod, inputs);
      cases.forEach((triples, i) => {
        const got = actual[i]?.[0] as Uint8Array;
        const want = expected[i] as Uint8Array;
        for (let j = 0; j < RQ_COUNT; j++) {
          const view = (b: Uint8Array): number[] => [new DataView(b.buffer, b.byteOffset).getInt32(4 * j, true), (b[4 * RQ_COUNT + j] as number) << 24 >> 24, (b[5 * RQ_COUNT + j] as number) << 24 >> 24];
          expect(view(got), `case ${i} lane ${j}: acc, multiplier, shift = ${JSON.stringify(triples[j])}`).toEqual(view(want));
        }
      });
    });
  }
});
