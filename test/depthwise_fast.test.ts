// depthwise_conv_s8_fast on single-layer synthetic models: the Cortex-M4/M7 assembly path (3x3 taps,
// TF_REQUANT_FAST: doubled stream, fused requantization, packed clamp) and the portable C path
// (other tap counts and requantization modes), against the TS reference byte for byte on the host
// (ASan + UBSan), Cortex-M3 (no DSP), Cortex-M4 and Cortex-M7.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule } from '../compiler/compile.ts';
import { BuiltinOp } from '../compiler/frontends/tflite/schema.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { runCasesOnQemuMps2 } from '../compiler/targets/qemu_mps2.ts';
import { Act, GraphBuilder, loadSynthetic, makeLimiter, Pad, perChannel, Prng, q } from './helpers/synthetic_models.ts';
import { depthwiseOptions } from './helpers/tflite_builder.ts';

interface DwCase {
  name: string;
  h: number;
  w: number;
  c: number;
  k: [number, number];
  stride: [number, number];
  dilation?: [number, number];
  padding: number;
  act: number;
  /** Output scale (small values push the multiplier above 1/2: positive shifts). */
  outScale?: number;
  outZero?: number;
  /** Biases just above 2^30 (alternating sign) instead of small random ones. */
  hugeBias?: boolean;
  perTensor?: boolean;
  /** The requantization mode selectDepthwise must pick (tf_simd.h TF_REQUANT_*). */
  requant: 0 | 1 | 2;
}

const CASES: DwCase[] = [
  { name: 'dwf_3x3_s1_same_c12_relu6', h: 7, w: 9, c: 12, k: [3, 3], stride: [1, 1], padding: Pad.SAME, act: Act.RELU6, requant: 2 },
  { name: 'dwf_3x3_s2_same_c4', h: 8, w: 7, c: 4, k: [3, 3], stride: [2, 2], padding: Pad.SAME, act: Act.NONE, requant: 2 },
  { name: 'dwf_3x3_s2_valid_c8_relu', h: 9, w: 8, c: 8, k: [3, 3], stride: [2, 2], padding: Pad.VALID, act: Act.RELU, requant: 2 },
  { name: 'dwf_3x3_s1x2_same_c20_n1to1', h: 5, w: 11, c: 20, k: [3, 3], stride: [1, 2], padding: Pad.SAME, act: Act.RELU_N1_TO_1, requant: 2 },
  { name: 'dwf_3x3_dil2_c4', h: 7, w: 6, c: 4, k: [3, 3], stride: [1, 1], dilation: [2, 2], padding: Pad.SAME, act: Act.NONE, requant: 2 },
  { name: 'dwf_3x3_one_row_c8', h: 1, w: 5, c: 8, k: [3, 3], stride: [1, 1], padding: Pad.SAME, act: Act.NONE, perTensor: true, requant: 2 },
  { name: 'dwf_5x5_s1_same_c8', h: 6, w: 7, c: 8, k: [5, 5], stride: [1, 1], padding: Pad.SAME, act: Act.RELU, requant: 2 },
  { name: 'dwf_2x3_valid_c16', h: 4, w: 6, c: 16, k: [2, 3], stride: [1, 1], padding: Pad.VALID, act: Act.NONE, perTensor: true, requant: 2 },
  // Multipliers above 1/2 (shift >= 0): TF_REQUANT_SMALL.
  { name: 'dwf_3x3_small_mode_c8', h: 5, w: 6, c: 8, k: [3, 3], stride: [1, 1], padding: Pad.SAME, act: Act.NONE, outScale: 0.0001, requant: 1 },
  // Biases near 2^30: accumulators not provably small, TF_REQUANT_EXACT.
  { name: 'dwf_3x3_exact_mode_c4', h: 5, w: 5, c: 4, k: [3, 3], stride: [1, 1], padding: Pad.SAME, act: Act.NONE, hugeBias: true, outScale: 1000, outZero: 5, requant: 0 },
];

function build(c: DwCase): Uint8Array {
  const p = new Prng(c.h * 1000 + c.w * 100 + c.c);
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, c.h, c.w, c.c], q(0.02, 7));
  const taps = c.k[0] * c.k[1];
  const scales = Array.from({ length: c.c }, (_, i) => 0.004 + 0.003 * ((i * 7) % 5));
  const w = g.int8Constant('w', [1, c.k[0], c.k[1], c.c], p.ints(taps * c.c, -127, 127), c.perTensor ? q(0.006) : perChannel(scales, 3));
  const small = p.ints(c.c, -4000, 4000);
  const b = g.int32Constant('b', [c.c], c.hugeBias ? small.map((v, i) => (i % 2 ? -1 : 1) * (2 ** 30 + 1000 * i) + v) : small);
  const oh = c.padding === Pad.SAME ? Math.ceil(c.h / c.stride[0]) : Math.floor((c.h - ((c.k[0] - 1) * (c.dilation?.[0] ?? 1) + 1)) / c.stride[0]) + 1;
  const ow = c.padding === Pad.SAME ? Math.ceil(c.w / c.stride[1]) : Math.floor((c.w - ((c.k[1] - 1) * (c.dilation?.[1] ?? 1) + 1)) / c.stride[1]) + 1;
  const y = g.tensor('y', [1, oh, ow, c.c], q(c.outScale ?? 0.05, c.outZero ?? -3));
  g.op(
    BuiltinOp.DEPTHWISE_CONV_2D,
    [x, w, b],
    [y],
    depthwiseOptions({
      padding: c.padding,
      strideH: c.stride[0],
      strideW: c.stride[1],
      depthMultiplier: 1,
      dilationH: c.dilation?.[0] ?? 1,
      dilationW: c.dilation?.[1] ?? 1,
      act: c.act,
    }),
  );
  return g.build([x], [y]);
}

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-dw-fast-test-'));
const limit = makeLimiter(2);
const BOARDS = ['mps2-an385', 'mps2-an386', 'mps2-an500'] as const;

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

describe('depthwise_conv_s8_fast matches the TS reference on host, Cortex-M3, M4 and M7', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const compiled = compileModel(loadSynthetic(c.name, build(c)));
      const call = compiled.calls.find((k) => k.kind === 'depthwise_conv_s8_fast');
      expect(call, 'lowered to depthwise_conv_s8_fast').toBeDefined();
      expect(call && 'requant' in call ? call.requant : undefined).toBe(c.requant);
      const prng = new Prng(c.c * 31 + c.h);
      const cases = Array.from({ length: 6 }, () => compiled.summary.inputs.map((io) => prng.int8Bytes(io.bytes)));
      // Extremes: every input -128, every input 127.
      cases.push(compiled.summary.inputs.map((io) => new Uint8Array(io.bytes).fill(0x80)));
      cases.push(compiled.summary.inputs.map((io) => new Uint8Array(io.bytes).fill(0x7f)));
      const ref = cases.map((inputs) => runReference(compiled.model.graph, compiled.layers, inputs));
      const mod = writeCModule(compiled, path.join(workDir, c.name));
      // A model whose depthwise layers are all 3x3 in fast mode leaves the generic path out.
      const only3x3 = c.k[0] === 3 && c.k[1] === 3 && c.requant === 2;
      expect(readFileSync(path.join(workDir, c.name, `${mod.prefix}.c`), 'utf8').includes('#define TF_DW_FAST_3X3_ONLY 1')).toBe(only3x3);
      const results = await limit(() =>
        Promise.all([runCasesOnHost(mod, cases, { sanitize: true, workDir }), ...BOARDS.map((b) => runCasesOnQemuMps2(b, mod, cases, { workDir }))]),
      );
      results.forEach((r, t) => {
        const target = t === 0 ? 'host' : BOARDS[t - 1];
        cases.forEach((_, i) => {
          expect(Buffer.from(r[i]?.[0] ?? []).toString('hex'), `${target} case ${i}`).toBe(Buffer.from(ref[i]?.[0] ?? []).toString('hex'));
        });
      });
    }, 120_000);
  }
});
