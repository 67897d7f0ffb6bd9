// Block-sparse convolutions and fully connected layers on Helium (conv_gemm_s8_mve_sparse,
// fully_connected_s8_mve_sparse): filters whose 16-byte steps are all zero (per row, or per group
// of four rows) keep only the others. The TS reference (dense
// reference kernels), the host C (ASan + UBSan, the portable path), the emulated Cortex-M55
// (the MVE assembly) and the emulated Cortex-M4 (the portable path on Arm) agree byte for byte,
// and on the M55 flash falls without costing instructions.

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBench, type BenchResult } from '../compiler/bench/run_bench.ts';
import { compileModel, loadModel, writeCModule, type CompiledModel, type LoadedModel } from '../compiler/compile.ts';
import { BuiltinOp } from '../compiler/frontends/tflite/schema.ts';
import type { ConvS8Layer } from '../compiler/ir/layers.ts';
import type { ConvGemmMveSparseCall, FullyConnectedMveSparseCall, KernelCall } from '../compiler/passes/select_kernels.ts';
import { pruneMagnitude } from '../compiler/prune/magnitude.ts';
import { mveSparseCost, mveSparseLayout, mveSparsePays } from '../compiler/prune/sparse_layout.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { HOST_CFLAGS, runCasesOnHost } from '../compiler/targets/host.ts';
import { runCasesOnQemuMps2 } from '../compiler/targets/qemu_mps2.ts';
import { findExecutable, runCompiler } from '../compiler/targets/toolchain.ts';
import { randomInputs } from '../compiler/validate/random_cases.ts';
import { writeExactScratchModule } from './helpers/exact_scratch.ts';
import { convModel, expectBitExact, loadedWith } from './helpers/pruned.ts';
import { firstDifference, modelPath, sharedModel } from './helpers/shared.ts';
import { Act, GraphBuilder, loadSynthetic, Pad, perChannel, Prng, q } from './helpers/synthetic_models.ts';
import { depthwiseOptions, fullyConnectedOptions } from './helpers/tflite_builder.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-prune-mve-test-'));

function sparseMve(c: CompiledModel): ConvGemmMveSparseCall[] {
  return c.calls.filter((x): x is ConvGemmMveSparseCall => x.kind === 'conv_gemm_s8_mve_sparse');
}

function sparseMveFc(c: CompiledModel): FullyConnectedMveSparseCall[] {
  return c.calls.filter((x): x is FullyConnectedMveSparseCall => x.kind === 'fully_connected_s8_mve_sparse');
}

function isMveConv(x: KernelCall): boolean {
  return x.kind === 'conv_gemm_s8_mve' || x.kind === 'conv_gemm_s8_mve_sparse';
}

function pruned(base: LoadedModel, sparsity: number, block: readonly [number, number] = [4, 4]): LoadedModel {
  if (sparsity === 0) return base;
  return loadedWith(base, pruneMagnitude(base.graph, { sparsity, block }).graph, `mve${sparsity}-${block.join('x')}`);
}

function compileMve(model: LoadedModel, prefix: string, sparse = true): CompiledModel {
  return compileModel(model, { isa: 'mve', prefix, ...(sparse ? {} : { sparse: false }) });
}

describe('Helium block-sparse layout and cost model', () => {
  it('lists kept 16-byte steps per row or per group of four rows, as distances after a count', () => {
    // 5 rows of 70 (5 steps): row 0 has steps 0 and 3, row 1 step 4 (the padded tail), row 2 none,
    // rows 3 and 4 step 1.
    const nz: Record<number, number[]> = { 0: [0, 3], 1: [4], 3: [1], 4: [1] };
    const weightAt = (r: number, i: number): number => ((nz[r] ?? []).includes(Math.floor(i / 16)) ? ((r * 31 + i * 7) % 200) - 100 || 1 : 0);
    const rows = mveSparseLayout(5, 70, 1, weightAt);
    expect(rows).toBeDefined();
    expect(Array.from(rows?.index ?? [])).toEqual([2, 0, 3, 1, 4, 0, 1, 1, 1, 1]);
    expect(rows?.kept).toBe(5);
    expect(rows?.filter.length).toBe(5 * 16);
    // Row 1's step 4 holds columns 64..69, then zeros up to k16.
    expect(Array.from(rows?.filter.subarray(32, 48) ?? [])).toEqual([...Array.from({ length: 6 }, (_, j) => weightAt(1, 64 + j)), ...new Array<number>(10).fill(0)]);
    const groups = mveSparseLayout(5, 70, 4, weightAt);
    // Group 0 (rows 0..3): steps 0, 1, 3, 4; group 1 (row 4, three zero rows): step 1.
    expect(Array.from(groups?.index ?? [])).toEqual([4, 0, 1, 2, 1, 1, 1]);
    expect(groups?.filter.length).toBe(5 * 64);
    // Group 0, step 0: row 0's weights, then rows 1..3 (zero there).
    expect(Array.from(groups?.filter.subarray(0, 16) ?? [])).toEqual(Array.from({ length: 16 }, (_, j) => weightAt(0, j)));
    expect(groups?.filter.subarray(16, 64).every((v) => v === 0)).toBe(true);
    // More than 255 steps: no layout.
    expect(mveSparseLayout(4, 256 * 16, 1, () => 1)).toBeUndefined();
  });

  it('dense filters never pay; mostly empty rows pay per row, 4x16 tiles per group', () => {
    const dense = mveSparseLayout(16, 256, 1, () => 1);
    expect(dense && mveSparsePays(mveSparseCost(16, 256, 64, dense))).toBe(false);
    const denseGroups = mveSparseLayout(16, 256, 4, () => 1);
    expect(denseGroups && mveSparsePays(mveSparseCost(16, 256, 64, denseGroups))).toBe(false);
    // A quarter of each row's steps, different ones for the rows of a group: per-row lists pay,
    // group lists keep every step.
    const scattered = (r: number, i: number): number => (Math.floor(i / 64) === r % 4 ? 3 : 0);
    const perRow = mveSparseLayout(16, 256, 1, scattered);
    const perGroup = mveSparseLayout(16, 256, 4, scattered);
    expect(perRow && mveSparsePays(mveSparseCost(16, 256, 64, perRow))).toBe(true);
    expect(perGroup && mveSparsePays(mveSparseCost(16, 256, 64, perGroup))).toBe(false);
    // Half of the [4 x 16] tiles: group lists pay at the dense loop's speed, row lists cost instructions.
    const tiles = (r: number, i: number): number => ((Math.floor(r / 4) + Math.floor(i / 16)) % 2 === 0 ? 5 : 0);
    const g = mveSparseLayout(16, 256, 4, tiles);
    const r = mveSparseLayout(16, 256, 1, tiles);
    const gc = g && mveSparseCost(16, 256, 64, g);
    expect(gc && mveSparsePays(gc)).toBe(true);
    expect(gc?.sparseFilterBytes).toBe(gc ? gc.denseFilterBytes / 2 + gc.indexBytes : -1);
    expect(r && mveSparsePays(mveSparseCost(16, 256, 64, r))).toBe(false);
  });

  it('keeps unpruned kws_dscnn and ic_resnet8 dense, picks per-row lists for vww_mobilenet and group lists for 80%-pruned convs', () => {
    for (const name of ['kws_dscnn', 'ic_resnet8'] as const) {
      const base = loadModel(modelPath(name));
      const dense = compileMve(base, `${name}_sel`);
      expect(sparseMve(dense), `${name} unpruned`).toHaveLength(0);
      expect(dense.calls.some((c) => c.kind === 'conv_gemm_s8_mve')).toBe(true);
      const most = compileMve(pruned(base, 0.8), `${name}_sel80`);
      // The convs with at least 4 KiB of filter and at most 256 output pixels (where gathering
      // receptive fields, which the dense kernel reads in place, costs little).
      const big = most.calls
        .filter(isMveConv)
        .map((c) => c.layer as ConvS8Layer)
        .filter((l) => l.outC * l.kH * l.kW * l.inC >= 4096 && l.outH * l.outW <= 256);
      expect(big.length).toBeGreaterThan(0);
      for (const l of big) expect(most.calls[most.layers.indexOf(l)]?.kind, `${name} at 80%: ${l.outC}x${l.kH}x${l.kW}x${l.inC}`).toBe('conv_gemm_s8_mve_sparse');
      for (const c of sparseMve(most)) expect(c.listRows, `${name} 4x4 tiles`).toBe(4);
      // The option keeps every layout dense.
      expect(sparseMve(compileMve(pruned(base, 0.8), `${name}_sel80d`, false))).toHaveLength(0);
      // The DSP layouts are untouched.
      expect(compileModel(pruned(base, 0.8)).calls.some((c) => c.kind === 'conv_gemm_s8_mve_sparse')).toBe(false);
    }
    const vww = compileMve(loadModel(modelPath('vww_mobilenet')), 'vww_sel');
    const sparse = sparseMve(vww);
    expect(sparse.length).toBeGreaterThanOrEqual(5);
    for (const c of sparse) {
      expect(c.listRows).toBe(1);
      expect(c.pack).toBe(1);
      expect(c.layer.kH * c.layer.kW).toBe(1);
      expect(c.cost.sparseFilterBytes).toBeLessThan(0.4 * c.cost.denseFilterBytes);
      expect(c.cost.sparseInstructions).toBeLessThanOrEqual(c.cost.denseInstructions);
    }
    // The early layers (few zero steps) stay dense.
    expect(vww.calls.filter((c) => c.kind === 'conv_gemm_s8_mve').length).toBeGreaterThan(5);
  });
});


/** Non-zero weights (seeded) where `keep(row, 16-column step)`, zeros elsewhere. */
function stepWeights(seed: number, keep: (oc: number, step: number) => boolean): (oc: number, i: number) => number {
  const p = new Prng(seed);
  const cache = new Map<string, number>();
  return (oc, i) => {
    if (!keep(oc, Math.floor(i / 16))) return 0;
    const key = `${oc},${i}`;
    let v = cache.get(key);
    if (v === undefined) {
      v = p.int(-127, 127) || 1;
      cache.set(key, v);
    }
    return v;
  };
}

interface EdgeCase {
  name: string;
  covers: string;
  model: () => LoadedModel;
  listRows: 1 | 4;
  /** Convolutions: 1 when read in place. Fully connected: undefined. */
  pack?: 0 | 1;
}

/** A one-layer fully connected model: [batches, depth] -> [batches, out] with `weights`. */
function fcModel(name: string, batches: number, depth: number, out: number, weights: (o: number, i: number) => number): LoadedModel {
  const p = new Prng(name.length * 11 + out);
  const g = new GraphBuilder();
  const x = g.tensor('x', [batches, depth], q(0.05, 10));
  const w = g.int8Constant('w', [out, depth], Array.from({ length: out * depth }, (_, j) => weights(Math.floor(j / depth), j % depth)), q(0.004));
  const b = g.int32Constant('b', [out], p.ints(out, -900, 900));
  const y = g.tensor('y', [batches, out], q(0.08, -5));
  g.op(BuiltinOp.FULLY_CONNECTED, [x, w, b], [y], fullyConnectedOptions({ act: Act.RELU }));
  return loadSynthetic(name, g.build([x], [y]));
}

const EDGE_CASES: EdgeCase[] = [
  {
    name: 'syn_mve_sparse_rows',
    covers: '1x1 read in place (inC 160: 10 steps), 13 output channels (not a multiple of 4), an empty row, one or two kept steps per row, odd pixel count, RELU',
    model: () =>
      convModel('syn_mve_sparse_rows', { h: 5, w: 3, inC: 160, outC: 13, kH: 1, kW: 1, padding: Pad.VALID, stride: 1, act: Act.RELU }, stepWeights(1, (oc, s) => oc !== 5 && (s === (oc * 3) % 10 || (oc % 4 === 0 && s === 9)))),
    listRows: 1,
    pack: 1,
  },
  {
    name: 'syn_mve_sparse_groups_gather',
    covers: '3x3x16 SAME stride 2 (gathered rows, image edges), 42 output channels (a padded group), [4 x 16] tiles at about 70%, an empty group',
    model: () =>
      convModel('syn_mve_sparse_groups_gather', { h: 9, w: 7, inC: 16, outC: 42, kH: 3, kW: 3, padding: Pad.SAME, stride: 2 }, stepWeights(2, (oc, s) => oc < 40 && (s * 7 + Math.floor(oc / 4) * 3) % 10 < 3)),
    listRows: 4,
    pack: 0,
  },
  {
    name: 'syn_mve_sparse_dilated',
    covers: '3x3x12 (K = 108, not a multiple of 16) dilation 2, VALID, stride 1, per-row lists with the last (padded) step kept, RELU6',
    model: () =>
      convModel('syn_mve_sparse_dilated', { h: 9, w: 10, inC: 12, outC: 24, kH: 3, kW: 3, padding: Pad.VALID, stride: 1, dilation: 2, act: Act.RELU6 }, stepWeights(3, (oc, s) => s === oc % 7)),
    listRows: 1,
    pack: 0,
  },
  {
    name: 'syn_mve_sparse_dw1',
    covers: 'DEPTHWISE_CONV_2D with one input channel (run as a conv), multiplier 16, 8x8 taps (K = 64), stride 2, SAME, half the [4 x 16] tiles zero',
    model: () => {
      const p = new Prng(5);
      const g = new GraphBuilder();
      const x = g.tensor('x', [1, 12, 10, 1], q(0.03, 7));
      // [1, 8, 8, 16]: tap t = 8 ky + kx, channel c; GEMM row c, column t, step t / 16.
      const w = g.int8Constant('w', [1, 8, 8, 16], Array.from({ length: 1024 }, (_, j) => ((Math.floor(j / 16 / 16) + Math.floor((j % 16) / 4)) % 2 === 0 ? p.int(-127, 127) || 1 : 0)), perChannel(Array.from({ length: 16 }, (_, c) => 0.008 + 0.001 * c), 3));
      const b = g.int32Constant('b', [16], p.ints(16, -2000, 2000));
      const y = g.tensor('y', [1, 6, 5, 16], q(0.05, -10));
      g.op(BuiltinOp.DEPTHWISE_CONV_2D, [x, w, b], [y], depthwiseOptions({ padding: Pad.SAME, strideH: 2, strideW: 2, depthMultiplier: 16, act: Act.RELU }));
      return loadSynthetic('syn_mve_sparse_dw1', g.build([x], [y]));
    },
    listRows: 4,
    pack: 0,
  },
  {
    name: 'syn_mve_sparse_fc_rows',
    covers: 'FULLY_CONNECTED 1 x 200 (13 steps, padded input) -> 70 (two chunks of accumulators, the last not a multiple of 4), per-row lists, an empty row',
    model: () => fcModel('syn_mve_sparse_fc_rows', 1, 200, 70, stepWeights(6, (o, st) => o !== 9 && (st === (o * 5) % 13 || (o % 3 === 0 && st === 12)))),
    listRows: 1,
  },
  {
    name: 'syn_mve_sparse_fc_groups',
    covers: 'FULLY_CONNECTED 3 batches of 64 -> 12, half the [4 x 16] tiles zero: group lists, each batch walking them',
    model: () => fcModel('syn_mve_sparse_fc_groups', 3, 64, 12, stepWeights(7, (o, st) => (Math.floor(o / 4) + st) % 2 === 0)),
    listRows: 4,
  },
];


describe('Helium sparse conv and FC edge cases: reference = host C (ASan + UBSan, exact scratch) = Cortex-M55 = Cortex-M4 (portable path)', () => {
  for (const e of EDGE_CASES) {
    it(`${e.name}: ${e.covers}`, async () => {
      const model = e.model();
      const compiled = compileMve(model, e.name);
      const sparse = e.pack === undefined ? sparseMveFc(compiled) : sparseMve(compiled);
      expect(sparse).toHaveLength(1);
      expect(sparse[0]?.listRows).toBe(e.listRows);
      if (e.pack !== undefined) expect((sparse[0] as ConvGemmMveSparseCall).pack).toBe(e.pack);
      const cases = Array.from({ length: 4 }, (_, k) => randomInputs(compiled.summary.inputs, 200 + k));
      const expected = cases.map((inputs) => runReference(model.graph, compiled.layers, inputs));
      const exact = writeExactScratchModule(compiled, path.join(workDir, 'exact', e.name));
      const host = await runCasesOnHost(exact, cases, { sanitize: true, workDir });
      expected.forEach((x, i) => expect(firstDifference(x, host[i] ?? []), `${e.name} on the host, case ${i}`).toBeUndefined());
      await expectBitExact(compiled, model.graph, ['mps3-an547', 'mps2-an386'], workDir, 4, 200);
    }, 240_000);
  }

  it('the generated C builds warning-free (-Wall -Wextra -Werror) for the Cortex-M55 (MVE), Cortex-M4, RV32IMC and the host', async () => {
    // A pruned kws_dscnn: sparse convs with group lists, a sparse fully connected layer.
    const compiled = compileMve(pruned(loadModel(modelPath('kws_dscnn')), 0.8), 'syn_mve_sparse_cross');
    expect(sparseMve(compiled).length).toBeGreaterThan(0);
    expect(sparseMveFc(compiled)).toHaveLength(1);
    const mod = writeCModule(compiled, path.join(workDir, 'modules', 'syn_mve_sparse_cross'));
    const source = path.join(mod.dir, `${mod.prefix}.c`);
    const builds: Array<[string, string[]]> = [
      ['arm-none-eabi-gcc', ['-mcpu=cortex-m55', '-mthumb', '-mfloat-abi=hard']],
      ['arm-none-eabi-gcc', ['-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv4-sp-d16']],
      ['riscv64-unknown-elf-gcc', ['-march=rv32imc', '-mabi=ilp32', '--specs=picolibc.specs']],
      ['cc', []],
    ];
    let built = 0;
    for (const [cc, flags] of builds) {
      const exe = findExecutable(cc);
      if (!exe) continue;
      await runCompiler(exe, [...HOST_CFLAGS, ...flags, '-c', source, '-o', path.join(mod.dir, `${built}.o`)], `${cc} ${flags.join(' ')} build of ${mod.prefix}`, { timeoutMs: 120_000 });
      built++;
    }
    expect(built).toBeGreaterThan(0);
  }, 240_000);
});

describe('vww_mobilenet (unpruned) with sparse Helium convs matches TFLite Micro on the Cortex-M55 and the host', () => {
  it('golden cases', async () => {
    const { golden } = sharedModel('vww_mobilenet');
    const compiled = compileMve(loadModel(modelPath('vww_mobilenet')), 'vww_mve_sparse');
    expect(sparseMve(compiled).length).toBeGreaterThan(0);
    const mod = writeCModule(compiled, path.join(workDir, 'modules', 'vww_mve_sparse'));
    const inputs = golden.cases.map((c) => c.inputs);
    for (const target of ['host', 'mps3-an547'] as const) {
      const actual = target === 'host' ? await runCasesOnHost(mod, inputs, { sanitize: true, workDir }) : await runCasesOnQemuMps2(target, mod, inputs, { workDir, timeoutMs: 300_000 });
      expect(actual).toHaveLength(golden.cases.length);
      golden.cases.forEach((c, i) => {
        expect(firstDifference(c.expected, actual[i] ?? []), `golden case ${c.id} on ${target}`).toBeUndefined();
        expect(firstDifference(runReference(compiled.model.graph, compiled.layers, c.inputs), actual[i] ?? []), `reference, case ${c.id} on ${target}`).toBeUndefined();
      });
    }
  }, 600_000);
});

interface Measured {
  label: string;
  sparseConvs: number;
  sparseFcs: number;
  dense: BenchResult;
  sparse: BenchResult;
}

const VARIANTS: ReadonlyArray<readonly ['vww_mobilenet' | 'kws_dscnn' | 'ic_resnet8' | 'ad_autoencoder' | 'micro_speech', number]> = [
  ['vww_mobilenet', 0],
  ['kws_dscnn', 0.5],
  ['kws_dscnn', 0.8],
  ['ic_resnet8', 0.5],
  ['ic_resnet8', 0.8],
  ['ad_autoencoder', 0.5],
  ['ad_autoencoder', 0.8],
  ['micro_speech', 0.8],
];

describe('sparse Helium convs and FC layers on the shared models: bit-exact on the Cortex-M55, and flash falls at no instruction cost', () => {
  const measured: Measured[] = [];
  for (const [name, s] of VARIANTS) {
    it(`${name} ${Math.round(s * 100)}%`, async () => {
      const model = pruned(loadModel(modelPath(name)), s);
      const tag = `${name}_mve_sparse${Math.round(s * 100)}`;
      const sparse = compileMve(model, tag);
      const dense = compileMve(model, `${tag}_dense`, false);
      expect(sparseMve(dense)).toHaveLength(0);
      expect(sparseMveFc(dense)).toHaveLength(0);
      await expectBitExact(sparse, model.graph, ['host', 'mps3-an547'], workDir, 3, 500);
      const d = await runBench(dense, 'qemu-mps3-an547', 2);
      const b = await runBench(sparse, 'qemu-mps3-an547', 2);
      const n = sparseMve(sparse).length + sparseMveFc(sparse).length;
      measured.push({ label: `${name} | ${Math.round(s * 100)}%`, sparseConvs: sparseMve(sparse).length, sparseFcs: sparseMveFc(sparse).length, dense: d, sparse: b });
      expect(b.instructions, 'instructions do not rise').toBeLessThanOrEqual(d.instructions);
      if (n > 0) {
        expect(b.flash_bytes, 'flash falls').toBeLessThan(d.flash_bytes);
        expect(b.weight_bytes, 'weight bytes fall').toBeLessThan(d.weight_bytes);
      } else {
        expect(b.flash_bytes).toBe(d.flash_bytes);
      }
      if (name === 'vww_mobilenet') expect(b.flash_bytes, 'vww_mobilenet drops most of its zero steps').toBeLessThan(0.6 * d.flash_bytes);
      if (s === 0.8) expect(b.weight_bytes).toBeLessThan(0.75 * d.weight_bytes);
      if (name === 'ad_autoencoder' && s === 0.8) expect(sparseMveFc(sparse).length).toBe(10);
    }, 900_000);
  }

  it('table', () => {
    const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
    console.log(
      [
        'Emulated Cortex-M55 (mps3-an547), 4x4-tile magnitude pruning (conv and FC), dense Helium layouts -> sparse where they pay:',
        '| model | sparsity | sparse conv / FC | instructions | flash | weight bytes |',
        '|---|---:|---:|---:|---:|---:|',
        ...measured.map(
          (m) =>
            `| ${m.label} | ${m.sparseConvs} / ${m.sparseFcs} | ${fmt(m.dense.instructions)} -> ${fmt(m.sparse.instructions)} | ${fmt(m.dense.flash_bytes)} -> ${fmt(m.sparse.flash_bytes)} | ${fmt(m.dense.weight_bytes)} -> ${fmt(m.sparse.weight_bytes)} |`,
        ),
      ].join('\n'),
    );
    expect(measured.length).toBe(VARIANTS.length);
  });
});
