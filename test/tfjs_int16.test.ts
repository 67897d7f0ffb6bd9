// `tinyforge quantize --activations int16`: TFLite's 16x8 mode for TF.js models. The synthetic
// models of the int8 tests (and one with a batch normalization that cannot be folded, so MUL and
// ADD get constant operands) are quantized both ways from the same calibration data; the int16
// file must hold int16 activations with zero point 0, int8 weights and int64 biases, be at least as
// accurate as int8 on held-out data with a higher SQNR at every layer, and its host C build (under
// ASan/UBSan) must equal the TS reference on random int16 inputs.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../compiler/compile.ts';
import { writeTflite } from '../compiler/export/write_tflite.ts';
import { loadTfjsModel, runFloat, writeArtifacts, type FloatGraph } from '../compiler/frontends/tfjs/index.ts';
import { parseTflite, readTfliteStructure } from '../compiler/frontends/tflite/index.ts';
import {
  argmax,
  intentData,
  intentModel,
  patternData,
  patternModel,
  residualModel,
  saveLayersArtifacts,
  sequentialToGraphArtifacts,
  toneData,
  toneModel,
  train,
  type Dataset,
} from '../compiler/frontends/tfjs/synthetic.ts';
import { BuiltinOp, F } from '../compiler/frontends/tflite/schema.ts';
import type { Graph, Tensor } from '../compiler/ir/graph.ts';
import { quantizedAccuracy } from '../compiler/quantize/accuracy.ts';
import { encodeNpy } from '../compiler/quantize/calibration.ts';
import { dequantizeOutput, layerSqnr, ptqLoadedModel, quantizeFloatGraph, quantizeInput, type PtqResult } from '../compiler/quantize/ptq.ts';
import { runReference } from '../compiler/reference/run_reference.ts';

const BIN = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));

function tinyforge(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-tfjs-int16-'));
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function npyFile(name: string, d: Dataset, count: number): string {
  const n = Math.min(count, d.x.length);
  const per = (d.x[0] as Float32Array).length;
  const flat = new Float32Array(n * per);
  for (let i = 0; i < n; i++) flat.set(d.x[i] as Float32Array, i * per);
  const file = path.join(dir, name);
  writeFileSync(file, encodeNpy([n, ...d.shape], flat));
  return file;
}

const tensor = (g: Graph, id: number): Tensor => g.tensors[id] as Tensor;

/**
 * Checks what TFLite's 16x8 mode writes: every activation (and graph input/output) int16 with zero
 * point 0; CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED weights int8, biases int64 at
 * input_scale * weight_scale with zero point 0; SOFTMAX output 1/32768, 0; constant MUL / ADD
 * operands int16 symmetric. Returns how many constant MUL / ADD operands it saw.
 */
function expectInt16x8(g: Graph, label: string): number {
  const activations = new Set([...g.inputs, ...g.outputs, ...g.ops.map((o) => o.outputs[0] as number)]);
  for (const id of activations) {
    const t = tensor(g, id);
    expect(t.dtype, `${label} '${t.name}'`).toBe('int16');
    expect(t.quant?.zeroPoint, `${label} '${t.name}'`).toEqual([0]);
    expect(t.quant?.scale[0], `${label} '${t.name}'`).toBeGreaterThan(0);
  }
  let constants = 0;
  for (const op of g.ops) {
    const x = tensor(g, op.inputs[0] as number);
    const out = tensor(g, op.outputs[0] as number);
    if (op.kind === 'conv2d' || op.kind === 'depthwise_conv2d' || op.kind === 'fully_connected') {
      const w = tensor(g, op.inputs[1] as number);
      const b = tensor(g, op.inputs[2] as number);
      expect(w.dtype).toBe('int8');
      expect(b.dtype, `${label} '${b.name}'`).toBe('int64');
      expect(b.data?.byteLength).toBe(8 * (b.shape[0] as number));
      expect(new Set(b.quant?.zeroPoint)).toEqual(new Set([0]));
      w.quant?.scale.forEach((s, c) => expect(b.quant?.scale[c] as number).toBeCloseTo((x.quant?.scale[0] as number) * s, 12));
    }
    if (op.kind === 'softmax') expect(out.quant).toMatchObject({ scale: [1 / 32768], zeroPoint: [0] });
    if (op.kind === 'add' || op.kind === 'mul') {
      for (const id of op.inputs.filter((i) => tensor(g, i).data)) {
        const c = tensor(g, id);
        expect(c.dtype, `${label} constant '${c.name}'`).toBe('int16');
        expect(c.quant?.zeroPoint).toEqual([0]);
        constants++;
      }
    }
  }
  // Nothing int8 but weights, nothing int32 but PAD's paddings.
  const weights = new Set(g.ops.filter((o) => o.kind === 'conv2d' || o.kind === 'depthwise_conv2d' || o.kind === 'fully_connected').map((o) => o.inputs[1] as number));
  const paddings = new Set(g.ops.filter((o) => o.kind === 'pad').map((o) => o.inputs[1] as number));
  expect(g.tensors.filter((t) => t.dtype === 'int8' && !weights.has(t.id)).map((t) => t.name), label).toEqual([]);
  expect(g.tensors.filter((t) => t.dtype === 'int32' && !paddings.has(t.id)).map((t) => t.name), label).toEqual([]);
  return constants;
}

interface Compared {
  floatAcc: number;
  acc: Record<'int8' | 'int16', number>;
  /** Fraction of held-out samples whose argmax equals the float model's. */
  agree: Record<'int8' | 'int16', number>;
  sqnr: Record<'int8' | 'int16', number[]>;
  q: Record<'int8' | 'int16', PtqResult>;
}

/** Quantizes `fg` both ways from the same calibration data; accuracy on `test`, per-layer SQNR on the calibration data. */
function compare(label: string, fg: FloatGraph, calib: readonly Float32Array[], test: Dataset): Compared {
  const cases = calib.map((x) => [x]);
  const set = { x: test.x, labels: test.y };
  const floatOut = test.x.map((x) => argmax(runFloat(fg, [x]).get(fg.outputs[0] as number) as Float32Array));
  const floatAcc = floatOut.filter((c, i) => c === test.y[i]).length / test.x.length;
  const result = {} as Compared;
  for (const activations of ['int8', 'int16'] as const) {
    const q = quantizeFloatGraph(fg, cases, { activations });
    const layers = compileModel(ptqLoadedModel(q, `${label}/model.json`, '0'.repeat(64))).layers;
    let agree = 0;
    test.x.forEach((x, i) => {
      const [out] = runReference(q.graph, layers, [quantizeInput(x, q.inputs[0] as PtqResult['inputs'][number])]);
      if (argmax(dequantizeOutput(out as Uint8Array, q.outputs[0] as PtqResult['outputs'][number])) === floatOut[i]) agree++;
    });
    result.acc = { ...result.acc, [activations]: quantizedAccuracy(q.graph, q.inputs[0] as PtqResult['inputs'][number], set) };
    result.agree = { ...result.agree, [activations]: agree / test.x.length };
    result.sqnr = { ...result.sqnr, [activations]: layerSqnr(fg, q, cases.slice(0, 32)).map((l) => l.sqnrDb) };
    result.q = { ...result.q, [activations]: q };
  }
  result.floatAcc = floatAcc;
  const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
  const db = (v: number[]): string => v.map((s) => (Number.isFinite(s) ? s.toFixed(1) : 'exact')).join(' ');
  console.log(
    `[int16] ${label}: float ${pct(floatAcc)}, int8 ${pct(result.acc.int8)} (agrees with float ${pct(result.agree.int8)}), ` +
      `int16 ${pct(result.acc.int16)} (agrees ${pct(result.agree.int16)}) over ${test.x.length} held-out\n` +
      `        SQNR dB per layer (${fg.ops.map((o) => o.kind).join(', ')}):\n        int8  ${db(result.sqnr.int8)}\n        int16 ${db(result.sqnr.int16)}`,
  );
  return result;
}

function expectBetterThanInt8(label: string, m: Compared): void {
  // At least as accurate as int8 within 0.5 points (int8 can be lucky on a sample the float model
  // gets wrong: intent's int8 beats float by 2 of 400), and at least as faithful to the float model.
  expect(m.acc.int16 + 0.005 + 1e-9, label).toBeGreaterThanOrEqual(m.acc.int8);
  expect(m.agree.int16, label).toBeGreaterThanOrEqual(m.agree.int8);
  m.sqnr.int16.forEach((s, k) => {
    const s8 = m.sqnr.int8[k] as number;
    if (Number.isFinite(s8)) expect(s, `${label} layer ${k}: int16 ${s} dB vs int8 ${s8} dB`).toBeGreaterThan(s8);
  });
}

/** The .tflite written for `q`, validated on host C (ASan/UBSan) against the TS reference on random inputs, through the CLI. */
function validateOnHost(label: string, q: PtqResult): string {
  const file = path.join(dir, `${label}_16x8.tflite`);
  writeFileSync(file, writeTflite(q.graph));
  const r = tinyforge('validate', file, '--target', 'host', '--random', '8', '--sanitize');
  expect(r.code, `${label}: ${r.stdout}\n${r.stderr}`).toBe(0);
  expect(r.stdout).toMatch(/8\/8 cases match tinyforge TS reference byte for byte/);
  return file;
}

describe('quantize --activations int16 (TFLite 16x8) of TF.js models', () => {
  const specs: [string, () => tfl.LayersModel, (n: number, s: number) => Dataset, number][] = [
    ['intent', intentModel, (n, s) => intentData(n, s), 15],
    ['patterns', patternModel, patternData, 8],
    ['tones', toneModel, toneData, 10],
    ['residual', residualModel, patternData, 4],
  ];
  const trained = new Map<string, tfl.LayersModel>();
  const results = new Map<string, Compared>();

  for (const [label, make, data, epochs] of specs) {
    it(`${label}: int16 activations, int64 biases; as accurate as int8 with higher SQNR per layer; host C = TS reference`, async () => {
      const model = make();
      const trainSet = data(label === 'patterns' || label === 'residual' ? 400 : 600, 1);
      await train(model, trainSet, epochs, 0.01, false);
      trained.set(label, model);
      const { graph } = await loadTfjsModel(writeArtifacts(path.join(dir, label), await saveLayersArtifacts(model)));
      const m = compare(label, graph, trainSet.x.slice(0, 200), data(400, 1234));
      results.set(label, m);
      expectInt16x8(m.q.int16.graph, label);
      expect(m.q.int16.inputs[0]).toMatchObject({ dtype: 'int16', zeroPoint: 0 });
      expect(m.q.int16.outputs[0]).toMatchObject({ dtype: 'int16', scale: 1 / 32768, zeroPoint: 0 });
      expect(m.floatAcc).toBeGreaterThan(0.8);
      expectBetterThanInt8(label, m);
      const file = validateOnHost(label, m.q.int16);
      // The file reads back to the same int16x8 graph, with the int16 op versions.
      const back = parseTflite(new Uint8Array(readFileSync(file)), file);
      expectInt16x8(back, `${label} (read back)`);
    });
  }

  it('patterns as a graph model (fused ops) quantizes to int16x8 too', async () => {
    const model = trained.get('patterns') as tfl.Sequential | undefined;
    if (!model) throw new Error('patterns model was not trained');
    const { graph } = await loadTfjsModel(writeArtifacts(path.join(dir, 'patterns-graph'), sequentialToGraphArtifacts(model)));
    const m = compare('patterns-graph', graph, patternData(200, 1).x, patternData(400, 4321));
    expectInt16x8(m.q.int16.graph, 'patterns-graph');
    expectBetterThanInt8('patterns-graph', m);
    validateOnHost('patterns-graph', m.q.int16);
  });

  it('a batch normalization that cannot be folded: MUL and ADD with int16 symmetric constant operands', async () => {
    const model = tfl.sequential({
      name: 'intent_bn',
      layers: [
        tfl.layers.dense({ inputShape: [32], units: 16, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 21 }) }),
        // After the ReLU, so it stays a per-channel MUL + ADD.
        tfl.layers.batchNormalization({ name: 'bn_after_relu' }),
        tfl.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 22 }) }),
      ],
    });
    const trainSet = intentData(600, 1);
    await train(model, trainSet, 15, 0.01, false);
    const { graph } = await loadTfjsModel(writeArtifacts(path.join(dir, 'intent-bn'), await saveLayersArtifacts(model)));
    expect(graph.ops.map((o) => o.kind)).toEqual(['fully_connected', 'mul', 'add', 'fully_connected', 'softmax']);
    const m = compare('intent-bn', graph, trainSet.x.slice(0, 200), intentData(400, 1234));
    expect(expectInt16x8(m.q.int16.graph, 'intent-bn')).toBe(2);
    expectBetterThanInt8('intent-bn', m);
    validateOnHost('intent-bn', m.q.int16);
  });

  it('pad, pooling, reshape and concatenation share their parameters in int16 as in int8', async () => {
    const init = (seed: number) => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: seed + 100 }) });
    const input = tfl.input({ shape: [8, 8, 1] });
    const c0 = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', ...init(1) }).apply(input) as tfl.SymbolicTensor;
    const padded = tfl.layers.zeroPadding2d({ padding: [[1, 0], [2, 1]] }).apply(c0) as tfl.SymbolicTensor;
    const a = tfl.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu', ...init(2) }).apply(padded) as tfl.SymbolicTensor;
    const b = tfl.layers.conv2d({ filters: 2, kernelSize: 3, ...init(3) }).apply(padded) as tfl.SymbolicTensor;
    const cat = tfl.layers.concatenate({ axis: -1 }).apply([a, b]) as tfl.SymbolicTensor;
    const pooled = tfl.layers.maxPooling2d({ poolSize: 3 }).apply(tfl.layers.zeroPadding2d({ padding: 1 }).apply(cat) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
    const flat = tfl.layers.flatten({}).apply(pooled) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 4, activation: 'softmax', ...init(4) }).apply(flat) as tfl.SymbolicTensor;
    const { graph } = await loadTfjsModel(writeArtifacts(path.join(dir, 'padcat'), await saveLayersArtifacts(tfl.model({ name: 'padcat', inputs: input, outputs: out }))));
    expect(graph.ops.map((o) => o.kind)).toEqual(['conv2d', 'pad', 'conv2d', 'conv2d', 'concatenation', 'pad', 'max_pool2d', 'reshape', 'fully_connected', 'softmax']);
    const calib = patternData(60, 3).x.map((x) => [x]);
    const q = quantizeFloatGraph(graph, calib, { activations: 'int16' });
    expectInt16x8(q.graph, 'padcat');
    const quant = (id: number) => tensor(q.graph, id).quant;
    for (const op of q.graph.ops) {
      if (op.kind === 'pad' || op.kind === 'max_pool2d' || op.kind === 'reshape') expect(quant(op.outputs[0] as number), op.kind).toEqual(quant(op.inputs[0] as number));
      if (op.kind === 'concatenation') for (const id of op.inputs) expect(quant(id)).toEqual(quant(op.outputs[0] as number));
    }
    const q8 = quantizeFloatGraph(graph, calib);
    const s8 = layerSqnr(graph, q8, calib.slice(0, 32));
    const s16 = layerSqnr(graph, q, calib.slice(0, 32));
    console.log(`[int16] padcat SQNR dB per layer:\n        int8  ${s8.map((l) => l.sqnrDb.toFixed(1)).join(' ')}\n        int16 ${s16.map((l) => l.sqnrDb.toFixed(1)).join(' ')}`);
    s16.forEach((l, k) => expect(l.sqnrDb, `${l.kind} ${k}`).toBeGreaterThan((s8[k] as { sqnrDb: number }).sqnrDb));
    validateOnHost('padcat', q);
  });

  it('the writer gives int16 ops their 16x8 versions and ADD pot_scale_int16 = false', () => {
    if (!results.has('residual')) throw new Error('residual model was not quantized');
    // Neither is in the IR (TFLite Micro ignores both; TFLite checks them): read the raw flatbuffer.
    const raw = readTfliteStructure(new Uint8Array(readFileSync(path.join(dir, 'residual_16x8.tflite'))), 'residual_16x8.tflite');
    const versions = new Map(raw.operatorCodes.map((c) => [c.builtinCode, c.version]));
    expect(Object.fromEntries(versions)).toEqual({ [BuiltinOp.CONV_2D]: 4, [BuiltinOp.ADD]: 3, [BuiltinOp.MUL]: 4, [BuiltinOp.AVERAGE_POOL_2D]: 3, [BuiltinOp.RESHAPE]: 1, [BuiltinOp.FULLY_CONNECTED]: 7, [BuiltinOp.SOFTMAX]: 3 });
    const adds = raw.subgraph.operators.filter((o) => raw.operatorCodes[o.opcodeIndex]?.builtinCode === BuiltinOp.ADD);
    expect(adds.map((o) => o.builtinOptions?.bool(F.AddOptions.potScaleInt16, true, 'pot_scale_int16'))).toEqual([false]);
    // The same model in int8 keeps the int8 versions and leaves pot_scale_int16 out.
    const raw8 = readTfliteStructure(writeTflite((results.get('residual') as Compared).q.int8.graph), 'residual_int8.tflite');
    expect(Object.fromEntries(raw8.operatorCodes.map((c) => [c.builtinCode, c.version]))).toEqual({ [BuiltinOp.CONV_2D]: 3, [BuiltinOp.ADD]: 2, [BuiltinOp.MUL]: 2, [BuiltinOp.AVERAGE_POOL_2D]: 2, [BuiltinOp.RESHAPE]: 1, [BuiltinOp.FULLY_CONNECTED]: 4, [BuiltinOp.SOFTMAX]: 2 });
    const adds8 = raw8.subgraph.operators.filter((o) => raw8.operatorCodes[o.opcodeIndex]?.builtinCode === BuiltinOp.ADD);
    expect(adds8.map((o) => o.builtinOptions?.has(F.AddOptions.potScaleInt16))).toEqual([false]);
  });
});

describe('tinyforge quantize --activations', () => {
  it('int16 writes an int16x8 .tflite that compiles; a bad value is a one-line error with exit code 2', async () => {
    const model = intentModel();
    const trainSet = intentData(300, 7);
    await train(model, trainSet, 10, 0.01, false);
    const modelJson = writeArtifacts(path.join(dir, 'cli-intent'), await saveLayersArtifacts(model));
    const calib = npyFile('cli-calib.npy', trainSet, 100);
    const labels = path.join(dir, 'cli-labels.txt');
    writeFileSync(labels, trainSet.y.slice(0, 100).join('\n'));
    const out = path.join(dir, 'cli_16x8.tflite');
    const r = tinyforge('quantize', modelJson, '--calib', calib, '--labels', labels, '--activations', 'int16', '--prune', '0.5', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/per-layer SQNR of the int16 model/);
    expect(r.stdout).toMatch(/^ {2}int16 +\d+\.\d+ %/m);
    expect(r.stdout).toMatch(/^ {2}int16, pruned +\d+\.\d+ %/m);
    expect(r.stdout).toMatch(/pruned to 5\d\.\d% zero weights/);
    // The sparse kernels are int8 only: no flash comparison for an int16x8 model.
    expect(r.stdout).not.toMatch(/with sparse kernels/);
    expect(r.stdout).toMatch(/bytes, int16 activations, int8 weights\)/);
    expect(r.stdout).toMatch(/input: +.* int16 scale .* zero point 0/);
    const g = parseTflite(new Uint8Array(readFileSync(out)), out);
    expectInt16x8(g, 'cli');
    expect(compileModel({ path: out, bytes: new Uint8Array(0), sha256: '', graph: g }).summary.inputs[0]).toMatchObject({ dtype: 'int16', zeroPoint: 0 });
    const c = tinyforge('compile', out, '--board', 'qemu-mps2-an386', '--out', path.join(dir, 'cli-c'));
    expect(c.code, c.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'cli-c', 'cli_16x8.h'), 'utf8')).toMatch(/int16_t \*output0/);

    const bad = tinyforge('quantize', modelJson, '--calib', calib, '--activations', 'int4', '--out', path.join(dir, 'never.tflite'));
    expect(bad.code).toBe(2);
    const lines = bad.stderr.trim().split('\n');
    expect(lines, bad.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: --activations is int8 or int16, not 'int4'$/);
  });
});
