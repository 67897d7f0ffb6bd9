// Block-sparse convolutions (conv_gemm_s8_sparse): magnitude-pruned conv filters keep only their
// non-zero [2 x 4] blocks. The pruned graph's TS reference (dense reference kernels), the host C
// (ASan + UBSan, the portable path), the emulated Cortex-M4 (DSP assembly) and Cortex-M3
// (portable path on Arm) agree byte for byte, and on the M4 flash and instructions fall.

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { runBench, type BenchResult } from '../compiler/bench/run_bench.ts';
import { compileModel, loadModel, writeCModule, type CompiledModel, type LoadedModel } from '../compiler/compile.ts';
import { BuiltinOp } from '../compiler/frontends/tflite/schema.ts';
import { loadTfjsModel, writeArtifacts } from '../compiler/frontends/tfjs/index.ts';
import { saveLayersArtifacts, toneData, toneModel } from '../compiler/frontends/tfjs/synthetic.ts';
import type { ConvGemmCall, ConvGemmSparseCall, KernelCall } from '../compiler/passes/select_kernels.ts';
import { pruneMagnitude, type PrunableKind } from '../compiler/prune/magnitude.ts';
import { convSparseCost, convSparseLayout, convSparsePays } from '../compiler/prune/sparse_layout.ts';
import { ptqLoadedModel, quantizeFloatGraph } from '../compiler/quantize/ptq.ts';
import { HOST_CFLAGS } from '../compiler/targets/host.ts';
import { findExecutable, runCompiler } from '../compiler/targets/toolchain.ts';
import { convModel, expectBitExact, loadedWith } from './helpers/pruned.ts';
import { modelPath } from './helpers/shared.ts';
import { Act, GraphBuilder, loadSynthetic, Pad, perChannel, Prng, q } from './helpers/synthetic_models.ts';
import { depthwiseOptions } from './helpers/tflite_builder.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-prune-conv-test-'));

function sparseConvs(c: CompiledModel): ConvGemmSparseCall[] {
  return c.calls.filter((x): x is ConvGemmSparseCall => x.kind === 'conv_gemm_s8_sparse');
}

function isConvGemm(x: KernelCall): x is ConvGemmCall | ConvGemmSparseCall {
  return x.kind === 'conv_gemm_s8' || x.kind === 'conv_gemm_s8_sparse';
}

function pruned(base: LoadedModel, sparsity: number, block: readonly [number, number], kinds?: readonly PrunableKind[]): LoadedModel {
  if (sparsity === 0) return base;
  const graph = pruneMagnitude(base.graph, { sparsity, block, ...(kinds ? { kinds } : {}) }).graph;
  return loadedWith(base, graph, `conv${sparsity}-${block.join('x')}-${kinds?.join(',') ?? ''}`);
}

/** Stored blocks whose weights are all zero: gap bridges and row groups without any weight. */
function zeroBlocks(c: ConvGemmSparseCall): number {
  let n = 0;
  // 8 elements per block at either width
  for (let b = 0; b < c.cost.blocks; b++) if (c.filter.subarray(b * 8, b * 8 + 8).every((v) => v === 0)) n++;
  return n;
}

describe('block-sparse conv layout and cost model', () => {
  it('maps 4x4-pruned filters to whole tiles, bridges long gaps and gives empty row groups a zero block', () => {
    // 6 rows of 600 (150 steps): rows 0..3 have weights at steps 0 and 145 only, rows 4..5 none.
    const weightAt = (r: number, i: number): number => (r < 4 && (i < 4 || (i >= 580 && i < 584)) ? r * 10 + (i % 4) + 1 : 0);
    const tiles = convSparseLayout(6, 600, 2, weightAt);
    // Group 0 (rows 0..3): steps 0, 127 (bridge), 145; group 1 (rows 4, 5): one zero block at step 0.
    expect(Array.from(tiles.index)).toEqual([0 << 1, 127 << 1, (18 << 1) | 1, (0 << 1) | 1]);
    expect(tiles.blocks.length).toBe((2 * 3 + 1) * 8);
    // Pair 0 at step 0: row 0 then row 1, 4 bytes each.
    expect(Array.from(tiles.blocks.subarray(0, 8))).toEqual([1, 2, 3, 4, 11, 12, 13, 14]);
    expect(Array.from(tiles.blocks.subarray(8, 16))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const pairs = convSparseLayout(6, 600, 1, weightAt);
    expect(Array.from(pairs.index)).toEqual([0, 254, 37, 0, 254, 37, 1]);
    // Dense filters never pay: the index and the per-pair bookkeeping cost more than they save.
    const dense = convSparseLayout(8, 64, 2, () => 1);
    expect(convSparsePays(convSparseCost(8, 64, 100, dense))).toBe(false);
    const half = convSparseLayout(8, 64, 2, (r, i) => (Math.floor(i / 4) % 2 === 0 ? r + 1 : 0));
    const cost = convSparseCost(8, 64, 100, half);
    expect(convSparsePays(cost)).toBe(true);
    expect(cost.sparseFilterBytes).toBe(cost.denseFilterBytes / 2 + 16);
  });

  it('keeps unpruned convs dense and picks the sparse kernel for the big pruned ones', () => {
    for (const name of ['kws_dscnn', 'ic_resnet8'] as const) {
      const base = loadModel(modelPath(name));
      expect(sparseConvs(compileModel(base)), `${name} unpruned`).toHaveLength(0);
      // Unstructured pruning leaves few all-zero blocks at 50%: the dense layout stays.
      expect(sparseConvs(compileModel(pruned(base, 0.5, [1, 1]))), `${name} 50% single weights`).toHaveLength(0);
      for (const s of [0.5, 0.8]) {
        const compiled = compileModel(pruned(base, s, [4, 4]));
        const convs = compiled.calls.filter(isConvGemm);
        const big = convs.filter((c) => c.layer.outC * c.layer.kH * c.layer.kW * c.layer.inC >= 1024);
        expect(big.length, `${name} has big convs`).toBeGreaterThan(0);
        for (const c of big) expect(c.kind, `${name} at ${s}: ${c.layer.outC}x${c.layer.kH}x${c.layer.kW}x${c.layer.inC}`).toBe('conv_gemm_s8_sparse');
        // 4x4 tiles share one index list per two row pairs.
        for (const c of sparseConvs(compiled)) expect(c.groupPairs).toBe(2);
        // sparse: false (for comparisons) keeps every layer dense, in more flash.
        const dense = compileModel(pruned(base, s, [4, 4]), { sparse: false });
        expect(dense.calls.filter((c) => c.kind.endsWith('_sparse'))).toHaveLength(0);
        expect(dense.summary.flashBytes).toBeGreaterThan(compiled.summary.flashBytes);
      }
      // [2, 4] blocks: one list per row pair.
      const pairs = sparseConvs(compileModel(pruned(base, 0.5, [2, 4])));
      expect(pairs.length).toBeGreaterThan(0);
      for (const c of pairs) expect(c.groupPairs).toBe(1);
    }
  });

  it('the Helium layouts use their own sparse kernel (test/prune_sparse_mve.test.ts), not the DSP one', () => {
    const compiled = compileModel(pruned(loadModel(modelPath('kws_dscnn')), 0.8, [4, 4]), { isa: 'mve' });
    expect(sparseConvs(compiled)).toHaveLength(0);
    expect(compiled.calls.some((c) => c.kind === 'conv_gemm_s8_mve_sparse')).toBe(true);
  });
});

interface EdgeCase {
  name: string;
  covers: string;
  model: () => LoadedModel;
  /** The groupings the case must produce. */
  groupPairs: ReadonlyArray<1 | 2>;
}


function randomWeights(seed: number): (oc: number, i: number) => number {
  const p = new Prng(seed);
  const cache = new Map<string, number>();
  return (oc, i) => {
    const key = `${oc},${i}`;
    let v = cache.get(key);
    if (v === undefined) {
      v = p.int(-127, 127) || 1;
      cache.set(key, v);
    }
    return v;
  };
}

const EDGE_CASES: EdgeCase[] = [
  {
    name: 'syn_sparse_odd',
    covers: '7 output channels (odd: a zero row pads the last pair), 3x3x3 (K = 27, not a multiple of 4), SAME, stride 1, RELU, 4x4 tiles at 50%',
    model: () => pruned(convModel('syn_sparse_odd', { h: 5, w: 7, inC: 3, outC: 7, kH: 3, kW: 3, padding: Pad.SAME, stride: 1, act: Act.RELU }, randomWeights(1)), 0.5, [4, 4]),
    groupPairs: [2],
  },
  {
    name: 'syn_sparse_s2_valid',
    covers: '9 output channels, 3x3x5 (K = 45), VALID, stride 2, dilation 1, 4x4 tiles at 80%, odd pixel count',
    model: () => pruned(convModel('syn_sparse_s2_valid', { h: 7, w: 7, inC: 5, outC: 9, kH: 3, kW: 3, padding: Pad.VALID, stride: 2 }, randomWeights(2)), 0.8, [4, 4]),
    groupPairs: [2],
  },
  {
    name: 'syn_sparse_dilated_pairs',
    covers: '10 output channels, 3x3x6 dilation 2, SAME, stride 2, [2 x 4] blocks at 60%',
    model: () => pruned(convModel('syn_sparse_dilated_pairs', { h: 8, w: 9, inC: 6, outC: 10, kH: 3, kW: 3, padding: Pad.SAME, stride: 2, dilation: 2 }, randomWeights(3)), 0.6, [2, 4]),
    groupPairs: [1],
  },
  {
    name: 'syn_sparse_gap',
    covers: '1x1 with 600 input channels: a 145-step gap (bridged), an all-zero row group, a last group of one pair, 3x3 = 9 pixels',
    model: () =>
      convModel('syn_sparse_gap', { h: 3, w: 3, inC: 600, outC: 6, kH: 1, kW: 1, padding: Pad.VALID, stride: 1, act: Act.RELU6 }, (oc, i) =>
        oc < 4 && (i < 4 || (i >= 580 && i < 584)) ? ((oc * 37 + i * 11) % 255) - 127 || 5 : 0,
      ),
    groupPairs: [2],
  },
  {
    name: 'syn_sparse_dw1',
    covers: 'DEPTHWISE_CONV_2D with one input channel (run as a conv), multiplier 8, 5x4 taps, stride 2, SAME, 4x4 tiles at 50%',
    model: () => {
      const p = new Prng(5);
      const g = new GraphBuilder();
      const x = g.tensor('x', [1, 12, 10, 1], q(0.03, 7));
      const w = g.int8Constant('w', [1, 5, 4, 8], p.ints(160, -127, 127), perChannel([0.01, 0.012, 0.008, 0.015, 0.009, 0.011, 0.013, 0.01], 3));
      const b = g.int32Constant('b', [8], p.ints(8, -2000, 2000));
      const y = g.tensor('y', [1, 6, 5, 8], q(0.05, -10));
      g.op(BuiltinOp.DEPTHWISE_CONV_2D, [x, w, b], [y], depthwiseOptions({ padding: Pad.SAME, strideH: 2, strideW: 2, depthMultiplier: 8, act: Act.RELU }));
      return pruned(loadSynthetic('syn_sparse_dw1', g.build([x], [y])), 0.5, [4, 4], ['depthwise_conv2d']);
    },
    groupPairs: [2],
  },
];

describe('sparse conv edge cases: reference = host C (ASan + UBSan) = Cortex-M4 = Cortex-M3', () => {
  for (const e of EDGE_CASES) {
    it(`${e.name}: ${e.covers}`, async () => {
      const model = e.model();
      const compiled = compileModel(model, { prefix: e.name });
      const sparse = sparseConvs(compiled);
      expect(sparse).toHaveLength(1);
      expect(sparse.map((c) => c.groupPairs)).toEqual(e.groupPairs);
      await expectBitExact(compiled, model.graph, ['host', 'mps2-an386', 'mps2-an385'], workDir, 6);
    }, 180_000);
  }

  it('the generated C builds warning-free (-Wall -Wextra -Werror) for RV32IMC and the Cortex-M7', async () => {
    const compiled = compileModel((EDGE_CASES[0] as EdgeCase).model(), { prefix: 'syn_sparse_cross' });
    const mod = writeCModule(compiled, path.join(workDir, 'modules', 'syn_sparse_cross'));
    const source = path.join(mod.dir, `${mod.prefix}.c`);
    const builds: Array<[string, string[]]> = [
      ['riscv64-unknown-elf-gcc', ['-march=rv32imc', '-mabi=ilp32', '--specs=picolibc.specs']],
      ['arm-none-eabi-gcc', ['-mcpu=cortex-m7', '-mthumb']],
    ];
    for (const [cc, flags] of builds) {
      const exe = findExecutable(cc);
      if (!exe) continue;
      await runCompiler(exe, [...HOST_CFLAGS, ...flags, '-c', source, '-o', path.join(mod.dir, `${cc}.o`)], `${cc} build of ${mod.prefix}`, { timeoutMs: 120_000 });
    }
  }, 120_000);

  it('ic_resnet8 at 50% has int8 and int16 (widened) blocks, so the shared-model suite runs both loops', () => {
    // Its largest conv does not fit the default widening budget; the others do.
    const compiled = compileModel(pruned(loadModel(modelPath('ic_resnet8')), 0.5, [4, 4]), { prefix: 'ic_resnet8_sparse_widths' });
    const widths = new Set(sparseConvs(compiled).map((c) => (c.filter instanceof Int16Array ? 16 : 8)));
    expect([...widths].sort()).toEqual([16, 8]);
  });
});

describe('tone classifier (Conv1D, TF.js -> int8): pruned convs are bit-exact', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('50% and 80% of 4x4 tiles: host C and Cortex-M4 match the reference', async () => {
    // Bit-exactness needs no training: the initial (seeded) weights quantize like trained ones.
    const model = toneModel();
    const file = writeArtifacts(path.join(workDir, 'tones'), await saveLayersArtifacts(model));
    const loaded = await loadTfjsModel(file);
    const calib = toneData(64, 3).x;
    const quantized = quantizeFloatGraph(loaded.graph, calib.map((x) => [x]));
    const base = ptqLoadedModel(quantized, file, loaded.sha256);
    for (const s of [0.5, 0.8]) {
      const m = pruned(base, s, [4, 4]);
      const compiled = compileModel(m, { prefix: `tones_sparse${Math.round(s * 100)}` });
      const convs = compiled.calls.filter(isConvGemm);
      expect(convs).toHaveLength(2);
      expect(sparseConvs(compiled).length).toBeGreaterThan(0);
      await expectBitExact(compiled, m.graph, ['host', 'mps2-an386'], workDir, 6, 300);
    }
  }, 180_000);
});

interface Measured {
  sparsity: number;
  compiled: CompiledModel;
  bench: BenchResult;
  /** Conv filter bytes as stored (int8 or int16 elements, index included) and their dense equivalent at the same width. */
  convFilterBytes: number;
  denseConvFilterBytes: number;
  convInstructions: number;
}

function convFilterBytes(c: CompiledModel): { stored: number; dense: number } {
  let stored = 0;
  let dense = 0;
  for (const x of c.calls) {
    if (x.kind === 'conv_gemm_s8') {
      stored += x.filter.byteLength;
      dense += x.filter.byteLength;
    } else if (x.kind === 'conv_gemm_s8_sparse') {
      const width = x.filter instanceof Int16Array ? 2 : 1;
      stored += x.filter.byteLength + x.index.byteLength;
      dense += x.cost.denseFilterBytes * width;
    }
  }
  return { stored, dense };
}

const SPARSITIES = [0, 0.5, 0.8];

describe('block-sparse convolutions on the shared models: bit-exact, and they pay on the emulated Cortex-M4', () => {
  const rows: string[] = [];
  for (const name of ['kws_dscnn', 'ic_resnet8'] as const) {
    it(name, async () => {
      const base = loadModel(modelPath(name));
      const measured: Measured[] = [];
      for (const s of SPARSITIES) {
        const m = pruned(base, s, [4, 4]);
        const compiled = compileModel(m, { prefix: `${name}_conv_sparse${Math.round(s * 100)}` });
        await expectBitExact(compiled, m.graph, ['host', 'mps2-an386'], workDir, 3, 400);
        const bench = await runBench(compiled, 'qemu-mps2-an386', 2, true);
        // What `compile` reports as flash bytes is what the ELF holds (up to array alignment).
        const elfConstants = bench.weight_bytes + bench.qparam_bytes;
        expect(compiled.summary.flashBytes).toBeGreaterThanOrEqual(elfConstants - 16 * compiled.calls.length);
        expect(compiled.summary.flashBytes).toBeLessThanOrEqual(elfConstants);
        const convLayers = compiled.calls.map((c, i) => (isConvGemm(c) ? i : -1)).filter((i) => i >= 0);
        const convInstructions = convLayers.reduce((sum, i) => sum + (bench.layerInstructions?.[i] ?? 0), 0);
        const bytes = convFilterBytes(compiled);
        measured.push({ sparsity: s, compiled, bench, convFilterBytes: bytes.stored, denseConvFilterBytes: bytes.dense, convInstructions });
        for (const c of sparseConvs(compiled)) {
          // Filter bytes fall with the sparsity; what remains is the index and the zero blocks
          // that bridge gaps or stand for row groups without weights.
          const width = c.filter instanceof Int16Array ? 2 : 1;
          const zeros = zeroBlocks(c);
          expect(zeros).toBeLessThanOrEqual(Math.ceil(c.cost.pairs / c.groupPairs));
          expect(c.filter.byteLength).toBeLessThanOrEqual(Math.ceil((1 - s) * c.cost.denseFilterBytes * width) + 8 * width * (zeros + 1));
          expect(c.cost.sparseFilterBytes).toBeLessThanOrEqual(Math.ceil((1 - s) * c.cost.denseFilterBytes) + c.cost.indexBytes + 8 * (zeros + 1));
        }
      }
      const [dense, half, most] = measured as [Measured, Measured, Measured];
      for (const m of measured) {
        rows.push(
          `| ${name} | ${Math.round(m.sparsity * 100)}% | ${m.convFilterBytes} (dense ${m.denseConvFilterBytes}) | ${m.bench.weight_bytes} | ${m.bench.flash_bytes} | ${m.convInstructions} | ${m.bench.instructions} |`,
        );
      }
      console.log(
        [
          `${name}, 4x4 tiles, emulated Cortex-M4 (mps2-an386):`,
          '| model | sparsity | conv filter bytes | weight bytes | flash | conv instructions | instructions |',
          '|---|---:|---:|---:|---:|---:|---:|',
          ...rows.filter((r) => r.startsWith(`| ${name} `)),
        ].join('\n'),
      );
      expect(dense.compiled.calls.some((c) => c.kind === 'conv_gemm_s8_sparse')).toBe(false);
      expect(half.bench.weight_bytes).toBeLessThan(dense.bench.weight_bytes);
      expect(most.bench.weight_bytes).toBeLessThan(half.bench.weight_bytes);
      expect(half.convInstructions).toBeLessThan(0.9 * dense.convInstructions);
      expect(most.convInstructions).toBeLessThan(0.65 * dense.convInstructions);
      expect(most.bench.instructions).toBeLessThan(0.8 * dense.bench.instructions);
    }, 900_000);
  }
});
