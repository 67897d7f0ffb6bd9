// Structured (channel) pruning: shapes and quantization stay consistent, the smaller model's TS
// reference = host C (ASan + UBSan) = emulated Cortex-M4, removing "dead" channels changes no
// output bit (which proves the downstream indexing, flatten mapping included), and MACs and
// weight bytes fall with the fraction.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { writeTflite } from '../compiler/export/write_tflite.ts';
import { writeArtifacts } from '../compiler/frontends/tfjs/index.ts';
import { intentData, intentModel, saveLayersArtifacts, train } from '../compiler/frontends/tfjs/synthetic.ts';
import { parseTflite } from '../compiler/frontends/tflite/index.ts';
import { encodeNpy } from '../compiler/quantize/calibration.ts';
import { compileModel, loadModel, writeCModule, type LoadedModel } from '../compiler/compile.ts';
import { BuiltinOp } from '../compiler/frontends/tflite/schema.ts';
import { elementCount, type Graph, type Op, type Tensor } from '../compiler/ir/graph.ts';
import { pruneChannels, type ChannelPruneReport } from '../compiler/prune/structured.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { runCasesOnQemuMps2An386 } from '../compiler/targets/qemu_mps2.ts';
import { randomInputs } from '../compiler/validate/random_cases.ts';
import { firstDifference, modelPath } from './helpers/shared.ts';
import { Act, GraphBuilder, loadSynthetic, Pad, perChannel, Prng, q } from './helpers/synthetic_models.ts';
import { conv2dOptions, depthwiseOptions, fullyConnectedOptions, pool2dOptions, reshapeOptions } from './helpers/tflite_builder.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-prune-structured-'));

function loadedWith(base: LoadedModel, graph: Graph, tag: string): LoadedModel {
  const h = createHash('sha256').update(base.sha256).update(tag);
  for (const t of graph.tensors) if (t.data) h.update(t.data);
  return { ...base, graph, sha256: h.digest('hex') };
}

function fingerprint(g: Graph): string {
  const h = createHash('sha256');
  for (const t of g.tensors) {
    h.update(JSON.stringify([t.shape, t.quant ?? null]));
    if (t.data) h.update(t.data);
  }
  h.update(JSON.stringify(g.ops.map((o) => [o.kind, o.inputs, o.outputs, o.attrs])));
  return h.digest('hex');
}

/** Shapes, biases and per-channel quantization agree everywhere, and the compiler accepts the graph. */
function expectConsistent(g: Graph): void {
  for (const t of g.tensors) {
    if (t.data) expect(t.data.byteLength, t.name).toBe(elementCount(t.shape) * (t.dtype === 'int32' ? 4 : t.dtype === 'int8' ? 1 : t.data.byteLength / elementCount(t.shape)));
    const qn = t.quant;
    if (qn && qn.scale.length > 1) {
      expect(qn.scale.length, `${t.name} scales`).toBe(t.shape[qn.axis]);
      expect(qn.zeroPoint.length, `${t.name} zero points`).toBe(qn.scale.length);
    }
  }
  for (const op of g.ops) {
    const x = g.tensors[op.inputs[0] as number] as Tensor;
    const y = g.tensors[op.outputs[0] as number] as Tensor;
    const w = g.tensors[op.inputs[1] ?? -1];
    const b = g.tensors[op.inputs[2] ?? -1];
    if (op.kind === 'conv2d') {
      expect(w?.shape[0]).toBe(y.shape[3]);
      expect(w?.shape[3]).toBe(x.shape[3]);
    }
    if (op.kind === 'depthwise_conv2d') expect(w?.shape[3]).toBe(y.shape[3]);
    if (op.kind === 'fully_connected') expect(elementCount(x.shape) % (w?.shape[1] ?? 0)).toBe(0);
    if ((op.kind === 'conv2d' || op.kind === 'depthwise_conv2d' || op.kind === 'fully_connected') && b) expect(elementCount(b.shape)).toBe(y.shape[y.shape.length - 1]);
    if (op.kind === 'reshape') {
      expect(elementCount(x.shape)).toBe(elementCount(y.shape));
      expect(op.attrs.newShape.map((d, i) => (d < 0 ? y.shape[i] : d))).toEqual(y.shape);
    }
  }
  const compiled = compileModel({ path: 'x.tflite', bytes: new Uint8Array(0), sha256: '0', graph: g });
  expect(compiled.layers).toHaveLength(g.ops.length);
}

function int32View(t: Tensor): DataView {
  const d = t.data as Uint8Array;
  return new DataView(d.buffer, d.byteOffset, d.byteLength);
}

/**
 * A copy of `g` in which every channel `report` removes is dead: zero filter rows and a bias that
 * drives the (ReLU) output to its zero point, and the same for the depthwise channels that carry
 * it. Downstream, those activations contribute exactly (q - zp) = 0, so removing them must not
 * change any output bit.
 */
function withDeadChannels(g: Graph, report: ChannelPruneReport): Graph {
  const tensors = g.tensors.map((t) => ({ ...t, ...(t.data ? { data: new Uint8Array(t.data) } : {}) }));
  const kill = (op: Op, isDead: (c: number) => boolean): void => {
    if (op.kind !== 'conv2d' && op.kind !== 'depthwise_conv2d' && op.kind !== 'fully_connected') throw new Error('not a weighted op');
    expect(['relu', 'relu6']).toContain(op.attrs.activation);
    const x = tensors[op.inputs[0] as number] as Tensor;
    const w = tensors[op.inputs[1] as number] as Tensor;
    const y = tensors[op.outputs[0] as number] as Tensor;
    const bias = tensors[op.inputs[2] as number] as Tensor;
    const channels = y.shape[y.shape.length - 1] as number;
    const wd = w.data as Uint8Array;
    const depthwise = op.kind === 'depthwise_conv2d';
    for (let i = 0; i < wd.length; i++) {
      const c = depthwise ? i % channels : Math.floor(i / (wd.length / channels));
      if (isDead(c)) wd[i] = 0;
    }
    const view = int32View(bias);
    for (let c = 0; c < channels; c++) {
      if (!isDead(c)) continue;
      const ws = w.quant?.scale.length === 1 ? (w.quant.scale[0] as number) : (w.quant?.scale[c] as number);
      const m = ((x.quant?.scale[0] as number) * ws) / (y.quant?.scale[0] as number);
      view.setInt32(c * 4, -Math.min(2 ** 30, Math.ceil(1000 / m)), true);
    }
  };
  for (const l of report.layers) {
    const dead = new Set(l.removed);
    kill(g.ops[l.op] as Op, (c) => dead.has(c));
    for (const f of l.followed) {
      const op = g.ops[f] as Op;
      if (op.kind === 'depthwise_conv2d') kill(op, (c) => dead.has(c % l.before));
    }
  }
  return { ...g, tensors };
}

function outputsOf(g: Graph, cases: Uint8Array[][]): Uint8Array[][] {
  const c = compileModel({ path: 'x.tflite', bytes: new Uint8Array(0), sha256: '0', graph: g });
  return cases.map((inputs) => runReference(g, c.layers, inputs));
}

/** conv 3x3 (8 ch, ReLU) -> depthwise (multiplier m, ReLU) -> max pool 2x2 -> flatten -> FC 16 (ReLU) -> FC 4. */
function flattenModel(multiplier: number): LoadedModel {
  const p = new Prng(17 + multiplier);
  const g = new GraphBuilder();
  const C = 8;
  const D = C * multiplier;
  const x = g.tensor('x', [1, 8, 8, 2], q(0.05, 3));
  const w1 = g.int8Constant('w1', [C, 3, 3, 2], p.ints(C * 18, -127, 127), perChannel(Array.from({ length: C }, (_, i) => 0.004 + 0.001 * i), 0));
  const b1 = g.int32Constant('b1', [C], p.ints(C, -2000, 2000));
  const y1 = g.tensor('y1', [1, 8, 8, C], q(0.04, -128));
  g.op(BuiltinOp.CONV_2D, [x, w1, b1], [y1], conv2dOptions({ padding: Pad.SAME, strideH: 1, strideW: 1, act: Act.RELU }));
  const w2 = g.int8Constant('w2', [1, 3, 3, D], p.ints(9 * D, -127, 127), perChannel(Array.from({ length: D }, (_, i) => 0.006 + 0.0005 * i), 3));
  const b2 = g.int32Constant('b2', [D], p.ints(D, -1500, 1500));
  const y2 = g.tensor('y2', [1, 8, 8, D], q(0.05, -128));
  g.op(BuiltinOp.DEPTHWISE_CONV_2D, [y1, w2, b2], [y2], depthwiseOptions({ padding: Pad.SAME, strideH: 1, strideW: 1, depthMultiplier: multiplier, act: Act.RELU }));
  const y3 = g.tensor('y3', [1, 4, 4, D], q(0.05, -128));
  g.op(BuiltinOp.MAX_POOL_2D, [y2], [y3], pool2dOptions({ padding: Pad.VALID, strideH: 2, strideW: 2, filterH: 2, filterW: 2 }));
  const y4 = g.tensor('y4', [1, 16 * D], q(0.05, -128));
  g.op(BuiltinOp.RESHAPE, [y3], [y4], reshapeOptions([1, 16 * D]));
  const w5 = g.int8Constant('w5', [16, 16 * D], p.ints(16 * 16 * D, -127, 127), q(0.002));
  const b5 = g.int32Constant('b5', [16], p.ints(16, -3000, 3000));
  const y5 = g.tensor('y5', [1, 16], q(0.08, -128));
  g.op(BuiltinOp.FULLY_CONNECTED, [y4, w5, b5], [y5], fullyConnectedOptions({ act: Act.RELU }));
  const w6 = g.int8Constant('w6', [4, 16], p.ints(64, -127, 127), q(0.01));
  const b6 = g.int32Constant('b6', [4], p.ints(4, -500, 500));
  const y6 = g.tensor('y6', [1, 4], q(0.1, 0));
  g.op(BuiltinOp.FULLY_CONNECTED, [y5, w6, b6], [y6], fullyConnectedOptions({}));
  return loadSynthetic(`syn_prune_flatten_m${multiplier}`, g.build([x], [y6]));
}

const CASES = 4;

describe('channel pruning: structure', () => {
  it('ad_autoencoder (all FC): every layer but the output one shrinks; input graph untouched', () => {
    const base = loadModel(modelPath('ad_autoencoder')).graph;
    const before = fingerprint(base);
    const { graph, report } = pruneChannels(base, { fraction: 0.5 });
    expect(fingerprint(base)).toBe(before);
    expect(report.layers.map((l) => l.op)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (const l of report.layers) expect(l.after).toBe(l.before - Math.round(l.before / 2));
    expect(report.skipped).toEqual([expect.objectContaining({ op: 9, reason: expect.stringMatching(/graph output/) })]);
    expectConsistent(graph);
    const last = graph.ops[9] as Op;
    expect(graph.tensors[last.inputs[1] as number]?.shape).toEqual([640, 64]);
  });

  it('kws_dscnn: conv -> depthwise -> conv chains, average pool, reshape, FC follow; the FC before SOFTMAX is skipped', () => {
    const base = loadModel(modelPath('kws_dscnn')).graph;
    const { graph, report } = pruneChannels(base, { fraction: 0.25 });
    expect(report.layers.map((l) => [l.op, l.before, l.after])).toEqual([0, 2, 4, 6, 8].map((op) => [op, 64, 48]));
    expect(report.layers[4]?.followed).toEqual([9, 10, 11]); // pool, reshape, FC columns
    expect(report.skipped).toEqual([expect.objectContaining({ op: 11, reason: expect.stringMatching(/SOFTMAX/) })]);
    expectConsistent(graph);
    // per-channel quantization shrank with the channels: conv filter (axis 0), depthwise filter (axis 3), biases
    const dw = graph.ops[1] as Op;
    expect(graph.tensors[dw.inputs[1] as number]?.quant?.scale).toHaveLength(48);
    expect(graph.tensors[dw.inputs[2] as number]?.shape).toEqual([48]);
    expect(graph.tensors[(graph.ops[0] as Op).inputs[1] as number]?.quant?.scale).toHaveLength(48);
    expect((graph.ops[10] as Op).attrs).toEqual({ newShape: [-1, 48] });
    expect(graph.tensors[(graph.ops[11] as Op).inputs[1] as number]?.shape).toEqual([12, 48]);
    // the kept channels are those of highest real-valued L1 norm
    const w = base.tensors[(base.ops[2] as Op).inputs[1] as number] as Tensor;
    const q8 = new Int8Array((w.data as Uint8Array).buffer, (w.data as Uint8Array).byteOffset, 64 * 64);
    const norm = (c: number): number => (w.quant?.scale[c] as number) * Array.from(q8.subarray(c * 64, c * 64 + 64)).reduce((s, v) => s + Math.abs(v), 0);
    const removed = new Set(report.layers[1]?.removed);
    const maxRemoved = Math.max(...[...removed].map(norm));
    for (let c = 0; c < 64; c++) if (!removed.has(c)) expect(norm(c)).toBeGreaterThanOrEqual(maxRemoved);
  });

  it('micro_speech: the only FC feeds SOFTMAX, nothing is pruned; a depthwise multiplier > 1 stops a layer', () => {
    const base = loadModel(modelPath('micro_speech')).graph;
    const { graph, report } = pruneChannels(base, { fraction: 0.5 });
    expect(report.layers).toEqual([]);
    expect(report.skipped).toEqual([expect.objectContaining({ op: 2, kind: 'fully_connected', reason: expect.stringMatching(/SOFTMAX/) })]);
    expect(fingerprint(graph)).toBe(fingerprint(base));
    const m2 = pruneChannels(flattenModel(2).graph, { fraction: 0.5 }).report;
    expect(m2.skipped.find((s) => s.op === 0)?.reason).toMatch(/DEPTHWISE_CONV_2D \(op 1\) with depth multiplier 2/);
    expect(m2.layers.map((l) => l.op)).toEqual([4]); // the FC after the flatten still shrinks
  });

  it('ic_resnet8: layers feeding ADD are skipped, the others shrink', () => {
    const { graph, report } = pruneChannels(loadModel(modelPath('ic_resnet8')).graph, { fraction: 0.5 });
    expect(report.layers.map((l) => l.op)).toEqual([1, 4, 8]);
    expect(report.skipped.filter((s) => /ADD/.test(s.reason)).map((s) => s.op)).toEqual([0, 2, 5, 6, 9, 10]);
    expectConsistent(graph);
  });

  it('global scope, explicit channels and bad options', () => {
    const base = loadModel(modelPath('kws_dscnn')).graph;
    const global = pruneChannels(base, { fraction: 0.5, scope: 'global' }).report;
    const removed = global.layers.reduce((s, l) => s + l.removed.length, 0);
    expect(removed).toBe(Math.round(0.5 * 5 * 64));
    expect(new Set(global.layers.map((l) => l.after)).size).toBeGreaterThan(1);
    const explicit = pruneChannels(base, { fraction: 0, channels: { 2: [5, 1, 9] } });
    expect(explicit.report.layers).toEqual([expect.objectContaining({ op: 2, before: 64, after: 61, removed: [1, 5, 9] })]);
    expectConsistent(explicit.graph);
    expect(() => pruneChannels(base, { fraction: 1 })).toThrow(RangeError);
    expect(() => pruneChannels(base, { fraction: 0, channels: { 11: [0] } })).toThrow(/SOFTMAX/);
    expect(() => pruneChannels(base, { fraction: 0, channels: { 2: [64] } })).toThrow(RangeError);
  });
});

describe('channel pruning: removing dead channels changes no output bit', () => {
  const models: [string, () => LoadedModel][] = [
    ['ad_autoencoder', () => loadModel(modelPath('ad_autoencoder'))],
    ['kws_dscnn', () => loadModel(modelPath('kws_dscnn'))],
    ['synthetic conv -> depthwise -> max pool -> flatten (16 positions) -> FC -> FC', () => flattenModel(1)],
  ];
  for (const [name, load] of models) {
    it(name, () => {
      const base = load();
      for (const fraction of [0.25, 0.5]) {
        const pruned = pruneChannels(base.graph, { fraction });
        expect(pruned.report.layers.length).toBeGreaterThan(0);
        const dead = withDeadChannels(base.graph, pruned.report);
        const channels = Object.fromEntries(pruned.report.layers.map((l) => [l.op, l.removed]));
        const prunedDead = pruneChannels(dead, { fraction: 0, channels }).graph;
        const inputs = compileModel(base).summary.inputs;
        const cases = Array.from({ length: 16 }, (_, k) => randomInputs(inputs, 300 + k));
        const want = outputsOf(dead, cases);
        const got = outputsOf(pruned.graph, cases);
        const gotDead = outputsOf(prunedDead, cases);
        // the dead variant's removed channels really change the outputs of the live model (not vacuous)
        const live = outputsOf(base.graph, cases);
        expect(live.some((o, i) => firstDifference(o, want[i] ?? []) !== undefined)).toBe(true);
        want.forEach((w, i) => {
          expect(firstDifference(w, got[i] ?? []), `case ${i} at ${fraction}`).toBeUndefined();
          expect(firstDifference(w, gotDead[i] ?? []), `case ${i} at ${fraction} (pruned dead)`).toBeUndefined();
        });
      }
    });
  }
});

describe('channel pruning: reference = host C = Cortex-M4, and it shrinks', () => {
  const targets: [string, () => LoadedModel, number][] = [
    ['ad_autoencoder', () => loadModel(modelPath('ad_autoencoder')), 0.5],
    ['kws_dscnn', () => loadModel(modelPath('kws_dscnn')), 0.5],
    ['syn_prune_flatten_m1', () => flattenModel(1), 0.5],
  ];
  for (const [name, load, fraction] of targets) {
    it(`${name} at ${fraction}`, async () => {
      const base = load();
      const { graph } = pruneChannels(base.graph, { fraction });
      const compiled = compileModel(loadedWith(base, graph, `ch${fraction}`), { prefix: `${name}_ch${Math.round(fraction * 100)}` });
      const cases = Array.from({ length: CASES }, (_, k) => randomInputs(compiled.summary.inputs, 400 + k));
      const expected = cases.map((inputs) => runReference(graph, compiled.layers, inputs));
      const mod = writeCModule(compiled, path.join(workDir, 'modules', compiled.prefix));
      const host = await runCasesOnHost(mod, cases, { sanitize: true, workDir });
      const m4 = await runCasesOnQemuMps2An386(mod, cases, { workDir });
      expected.forEach((e, i) => {
        expect(firstDifference(e, host[i] ?? []), `host case ${i}`).toBeUndefined();
        expect(firstDifference(e, m4[i] ?? []), `M4 case ${i}`).toBeUndefined();
      });
    }, 600_000);
  }

  it('kws_dscnn: MACs and weight bytes fall roughly with the fraction', () => {
    const base = loadModel(modelPath('kws_dscnn'));
    const dense = compileModel(base).summary;
    const lines = [`kws_dscnn dense: MACs ${dense.macs}, weight bytes ${dense.weightBytes}, arena ${dense.arenaBytes}`];
    for (const fraction of [0.25, 0.5]) {
      const s = compileModel(loadedWith(base, pruneChannels(base.graph, { fraction }).graph, `m${fraction}`)).summary;
      lines.push(
        `  ${fraction * 100}% channels: MACs ${s.macs} (${((100 * s.macs) / dense.macs).toFixed(1)}%), weight bytes ${s.weightBytes} (${((100 * s.weightBytes) / dense.weightBytes).toFixed(1)}%), arena ${s.arenaBytes}`,
      );
      // pointwise convs shrink on both sides ((1-f)^2), depthwise and the first conv on one (1-f)
      const keep = 1 - fraction;
      expect(s.macs).toBeLessThanOrEqual(dense.macs * keep + 1);
      expect(s.macs).toBeGreaterThanOrEqual(dense.macs * keep * keep - 1);
      expect(s.weightBytes).toBeLessThanOrEqual(dense.weightBytes * keep + 1);
      expect(s.weightBytes).toBeGreaterThanOrEqual(dense.weightBytes * keep * keep - 1);
    }
    console.log(lines.join('\n'));
  });
});

describe('channel-pruned models as .tflite', () => {
  it('write_tflite -> parse round trip keeps shapes, reshape targets and outputs (kws_dscnn, flatten model)', () => {
    for (const base of [loadModel(modelPath('kws_dscnn')), flattenModel(1)]) {
      const { graph } = pruneChannels(base.graph, { fraction: 0.5 });
      const bytes = writeTflite(graph);
      const back = parseTflite(bytes, 'pruned.tflite');
      expect(back.tensors.filter((t) => t.data).map((t) => t.shape)).toEqual(graph.tensors.filter((t) => t.data).map((t) => t.shape));
      const cases = Array.from({ length: 4 }, (_, k) => randomInputs(compileModel(base).summary.inputs, 500 + k));
      const want = outputsOf(graph, cases);
      outputsOf(back, cases).forEach((o, i) => expect(firstDifference(want[i] ?? [], o)).toBeUndefined());
    }
  });

  it('tinyforge quantize --prune-channels: fewer channels, compiles and validates on the host', async () => {
    const BIN = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
    const run = (...args: string[]): { code: number; stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    await tf.setBackend('cpu');
    const model = intentModel();
    await train(model, intentData(200, 1), 2);
    const modelJson = writeArtifacts(path.join(workDir, 'intent'), await saveLayersArtifacts(model));
    const samples = intentData(16, 2);
    const flat = new Float32Array(samples.x.length * (samples.x[0]?.length ?? 0));
    samples.x.forEach((x, i) => flat.set(x, i * x.length));
    const calib = path.join(workDir, 'calib.npy');
    writeFileSync(calib, encodeNpy([samples.x.length, ...samples.shape], flat));
    const out = path.join(workDir, 'intent_ch.tflite');
    const q = run('quantize', modelJson, '--calib', calib, '--prune-channels', '0.5', '--out', out, '--json');
    expect(q.code, q.stderr).toBe(0);
    const report = (JSON.parse(q.stdout) as { result: { pruneChannels: ChannelPruneReport } }).result.pruneChannels;
    expect(report.layers.length).toBeGreaterThan(0);
    for (const l of report.layers) expect(l.after).toBeLessThan(l.before);
    const graph = parseTflite(new Uint8Array(readFileSync(out)), out);
    for (const l of report.layers) expect(graph.tensors[graph.ops[l.op]?.inputs[1] as number]?.shape[0]).toBe(l.after);
    const v = run('validate', out, '--target', 'host', '--random', '4', '--sanitize', '--json');
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout).result).toMatchObject({ passed: 4, failed: 0 });
    const bad = run('quantize', modelJson, '--calib', calib, '--prune-channels', '1', '--out', out);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--prune-channels/);
  }, 300_000);
});
