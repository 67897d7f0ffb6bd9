// TF.js graph models (tfjs-converter output: a GraphDef as JSON + weight shards) -> FloatGraph.

import { io } from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { TinyforgeError } from '../../errors.ts';
import type { Activation, Padding } from '../../ir/graph.ts';
import { FloatGraphBuilder, transpose, type FloatGraph } from './float_graph.ts';
import { artifactsHandler, type LocalArtifacts } from './io.ts';

export const SUPPORTED_GRAPH_OPS: readonly string[] = [
  'Placeholder',
  'Const',
  'Identity',
  'Conv2D',
  '_FusedConv2D',
  'DepthwiseConv2dNative',
  'FusedDepthwiseConv2dNative',
  'MatMul',
  '_FusedMatMul',
  'BiasAdd',
  'Relu',
  'Relu6',
  'AvgPool',
  'MaxPool',
  'Mean (over H,W)',
  'Add',
  'AddV2',
  'Mul',
  'Reshape',
  'ExpandDims',
  'Squeeze',
  'Softmax',
  'Pad',
  'PadV2 (constant)',
  'ConcatV2',
  'FusedBatchNorm / FusedBatchNormV3 (folded into the Conv2D, DepthwiseConv2dNative or MatMul before it)',
];

interface AttrValue {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { s?: string[]; i?: (string | number)[]; f?: number[] };
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
}

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

const decodeS = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

export async function loadGraphFloatGraph(local: LocalArtifacts, name = 'model'): Promise<{ graph: FloatGraph; model: GraphModel }> {
  const model = await loadGraphModel(artifactsHandler(local.artifacts));
  const weights = io.decodeWeights(local.artifacts.weightData ?? new ArrayBuffer(0), local.artifacts.weightSpecs ?? []);
  const consts = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, t] of Object.entries(weights)) consts.set(k, { shape: [...t.shape], data: Float32Array.from(t.dataSync() as ArrayLike<number>) });
  const topology = local.artifacts.modelTopology as { node?: GraphNode[] };
  return { graph: graphDefToFloatGraph(topology.node ?? [], consts, name), model };
}

/** Walks GraphDef nodes from the graph outputs (nodes nobody consumes) back to the placeholders. */
export function graphDefToFloatGraph(nodes: GraphNode[], consts: Map<string, { shape: number[]; data: Float32Array }>, name: string): FloatGraph {
  const b: FloatGraphBuilder = new FloatGraphBuilder(name);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const clean = (input: string): string => input.replace(/^\^/, '').replace(/:0$/, '');
  const consumed = new Set<string>();
  for (const n of nodes) for (const i of n.input ?? []) consumed.add(clean(i));
  // How many inputs name each node: folding into a producer is only safe when nothing else reads it.
  const readers = new Map<string, number>();
  for (const n of nodes) for (const i of n.input ?? []) if (!i.startsWith('^')) readers.set(clean(i), (readers.get(clean(i)) ?? 0) + 1);
  const resolved = new Map<string, number>();
  const constIds = new Map<string, number>();
  const visiting = new Set<string>();

  const fail = (n: GraphNode, detail: string): never => {
    throw new TinyforgeError(`${name}: node '${n.name}' (${n.op}): ${detail}`);
  };
  const attr = (n: GraphNode, key: string): AttrValue | undefined => n.attr?.[key];
  const ints = (n: GraphNode, key: string, fallback: number[]): number[] => attr(n, key)?.list?.i?.map(Number) ?? fallback;
  const str = (n: GraphNode, key: string, fallback: string): string => {
    const v = attr(n, key)?.s;
    return v === undefined ? fallback : decodeS(v);
  };
  const constOf = (n: GraphNode, input: string | undefined, what: string): { shape: number[]; data: Float32Array } => {
    const c = input === undefined ? undefined : constOfName(clean(input));
    if (!c) return fail(n, `${what} must be a constant`);
    return c;
  };
  const constOfName = (nm: string): { shape: number[]; data: Float32Array } | undefined => {
    const c = consts.get(nm);
    if (c) return c;
    const node = byName.get(nm);
    if (node && (node.op === 'Identity' || node.op === 'StopGradient') && node.input?.[0]) return constOfName(clean(node.input[0]));
    return undefined;
  };
  const constTensor = (label: string, shape: number[], data: Float32Array): number => {
    const key = `${label}|${shape.join('x')}`;
    let id = constIds.get(key);
    if (id === undefined) {
      id = b.addTensor(label, shape, data);
      constIds.set(key, id);
    }
    return id;
  };
  const padding = (n: GraphNode): Padding => {
    const p = str(n, 'padding', 'VALID');
    if (p !== 'SAME' && p !== 'VALID') fail(n, `padding ${p} is not supported`);
    return p === 'SAME' ? 'same' : 'valid';
  };
  const nhwc = (n: GraphNode): void => {
    const f = str(n, 'data_format', 'NHWC');
    if (f !== 'NHWC') fail(n, `data format ${f} is not supported (NHWC only)`);
  };
  const fusedActivation = (n: GraphNode): { bias: boolean; act: Activation } => {
    const ops = (attr(n, 'fused_ops')?.list?.s ?? []).map(decodeS);
    let bias = false;
    let act: Activation = 'none';
    for (const o of ops) {
      if (o === 'BiasAdd') bias = true;
      else if (o === 'Relu') act = 'relu';
      else if (o === 'Relu6') act = 'relu6';
      else fail(n, `fused op ${o} is not supported (BiasAdd, Relu, Relu6)`);
    }
    return { bias, act };
  };
  const biasOf = (n: GraphNode, input: string | undefined, channels: number): number => {
    const c = constOf(n, input, 'bias');
    if (c.data.length !== channels) fail(n, `bias has ${c.data.length} values for ${channels} channels`);
    return constTensor(clean(input as string), [channels], c.data);
  };
  /** Puts a constant bias on the conv/FC op producing x, which has none yet. */
  const attachBias = (n: GraphNode, x: number, c: { data: Float32Array }): number => {
    const producer = b.producerThroughReshapes(x);
    if (!producer || (producer.kind !== 'conv2d' && producer.kind !== 'depthwise_conv2d' && producer.kind !== 'fully_connected') || producer.inputs[2] !== -1 || producer.attrs.activation !== 'none') {
      return fail(n, 'adding a constant is supported only as the bias of a preceding Conv2D, DepthwiseConv2dNative or MatMul');
    }
    const shape = b.tensor(x).shape;
    const channels = shape[shape.length - 1] as number;
    if (c.data.length !== channels) fail(n, `bias has ${c.data.length} values for ${channels} channels`);
    producer.inputs[2] = b.addTensor(n.name, [channels], c.data);
    return x;
  };

  /** Folding `n` into the op producing `input` rewrites that op's output, so `n` must be its only reader. */
  const exclusiveInput = (n: GraphNode, input: string, what: string): void => {
    // A model input is never foldable; foldBatchNorm says so more precisely.
    if (byName.get(clean(input))?.op === 'Placeholder') return;
    const count = readers.get(clean(input)) ?? 0;
    if (count > 1) fail(n, `${what} cannot be folded into '${clean(input)}': ${count} nodes read its output`);
  };

  const resolve = (nm: string): number => {
    const done = resolved.get(nm);
    if (done !== undefined) return done;
    const n = byName.get(nm);
    if (!n) throw new TinyforgeError(`${name}: node '${nm}' is referenced but not defined`);
    if (visiting.has(nm)) fail(n, 'the graph has a cycle');
    visiting.add(nm);
    const ins = (n.input ?? []).filter((i) => !i.startsWith('^'));
    const x = (i = 0): number => resolve(clean(ins[i] ?? fail(n, `missing input ${i}`)));
    let y: number;
    switch (n.op) {
      case 'Placeholder': {
        const dims = attr(n, 'shape')?.shape?.dim ?? [];
        const shape = dims.map((d) => Number(d.size ?? -1)).map((d, i) => (d < 0 ? (i === 0 ? 1 : fail(n, `dimension ${i} is unknown`)) : d));
        y = b.input(n.name, shape);
        break;
      }
      case 'Const':
        return fail(n, 'a constant is used as an activation (only weights, biases and shapes may be constants)');
      case 'Identity':
      case 'StopGradient':
        y = x();
        break;
      case 'Conv2D':
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative': {
        nhwc(n);
        const input = x();
        const f = constOf(n, ins[1], 'filter');
        const fused = n.op.startsWith('_Fused') || n.op.startsWith('Fused') ? fusedActivation(n) : { bias: false, act: 'none' as Activation };
        const [, sh, sw] = ints(n, 'strides', [1, 1, 1, 1]);
        const [, dh, dw] = ints(n, 'dilations', [1, 1, 1, 1]);
        const attrs = { padding: padding(n), strideH: sh ?? 1, strideW: sw ?? 1, dilationH: dh ?? 1, dilationW: dw ?? 1, activation: fused.act };
        if (f.shape.length !== 4) fail(n, `filter shape [${f.shape}] is not 4-D`);
        const [kh, kw, ci, co] = f.shape as [number, number, number, number];
        if (n.op.includes('Depthwise')) {
          const bias = fused.bias ? biasOf(n, ins[2], ci * co) : -1;
          y = b.depthwiseConv2d(n.name, input, constTensor(clean(ins[1] as string), [1, kh, kw, ci * co], f.data), bias, attrs);
        } else {
          const w = transpose(f.data, f.shape, [3, 0, 1, 2]);
          const bias = fused.bias ? biasOf(n, ins[2], co) : -1;
          y = b.conv2d(n.name, input, constTensor(clean(ins[1] as string), w.shape, w.data), bias, attrs);
        }
        break;
      }
      case 'MatMul':
      case '_FusedMatMul': {
        if (attr(n, 'transpose_a')?.b) fail(n, 'transpose_a is not supported');
        const input = x();
        const f = constOf(n, ins[1], 'weight matrix');
        if (f.shape.length !== 2) fail(n, `weight matrix shape [${f.shape}] is not 2-D`);
        const w = attr(n, 'transpose_b')?.b ? { data: f.data, shape: f.shape } : transpose(f.data, f.shape, [1, 0]);
        const fused = n.op === '_FusedMatMul' ? fusedActivation(n) : { bias: false, act: 'none' as Activation };
        const bias = fused.bias ? biasOf(n, ins[2], w.shape[0] as number) : -1;
        y = b.fullyConnected(n.name, input, constTensor(clean(ins[1] as string), w.shape, w.data), bias, fused.act);
        break;
      }
      case 'BiasAdd':
        nhwc(n);
        y = attachBias(n, x(), constOf(n, ins[1], 'bias'));
        break;
      case 'Relu':
      case 'Relu6':
        y = b.fuseActivation(n.name, x(), n.op === 'Relu' ? 'relu' : 'relu6');
        break;
      case 'AvgPool':
      case 'MaxPool': {
        nhwc(n);
        const [, kh, kw] = ints(n, 'ksize', [1, 1, 1, 1]);
        const [, sh, sw] = ints(n, 'strides', [1, 1, 1, 1]);
        y = b.pool(n.op === 'AvgPool' ? 'average_pool2d' : 'max_pool2d', n.name, x(), {
          padding: padding(n),
          strideH: sh ?? 1,
          strideW: sw ?? 1,
          filterH: kh ?? 1,
          filterW: kw ?? 1,
          activation: 'none',
        });
        break;
      }
      case 'Mean': {
        const input = x();
        const axes = Array.from(constOf(n, ins[1], 'axes').data).map((a) => (a < 0 ? a + b.tensor(input).shape.length : a)).sort();
        const s = b.tensor(input).shape;
        if (s.length !== 4 || axes.join() !== '1,2') fail(n, `only a mean over H,W of a 4-D tensor is supported (axes [${axes}] of [${s}])`);
        const [, h, w, c] = s as [number, number, number, number];
        const p = b.pool('average_pool2d', n.name, input, { padding: 'valid', strideH: h, strideW: w, filterH: h, filterW: w, activation: 'none' });
        y = attr(n, 'keep_dims')?.b ? p : b.reshape(`${n.name}/squeeze`, p, [1, c]);
        break;
      }
      case 'Add':
      case 'AddV2':
      case 'Mul': {
        const c0 = constOfName(clean(ins[0] ?? ''));
        const c1 = constOfName(clean(ins[1] ?? ''));
        if (c0 || c1) {
          const k = c0 ? 1 : 0;
          const input = x(k);
          const c = (c0 ?? c1) as { data: Float32Array };
          const producer = b.producerThroughReshapes(input);
          const convLike = producer?.kind === 'conv2d' || producer?.kind === 'depthwise_conv2d' || producer?.kind === 'fully_connected';
          const hasBias = convLike && (producer.inputs[2] ?? -1) >= 0;
          if (n.op === 'Mul' || hasBias) {
            // A per-channel Mul (and the Add after it) is how an unfused batch normalization
            // reaches the graph: it folds into the producer's weights and bias.
            exclusiveInput(n, ins[k] as string, n.op === 'Mul' ? 'the constant multiplier' : 'the constant addend');
            y = n.op === 'Mul' ? b.foldAffine(n.name, input, c.data, undefined) : b.foldAffine(n.name, input, undefined, c.data);
          } else {
            y = attachBias(n, input, c);
          }
        } else {
          y = b.binary(n.op === 'Mul' ? 'mul' : 'add', n.name, x(0), x(1));
        }
        break;
      }
      case 'Reshape': {
        const input = x();
        const shape = Array.from(constOf(n, ins[1], 'shape').data);
        if (shape[0] === -1) shape[0] = 1;
        y = b.reshape(n.name, input, shape);
        break;
      }
      case 'ExpandDims': {
        // tfjs-converter's form of Conv1D and 1-D pooling: ExpandDims -> 2-D op -> Squeeze.
        const input = x();
        const s = b.tensor(input).shape;
        const axisValues = constOf(n, ins[1], 'axis').data;
        if (axisValues.length !== 1) fail(n, 'axis must be a single value');
        const axis = (axisValues[0] as number) < 0 ? (axisValues[0] as number) + s.length + 1 : (axisValues[0] as number);
        if (!Number.isInteger(axis) || axis < 1 || axis > s.length) fail(n, `axis ${axisValues[0]} cannot insert a dimension after the batch of [${s}]`);
        y = b.reshape(n.name, input, [...s.slice(0, axis), 1, ...s.slice(axis)]);
        break;
      }
      case 'Squeeze': {
        const input = x();
        const s = b.tensor(input).shape;
        const dims = ints(n, 'squeeze_dims', []).map((d) => (d < 0 ? d + s.length : d));
        const keep = s.filter((d, i) => (dims.length === 0 ? d !== 1 || i === 0 : !dims.includes(i) || i === 0));
        y = b.reshape(n.name, input, keep);
        break;
      }
      case 'Softmax':
        y = b.softmax(n.name, x());
        break;
      case 'Pad':
      case 'PadV2': {
        const input = x();
        const p = constOf(n, ins[1], 'paddings');
        const rank = b.tensor(input).shape.length;
        if (p.data.length !== 2 * rank) fail(n, `paddings [${p.shape}] do not hold two values per dimension of the rank-${rank} input`);
        const pairs = Array.from({ length: rank }, (_, d): [number, number] => [p.data[2 * d] as number, p.data[2 * d + 1] as number]);
        let value = 0;
        if (n.op === 'PadV2') {
          const c = constOf(n, ins[2], 'constant_values');
          if (c.data.length !== 1) fail(n, 'constant_values must be a scalar');
          value = c.data[0] as number;
        }
        y = b.pad(n.name, input, pairs, value);
        break;
      }
      case 'ConcatV2': {
        // Inputs: N tensors, then the axis (a constant scalar).
        if (ins.length < 2) fail(n, 'needs at least one tensor and an axis');
        const axisData = constOf(n, ins[ins.length - 1], 'axis').data;
        if (axisData.length !== 1) fail(n, 'axis must be a scalar');
        const xs = ins.slice(0, -1).map((_, i) => x(i));
        y = b.concatenation(n.name, xs, axisData[0] as number);
        break;
      }
      case 'FusedBatchNorm':
      case 'FusedBatchNormV3': {
        nhwc(n);
        if (attr(n, 'is_training')?.b) fail(n, 'is_training is set; only inference-mode batch normalization (moving statistics) can be folded');
        const input = x();
        // Folded into the op before it when that is its only reader, else a per-channel MUL + ADD.
        const exclusive = (readers.get(clean(ins[0] as string)) ?? 0) <= 1;
        const v = (i: number, what: string): Float32Array => constOf(n, ins[i], what).data;
        y = b.batchNorm(n.name, input, { gamma: v(1, 'scale'), beta: v(2, 'offset'), mean: v(3, 'mean'), variance: v(4, 'variance'), epsilon: attr(n, 'epsilon')?.f ?? 0.0001 }, exclusive);
        break;
      }
      default:
        return fail(n, `op ${n.op} is not supported; supported ops: ${SUPPORTED_GRAPH_OPS.join(', ')}`);
    }
    visiting.delete(nm);
    resolved.set(nm, y);
    return y;
  };

  // Placeholders first, in graph order, so input order is stable.
  for (const n of nodes) if (n.op === 'Placeholder') resolve(n.name);
  const outputs: number[] = [];
  for (const n of nodes) {
    if (consumed.has(n.name) || n.op === 'Const' || n.op === 'NoOp' || n.op === 'Placeholder') continue;
    outputs.push(resolve(n.name));
  }
  if (outputs.length === 0) throw new TinyforgeError(`${name}: the graph has no outputs`);
  return b.finish(outputs);
}
