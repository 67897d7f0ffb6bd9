// TF.js frontends: layers models and graph models (converter-style fused ops) into the float IR.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../compiler/errors.ts';
import { loadGraphFloatGraph } from '../compiler/frontends/tfjs/graph_frontend.ts';
import { loadTfjsModel, readArtifacts, runFloat, writeArtifacts, type FloatGraph } from '../compiler/frontends/tfjs/index.ts';
import { layersModelToFloatGraph } from '../compiler/frontends/tfjs/layers_frontend.ts';
import {
  intentData,
  intentModel,
  patternData,
  patternModel,
  predict,
  residualModel,
  saveLayersArtifacts,
  sequentialToGraphArtifacts,
  toneData,
  toneModel,
  train,
  type Dataset,
} from '../compiler/frontends/tfjs/synthetic.ts';
import * as tfl from '@tensorflow/tfjs-layers';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-tfjs-fe-'));
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function maxDiff(fg: FloatGraph, d: Dataset, expected: Float32Array[]): number {
  let worst = 0;
  d.x.forEach((x, i) => {
    const out = runFloat(fg, [x]).get(fg.outputs[0] as number) as Float32Array;
    const e = expected[i] as Float32Array;
    expect(out.length).toBe(e.length);
    out.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - (e[k] as number)))));
  });
  return worst;
}

describe('TF.js layers frontend', () => {
  const cases: [string, () => tfl.Sequential, (n: number, s: number) => Dataset, string[]][] = [
    ['intent (dense)', intentModel, (n, s) => intentData(n, s), ['fully_connected', 'fully_connected', 'softmax']],
    ['patterns (conv2d, depthwise, pools)', patternModel, patternData, ['conv2d', 'depthwise_conv2d', 'max_pool2d', 'conv2d', 'average_pool2d', 'reshape', 'fully_connected', 'softmax']],
    ['tones (conv1d)', toneModel, toneData, ['reshape', 'conv2d', 'max_pool2d', 'conv2d', 'reshape', 'fully_connected', 'softmax']],
  ];
  for (const [label, make, data, kinds] of cases) {
    it(`maps ${label} saved as layers artifacts and matches tfjs predict`, async () => {
      const model = make();
      const d = data(200, 11);
      await train(model, d, 2);
      const file = writeArtifacts(path.join(dir, label.split(' ')[0] as string), await saveLayersArtifacts(model));
      const loaded = await loadTfjsModel(file);
      expect(loaded.format).toBe('layers-model');
      expect(loaded.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(loaded.graph.ops.map((o) => o.kind)).toEqual(kinds);
      const test = data(20, 99);
      expect(maxDiff(loaded.graph, test, predict(model, test))).toBeLessThan(1e-4);
    });
  }

  it('maps a functional model with Add and Multiply', async () => {
    const model = residualModel();
    const file = writeArtifacts(path.join(dir, 'residual'), await saveLayersArtifacts(model));
    const { graph } = await loadTfjsModel(file);
    expect(graph.ops.map((o) => o.kind)).toEqual(['conv2d', 'conv2d', 'add', 'conv2d', 'mul', 'average_pool2d', 'reshape', 'fully_connected', 'softmax']);
    const test = patternData(10, 8);
    expect(maxDiff(graph, test, predict(model, test))).toBeLessThan(1e-4);
  });

  it('names an unsupported layer and lists the supported ones', () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 3 }), tfl.layers.layerNormalization({})] });
    expect(() => layersModelToFloatGraph(model, 'ln')).toThrow(/layer 'layer_normalization\w*' \(LayerNormalization\) is not supported; supported layers: InputLayer, Dense/);
    const tanh = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 3, activation: 'tanh', name: 'd_tanh' })] });
    expect(() => layersModelToFloatGraph(tanh, 'tanh')).toThrow(/'d_tanh': activation 'tanh' of layer Dense is not supported/);
  });
});

describe('TF.js graph frontend', () => {
  let patterns: tfl.Sequential;
  let intent: tfl.Sequential;
  beforeAll(async () => {
    patterns = patternModel();
    await train(patterns, patternData(200, 5), 2);
    intent = intentModel();
    await train(intent, intentData(200, 5), 2);
  });

  for (const fused of [true, false]) {
    it(`maps a conv graph model with ${fused ? 'fused' : 'unfused'} ops and matches tfjs-converter's execution`, async () => {
      const file = writeArtifacts(path.join(dir, `patterns-graph-${fused}`), sequentialToGraphArtifacts(patterns, fused));
      const { graph, model } = await loadGraphFloatGraph(readArtifacts(file), 'patterns');
      expect(graph.ops.map((o) => o.kind)).toEqual(['conv2d', 'depthwise_conv2d', 'max_pool2d', 'conv2d', 'average_pool2d', 'reshape', 'fully_connected', 'softmax']);
      expect(graph.ops.map((o) => ('activation' in o.attrs ? o.attrs.activation : '-'))).toEqual(['relu', 'relu', 'none', 'relu6', 'none', '-', 'none', '-']);
      const test = patternData(20, 77);
      expect(maxDiff(graph, test, predict(model, test))).toBeLessThan(1e-4);
      expect(maxDiff(graph, test, predict(patterns, test))).toBeLessThan(1e-4);
      const loaded = await loadTfjsModel(file);
      expect(loaded.format).toBe('graph-model');
    });
  }

  it('maps MatMul + BiasAdd + Relu and _FusedMatMul', async () => {
    for (const fused of [true, false]) {
      const file = writeArtifacts(path.join(dir, `intent-graph-${fused}`), sequentialToGraphArtifacts(intent, fused));
      const { graph } = await loadTfjsModel(file);
      expect(graph.ops.map((o) => o.kind)).toEqual(['fully_connected', 'fully_connected', 'softmax']);
      const test = intentData(20, 3);
      expect(maxDiff(graph, test, predict(intent, test))).toBeLessThan(1e-4);
    }
  });

  it('names an unsupported node, its op and the supported list', async () => {
    const artifacts = sequentialToGraphArtifacts(intent, false);
    const nodes = (artifacts.modelTopology as { node: { name: string; op: string }[] }).node;
    const relu = nodes.find((n) => n.op === 'Relu');
    if (!relu) throw new Error('no Relu node');
    relu.op = 'Tanh';
    const file = writeArtifacts(path.join(dir, 'intent-tanh'), artifacts);
    await expect(loadTfjsModel(file)).rejects.toThrow(new RegExp(`node '${relu.name}' \\(Tanh\\): op Tanh is not supported; supported ops: Placeholder, Const, .*_FusedConv2D`));
  });

  it('reports a missing model.json', () => {
    expect(() => readArtifacts(path.join(dir, 'nope', 'model.json'))).toThrow(/no such model.json/);
  });

  it('reports a truncated shard, a malformed manifest and weights that do not fit their layers as model errors', async () => {
    const file = writeArtifacts(path.join(dir, 'broken'), await saveLayersArtifacts(intentModel()));
    const shard = path.join(dir, 'broken', 'weights.bin');
    const good = readFileSync(shard);
    writeFileSync(shard, good.subarray(0, 100));
    expect(() => readArtifacts(file)).toThrow(new RegExp(`the weight shards hold 100 bytes but the weights in weightsManifest need ${good.byteLength}: a shard is truncated`));
    writeFileSync(shard, good);
    const json = JSON.parse(readFileSync(file, 'utf8')) as { weightsManifest: unknown; modelTopology: { config: { layers: Array<{ config: { units: number } }> } } };
    writeFileSync(file, JSON.stringify({ ...json, weightsManifest: [{ paths: 'weights.bin' }] }));
    expect(() => readArtifacts(file)).toThrow(/weightsManifest must be a list of \{paths: \[\.\.\.\], weights: \[\.\.\.\]\} groups/);
    (json.modelTopology.config.layers[0] as { config: { units: number } }).config.units = 17;
    writeFileSync(file, JSON.stringify(json));
    const err = await loadTfjsModel(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toMatch(/TF\.js cannot load this layers model: Shape mismatch: \[32,17\] vs\. \[32,16\]/);
  });
});
