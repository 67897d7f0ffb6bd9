// Post-training quantization of TF.js models: train tiny models on synthetic data, load them back
// through the TF.js frontends, quantize with calibration data, compile, and check the host C build
// against the TS reference bit for bit and int8 accuracy against float accuracy.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule } from '../compiler/compile.ts';
import { loadTfjsModel, runFloat, writeArtifacts, type FloatGraph } from '../compiler/frontends/tfjs/index.ts';
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
import { encodeNpy, loadCalibration, parseNpy } from '../compiler/quantize/calibration.ts';
import { dequantizeOutput, layerSqnr, ptqLoadedModel, quantizeFloatGraph, quantizeInput, type PtqOptions } from '../compiler/quantize/ptq.ts';
import { formatSqnr, quantizeTfjsModel } from '../compiler/quantize/index.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';

let dir: string;
let workDir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-tfjs-ptq-'));
  workDir = path.join(dir, 'work');
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function npyFile(name: string, d: Dataset, count: number): string {
  const n = Math.min(count, d.x.length);
  const flat = new Float32Array(n * (d.x[0] as Float32Array).length);
  for (let i = 0; i < n; i++) flat.set(d.x[i] as Float32Array, i * (d.x[0] as Float32Array).length);
  const file = path.join(dir, name);
  writeFileSync(file, encodeNpy([n, ...d.shape], flat));
  return file;
}

interface Measured {
  floatAcc: number;
  int8Acc: number;
  sqnr: string;
}

async function quantizeCompileRun(label: string, fg: FloatGraph, sha: string, calib: Float32Array[], test: Dataset, opts: PtqOptions = {}): Promise<Measured> {
  const q = quantizeFloatGraph(fg, calib.map((x) => [x]), opts);
  expect(q.outputs[0]).toMatchObject({ scale: 1 / 256, zeroPoint: -128 });
  const compiled = compileModel(ptqLoadedModel(q, `${label}/model.json`, sha), { prefix: label.replace(/\W/g, '_') });
  const mod = writeCModule(compiled, path.join(dir, `c-${label.replace(/\W/g, '_')}`));
  const cases = test.x.map((x) => [quantizeInput(x, q.inputs[0] as { scale: number; zeroPoint: number })]);
  const host = await runCasesOnHost(mod, cases, { sanitize: true, workDir });
  let floatOk = 0;
  let int8Ok = 0;
  cases.forEach((c, i) => {
    const ref = runReference(q.graph, compiled.layers, c);
    expect(Buffer.from(host[i]?.[0] as Uint8Array).equals(Buffer.from(ref[0] as Uint8Array)), `${label} case ${i}: host C vs TS reference`).toBe(true);
    const probs = dequantizeOutput(ref[0] as Uint8Array, q.outputs[0] as { scale: number; zeroPoint: number });
    const floatOut = runFloat(fg, [test.x[i] as Float32Array]).get(fg.outputs[0] as number) as Float32Array;
    if (argmax(probs) === test.y[i]) int8Ok++;
    if (argmax(floatOut) === test.y[i]) floatOk++;
  });
  const sq = layerSqnr(fg, q, calib.slice(0, 32).map((x) => [x]));
  for (const l of sq) expect(l.sqnrDb, `${label} ${l.source}`).toBeGreaterThan(15);
  const sqnr = sq.map((l) => `${l.source}(${l.kind}) ${l.sqnrDb.toFixed(1)} dB`).join(', ');
  const m = { floatAcc: floatOk / cases.length, int8Acc: int8Ok / cases.length, sqnr };
  console.log(`[ptq] ${label}: float ${(m.floatAcc * 100).toFixed(1)}% int8 ${(m.int8Acc * 100).toFixed(1)}% over ${cases.length} held-out; SQNR ${sqnr}`);
  return m;
}

describe('post-training quantization of TF.js models', () => {
  const specs: [string, () => tfl.LayersModel, (n: number, s: number) => Dataset, number][] = [
    ['intent', intentModel, (n, s) => intentData(n, s), 15],
    ['patterns', patternModel, patternData, 8],
    ['tones', toneModel, toneData, 10],
    ['residual', residualModel, patternData, 4],
  ];
  const trained = new Map<string, tfl.LayersModel>();

  for (const [label, make, data, epochs] of specs) {
    it(`${label}: layers model -> int8 C, bit-exact on host and within 2 points of float`, async () => {
      const model = make();
      const trainSet = data(label === 'patterns' || label === 'residual' ? 400 : 600, 1);
      await train(model, trainSet, epochs);
      trained.set(label, model);
      const file = writeArtifacts(path.join(dir, label), await saveLayersArtifacts(model));
      const loaded = await loadTfjsModel(file);
      const inputShape = (loaded.graph.tensors[loaded.graph.inputs[0] as number] as { shape: number[] }).shape;
      const calib = loadCalibration(npyFile(`${label}-calib.npy`, trainSet, 200), inputShape);
      expect(calib).toHaveLength(200);
      const m = await quantizeCompileRun(label, loaded.graph, loaded.sha256, calib, data(400, 1234));
      expect(m.floatAcc).toBeGreaterThan(0.8);
      expect(Math.abs(m.floatAcc - m.int8Acc)).toBeLessThanOrEqual(0.02);
    });
  }

  it('patterns: graph model (fused ops) quantizes to the same int8 graph as the layers model', async () => {
    const model = trained.get('patterns') as tfl.Sequential | undefined;
    if (!model) throw new Error('patterns model was not trained');
    const graphFile = writeArtifacts(path.join(dir, 'patterns-graph'), sequentialToGraphArtifacts(model));
    const layersFile = writeArtifacts(path.join(dir, 'patterns-layers'), await saveLayersArtifacts(model));
    const g = await loadTfjsModel(graphFile);
    const l = await loadTfjsModel(layersFile);
    const calib = patternData(100, 1).x;
    const qg = quantizeFloatGraph(g.graph, calib.map((x) => [x]));
    const ql = quantizeFloatGraph(l.graph, calib.map((x) => [x]));
    const kinds = (q: typeof qg): string[] => q.graph.ops.map((o) => o.kind);
    expect(kinds(qg)).toEqual(kinds(ql));
    const test = patternData(50, 42);
    const cg = compileModel(ptqLoadedModel(qg, graphFile, g.sha256));
    const cl = compileModel(ptqLoadedModel(ql, layersFile, l.sha256));
    for (const x of test.x) {
      const a = runReference(qg.graph, cg.layers, [quantizeInput(x, qg.inputs[0] as { scale: number; zeroPoint: number })]);
      const b = runReference(ql.graph, cl.layers, [quantizeInput(x, ql.inputs[0] as { scale: number; zeroPoint: number })]);
      expect(Buffer.from(a[0] as Uint8Array).equals(Buffer.from(b[0] as Uint8Array))).toBe(true);
    }
    const m = await quantizeCompileRun('patterns-graph-percentile', g.graph, g.sha256, calib, patternData(200, 4321), { method: 'percentile', percentile: 99.99 });
    expect(Math.abs(m.floatAcc - m.int8Acc)).toBeLessThanOrEqual(0.03);
  });

  it('quantizeTfjsModel: model.json + calibration folder -> compiled int8 model with an SQNR table', async () => {
    const model = trained.get('intent');
    if (!model) throw new Error('intent model was not trained');
    const file = writeArtifacts(path.join(dir, 'intent-e2e'), await saveLayersArtifacts(model));
    const folder = path.join(dir, 'intent-calib');
    mkdirSync(folder, { recursive: true });
    intentData(40, 9).x.forEach((x, i) => writeFileSync(path.join(folder, `s${String(i).padStart(3, '0')}.bin`), Buffer.from(x.buffer)));
    const q = await quantizeTfjsModel(file, folder);
    expect(q.model.sha256).toBe(q.source.sha256);
    expect(compileModel(q.model).summary.inputs[0]).toMatchObject({ dtype: 'int8', shape: [1, 32], scale: q.result.inputs[0]?.scale, zeroPoint: q.result.inputs[0]?.zeroPoint });
    expect(formatSqnr(q.sqnr).split('\n')).toHaveLength(3);
    expect(formatSqnr(q.sqnr)).toMatch(/fully_connected .* dB/);
  });

  it('quantizes per-channel conv (axis 0), depthwise (axis 3) and per-tensor FC with int32 biases', async () => {
    const model = trained.get('patterns');
    if (!model) throw new Error('patterns model was not trained');
    const { graph } = await loadTfjsModel(writeArtifacts(path.join(dir, 'patterns-q'), await saveLayersArtifacts(model)));
    const q = quantizeFloatGraph(graph, patternData(50, 2).x.map((x) => [x]));
    const [conv, dw] = q.graph.ops;
    const fc = q.graph.ops.find((o) => o.kind === 'fully_connected');
    const w = (op: typeof conv, i: number) => q.graph.tensors[op?.inputs[i] as number];
    expect(w(conv, 1)?.quant).toMatchObject({ axis: 0 });
    expect(w(conv, 1)?.quant?.scale).toHaveLength(8);
    expect(w(dw, 1)?.quant).toMatchObject({ axis: 3 });
    expect(w(dw, 1)?.quant?.scale).toHaveLength(8);
    expect(w(fc, 1)?.quant?.scale).toHaveLength(1);
    expect(w(conv, 2)?.dtype).toBe('int32');
    const inScale = q.graph.tensors[conv?.inputs[0] as number]?.quant?.scale[0] as number;
    expect(w(conv, 2)?.quant?.scale[3]).toBeCloseTo(inScale * (w(conv, 1)?.quant?.scale[3] as number), 12);
    for (const op of [conv, dw]) expect(new Int8Array((w(op, 1)?.data as Uint8Array).buffer).every((v) => v >= -127)).toBe(true);
  });
});

describe('calibration data', () => {
  const shape = [1, 8, 8, 1];
  it('reads .npy files and folders of .npy / raw float32 samples', () => {
    const d = patternData(5, 3);
    const f = npyFile('five.npy', d, 5);
    const s = loadCalibration(f, shape);
    expect(s).toHaveLength(5);
    expect(Array.from(s[2] as Float32Array)).toEqual(Array.from(d.x[2] as Float32Array));
    const folder = path.join(dir, 'calib-folder');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'a.npy'), encodeNpy([8, 8, 1], d.x[0] as Float32Array));
    writeFileSync(path.join(folder, 'b.bin'), Buffer.from((d.x[1] as Float32Array).buffer));
    writeFileSync(path.join(folder, 'notes.txt'), 'ignored');
    const fromFolder = loadCalibration(folder, shape);
    expect(fromFolder).toHaveLength(2);
    expect(Array.from(fromFolder[1] as Float32Array)).toEqual(Array.from(d.x[1] as Float32Array));
    expect(parseNpy(encodeNpy([2, 3], new Float32Array(6))).shape).toEqual([2, 3]);
  });

  it('rejects a wrong shape, NaN, empty data and non-float32 .npy with clear errors', () => {
    const wrong = path.join(dir, 'wrong.npy');
    writeFileSync(wrong, encodeNpy([3, 7, 7, 1], new Float32Array(147)));
    expect(() => loadCalibration(wrong, shape)).toThrow(/shape \[3,7,7,1\] does not match the model input \[1,8,8,1\] \(expected \[N, 8, 8, 1\]\)/);
    const nan = new Float32Array(128);
    nan[70] = NaN;
    const nanFile = path.join(dir, 'nan.npy');
    writeFileSync(nanFile, encodeNpy([2, 8, 8, 1], nan));
    expect(() => loadCalibration(nanFile, shape)).toThrow(/sample 1 has NaN at index 6; calibration data must be finite/);
    const empty = path.join(dir, 'empty-folder');
    mkdirSync(empty, { recursive: true });
    expect(() => loadCalibration(empty, shape)).toThrow(/calibration data is empty/);
    const emptyNpy = path.join(dir, 'empty.npy');
    writeFileSync(emptyNpy, encodeNpy([0, 8, 8, 1], new Float32Array(0)));
    expect(() => loadCalibration(emptyNpy, shape)).toThrow(/calibration data is empty/);
    const bigEndian = Buffer.from(encodeNpy([8, 8, 1], new Float32Array(64)));
    bigEndian.write("'>f4'", bigEndian.indexOf("'<f4'"), 'latin1');
    expect(() => parseNpy(bigEndian, 'be.npy')).toThrow(/dtype '>f4' is not supported; use float32/);
    const f64 = Buffer.from(encodeNpy([8, 8, 1], new Float32Array(64)));
    f64.write("'<f8'", f64.indexOf("'<f4'"), 'latin1');
    expect(() => parseNpy(f64, 'f64.npy')).toThrow(/holds 32 values but its shape \[8,8,1\] needs 64/);
    const raw = path.join(dir, 'short.raw');
    writeFileSync(raw, Buffer.alloc(100));
    expect(() => loadCalibration(raw, shape)).toThrow(/100 bytes is not a whole number of float32 samples of shape \[1,8,8,1\] \(256 bytes each\)/);
    expect(() => loadCalibration(path.join(dir, 'missing.npy'), shape)).toThrow(/no such calibration file or folder/);
  });

  it('quantizeFloatGraph rejects empty and mis-shaped calibration cases', async () => {
    const model = intentModel();
    const { graph } = await loadTfjsModel(writeArtifacts(path.join(dir, 'untrained-intent'), await saveLayersArtifacts(model)));
    expect(() => quantizeFloatGraph(graph, [])).toThrow(/calibration data is empty/);
    expect(() => quantizeFloatGraph(graph, [[new Float32Array(5)]])).toThrow(/calibration case 0 input 0 .* has 5 values; the input \[1,32\] needs 32/);
    const bad = new Float32Array(32);
    bad[4] = Infinity;
    expect(() => quantizeFloatGraph(graph, [[bad]])).toThrow(/sample 0 has Infinity at index 4/);
  });
});
