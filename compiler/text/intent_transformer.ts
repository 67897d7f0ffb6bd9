// A tiny transformer text classifier as a FloatGraph, trained with TF.js (float_train.ts) and
// quantized by the post-training quantizer like any other model:
//
//   ids [1, T] -> GATHER(embedding) + positions -> one encoder block:
//     self-attention (one head: Q, K, V and output projections as FULLY_CONNECTED with
//     keep_num_dims, scores = BATCH_MATMUL(Q, K^T), SOFTMAX with beta 1/sqrt(D), BATCH_MATMUL
//     with V), residual ADD, layer norm (MEAN, SQUARED_DIFFERENCE, ADD eps, RSQRT, SUB, MUL, MUL
//     gamma, ADD beta), ReLU feed-forward, residual ADD, layer norm
//   -> MEAN over the tokens -> FULLY_CONNECTED classifier -> SOFTMAX.
//
// There is no padding mask: [PAD] is a learned token like any other and the mean pooling covers
// all T positions, in training as on the device, so the two compute the same function.

import type { FloatGraph } from '../frontends/tfjs/float_graph.ts';
import { FloatGraphBuilder } from '../frontends/tfjs/float_graph.ts';
import { fineTune, predictBatch, predictLogits, type FineTuneOptions } from '../frontends/tfjs/float_train.ts';
import { rng } from '../frontends/tfjs/rng.ts';
import { TinyforgeError } from '../errors.ts';

export interface TransformerShape {
  vocab: number;
  seqLen: number;
  /** Model width (embedding and attention). */
  dim: number;
  /** Hidden width of the feed-forward layer. */
  ffn: number;
  classes: number;
}

export interface TextClassifier {
  graph: FloatGraph;
  shape: TransformerShape;
  /** Constants trained besides FULLY_CONNECTED weights and biases (embeddings, layer-norm scales). */
  alsoTrain: number[];
}

/** Layer norm over the last axis, as the ops TFLite Micro has for it. Returns the normalized tensor. */
function layerNorm(b: FloatGraphBuilder, name: string, x: number, dim: number, alsoTrain: number[]): number {
  const mean = b.mean(`${name}/mean`, x, [-1], true);
  const variance = b.mean(`${name}/variance`, b.binary('squared_difference', `${name}/squared_difference`, x, mean), [-1], true);
  const eps = b.addTensor(`${name}/epsilon`, [], Float32Array.of(1e-3));
  const inv = b.rsqrt(`${name}/rsqrt`, b.binary('add', `${name}/variance_eps`, variance, eps));
  const normalized = b.binary('mul', `${name}/normalized`, b.binary('sub', `${name}/centered`, x, mean), inv);
  const gamma = b.addTensor(`${name}/gamma`, [dim], new Float32Array(dim).fill(1));
  const beta = b.addTensor(`${name}/beta`, [dim], new Float32Array(dim));
  alsoTrain.push(gamma, beta);
  return b.binary('add', name, b.binary('mul', `${name}/scaled`, normalized, gamma), beta);
}

/** The untrained model, weights drawn from a seeded uniform Glorot distribution. */
export function intentTransformer(shape: TransformerShape, seed = 1): TextClassifier {
  const next = rng(seed);
  const b = new FloatGraphBuilder('intent_transformer');
  const uniform = (n: number, limit: number): Float32Array => Float32Array.from({ length: n }, () => (next() * 2 - 1) * limit);
  const glorot = (name: string, out: number, inp: number): number => b.addTensor(name, [out, inp], uniform(out * inp, Math.sqrt(6 / (out + inp))));
  const zeros = (name: string, n: number): number => b.addTensor(name, [n], new Float32Array(n));
  const dense = (name: string, x: number, out: number, inp: number, activation: 'none' | 'relu' = 'none', keep = true): number =>
    b.fullyConnected(name, x, glorot(`${name}/weights`, out, inp), zeros(`${name}/bias`, out), activation, keep);
  const alsoTrain: number[] = [];
  const { vocab, seqLen: T, dim: D, ffn, classes } = shape;

  const ids = b.input('token_ids', [1, T]);
  const table = b.addTensor('embedding/table', [vocab, D], uniform(vocab * D, 0.5));
  const positions = b.addTensor('embedding/positions', [1, T, D], uniform(T * D, 0.1));
  alsoTrain.push(table, positions);
  const x = b.binary('add', 'embedding', b.gather('embedding/tokens', table, ids), positions);

  const q = dense('attention/query', x, D, D);
  const k = dense('attention/key', x, D, D);
  const v = dense('attention/value', x, D, D);
  const weights = b.softmax('attention/weights', b.batchMatMul('attention/scores', q, k, false, true), 1 / Math.sqrt(D));
  const attended = dense('attention/output', b.batchMatMul('attention/context', weights, v), D, D);
  const h = layerNorm(b, 'attention/norm', b.binary('add', 'attention/residual', x, attended), D, alsoTrain);

  const hidden = dense('ffn/hidden', h, ffn, D, 'relu');
  const y = layerNorm(b, 'ffn/norm', b.binary('add', 'ffn/residual', h, dense('ffn/output', hidden, D, ffn)), D, alsoTrain);

  const pooled = b.mean('pool', y, [1], false);
  const logits = dense('classifier', pooled, classes, D, 'none', false);
  const graph = b.finish([b.softmax('scores', logits)]);
  return { graph, shape, alsoTrain };
}

/** Distillation from a (wider) teacher with the student's vocabulary, sequence length and classes. */
export interface TextTeacher {
  teacher: TextClassifier;
  /** Softmax temperature of both models' logits in the soft term (> 0). */
  temperature: number;
  /** Weight of the labels' cross-entropy; 1 - alpha goes to the teacher's softened outputs. */
  alpha: number;
}

export interface TrainTextOptions extends Omit<FineTuneOptions, 'alsoTrain'> {
  /** Train on the teacher's softened outputs mixed with the labels (fineTune's distillation loss). */
  distill?: TextTeacher;
}

/**
 * Trains the classifier on token-id samples (Adam, cross-entropy; with `distill`, the distillation
 * loss of float_train.ts against the teacher's logits); returns it with the new weights.
 * `masks` (from pruneTextClassifier) keep pruned weights at zero.
 */
export function trainTextClassifier(model: TextClassifier, x: readonly Float32Array[], labels: readonly number[], opts: TrainTextOptions): TextClassifier & { losses: number[] } {
  const { distill, ...tuning } = opts;
  if (distill) {
    const s = model.shape;
    const t = distill.teacher.shape;
    if (t.vocab !== s.vocab || t.seqLen !== s.seqLen || t.classes !== s.classes) {
      throw new TinyforgeError(`the teacher (vocabulary ${t.vocab}, sequence ${t.seqLen}, ${t.classes} classes) must read and predict what the student does (vocabulary ${s.vocab}, sequence ${s.seqLen}, ${s.classes} classes)`);
    }
  }
  const teacher = distill && { logits: predictLogits(distill.teacher.graph, x), temperature: distill.temperature, alpha: distill.alpha };
  const r = fineTune(model.graph, { x, labels, ...(teacher ? { teacher } : {}) }, { ...tuning, alsoTrain: model.alsoTrain });
  return { ...model, graph: r.graph, losses: r.losses };
}

/** Float predictions (class with the highest score) of token-id samples. */
export function predictClasses(graph: FloatGraph, x: readonly Float32Array[]): number[] {
  return predictBatch(graph, x).map((scores) => scores.indexOf(Math.max(...scores)));
}
