// Magnitude pruning and the tile-sparse fully connected kernel: the pruned graph's TS reference,
// host C (ASan + UBSan) and emulated Cortex-M4 agree byte for byte, and flash and instructions
// fall with sparsity.

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBench, type BenchResult } from '../compiler/bench/run_bench.ts';
import { compileModel, loadModel, writeCModule, type CompiledModel } from '../compiler/compile.ts';
import type { Graph } from '../compiler/ir/graph.ts';
import type { FullyConnectedSparseCall } from '../compiler/passes/select_kernels.ts';
import { pruneMagnitude } from '../compiler/prune/magnitude.ts';
import { sparseCost, sparsePays, tileSparseLayout } from '../compiler/prune/sparse_layout.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { runCasesOnQemuMps2An386 } from '../compiler/targets/qemu_mps2.ts';
import { randomInputs } from '../compiler/validate/random_cases.ts';
import { loadedWith } from './helpers/pruned.ts';
import { firstDifference, modelPath } from './helpers/shared.ts';
import { GraphBuilder, loadSynthetic, Prng, q } from './helpers/synthetic_models.ts';
import { BuiltinOp } from '../compiler/frontends/tflite/schema.ts';
import { fullyConnectedOptions } from './helpers/tflite_builder.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-prune-test-'));

function int8Of(g: Graph, id: number): Int8Array {
  const d = g.tensors[id]?.data as Uint8Array;
  return new Int8Array(d.buffer, d.byteOffset, d.byteLength);
}

describe('magnitude pruning', () => {
  const base = loadModel(modelPath('ad_autoencoder')).graph;
  const fcWeights = base.ops.filter((o) => o.kind === 'fully_connected').map((o) => o.inputs[1] as number);

  it('reaches the target per layer, zeroes the smallest |q| and leaves the input graph alone', () => {
    const before = fcWeights.map((id) => int8Of(base, id).slice());
    const { graph, report } = pruneMagnitude(base, { sparsity: 0.5 });
    fcWeights.forEach((id, i) => {
      expect(Array.from(int8Of(base, id))).toEqual(Array.from(before[i] as Int8Array));
      const w = int8Of(graph, id);
      const zeros = w.filter((v) => v === 0).length;
      expect(zeros).toBe(Math.max(Math.round(w.length * 0.5), (before[i] as Int8Array).filter((v) => v === 0).length));
      // every kept weight is at least as large as every pruned one
      const orig = before[i] as Int8Array;
      let maxPruned = 0;
      let minKept = 128;
      w.forEach((v, k) => {
        if (v === 0) maxPruned = Math.max(maxPruned, Math.abs(orig[k] as number));
        else minKept = Math.min(minKept, Math.abs(v));
        if (v !== 0) expect(v).toBe(orig[k]);
      });
      expect(minKept).toBeGreaterThanOrEqual(maxPruned);
      expect(graph.tensors[id]?.quant).toEqual(base.tensors[id]?.quant);
    });
    expect(report.layers).toHaveLength(fcWeights.length);
    expect(report.sparsity).toBeCloseTo(0.5, 2);
  });

  it('prunes globally, per layer and in 4x4 tiles', () => {
    const global = pruneMagnitude(base, { sparsity: 0.8, scope: 'global' }).report;
    expect(global.zeros).toBe(Math.round(global.weights * 0.8));
    expect(new Set(global.layers.map((l) => l.sparsity.toFixed(3))).size).toBeGreaterThan(1);
    const perLayer = pruneMagnitude(base, { sparsity: 0, perLayer: { [base.ops.findIndex((o) => o.kind === 'fully_connected')]: 0.9 } }).report;
    expect(perLayer.layers[0]?.sparsity).toBeCloseTo(0.9, 2);
    expect(perLayer.layers[1]?.zerosAfter).toBe(perLayer.layers[1]?.zerosBefore);
    const { graph } = pruneMagnitude(base, { sparsity: 0.5, block: [4, 4] });
    for (const id of fcWeights) {
      const t = graph.tensors[id];
      const [rows = 0, cols = 0] = t?.shape ?? [];
      const w = int8Of(graph, id);
      const layout = tileSparseLayout(rows, cols, (r, c) => w[r * cols + c] as number);
      expect(layout).toBeDefined();
      const total = Math.ceil(rows / 4) * (cols / 4);
      // tiles are zeroed whole: half of them remain
      expect(layout?.steps.length).toBe(total - Math.round(total / 2));
    }
    expect(() => pruneMagnitude(base, { sparsity: 1.5 })).toThrow(RangeError);
  });

  it('keeps the dense layout for unpruned and unstructured-pruned weights', () => {
    for (const g of [base, pruneMagnitude(base, { sparsity: 0.5 }).graph]) {
      const compiled = compileModel({ path: 'x.tflite', bytes: new Uint8Array(0), sha256: '0', graph: g });
      expect(compiled.calls.some((c) => c.kind === 'fully_connected_s8_sparse')).toBe(false);
    }
    const dense = tileSparseLayout(4, 8, () => 1);
    expect(dense && sparsePays(sparseCost(4, 8, 1, dense))).toBe(false);
  });
});

interface Measured {
  sparsity: number;
  compiled: CompiledModel;
  bench: BenchResult;
  fcDenseFilterBytes: number;
  fcSparseFilterBytes: number;
}

const SPARSITIES = [0, 0.5, 0.8];
const CASES = 4;

describe('tile-sparse fully connected: reference = host C = Cortex-M4, and it pays', () => {
  for (const name of ['ad_autoencoder', 'micro_speech'] as const) {
    it(name, async () => {
      const base = loadModel(modelPath(name));
      const measured: Measured[] = [];
      for (const s of SPARSITIES) {
        const graph = s === 0 ? base.graph : pruneMagnitude(base.graph, { sparsity: s, block: [4, 4] }).graph;
        const compiled = compileModel(loadedWith(base, graph, `tile${s}`), { prefix: `${name}_sparse${Math.round(s * 100)}` });
        const sparseCalls = compiled.calls.filter((c): c is FullyConnectedSparseCall => c.kind === 'fully_connected_s8_sparse');
        const fcCount = compiled.layers.filter((l) => l.kernel === 'fully_connected_s8').length;
        if (s === 0) expect(sparseCalls).toHaveLength(0);
        else expect(sparseCalls).toHaveLength(fcCount);
        const cases = Array.from({ length: CASES }, (_, k) => randomInputs(compiled.summary.inputs, 100 + k));
        const expected = cases.map((inputs) => runReference(graph, compiled.layers, inputs));
        const mod = writeCModule(compiled, path.join(workDir, 'modules', compiled.prefix));
        const host = await runCasesOnHost(mod, cases, { sanitize: true, workDir });
        const m4 = await runCasesOnQemuMps2An386(mod, cases, { workDir });
        expected.forEach((e, i) => {
          expect(firstDifference(e, host[i] ?? []), `host case ${i} at ${s}`).toBeUndefined();
          expect(firstDifference(e, m4[i] ?? []), `M4 case ${i} at ${s}`).toBeUndefined();
        });
        const bench = await runBench(compiled, 'qemu-mps2-an386', 3);
        const fcDense = sparseCalls.reduce((sum, c) => sum + c.cost.denseFilterBytes, 0);
        const fcSparse = sparseCalls.reduce((sum, c) => sum + c.cost.sparseFilterBytes, 0);
        measured.push({ sparsity: s, compiled, bench, fcDenseFilterBytes: fcDense, fcSparseFilterBytes: fcSparse });
      }
      const [dense, ...pruned] = measured as [Measured, ...Measured[]];
      console.log(
        [`${name} (M4, mps2-an386)`, ...measured.map((m) => `  sparsity ${m.sparsity.toFixed(1)}: instructions ${m.bench.instructions}, weight_bytes ${m.bench.weight_bytes}, flash ${m.bench.flash_bytes}, code ${m.bench.code_bytes}`)].join('\n'),
      );
      let prev = dense;
      for (const m of pruned) {
        // Index overhead: 2 bytes per kept 16-byte tile and 2 per row group.
        const fcFilter = m.fcDenseFilterBytes;
        const calls = m.compiled.calls.filter((c): c is FullyConnectedSparseCall => c.kind === 'fully_connected_s8_sparse');
        const indexBytes = calls.reduce((sum, c) => sum + c.steps.byteLength + c.counts.byteLength, 0);
        expect(m.fcSparseFilterBytes).toBeLessThanOrEqual(Math.ceil((1 - m.sparsity) * fcFilter) + indexBytes + 16 * calls.length);
        expect(m.bench.weight_bytes).toBeLessThanOrEqual(dense.bench.weight_bytes - m.sparsity * fcFilter + indexBytes + 64 * calls.length);
        expect(m.bench.instructions).toBeLessThan(prev.bench.instructions);
        prev = m;
      }
    }, 600_000);
  }
});

describe('element-sparse (CSR) fully connected for unstructured pruning', () => {
  for (const name of ['ad_autoencoder', 'micro_speech'] as const) {
    it(`${name} at 90%: reference = host C = Cortex-M4, less flash and fewer instructions`, async () => {
      const base = loadModel(modelPath(name));
      const graph = pruneMagnitude(base.graph, { sparsity: 0.9 }).graph;
      const compiled = compileModel(loadedWith(base, graph, 'csr90'), { prefix: `${name}_csr90` });
      const csr = compiled.calls.filter((c) => c.kind === 'fully_connected_s8_csr_sparse');
      expect(csr.length).toBeGreaterThan(0);
      const cases = Array.from({ length: CASES }, (_, k) => randomInputs(compiled.summary.inputs, 200 + k));
      const expected = cases.map((inputs) => runReference(graph, compiled.layers, inputs));
      const mod = writeCModule(compiled, path.join(workDir, 'modules', compiled.prefix));
      const host = await runCasesOnHost(mod, cases, { sanitize: true, workDir });
      const m4 = await runCasesOnQemuMps2An386(mod, cases, { workDir });
      expected.forEach((e, i) => {
        expect(firstDifference(e, host[i] ?? []), `host case ${i}`).toBeUndefined();
        expect(firstDifference(e, m4[i] ?? []), `M4 case ${i}`).toBeUndefined();
      });
      const dense = await runBench(compileModel(base, { prefix: `${name}_dense` }), 'qemu-mps2-an386', 3);
      const sparse = await runBench(compiled, 'qemu-mps2-an386', 3);
      console.log(`${name} unstructured 90% (CSR on ${csr.length} layers): instructions ${dense.instructions} -> ${sparse.instructions}, weight_bytes ${dense.weight_bytes} -> ${sparse.weight_bytes}`);
      expect(sparse.instructions).toBeLessThan(dense.instructions);
      expect(sparse.weight_bytes).toBeLessThan(dense.weight_bytes * 0.5);
    }, 600_000);
  }
});

describe('tile-sparse fully connected edge cases', () => {
  it('odd row count, batches, bias, ReLU and an all-zero row group: host C = M4 = reference', async () => {
    const p = new Prng(7);
    const g = new GraphBuilder();
    const x = g.tensor('x', [3, 48], q(0.05, 10));
    // 10 rows of 48: rows 4..7 are all zero (an empty group), large weights elsewhere.
    const weights = Array.from({ length: 10 * 48 }, (_, i) => (Math.floor(i / 48) >= 4 && Math.floor(i / 48) < 8 ? 0 : p.int(-127, 127)));
    const w = g.int8Constant('w', [10, 48], weights, q(0.004));
    const b = g.int32Constant('b', [10], p.ints(10, -5000, 5000));
    const y = g.tensor('y', [3, 10], q(0.02, -5));
    g.op(BuiltinOp.FULLY_CONNECTED, [x, w, b], [y], fullyConnectedOptions({ act: 1 }));
    const model = loadSynthetic('syn_fc_sparse', g.build([x], [y]));
    const pruned = pruneMagnitude(model.graph, { sparsity: 0.6, block: [4, 4] }).graph;
    const compiled = compileModel(loadedWith(model, pruned, 'edge'), { prefix: 'syn_fc_sparse' });
    const call = compiled.calls[0];
    expect(call?.kind).toBe('fully_connected_s8_sparse');
    if (call?.kind !== 'fully_connected_s8_sparse') return;
    expect(Array.from(call.counts)[1]).toBe(0);
    const cases = Array.from({ length: 6 }, (_, k) => randomInputs(compiled.summary.inputs, k));
    const expected = cases.map((inputs) => runReference(pruned, compiled.layers, inputs));
    const mod = writeCModule(compiled, path.join(workDir, 'modules', compiled.prefix));
    const host = await runCasesOnHost(mod, cases, { sanitize: true, workDir });
    const m4 = await runCasesOnQemuMps2An386(mod, cases, { workDir });
    expected.forEach((e, i) => {
      expect(firstDifference(e, host[i] ?? [])).toBeUndefined();
      expect(firstDifference(e, m4[i] ?? [])).toBeUndefined();
    });
  }, 120_000);

  it('CSR: gaps over 255 columns, an empty row, batches: host C = M4 = reference', async () => {
    const p = new Prng(9);
    const g = new GraphBuilder();
    const K = 800;
    const x = g.tensor('x', [2, K], q(0.05, -3));
    const weights = Array.from({ length: 5 * K }, (_, i) => {
      const row = Math.floor(i / K);
      const col = i % K;
      if (row === 0) return col === 700 ? -127 : 0;
      if (row === 1) return 0;
      return p.unit() < 0.05 ? p.int(-127, 127) || 1 : 0;
    });
    const w = g.int8Constant('w', [5, K], weights, q(0.01));
    const b = g.int32Constant('b', [5], p.ints(5, -500, 500));
    const y = g.tensor('y', [2, 5], q(0.05, 2));
    g.op(BuiltinOp.FULLY_CONNECTED, [x, w, b], [y], fullyConnectedOptions({}));
    const model = loadSynthetic('syn_fc_csr', g.build([x], [y]));
    const compiled = compileModel(model, { prefix: 'syn_fc_csr' });
    const call = compiled.calls[0];
    expect(call?.kind).toBe('fully_connected_s8_csr_sparse');
    if (call?.kind !== 'fully_connected_s8_csr_sparse') return;
    expect(Array.from(call.counts.slice(0, 2))).toEqual([3, 0]); // 255 + 255 + 190
    const cases = Array.from({ length: 6 }, (_, k) => randomInputs(compiled.summary.inputs, k));
    const expected = cases.map((inputs) => runReference(model.graph, compiled.layers, inputs));
    const mod = writeCModule(compiled, path.join(workDir, 'modules', compiled.prefix));
    const host = await runCasesOnHost(mod, cases, { sanitize: true, workDir });
    const m4 = await runCasesOnQemuMps2An386(mod, cases, { workDir });
    expected.forEach((e, i) => {
      expect(firstDifference(e, host[i] ?? [])).toBeUndefined();
      expect(firstDifference(e, m4[i] ?? [])).toBeUndefined();
    });
  }, 120_000);
});
