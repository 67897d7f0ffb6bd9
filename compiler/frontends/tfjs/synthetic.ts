// Tiny TF.js models trained on generated data, for tests and demos of the TF.js path, and a writer
// that turns a trained Sequential model into graph-model artifacts shaped like tfjs-converter output
// (_FusedConv2D, FusedDepthwiseConv2dNative, _FusedMatMul with fused_ops, Mean, Softmax, Identity).

import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { rng } from './rng.ts';

export { rng } from './rng.ts';

export interface Dataset {
  /** Samples, each one input tensor's values (batch 1, row-major). */
  x: Float32Array[];
  y: number[];
  /** Per-sample shape without the batch dimension. */
  shape: number[];
  classes: number;
}

/** Each intent owns this many consecutive keywords of the vocabulary. */
const INTENT_KEYWORDS = 6;
/** The chance that a word comes from the intent's keywords (else from the whole vocabulary). */
const INTENT_KEYWORD_SHARE = 0.5;

/** Bag-of-words token counts for `classes` intents over a `vocab`-word vocabulary. */
export function intentData(n: number, seed: number, vocab = 32, classes = 4): Dataset {
  const r = rng(seed);
  const x: Float32Array[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * classes);
    const v = new Float32Array(vocab);
    const words = 3 + Math.floor(r() * 6);
    for (let w = 0; w < words; w++) {
      const t = r() < INTENT_KEYWORD_SHARE ? c * INTENT_KEYWORDS + Math.floor(r() * INTENT_KEYWORDS) : Math.floor(r() * vocab);
      v[t] = (v[t] as number) + 1;
    }
    x.push(v);
    y.push(c);
  }
  return { x, y, shape: [vocab], classes };
}

/**
 * Accuracy of the Bayes-optimal classifier on intentData samples: the generator's own posterior
 * (equal class priors, words drawn independently), the ceiling no model trained on any amount of
 * data can pass on average. Ties go to the lowest class.
 */
export function intentBayesAccuracy(d: Dataset): number {
  const vocab = d.shape[0] as number;
  const logP = (t: number, c: number): number =>
    Math.log((t >= c * INTENT_KEYWORDS && t < (c + 1) * INTENT_KEYWORDS ? INTENT_KEYWORD_SHARE / INTENT_KEYWORDS : 0) + (1 - INTENT_KEYWORD_SHARE) / vocab);
  const right = d.x.filter((x, i) => {
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < d.classes; c++) {
      let score = 0;
      x.forEach((count, t) => {
        if (count > 0) score += count * logP(t, c);
      });
      if (score > bestScore) [best, bestScore] = [c, score];
    }
    return best === d.y[i];
  }).length;
  return right / d.x.length;
}

/** 8x8 single-channel patterns: horizontal stripes, vertical stripes, diagonal, blob; with noise. */
export function patternData(n: number, seed: number, size = 8): Dataset {
  const r = rng(seed);
  const x: Float32Array[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * 4);
    const phase = Math.floor(r() * 2);
    const cy = 2 + r() * (size - 4);
    const cx = 2 + r() * (size - 4);
    const v = new Float32Array(size * size);
    for (let yy = 0; yy < size; yy++) {
      for (let xx = 0; xx < size; xx++) {
        let s: number;
        if (c === 0) s = (yy + phase) % 2;
        else if (c === 1) s = (xx + phase) % 2;
        else if (c === 2) s = (xx + yy + phase) % 3 === 0 ? 1 : 0;
        else s = Math.hypot(yy - cy, xx - cx) < 2 ? 1 : 0;
        v[yy * size + xx] = s + (r() - 0.5) * 0.6;
      }
    }
    x.push(v);
    y.push(c);
  }
  return { x, y, shape: [size, size, 1], classes: 4 };
}

/**
 * 64-sample tones of three frequency bands (or `bands`, one class each) plus uniform noise of peak-to-peak
 * `noise` (the tone's amplitude is 0.5-1.5), shape [64, 1]. Closer bands and more noise make it harder.
 */
export function toneData(n: number, seed: number, length = 64, bands: readonly number[] = [2, 6, 14], noise = 0.4): Dataset {
  const r = rng(seed);
  const x: Float32Array[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * bands.length);
    const f = (bands[c] as number) + r() * 1.5;
    const ph = r() * 2 * Math.PI;
    const amp = 0.5 + r();
    const v = new Float32Array(length);
    for (let t = 0; t < length; t++) v[t] = amp * Math.sin((2 * Math.PI * f * t) / length + ph) + (r() - 0.5) * noise;
    x.push(v);
    y.push(c);
  }
  return { x, y, shape: [length, 1], classes: bands.length };
}

const init = (seed: number) => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed }) });

/** `seed` picks the initial weights (layer i gets seed + i), so repeated runs can start elsewhere. */
export function intentModel(vocab = 32, classes = 4, hidden = 16, seed = 1): tfl.Sequential {
  return tfl.sequential({
    name: 'intent',
    layers: [
      tfl.layers.dense({ inputShape: [vocab], units: hidden, activation: 'relu', ...init(seed) }),
      tfl.layers.dense({ units: classes, activation: 'softmax', ...init(seed + 1) }),
    ],
  });
}

export function patternModel(): tfl.Sequential {
  return tfl.sequential({
    name: 'patterns',
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', ...init(3) }),
      tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu', depthwiseInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu6', ...init(5) }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: 4, activation: 'softmax', ...init(6) }),
    ],
  });
}

/** `classes` must match toneData's band count; `seed` picks the initial weights (layer i gets seed + i). */
export function toneModel(length = 64, filters = 8, classes = 3, seed = 7): tfl.Sequential {
  return tfl.sequential({
    name: 'tones',
    layers: [
      tfl.layers.conv1d({ inputShape: [length, 1], filters, kernelSize: 7, strides: 2, padding: 'same', activation: 'relu', ...init(seed) }),
      tfl.layers.maxPooling1d({ poolSize: 2 }),
      tfl.layers.conv1d({ filters, kernelSize: 3, activation: 'relu', ...init(seed + 1) }),
      tfl.layers.flatten({}),
      tfl.layers.dense({ units: classes, activation: 'softmax', ...init(seed + 2) }),
    ],
  });
}

/** A functional model with a residual Add and a Multiply gate, on the 8x8 patterns. */
export function residualModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 1] });
  const a = tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', ...init(10) }).apply(input) as tfl.SymbolicTensor;
  const b = tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', ...init(11) }).apply(a) as tfl.SymbolicTensor;
  const sum = tfl.layers.add({}).apply([a, b]) as tfl.SymbolicTensor;
  const gate = tfl.layers.conv2d({ filters: 6, kernelSize: 1, activation: 'relu6', ...init(12) }).apply(sum) as tfl.SymbolicTensor;
  const prod = tfl.layers.multiply({}).apply([sum, gate]) as tfl.SymbolicTensor;
  const pooled = tfl.layers.averagePooling2d({ poolSize: 2 }).apply(prod) as tfl.SymbolicTensor;
  const flat = tfl.layers.flatten({}).apply(pooled) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 4, activation: 'softmax', ...init(13) }).apply(flat) as tfl.SymbolicTensor;
  return tfl.model({ name: 'residual', inputs: input, outputs: out });
}

function batchTensor(d: Dataset): tf.Tensor {
  const flat = new Float32Array(d.x.length * d.x[0]!.length);
  d.x.forEach((v, i) => flat.set(v, i * v.length));
  return tf.tensor(flat, [d.x.length, ...d.shape]);
}

/** Trains with Adam; `shuffle` false makes the run deterministic (weights are seeded, data is generated). */
export async function train(model: tfl.LayersModel, d: Dataset, epochs: number, learningRate = 0.01, shuffle = true): Promise<void> {
  await tf.setBackend('cpu');
  model.compile({ optimizer: tf.train.adam(learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const xs = batchTensor(d);
  const ys = tf.oneHot(tf.tensor1d(d.y, 'int32'), d.classes);
  await model.fit(xs, ys, { epochs, batchSize: 32, shuffle, verbose: 0 });
  xs.dispose();
  ys.dispose();
}

/** TF.js float predictions (one probability vector per sample). */
export function predict(model: { predict(x: tf.Tensor): unknown }, d: Dataset): Float32Array[] {
  const xs = batchTensor(d);
  const out = model.predict(xs) as tf.Tensor;
  const v = out.dataSync() as Float32Array;
  const k = v.length / d.x.length;
  xs.dispose();
  out.dispose();
  return d.x.map((_, i) => v.slice(i * k, (i + 1) * k));
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if ((v[i] as number) > (v[best] as number)) best = i;
  return best;
}

export async function saveLayersArtifacts(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      captured = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!captured) throw new Error('save handler was not called');
  return captured;
}

/** One GraphDef node as model.json holds it. */
export interface GraphNodeJson {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}
type NodeJson = GraphNodeJson;

/** A Const node for `t` (float32 or int32), as tfjs-converter writes it; its values go to the weight shard. */
export function constNode(name: string, t: tf.Tensor): GraphNodeJson {
  const dtype = t.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT';
  return { name, op: 'Const', attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensorShape: { dim: t.shape.map((d) => ({ size: String(d) })) } } } } };
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const listI = (v: number[]): unknown => ({ list: { i: v.map(String) } });
const listS = (v: string[]): unknown => ({ list: { s: v.map(b64) } });
const dtFloat = { type: 'DT_FLOAT' };

/**
 * Graph-model artifacts for a trained Sequential model, laid out as tfjs-converter writes them for a
 * Keras model. `fused` false writes Conv2D/MatMul + BiasAdd + Relu nodes instead of the fused forms.
 */
export function sequentialToGraphArtifacts(model: tfl.Sequential, fused = true, quantizeWeights?: WeightQuantization): tf.io.ModelArtifacts {
  const nodes: NodeJson[] = [];
  const weights: { name: string; tensor: tf.Tensor }[] = [];
  const inShape = model.inputs[0]!.shape.map((d) => (d === null ? -1 : d));
  nodes.push({ name: 'input', op: 'Placeholder', attr: { dtype: dtFloat, shape: { shape: { dim: inShape.map((d) => ({ size: String(d) })) } } } });
  let prev = 'input';
  const addConst = (name: string, t: tf.Tensor): string => {
    nodes.push(constNode(name, t));
    weights.push({ name, tensor: t });
    return name;
  };
  const act = (name: string, a: string | undefined, x: string): string => {
    if (!a || a === 'linear') return x;
    if (a === 'softmax') {
      nodes.push({ name: `${name}/Softmax`, op: 'Softmax', input: [x], attr: { T: dtFloat } });
      return `${name}/Softmax`;
    }
    const op = a === 'relu' ? 'Relu' : 'Relu6';
    nodes.push({ name: `${name}/${op}`, op, input: [x], attr: { T: dtFloat } });
    return `${name}/${op}`;
  };
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as Record<string, unknown>;
    const n = layer.name;
    const w = layer.getWeights();
    const a = typeof cfg['activation'] === 'string' ? (cfg['activation'] as string) : undefined;
    const pad = String(cfg['padding'] ?? 'valid').toUpperCase();
    const fusable = a === 'relu' || a === 'relu6' || a === 'linear' || a === 'softmax' || a === undefined;
    const fusedOps = ['BiasAdd', ...(a === 'relu' ? ['Relu'] : a === 'relu6' ? ['Relu6'] : [])];
    if (cls === 'Conv2D' || cls === 'DepthwiseConv2D') {
      const s = (cfg['strides'] as number[] | undefined) ?? [1, 1];
      const dw = cls === 'DepthwiseConv2D';
      const k = addConst(`${n}/${dw ? 'depthwise_kernel' : 'kernel'}`, w[0]!);
      const bias = addConst(`${n}/bias`, w[1]!);
      const attr = { T: dtFloat, strides: listI([1, s[0]!, s[1]!, 1]), padding: { s: b64(pad) }, data_format: { s: b64('NHWC') }, dilations: listI([1, 1, 1, 1]) };
      if (fused && fusable) {
        const op = dw ? 'FusedDepthwiseConv2dNative' : '_FusedConv2D';
        nodes.push({ name: n, op, input: [prev, k, bias], attr: { ...attr, fused_ops: listS(fusedOps), num_args: { i: '1' }, epsilon: { f: 0 } } });
        prev = a === 'softmax' ? act(n, a, n) : n;
      } else {
        nodes.push({ name: `${n}/conv`, op: dw ? 'DepthwiseConv2dNative' : 'Conv2D', input: [prev, k], attr });
        nodes.push({ name: `${n}/BiasAdd`, op: 'BiasAdd', input: [`${n}/conv`, bias], attr: { T: dtFloat, data_format: { s: b64('NHWC') } } });
        prev = act(n, a, `${n}/BiasAdd`);
      }
    } else if (cls === 'Conv1D') {
      // As tfjs-converter writes a Keras Conv1D: ExpandDims -> Conv2D (1 x k filter, folded to a
      // constant) -> Squeeze -> BiasAdd -> activation; the remapper cannot fuse across the Squeeze.
      const s = ((cfg['strides'] as number[] | number | undefined) ?? 1) as number[] | number;
      const stride = Array.isArray(s) ? (s[0] as number) : s;
      const kernel = w[0]!;
      const k = addConst(`${n}/conv1d/ExpandDims_1`, tf.reshape(kernel, [1, ...kernel.shape]));
      const axis = addConst(`${n}/conv1d/ExpandDims/dim`, tf.scalar(1, 'int32'));
      nodes.push({ name: `${n}/conv1d/ExpandDims`, op: 'ExpandDims', input: [prev, axis], attr: { T: dtFloat, Tdim: { type: 'DT_INT32' } } });
      nodes.push({ name: `${n}/conv1d`, op: 'Conv2D', input: [`${n}/conv1d/ExpandDims`, k], attr: { T: dtFloat, strides: listI([1, 1, stride, 1]), padding: { s: b64(pad) }, data_format: { s: b64('NHWC') }, dilations: listI([1, 1, 1, 1]) } });
      nodes.push({ name: `${n}/conv1d/Squeeze`, op: 'Squeeze', input: [`${n}/conv1d`], attr: { T: dtFloat, squeeze_dims: listI([1]) } });
      const bias = addConst(`${n}/bias`, w[1]!);
      nodes.push({ name: `${n}/BiasAdd`, op: 'BiasAdd', input: [`${n}/conv1d/Squeeze`, bias], attr: { T: dtFloat, data_format: { s: b64('NHWC') } } });
      prev = act(n, a, `${n}/BiasAdd`);
    } else if (cls === 'MaxPooling1D' || cls === 'AveragePooling1D') {
      const p = cfg['poolSize'] as number[] | number;
      const size = Array.isArray(p) ? (p[0] as number) : p;
      const st = (cfg['strides'] as number[] | number | undefined) ?? size;
      const stride = Array.isArray(st) ? (st[0] as number) : st;
      const axis = addConst(`${n}/ExpandDims/dim`, tf.scalar(1, 'int32'));
      nodes.push({ name: `${n}/ExpandDims`, op: 'ExpandDims', input: [prev, axis], attr: { T: dtFloat, Tdim: { type: 'DT_INT32' } } });
      nodes.push({ name: `${n}/pool`, op: cls === 'MaxPooling1D' ? 'MaxPool' : 'AvgPool', input: [`${n}/ExpandDims`], attr: { T: dtFloat, ksize: listI([1, 1, size, 1]), strides: listI([1, 1, stride, 1]), padding: { s: b64(pad) }, data_format: { s: b64('NHWC') } } });
      nodes.push({ name: n, op: 'Squeeze', input: [`${n}/pool`], attr: { T: dtFloat, squeeze_dims: listI([1]) } });
      prev = n;
    } else if (cls === 'Dense') {
      const k = addConst(`${n}/kernel`, w[0]!);
      const bias = addConst(`${n}/bias`, w[1]!);
      const attr = { T: dtFloat, transpose_a: { b: false }, transpose_b: { b: false } };
      if (fused && fusable) {
        nodes.push({ name: n, op: '_FusedMatMul', input: [prev, k, bias], attr: { ...attr, fused_ops: listS(fusedOps), num_args: { i: '1' }, epsilon: { f: 0 } } });
        prev = a === 'softmax' ? act(n, a, n) : n;
      } else {
        nodes.push({ name: `${n}/MatMul`, op: 'MatMul', input: [prev, k], attr });
        nodes.push({ name: `${n}/BiasAdd`, op: 'BiasAdd', input: [`${n}/MatMul`, bias], attr: { T: dtFloat, data_format: { s: b64('NHWC') } } });
        prev = act(n, a, `${n}/BiasAdd`);
      }
    } else if (cls === 'MaxPooling2D' || cls === 'AveragePooling2D') {
      const p = cfg['poolSize'] as number[];
      const s = (cfg['strides'] as number[] | undefined) ?? p;
      nodes.push({ name: n, op: cls === 'MaxPooling2D' ? 'MaxPool' : 'AvgPool', input: [prev], attr: { T: dtFloat, ksize: listI([1, p[0]!, p[1]!, 1]), strides: listI([1, s[0]!, s[1]!, 1]), padding: { s: b64(pad) }, data_format: { s: b64('NHWC') } } });
      prev = n;
    } else if (cls === 'GlobalAveragePooling2D') {
      const axes = addConst(`${n}/axes`, tf.tensor1d([1, 2], 'int32'));
      nodes.push({ name: n, op: 'Mean', input: [prev, axes], attr: { T: dtFloat, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } });
      prev = n;
    } else if (cls === 'Flatten') {
      const shape = addConst(`${n}/shape`, tf.tensor1d([-1, layer.outputShape[1] as number], 'int32'));
      nodes.push({ name: n, op: 'Reshape', input: [prev, shape], attr: { T: dtFloat, Tshape: { type: 'DT_INT32' } } });
      prev = n;
    } else {
      throw new Error(`sequentialToGraphArtifacts: layer ${cls} is not handled`);
    }
  }
  nodes.push({ name: 'Identity', op: 'Identity', input: [prev], attr: { T: dtFloat } });
  return graphModelArtifacts(nodes, weights, quantizeWeights);
}

/**
 * model.json contents of a graph model: the nodes, and one weight shard holding the constants in
 * order (compressed like tfjs-converter's --quantize_* options when asked; int32 stays int32).
 */
export function graphModelArtifacts(nodes: GraphNodeJson[], weights: readonly { name: string; tensor: tf.Tensor }[], quantizeWeights?: WeightQuantization): tf.io.ModelArtifacts {
  const encoded = weights.map((w) => {
    const v = w.tensor.dataSync();
    if (w.tensor.dtype === 'int32') return { spec: { name: w.name, shape: [...w.tensor.shape], dtype: 'int32' as const }, bytes: new Uint8Array(Int32Array.from(v as Int32Array).buffer) };
    const spec = { name: w.name, shape: [...w.tensor.shape], dtype: 'float32' as const };
    if (!quantizeWeights) return { spec, bytes: new Uint8Array(Float32Array.from(v as Float32Array).buffer) };
    const q = quantizeWeightValues(Float32Array.from(v as Float32Array), quantizeWeights);
    return { spec: { ...spec, quantization: q.quantization }, bytes: q.bytes };
  });
  const data = new Uint8Array(encoded.reduce((n, e) => n + e.bytes.byteLength, 0));
  let at = 0;
  for (const e of encoded) {
    data.set(e.bytes, at);
    at += e.bytes.byteLength;
  }
  return {
    modelTopology: { node: nodes, library: {}, versions: { producer: 1286 } },
    format: 'graph-model',
    generatedBy: 'tinyforge synthetic',
    convertedBy: 'tinyforge graphModelArtifacts',
    weightSpecs: encoded.map((e) => e.spec),
    weightData: data.buffer,
    signature: { inputs: { input: { name: 'input:0', dtype: 'DT_FLOAT' } }, outputs: { Identity: { name: 'Identity:0', dtype: 'DT_FLOAT' } } },
  };
}

/** tfjs-converter's weight compression (--quantize_uint8 / --quantize_uint16 / --quantize_float16). */
export type WeightQuantization = 'uint8' | 'uint16' | 'float16';

function float16Bits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0] as number;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  const mant = u & 0x7fffff;
  if (exp <= 0) return sign | (exp < -10 ? 0 : Math.round((mant | 0x800000) / 2 ** (14 - exp)));
  if (exp >= 31) return sign | 0x7c00;
  const h = sign | (exp << 10) | Math.round(mant / 8192);
  return h;
}

/**
 * Affine weight quantization as tfjs-converter writes it: the range is nudged so that 0.0 is
 * exactly representable, and the manifest carries {dtype, min, scale}; float16 stores halves.
 */
export function quantizeWeightValues(v: Float32Array, dtype: WeightQuantization): { bytes: Uint8Array; quantization: tf.io.WeightsManifestEntry['quantization'] } {
  if (dtype === 'float16') {
    const out = new Uint16Array(v.length);
    v.forEach((x, i) => {
      out[i] = float16Bits(x);
    });
    return { bytes: new Uint8Array(out.buffer), quantization: { dtype: 'float16' } };
  }
  const levels = dtype === 'uint8' ? 255 : 65535;
  const lo = Math.min(0, ...v);
  const hi = Math.max(0, ...v);
  const scale = hi > lo ? (hi - lo) / levels : 1;
  const zero = Math.round(-lo / scale);
  const min = -zero * scale;
  const q = Array.from(v, (x) => Math.max(0, Math.min(levels, Math.round((x - min) / scale))));
  const bytes = dtype === 'uint8' ? Uint8Array.from(q) : new Uint8Array(Uint16Array.from(q).buffer);
  return { bytes, quantization: { dtype, min, scale } };
}
