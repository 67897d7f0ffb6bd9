// Batch normalization folding in the TF.js frontends: layers BatchNormalization and graph
// FusedBatchNorm / FusedBatchNormV3 (and the Mul + Add form) after a Conv2D, DepthwiseConv2D or
// Dense fold into that layer's weights and bias; the folded float graph matches TF.js, quantizes,
// and runs bit-exact on host C; a batch normalization that cannot be folded is a one-line error.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule } from '../compiler/compile.ts';
import { writeTflite } from '../compiler/export/write_tflite.ts';
import { parseTflite } from '../compiler/frontends/tflite/index.ts';
import { TinyforgeError } from '../compiler/errors.ts';
import { graphDefToFloatGraph, loadGraphFloatGraph, type GraphNode } from '../compiler/frontends/tfjs/graph_frontend.ts';
import { loadTfjsModel, readArtifacts, runFloat, writeArtifacts, type FloatGraph } from '../compiler/frontends/tfjs/index.ts';
import { layersModelToFloatGraph } from '../compiler/frontends/tfjs/layers_frontend.ts';
import { constNode, graphModelArtifacts, patternData, saveLayersArtifacts, train, type GraphNodeJson } from '../compiler/frontends/tfjs/synthetic.ts';
import { ptqLoadedModel, quantizeFloatGraph, quantizeInput } from '../compiler/quantize/ptq.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { Prng } from './helpers/synthetic_models.ts';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-tfjs-bn-'));
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function samples(n: number, seed: number, size: number): Float32Array[] {
  const p = new Prng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: size }, () => p.unit() * 2 - 1));
}

function batch(xs: readonly Float32Array[], shape: number[]): tf.Tensor {
  const flat = new Float32Array(xs.length * (xs[0] as Float32Array).length);
  xs.forEach((x, i) => flat.set(x, i * x.length));
  return tf.tensor(flat, [xs.length, ...shape]);
}

/** Largest |runFloat - expected| over the cases (expected: the batched TF.js output). */
function maxDiff(fg: FloatGraph, xs: readonly Float32Array[], expected: Float32Array): number {
  const k = expected.length / xs.length;
  let worst = 0;
  xs.forEach((x, i) => {
    const got = runFloat(fg, [x]).get(fg.outputs[0] as number) as Float32Array;
    expect(got.length).toBe(k);
    got.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - (expected[i * k + j] as number)))));
  });
  return worst;
}

/** Random batch-norm statistics far from the identity, so a missed fold shows. */
function bnWeights(p: Prng, channels: number, scale: boolean, center: boolean): tf.Tensor[] {
  const vec = (lo: number, hi: number): tf.Tensor => tf.tensor1d(Float32Array.from({ length: channels }, () => lo + p.unit() * (hi - lo)));
  return [...(scale ? [vec(0.5, 2)] : []), ...(center ? [vec(-0.5, 0.5)] : []), vec(-0.3, 0.3), vec(0.2, 3)];
}

async function quantizedHostMatches(label: string, fg: FloatGraph, calib: Float32Array[], test: Float32Array[]): Promise<void> {
  const qr = quantizeFloatGraph(fg, calib.map((x) => [x]));
  const compiled = compileModel(ptqLoadedModel(qr, `${label}/model.json`, '0'.repeat(64)), { prefix: label });
  const mod = writeCModule(compiled, path.join(dir, `c-${label}`));
  const cases = test.map((x) => [quantizeInput(x, qr.inputs[0] as { scale: number; zeroPoint: number })]);
  const host = await runCasesOnHost(mod, cases, { sanitize: true, workDir: path.join(dir, 'work') });
  cases.forEach((c, i) => {
    const ref = runReference(qr.graph, compiled.layers, c);
    expect(Buffer.from(host[i]?.[0] as Uint8Array).equals(Buffer.from(ref[0] as Uint8Array)), `${label} case ${i}`).toBe(true);
  });
}

describe('BatchNormalization (layers) folds into the layer before it', () => {
  it('Conv2D -> BN -> ReLU, DepthwiseConv2D -> BN -> ReLU6, Dense -> BN (no scale) -> softmax', async () => {
    const p = new Prng(17);
    const input = tfl.input({ shape: [6, 6, 2] });
    const conv = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) });
    const bn1 = tfl.layers.batchNormalization({ epsilon: 0.01 });
    const dw = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: tfl.initializers.glorotUniform({ seed: 2 }) });
    const bn2 = tfl.layers.batchNormalization({ center: false });
    const dense = tfl.layers.dense({ units: 5, kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) });
    const bn3 = tfl.layers.batchNormalization({ scale: false });
    let y = bn1.apply(conv.apply(input)) as tfl.SymbolicTensor;
    y = tfl.layers.reLU({}).apply(y) as tfl.SymbolicTensor;
    y = bn2.apply(dw.apply(y)) as tfl.SymbolicTensor;
    y = tfl.layers.activation({ activation: 'relu6' }).apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.flatten({}).apply(y) as tfl.SymbolicTensor;
    y = bn3.apply(dense.apply(y)) as tfl.SymbolicTensor;
    y = tfl.layers.activation({ activation: 'softmax' }).apply(y) as tfl.SymbolicTensor;
    const model = tfl.model({ name: 'bn_layers', inputs: input, outputs: y });
    bn1.setWeights(bnWeights(p, 4, true, true));
    bn2.setWeights(bnWeights(p, 4, true, false));
    bn3.setWeights(bnWeights(p, 5, false, true));
    const file = writeArtifacts(path.join(dir, 'bn-layers'), await saveLayersArtifacts(model));
    const { graph } = await loadTfjsModel(file);
    expect(graph.ops.map((o) => o.kind)).toEqual(['conv2d', 'depthwise_conv2d', 'reshape', 'fully_connected', 'softmax']);
    expect(graph.ops.map((o) => ('activation' in o.attrs ? o.attrs.activation : '-'))).toEqual(['relu', 'relu6', '-', 'none', '-']);
    // The depthwise layer had no bias: folding gives it one.
    expect(graph.ops[1]?.inputs[2]).toBeGreaterThanOrEqual(0);
    const test = samples(16, 5, 72);
    expect(maxDiff(graph, test, (model.predict(batch(test, [6, 6, 2])) as tf.Tensor).dataSync() as Float32Array)).toBeLessThan(1e-4);
    await quantizedHostMatches('bn_layers', graph, samples(50, 6, 72), test);
  }, 120_000);

  it('a trained Conv2D -> BN -> ReLU model (non-trivial moving statistics) folds and matches predict', async () => {
    const model = tfl.sequential({
      name: 'bn_trained',
      layers: [
        tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: tfl.initializers.glorotUniform({ seed: 7 }) }),
        tfl.layers.batchNormalization({ momentum: 0.5 }),
        tfl.layers.reLU({}),
        tfl.layers.globalAveragePooling2d({}),
        tfl.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 8 }) }),
      ],
    });
    await train(model, patternData(128, 3), 2);
    const bn = model.layers[1] as tfl.layers.Layer;
    const [, , movingMean, movingVar] = bn.getWeights().map((t) => Array.from(t.dataSync()));
    expect(movingMean?.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    expect(movingVar?.some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);
    const graph = layersModelToFloatGraph(model, 'bn_trained');
    expect(graph.ops.map((o) => o.kind)).toEqual(['conv2d', 'average_pool2d', 'reshape', 'fully_connected', 'softmax']);
    const test = patternData(16, 9);
    expect(maxDiff(graph, test.x, (model.predict(batch(test.x, [8, 8, 1])) as tf.Tensor).dataSync() as Float32Array)).toBeLessThan(1e-4);
  }, 120_000);

  it('a BatchNormalization that cannot be folded runs as a per-channel MUL + ADD, matching predict and bit-exact on host C', async () => {
    const p = new Prng(11);
    const cases: Array<[string, tfl.LayersModel, number[]]> = [];
    const first = tfl.sequential({ layers: [tfl.layers.batchNormalization({ inputShape: [4], name: 'bn_first' }), tfl.layers.dense({ units: 2 })] });
    cases.push(['first', first, [4]]);
    const afterRelu = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 3, activation: 'relu', name: 'd' }), tfl.layers.batchNormalization({ name: 'bn_relu' })] });
    cases.push(['after_relu', afterRelu, [4]]);
    const afterPool = tfl.sequential({ layers: [tfl.layers.maxPooling2d({ inputShape: [4, 4, 2], poolSize: 2, name: 'pool' }), tfl.layers.batchNormalization({ name: 'bn_pool' })] });
    cases.push(['after_pool', afterPool, [4, 4, 2]]);
    // The conv output is read by the batch normalization and by another layer.
    const input = tfl.input({ shape: [4, 4, 1] });
    const c = tfl.layers.conv2d({ filters: 2, kernelSize: 1, name: 'c' }).apply(input) as tfl.SymbolicTensor;
    const n = tfl.layers.batchNormalization({ name: 'bn_shared' }).apply(c) as tfl.SymbolicTensor;
    const sum = tfl.layers.add({}).apply([c, n]) as tfl.SymbolicTensor;
    cases.push(['shared', tfl.model({ inputs: input, outputs: sum }), [4, 4, 1]]);
    for (const [label, model, shape] of cases) {
      // Non-trivial moving statistics, so the MUL and ADD vectors are not identities.
      for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
        const channels = (layer.getWeights()[0] as tf.Tensor).shape[0] as number;
        layer.setWeights(bnWeights(p, channels, true, true));
      }
      const fg = layersModelToFloatGraph(model, label);
      expect(fg.ops.map((o) => o.kind).filter((k) => k === 'mul' || k === 'add').length, label).toBeGreaterThanOrEqual(2);
      const size = shape.reduce((a, b) => a * b, 1);
      const xs = samples(8, 3, size);
      const expected = Float32Array.from((model.predict(batch(xs, shape)) as tf.Tensor).dataSync());
      expect(maxDiff(fg, xs, expected), label).toBeLessThan(1e-4);
      await quantizedHostMatches(`bn_${label}`, fg, samples(32, 5, size), xs);
      // Exported as TFLite's converter would (MUL and ADD with per-channel constant vectors), read back, same bytes.
      const qr = quantizeFloatGraph(fg, samples(32, 5, size).map((x) => [x]));
      const back = parseTflite(writeTflite(qr.graph), `${label}.tflite`);
      expect(back.ops.map((o) => o.kind)).toEqual(qr.graph.ops.map((o) => o.kind));
      const input = [quantizeInput(xs[0] as Float32Array, qr.inputs[0] as { scale: number; zeroPoint: number })];
      expect(runReference(back, compileModel({ path: 'x', bytes: new Uint8Array(0), sha256: '', graph: back }).layers, input)).toEqual(runReference(qr.graph, compileModel(ptqLoadedModel(qr, 'y/model.json', '0'.repeat(64))).layers, input));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Graph models

type NodeJson = GraphNodeJson;

const dtFloat = { type: 'DT_FLOAT' };
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const listI = (v: number[]): unknown => ({ list: { i: v.map(String) } });

class GraphWriter {
  readonly nodes: NodeJson[] = [];
  readonly weights: { name: string; tensor: tf.Tensor }[] = [];
  private readonly p = new Prng(31);

  constant(name: string, t: tf.Tensor): string {
    this.nodes.push(constNode(name, t));
    this.weights.push({ name, tensor: t });
    return name;
  }

  random(name: string, shape: number[], lo: number, hi: number): string {
    return this.constant(name, tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + this.p.unit() * (hi - lo)), shape));
  }

  node(name: string, op: string, input: string[], attr: Record<string, unknown> = {}): string {
    this.nodes.push({ name, op, input, attr: { T: dtFloat, ...attr } });
    return name;
  }

  artifacts(): tf.io.ModelArtifacts {
    return graphModelArtifacts(this.nodes, this.weights);
  }
}

const convAttr = (padding: string): Record<string, unknown> => ({ strides: listI([1, 1, 1, 1]), padding: { s: b64(padding) }, data_format: { s: b64('NHWC') }, dilations: listI([1, 1, 1, 1]) });

/** Conv2D -> FusedBatchNormV3 -> Relu, DepthwiseConv2dNative -> Mul -> Add -> Relu6, Mean, MatMul + BiasAdd -> FusedBatchNorm. */
function bnGraph(): GraphWriter {
  const g = new GraphWriter();
  g.nodes.push({ name: 'input', op: 'Placeholder', attr: { dtype: dtFloat, shape: { shape: { dim: [-1, 6, 6, 2].map((d) => ({ size: String(d) })) } } } });
  const k = g.random('conv/kernel', [3, 3, 2, 4], -0.6, 0.6);
  g.node('conv', 'Conv2D', ['input', k], convAttr('SAME'));
  const bn = (name: string, x: string, channels: number, op: string, eps: number): string =>
    g.node(name, op, [x, g.random(`${name}/gamma`, [channels], 0.5, 2), g.random(`${name}/beta`, [channels], -0.5, 0.5), g.random(`${name}/mean`, [channels], -0.3, 0.3), g.random(`${name}/variance`, [channels], 0.2, 3)], {
      epsilon: { f: eps },
      data_format: { s: b64('NHWC') },
      is_training: { b: false },
    });
  bn('bn1', 'conv', 4, 'FusedBatchNormV3', 0.001);
  g.node('relu1', 'Relu', ['bn1']);
  const dk = g.random('dw/kernel', [3, 3, 4, 1], -0.6, 0.6);
  g.node('dw', 'DepthwiseConv2dNative', ['relu1', dk], convAttr('SAME'));
  g.node('dw/mul', 'Mul', ['dw', g.random('dw/scale', [4], 0.5, 1.5)]);
  g.node('dw/add', 'AddV2', ['dw/mul', g.random('dw/shift', [4], -0.5, 0.5)]);
  g.node('relu2', 'Relu6', ['dw/add']);
  g.node('mean', 'Mean', ['relu2', g.constant('mean/axes', tf.tensor1d([1, 2], 'int32'))], { Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } });
  g.node('fc', 'MatMul', ['mean', g.random('fc/kernel', [4, 3], -1, 1)], { transpose_a: { b: false }, transpose_b: { b: false } });
  g.node('fc/bias', 'BiasAdd', ['fc', g.random('fc/b', [3], -0.2, 0.2)], { data_format: { s: b64('NHWC') } });
  bn('bn3', 'fc/bias', 3, 'FusedBatchNorm', 0.0001);
  g.node('Identity', 'Identity', ['bn3']);
  return g;
}

describe('FusedBatchNorm / FusedBatchNormV3 (graph) fold into the op before them', () => {
  it('Conv2D -> FusedBatchNormV3 -> Relu, depthwise -> Mul -> Add -> Relu6, MatMul + BiasAdd -> FusedBatchNorm', async () => {
    const file = writeArtifacts(path.join(dir, 'bn-graph'), bnGraph().artifacts());
    const { graph, model } = await loadGraphFloatGraph(readArtifacts(file), 'bn_graph');
    expect(graph.ops.map((o) => o.kind)).toEqual(['conv2d', 'depthwise_conv2d', 'average_pool2d', 'reshape', 'fully_connected']);
    expect(graph.ops.map((o) => ('activation' in o.attrs ? o.attrs.activation : '-'))).toEqual(['relu', 'relu6', 'none', '-', 'none']);
    const test = samples(16, 21, 72);
    expect(maxDiff(graph, test, (model.execute(batch(test, [6, 6, 2])) as tf.Tensor).dataSync() as Float32Array)).toBeLessThan(1e-4);
    await quantizedHostMatches('bn_graph', graph, samples(50, 22, 72), test);
  }, 120_000);

  it('a FusedBatchNormV3 in training mode is a one-line error naming the node', () => {
    const build = (edit: (g: GraphWriter) => void): { nodes: GraphNode[]; consts: Map<string, { shape: number[]; data: Float32Array }> } => {
      const g = bnGraph();
      edit(g);
      const consts = new Map(g.weights.map((w) => [w.name, { shape: [...w.tensor.shape], data: Float32Array.from(w.tensor.dataSync()) }]));
      return { nodes: g.nodes as GraphNode[], consts };
    };
    const fails = (edit: (g: GraphWriter) => void, pattern: RegExp): void => {
      const { nodes, consts } = build(edit);
      let message = '';
      try {
        graphDefToFloatGraph(nodes, consts, 'g');
      } catch (e) {
        expect(e).toBeInstanceOf(TinyforgeError);
        message = (e as Error).message;
      }
      expect(message).toMatch(pattern);
      expect(message).not.toMatch(/\n/);
    };
    // Training mode.
    fails((g) => {
      const n = g.nodes.find((x) => x.name === 'bn1') as NodeJson;
      n.attr = { ...n.attr, is_training: { b: true } };
    }, /node 'bn1' \(FusedBatchNormV3\): is_training is set/);
  });
});
