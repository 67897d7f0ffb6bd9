// TF.js layers models (tfjs-layers `loadLayersModel`) -> FloatGraph.

import type { Tensor as TfTensor } from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { TinyforgeError } from '../../errors.ts';
import type { Activation, Padding } from '../../ir/graph.ts';
import { FloatGraphBuilder, transpose, type FloatGraph } from './float_graph.ts';
import { artifactsHandler, type LocalArtifacts } from './io.ts';

export const SUPPORTED_LAYERS: readonly string[] = [
  'InputLayer',
  'Dense',
  'Conv2D',
  'Conv1D',
  'DepthwiseConv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'MaxPooling1D',
  'AveragePooling1D',
  'GlobalAveragePooling2D',
  'GlobalAveragePooling1D',
  'Flatten',
  'Reshape',
  'Activation (linear, relu, relu6, softmax)',
  'ReLU',
  'Softmax',
  'Dropout',
  'Add',
  'Multiply',
  'ZeroPadding2D',
  'Concatenate',
  'BatchNormalization (folded into the Conv2D, DepthwiseConv2D or Dense before it)',
];

interface SymbolicLike {
  id: number;
  shape: (number | null)[];
}
interface NodeLike {
  inputTensors: SymbolicLike[];
  outputTensors: SymbolicLike[];
}
interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): TfTensor[];
  inboundNodes: NodeLike[];
}

function pair(v: unknown, fallback: number): [number, number] {
  if (v === undefined || v === null) return [fallback, fallback];
  if (Array.isArray(v)) return [Number(v[0]), Number(v[v.length > 1 ? 1 : 0])];
  return [Number(v), Number(v)];
}

/** ZeroPadding2D's padding config: n, [h, w] or [[top, bottom], [left, right]]. */
function zeroPadding(v: unknown): [[number, number], [number, number]] | undefined {
  if (typeof v === 'number') return [[v, v], [v, v]];
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const side = (e: unknown): [number, number] | undefined =>
    typeof e === 'number' ? [e, e] : Array.isArray(e) && e.length === 2 ? [Number(e[0]), Number(e[1])] : undefined;
  const h = side(v[0]);
  const w = side(v[1]);
  return h && w ? [h, w] : undefined;
}

function activationName(v: unknown): string {
  if (v === undefined || v === null) return 'linear';
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && 'className' in (v as object)) return String((v as { className: unknown }).className);
  return String(v);
}

export async function loadLayersFloatGraph(local: LocalArtifacts): Promise<{ graph: FloatGraph; model: LayersModel }> {
  const model = await loadLayersModel(artifactsHandler(local.artifacts));
  return { graph: layersModelToFloatGraph(model, model.name || 'model'), model };
}

/** Walks a (loaded or freshly built) LayersModel. Batch dimension becomes 1. */
export function layersModelToFloatGraph(model: LayersModel, name: string): FloatGraph {
  const b: FloatGraphBuilder = new FloatGraphBuilder(name);
  const ids = new Map<number, number>();
  const inputs = model.inputs as unknown as SymbolicLike[];
  for (const [i, s] of inputs.entries()) {
    ids.set(s.id, b.input(model.inputNames[i] ?? `input_${i}`, s.shape.map((d) => d ?? 1)));
  }
  // How many layers read each symbolic tensor (and whether it is a model output): a batch
  // normalization rewrites its producer's output when it folds, so it must be the only reader.
  const readers = new Map<number, number>();
  for (const raw of model.layers) {
    for (const node of (raw as unknown as LayerLike).inboundNodes) for (const s of node.inputTensors) readers.set(s.id, (readers.get(s.id) ?? 0) + 1);
  }
  for (const s of model.outputs as unknown as SymbolicLike[]) readers.set(s.id, (readers.get(s.id) ?? 0) + 1);
  const tensorOf = (layer: LayerLike, s: SymbolicLike): number => {
    const id = ids.get(s.id);
    if (id === undefined) b.fail(layer.name, 'input comes from a layer this frontend has not seen (shared or nested layers are not supported)');
    return id;
  };
  for (const raw of model.layers) {
    const layer = raw as unknown as LayerLike;
    const cls = layer.getClassName();
    if (cls === 'InputLayer') continue;
    const node = layer.inboundNodes[layer.inboundNodes.length - 1];
    if (!node) b.fail(layer.name, 'layer is not connected');
    const xs = node.inputTensors.map((s) => tensorOf(layer, s));
    const x = xs[0] as number;
    const cfg = layer.getConfig();
    const weights = (): Float32Array[] => layer.getWeights().map((t) => t.dataSync() as Float32Array);
    const act = (v: unknown): { fused: Activation; softmax: boolean } => {
      const n = activationName(v);
      if (n === 'linear') return { fused: 'none', softmax: false };
      if (n === 'relu' || n === 'relu6') return { fused: n, softmax: false };
      if (n === 'softmax') return { fused: 'none', softmax: true };
      return b.fail(layer.name, `activation '${n}' of layer ${cls} is not supported (linear, relu, relu6, softmax)`);
    };
    const padding = (): Padding => {
      const p = String(cfg['padding'] ?? 'valid');
      if (p !== 'same' && p !== 'valid') b.fail(layer.name, `padding '${p}' is not supported`);
      return p;
    };
    const channelsLast = (): void => {
      const f = cfg['dataFormat'];
      if (f !== undefined && f !== 'channelsLast') b.fail(layer.name, `data format '${String(f)}' is not supported (channelsLast only)`);
    };
    const shapeOf = (id: number): number[] => b.tensor(id).shape;
    const withSoftmax = (y: number, a: { softmax: boolean }): number => (a.softmax ? b.softmax(`${layer.name}/softmax`, y) : y);
    let y: number;
    switch (cls) {
      case 'Dense': {
        const [k, bias] = weights();
        const kShape = layer.getWeights()[0]?.shape as number[];
        const w = transpose(k as Float32Array, kShape, [1, 0]);
        const wId = b.addTensor(`${layer.name}/kernel`, w.shape, w.data);
        const bId = bias ? b.addTensor(`${layer.name}/bias`, [bias.length], bias) : -1;
        let input = x;
        if (shapeOf(x).length !== 2) {
          if (shapeOf(x).slice(0, -1).some((d, i) => i > 0 && d !== 1)) b.fail(layer.name, `Dense on a rank-${shapeOf(x).length} input is not supported; flatten first`);
          input = b.reshape(`${layer.name}/flatten`, x, [1, -1]);
        }
        const a = act(cfg['activation']);
        y = withSoftmax(b.fullyConnected(layer.name, input, wId, bId, a.fused), a);
        break;
      }
      case 'Conv2D':
      case 'Conv1D':
      case 'DepthwiseConv2D': {
        channelsLast();
        const one = cls === 'Conv1D';
        const [k, bias] = weights();
        let kShape = layer.getWeights()[0]?.shape as number[];
        if (one) kShape = [1, ...kShape];
        const [sh, sw] = one ? [1, pair(cfg['strides'], 1)[0]] : pair(cfg['strides'], 1);
        const [dh, dw] = one ? [1, pair(cfg['dilationRate'], 1)[0]] : pair(cfg['dilationRate'], 1);
        const a = act(cfg['activation']);
        const attrs = { padding: padding(), strideH: sh, strideW: sw, dilationH: dh, dilationW: dw, activation: a.fused };
        const bId = bias ? b.addTensor(`${layer.name}/bias`, [bias.length], bias) : -1;
        let input = x;
        if (one) {
          const s = shapeOf(x);
          if (s.length !== 3) b.fail(layer.name, `Conv1D expects [1, L, C], got [${s}]`);
          input = b.reshape(`${layer.name}/as_2d`, x, [1, 1, s[1] as number, s[2] as number]);
        }
        if (cls === 'DepthwiseConv2D') {
          const [kh, kw, c, m] = kShape as [number, number, number, number];
          const wId = b.addTensor(`${layer.name}/depthwise_kernel`, [1, kh, kw, c * m], k as Float32Array);
          y = b.depthwiseConv2d(layer.name, input, wId, bId, attrs);
        } else {
          const w = transpose(k as Float32Array, kShape, [3, 0, 1, 2]);
          const wId = b.addTensor(`${layer.name}/kernel`, w.shape, w.data);
          y = b.conv2d(layer.name, input, wId, bId, attrs);
        }
        if (one) {
          const s = shapeOf(y);
          y = b.reshape(`${layer.name}/as_1d`, y, [1, s[2] as number, s[3] as number]);
        }
        y = withSoftmax(y, a);
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D':
      case 'MaxPooling1D':
      case 'AveragePooling1D': {
        channelsLast();
        const one = cls.endsWith('1D');
        const [fh, fw] = one ? [1, pair(cfg['poolSize'], 2)[0]] : pair(cfg['poolSize'], 2);
        const strides = cfg['strides'] ?? cfg['poolSize'];
        const [sh, sw] = one ? [1, pair(strides, fw)[0]] : pair(strides, fh);
        const kind = cls.startsWith('Max') ? 'max_pool2d' : 'average_pool2d';
        let input = x;
        if (one) {
          const s = shapeOf(x);
          input = b.reshape(`${layer.name}/as_2d`, x, [1, 1, s[1] as number, s[2] as number]);
        }
        y = b.pool(kind, layer.name, input, { padding: padding(), strideH: sh, strideW: sw, filterH: fh, filterW: fw, activation: 'none' });
        if (one) {
          const s = shapeOf(y);
          y = b.reshape(`${layer.name}/as_1d`, y, [1, s[2] as number, s[3] as number]);
        }
        break;
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalAveragePooling1D': {
        channelsLast();
        const s = shapeOf(x);
        const input = cls.endsWith('1D') ? b.reshape(`${layer.name}/as_2d`, x, [1, 1, s[1] as number, s[2] as number]) : x;
        const [, h, w, c] = shapeOf(input) as [number, number, number, number];
        const p = b.pool('average_pool2d', layer.name, input, { padding: 'valid', strideH: h, strideW: w, filterH: h, filterW: w, activation: 'none' });
        y = b.reshape(`${layer.name}/squeeze`, p, [1, c]);
        break;
      }
      case 'Flatten':
        y = b.reshape(layer.name, x, [1, -1]);
        break;
      case 'Reshape':
        y = b.reshape(layer.name, x, [1, ...(cfg['targetShape'] as number[])]);
        break;
      case 'Dropout':
        y = x;
        break;
      case 'Activation': {
        const a = act(cfg['activation']);
        y = a.softmax ? b.softmax(layer.name, x) : b.fuseActivation(layer.name, x, a.fused);
        break;
      }
      case 'ReLU': {
        const max = cfg['maxValue'];
        if (max !== undefined && max !== null && max !== 6) b.fail(layer.name, `ReLU with maxValue ${String(max)} is not supported (none or 6)`);
        y = b.fuseActivation(layer.name, x, max === 6 ? 'relu6' : 'relu');
        break;
      }
      case 'Softmax':
        y = b.softmax(layer.name, x);
        break;
      case 'ZeroPadding2D': {
        channelsLast();
        const p = zeroPadding(cfg['padding']);
        if (!p) b.fail(layer.name, `padding ${JSON.stringify(cfg['padding'])} is not understood`);
        y = b.pad(layer.name, x, [[0, 0], p[0], p[1], [0, 0]]);
        break;
      }
      case 'Concatenate': {
        const axis = Number(cfg['axis'] ?? -1);
        y = b.concatenation(layer.name, xs, axis);
        break;
      }
      case 'BatchNormalization': {
        const rank = shapeOf(x).length;
        const rawAxis = cfg['axis'] ?? -1;
        const axis = Array.isArray(rawAxis) && rawAxis.length === 1 ? Number(rawAxis[0]) : Number(rawAxis);
        if (axis !== -1 && axis !== rank - 1) b.fail(layer.name, `normalizes axis ${String(rawAxis)}; only the channel (last) axis can be folded`);
        const inSym = node.inputTensors[0] as SymbolicLike;
        // Folding rewrites the producer, so only an input nothing else reads can be folded into it.
        const exclusive = (readers.get(inSym.id) ?? 0) <= 1;
        const ws = weights();
        const scale = cfg['scale'] !== false;
        const center = cfg['center'] !== false;
        let k = 0;
        const gamma = scale ? (ws[k++] as Float32Array) : undefined;
        const beta = center ? (ws[k++] as Float32Array) : undefined;
        const mean = ws[k++];
        const variance = ws[k++];
        if (!mean || !variance) b.fail(layer.name, `has ${ws.length} weights; expected gamma, beta, moving mean and variance`);
        const channels = mean.length;
        y = b.batchNorm(
          layer.name,
          x,
          {
            gamma: gamma ?? new Float32Array(channels).fill(1),
            beta: beta ?? new Float32Array(channels),
            mean,
            variance,
            epsilon: Number(cfg['epsilon'] ?? 1e-3),
          },
          exclusive,
        );
        break;
      }
      case 'Add':
      case 'Multiply': {
        if (xs.length !== 2) b.fail(layer.name, `${cls} of ${xs.length} inputs is not supported (exactly 2)`);
        y = b.binary(cls === 'Add' ? 'add' : 'mul', layer.name, x, xs[1] as number);
        break;
      }
      default:
        throw new TinyforgeError(`${name}: layer '${layer.name}' (${cls}) is not supported; supported layers: ${SUPPORTED_LAYERS.join(', ')}`);
    }
    const outSym = node.outputTensors[0];
    if (outSym) ids.set(outSym.id, y);
  }
  const outputs = (model.outputs as unknown as SymbolicLike[]).map((s) => {
    const id = ids.get(s.id);
    if (id === undefined) throw new TinyforgeError(`${name}: model output ${s.id} was not produced`);
    return id;
  });
  return b.finish(outputs);
}
