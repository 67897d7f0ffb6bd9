// Batched forward pass and fine-tuning of a FloatGraph with TF.js ops. Pruning happens on the
// FloatGraph (frontends of either format produce one), so training it directly lets graph models
// be fine-tuned too, not only layers models, and keeps pruned weights at exactly zero: after every
// optimizer step each masked weight is multiplied by its 0/1 mask.

import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { TinyforgeError } from '../../errors.ts';
import type { Activation } from '../../ir/graph.ts';
import type { FloatGraph, FloatOp, FloatTensor } from './float_graph.ts';
import { mixupBatch } from './mixup.ts';
import { rng } from './rng.ts';

type Params = ReadonlyMap<number, tf.Tensor>;

function activate(a: Activation, x: tf.Tensor): tf.Tensor {
  switch (a) {
    case 'none':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'relu_n1_to_1':
      return tf.clipByValue(x, -1, 1);
  }
}

function param(graph: FloatGraph, params: Params, id: number): tf.Tensor {
  const p = params.get(id);
  if (p) return p;
  const t = graph.tensors[id] as FloatTensor;
  if (!t.data) throw new TinyforgeError(`${graph.name}: internal: tensor '${t.name}' used before it is computed`);
  return tf.tensor(t.data, t.shape);
}

/** Batch-size-free shape: the graph is batch 1, training runs B samples at once. */
function batched(shape: readonly number[]): number[] {
  return [-1, ...shape.slice(1)];
}

/**
 * Runs `graph` on a batch `x` ([B, ...input shape without batch]) and returns the value of tensor
 * `until` (default: the first graph output). `params` overrides constants by tensor id.
 */
export function forwardBatch(graph: FloatGraph, params: Params, x: tf.Tensor, until?: number): tf.Tensor {
  if (graph.inputs.length !== 1) throw new TinyforgeError(`${graph.name}: training and batched evaluation support single-input models; this one has ${graph.inputs.length}`);
  const target = until ?? (graph.outputs[0] as number);
  const values = new Map<number, tf.Tensor>([[graph.inputs[0] as number, x]]);
  const get = (id: number): tf.Tensor => values.get(id) ?? param(graph, params, id);
  for (const op of graph.ops) {
    const out = forwardOp(graph, op, get, params);
    values.set(op.outputs[0] as number, out);
    if (op.outputs[0] === target) return out;
  }
  const v = values.get(target);
  if (!v) throw new TinyforgeError(`${graph.name}: internal: tensor ${target} is never computed`);
  return v;
}

function forwardOp(graph: FloatGraph, op: FloatOp, get: (id: number) => tf.Tensor, params: Params): tf.Tensor {
  const x = get(op.inputs[0] as number);
  const bias = (): tf.Tensor | undefined => ((op.inputs[2] as number) >= 0 ? param(graph, params, op.inputs[2] as number) : undefined);
  const withBias = (y: tf.Tensor): tf.Tensor => {
    const b = bias();
    return b ? tf.add(y, b) : y;
  };
  switch (op.kind) {
    case 'conv2d': {
      const a = op.attrs;
      // OHWI -> HWIO
      const w = tf.transpose(param(graph, params, op.inputs[1] as number), [1, 2, 3, 0]) as tf.Tensor4D;
      const y = tf.conv2d(x as tf.Tensor4D, w, [a.strideH, a.strideW], a.padding, 'NHWC', [a.dilationH, a.dilationW]);
      return activate(a.activation, withBias(y));
    }
    case 'depthwise_conv2d': {
      const a = op.attrs;
      const wt = param(graph, params, op.inputs[1] as number);
      const [, kh, kw, outC] = wt.shape as [number, number, number, number];
      const inC = (x.shape[3] as number) ?? 1;
      // 1HW(C*M) -> HWCM: output channel c*M + m reads input channel c in both layouts.
      const w = tf.reshape(wt, [kh, kw, inC, outC / inC]) as tf.Tensor4D;
      const y = tf.depthwiseConv2d(x as tf.Tensor4D, w, [a.strideH, a.strideW], a.padding, 'NHWC', [a.dilationH, a.dilationW]);
      return activate(a.activation, withBias(y));
    }
    case 'fully_connected': {
      const w = param(graph, params, op.inputs[1] as number);
      const k = w.shape[1] as number;
      const y = tf.matMul(tf.reshape(x, [-1, k]) as tf.Tensor2D, w as tf.Tensor2D, false, true);
      const rows = op.attrs.keepNumDims ? tf.reshape(y, batched((graph.tensors[op.outputs[0] as number] as FloatTensor).shape)) : y;
      return activate(op.attrs.activation, withBias(rows));
    }
    case 'average_pool2d':
    case 'max_pool2d': {
      const a = op.attrs;
      const pool = op.kind === 'max_pool2d' ? tf.maxPool : tf.avgPool;
      return activate(a.activation, pool(x as tf.Tensor4D, [a.filterH, a.filterW], [a.strideH, a.strideW], a.padding));
    }
    case 'add':
    case 'mul':
    case 'sub':
    case 'squared_difference': {
      const y = get(op.inputs[1] as number);
      // (a - b)^2 spelled out: tf.squaredDifference's gradient does not sum over broadcast axes.
      const f = { add: tf.add, mul: tf.mul, sub: tf.sub, squared_difference: (a: tf.Tensor, b: tf.Tensor) => tf.square(tf.sub(a, b)) }[op.kind];
      return activate(op.attrs.activation, f(x, y));
    }
    case 'gather': {
      // Ids arrive as floats (the graph input); the table is input 0. A one-hot product rather
      // than tf.gather: the CPU backend's gather gradient (unsortedSegmentSum) loops over every
      // table row with whole-tensor ops, hundreds of times slower than this matmul's gradient.
      const ids = get(op.inputs[1] as number);
      const [rows, depth] = x.shape as [number, number];
      const oneHot = tf.cast(tf.oneHot(tf.reshape(tf.cast(ids, 'int32'), [-1]), rows), 'float32');
      return tf.reshape(tf.matMul(oneHot as tf.Tensor2D, x as tf.Tensor2D), [...ids.shape, depth]);
    }
    case 'batch_matmul':
      return tf.matMul(x, get(op.inputs[1] as number), op.attrs.adjX, op.attrs.adjY);
    case 'mean': {
      const axes = Array.from((graph.tensors[op.inputs[1] as number] as FloatTensor).data as Float32Array);
      return tf.mean(x, axes, op.attrs.keepDims);
    }
    case 'rsqrt':
      return tf.rsqrt(x);
    case 'softmax':
      return tf.softmax(op.attrs.beta === 1 ? x : tf.mul(x, op.attrs.beta));
    case 'reshape':
      return tf.reshape(x, batched(op.attrs.newShape));
    case 'pad': {
      // Paddings are constant (before, after) pairs; the batch pair is (0, 0), so the batch passes through.
      const p = (graph.tensors[op.inputs[1] as number] as FloatTensor).data as Float32Array;
      const pairs = Array.from({ length: p.length / 2 }, (_, d): [number, number] => [p[2 * d] as number, p[2 * d + 1] as number]);
      const valueId = op.inputs[2] ?? -1;
      const value = valueId >= 0 ? (((graph.tensors[valueId] as FloatTensor).data as Float32Array)[0] as number) : 0;
      return tf.pad(x, pairs, value);
    }
    case 'concatenation':
      // The axis is never the batch dimension (the frontends refuse that), so it is the same batched.
      return tf.concat(op.inputs.map((id) => get(id)), op.attrs.axis);
  }
}

export interface TrainSet {
  /** Samples, each the graph input's values (batch 1, row-major). */
  x: readonly Float32Array[];
  /** Class index per sample (loss 'crossentropy') ... */
  labels?: readonly number[];
  /** ... or the target output per sample (loss 'mse'). */
  targets?: readonly Float32Array[];
  /**
   * Knowledge distillation (with labels). The loss becomes
   * alpha * CE(labels, softmax(z)) + (1 - alpha) * T^2 * CE(softmax(t / T), softmax(z / T)), z the
   * student's logits, t the teacher's (Hinton et al. 2015; T^2 keeps the soft term's gradients at
   * the scale of the hard one as T grows). With `mixup` the soft term is taken on mixup inputs
   * instead of the training samples (see Distillation.mixup).
   */
  teacher?: Distillation;
}

export interface Distillation {
  /** The teacher's logits per training sample, computed once ... */
  logits?: readonly Float32Array[];
  /** ... or the teacher itself (a classifier ending in a softmax), run on each batch: what mixup needs. */
  model?: FloatGraph;
  temperature: number;
  alpha: number;
  /**
   * Function matching (Beyer et al. 2022): every step, the soft term compares teacher and student on
   * a fresh batch of mixup inputs (two training samples mixed with a uniform random weight, the same
   * mixed input fed to both; mixupBatch), so the student learns the teacher's function on many more
   * points than the labelled set. The labels' term stays on the unmixed samples, so alpha 1 is still
   * training on the labels alone. Needs `model`.
   */
  mixup?: boolean;
}

export interface FineTuneOptions {
  epochs: number;
  batchSize?: number;
  learningRate?: number;
  /**
   * Constants trained besides the weights and biases of convolutions and fully connected layers
   * (embedding tables, position embeddings, layer-norm scales): their tensor ids.
   */
  alsoTrain?: readonly number[];
  /** 0/1 masks by constant tensor id; masked weights stay exactly zero. */
  masks?: ReadonlyMap<number, Float32Array>;
  /** Shuffle seed (deterministic runs). */
  seed?: number;
  onEpoch?: (epoch: number, loss: number) => void;
  /**
   * Early stopping: after every epoch, the accuracy on these labelled samples; the result is the
   * graph of the epoch that scored best (the earliest on ties), not of the last epoch.
   */
  keepBest?: { x: readonly Float32Array[]; labels: readonly number[] };
  /** Called before each step with the batch's sample indices and, distilling with mixup, its mixed inputs. */
  onBatch?: (batch: { idx: readonly number[]; mixed?: readonly Float32Array[] }) => void;
}

export interface FineTuneResult {
  graph: FloatGraph;
  /** Mean training loss per epoch. */
  losses: number[];
  /** With keepBest: the epoch (1-based) whose weights the graph holds, and its accuracy per epoch. */
  best?: { epoch: number; accuracies: number[] };
}

function shuffled(n: number, seed: number): number[] {
  const next = rng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

function stack(samples: readonly Float32Array[], idx: readonly number[], shape: readonly number[]): tf.Tensor {
  const per = (samples[0] as Float32Array).length;
  const flat = new Float32Array(idx.length * per);
  idx.forEach((i, k) => flat.set(samples[i] as Float32Array, k * per));
  return tf.tensor(flat, [idx.length, ...shape.slice(1)]);
}

/** Trainable constants: weights and biases of convolutions and fully connected layers. */
function trainableIds(graph: FloatGraph): number[] {
  const ids = new Set<number>();
  for (const op of graph.ops) {
    if (op.kind !== 'conv2d' && op.kind !== 'depthwise_conv2d' && op.kind !== 'fully_connected') continue;
    for (const id of op.inputs.slice(1)) if (id >= 0 && graph.tensors[id]?.data) ids.add(id);
  }
  return [...ids];
}

/**
 * Trains the weights and biases of `graph` for `epochs` with Adam. With labels the loss is
 * cross-entropy on the logits feeding the final softmax (the graph must end in one); with targets
 * it is the mean squared error of the output. Returns a new graph; `graph` is not changed.
 */
export function fineTune(graph: FloatGraph, data: TrainSet, opts: FineTuneOptions): FineTuneResult {
  const n = data.x.length;
  if (n === 0) throw new TinyforgeError(`${graph.name}: no training samples`);
  if (!data.labels === !data.targets) throw new TinyforgeError(`${graph.name}: fine-tuning needs either class labels or target outputs`);
  const inShape = (graph.tensors[graph.inputs[0] as number] as FloatTensor).shape;
  const outId = graph.outputs[0] as number;
  const last = graph.ops[graph.ops.length - 1];
  const logitsId = data.labels ? (last?.kind === 'softmax' && last.outputs[0] === outId ? (last.inputs[0] as number) : undefined) : outId;
  if (logitsId === undefined) throw new TinyforgeError(`${graph.name}: fine-tuning with class labels needs a model that ends in a softmax`);
  const beta = last?.kind === 'softmax' ? last.attrs.beta : 1;
  const classes = (graph.tensors[outId] as FloatTensor).shape.at(-1) ?? 1;
  if (data.labels?.some((y) => !Number.isInteger(y) || y < 0 || y >= classes)) throw new TinyforgeError(`${graph.name}: labels must be class indices in [0, ${classes})`);
  const teacher = data.teacher;
  if (teacher) checkDistillation(graph, teacher, n, classes, !!data.labels);
  const teacherParams = teacher?.model ? constants(teacher.model) : new Map<number, tf.Tensor>();
  const mixRng = rng(((opts.seed ?? 1) * 7919 + 104729) >>> 0);

  const vars = new Map<number, tf.Variable>();
  for (const id of new Set([...trainableIds(graph), ...(opts.alsoTrain ?? [])])) {
    const t = graph.tensors[id] as FloatTensor;
    vars.set(id, tf.variable(tf.tensor(t.data as Float32Array, t.shape)));
  }
  const masks = new Map<number, tf.Tensor>();
  for (const [id, m] of opts.masks ?? []) {
    const v = vars.get(id);
    if (!v) continue;
    if (m.length !== v.size) throw new TinyforgeError(`internal: mask of tensor ${id} has ${m.length} values for ${v.size} weights`);
    masks.set(id, tf.tensor(m, v.shape));
    v.assign(tf.mul(v, masks.get(id) as tf.Tensor));
  }
  const optimizer = tf.train.adam(opts.learningRate ?? 1e-3);
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? 32, n));
  const losses: number[] = [];
  const keep = opts.keepBest;
  if (keep && (!data.labels || keep.x.length === 0 || keep.x.length !== keep.labels.length)) throw new TinyforgeError(`${graph.name}: early stopping needs class labels and as many held-out labels as samples`);
  const accuracies: number[] = [];
  let best: { epoch: number; accuracy: number; weights: Map<number, Float32Array> } | undefined;
  /** Share of keep's samples whose largest logit is their label, with the weights as they are now. */
  const heldOutAccuracy = (k: NonNullable<typeof keep>): number =>
    tf.tidy(() => {
      const idx = k.x.map((_, i) => i);
      const predicted = tf.argMax(tf.reshape(forwardBatch(graph, vars, stack(k.x, idx, inShape), logitsId as number), [k.x.length, classes]), 1).dataSync();
      return k.labels.filter((y, i) => predicted[i] === y).length / k.labels.length;
    });
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const order = shuffled(n, (opts.seed ?? 1) + epoch);
      let total = 0;
      for (let at = 0; at < n; at += batchSize) {
        const idx = order.slice(at, at + batchSize);
        const loss = tf.tidy(() => {
          const xs = stack(data.x, idx, inShape);
          const ys = data.labels ? tf.oneHot(tf.tensor1d(idx.map((i) => data.labels?.[i] as number), 'int32'), classes) : stack(data.targets as Float32Array[], idx, [1, ...(graph.tensors[outId] as FloatTensor).shape.slice(1)]);
          const studentLogits = (x: tf.Tensor): tf.Tensor => {
            const y = forwardBatch(graph, vars, x, logitsId);
            return tf.reshape(beta === 1 ? y : tf.mul(y, beta), [-1, classes]);
          };
          const soft = teacher && teacher.alpha < 1 ? softInputs(teacher, teacherParams, idx, data.x, inShape, classes, mixRng) : undefined;
          opts.onBatch?.({ idx, ...(soft?.mixed ? { mixed: soft.mixed } : {}) });
          const cost = optimizer.minimize(
            () => {
              if (data.labels && teacher) return distillationObjective(studentLogits, teacher, xs, ys, soft);
              const y = forwardBatch(graph, vars, xs, logitsId);
              if (data.labels) return tf.losses.softmaxCrossEntropy(ys, tf.reshape(beta === 1 ? y : tf.mul(y, beta), [idx.length, classes])) as tf.Scalar;
              return tf.losses.meanSquaredError(tf.reshape(ys, [idx.length, -1]), tf.reshape(y, [idx.length, -1])) as tf.Scalar;
            },
            true,
            [...vars.values()],
          );
          for (const [id, m] of masks) {
            const v = vars.get(id) as tf.Variable;
            v.assign(tf.mul(v, m));
          }
          return cost?.dataSync()[0] ?? NaN;
        });
        total += loss * idx.length;
      }
      const mean = total / n;
      if (!Number.isFinite(mean)) throw new TinyforgeError(`${graph.name}: fine-tuning diverged in epoch ${epoch + 1} (loss ${mean}); lower the learning rate`);
      losses.push(mean);
      opts.onEpoch?.(epoch + 1, mean);
      if (keep) {
        const accuracy = heldOutAccuracy(keep);
        accuracies.push(accuracy);
        if (!best || accuracy > best.accuracy) best = { epoch: epoch + 1, accuracy, weights: new Map([...vars].map(([id, v]) => [id, Float32Array.from(v.dataSync())])) };
      }
    }
    const tensors = graph.tensors.map((t) => {
      const v = vars.get(t.id);
      return v ? { ...t, shape: [...t.shape], data: best?.weights.get(t.id) ?? Float32Array.from(v.dataSync()) } : t;
    });
    return { graph: { ...graph, tensors }, losses, ...(best ? { best: { epoch: best.epoch, accuracies } } : {}) };
  } finally {
    for (const v of vars.values()) v.dispose();
    for (const m of masks.values()) m.dispose();
    for (const t of teacherParams.values()) t.dispose();
    optimizer.dispose();
  }
}

function checkDistillation(graph: FloatGraph, teacher: Distillation, n: number, classes: number, labelled: boolean): void {
  if (!labelled) throw new TinyforgeError(`${graph.name}: distillation mixes the teacher's outputs with class labels; give labels`);
  if (!teacher.logits && !teacher.model) throw new TinyforgeError(`${graph.name}: distillation needs the teacher's logits or the teacher model`);
  if (teacher.mixup && !teacher.model) throw new TinyforgeError(`${graph.name}: distillation on mixup inputs runs the teacher on each batch; give the teacher model`);
  if (teacher.logits && (teacher.logits.length !== n || teacher.logits.some((l) => l.length !== classes))) throw new TinyforgeError(`${graph.name}: the teacher gives ${teacher.logits[0]?.length ?? 0} outputs per sample for ${teacher.logits.length} samples; the student has ${classes} classes and ${n} samples`);
  const tOut = teacher.model && (teacher.model.tensors[teacher.model.outputs[0] as number] as FloatTensor).shape.at(-1);
  if (teacher.model && tOut !== classes) throw new TinyforgeError(`${graph.name}: the teacher ${teacher.model.name} gives ${tOut} outputs; the student has ${classes} classes`);
  if (!(teacher.temperature > 0)) throw new TinyforgeError(`--temperature must be positive, not ${teacher.temperature}`);
  if (!(teacher.alpha >= 0 && teacher.alpha <= 1)) throw new TinyforgeError(`--alpha is the weight of the labels, from 0 to 1, not ${teacher.alpha}`);
}

/** Every constant of `g` as a tensor, made once (a teacher run on every batch would remake them each time). */
function constants(g: FloatGraph): Map<number, tf.Tensor> {
  return new Map(g.tensors.filter((t) => t.data).map((t) => [t.id, tf.tensor(t.data as Float32Array, t.shape)]));
}

/** The logits feeding `g`'s final softmax (beta applied) for a batch, or its output without one. */
function batchLogits(g: FloatGraph, params: Params, x: tf.Tensor): tf.Tensor {
  const last = g.ops[g.ops.length - 1];
  const outId = g.outputs[0] as number;
  const softmax = last?.kind === 'softmax' && last.outputs[0] === outId ? last : undefined;
  const y = forwardBatch(g, params, x, softmax ? (softmax.inputs[0] as number) : outId);
  return softmax?.kind === 'softmax' && softmax.attrs.beta !== 1 ? tf.mul(y, softmax.attrs.beta) : y;
}

/** Where the soft term is taken: the mixup inputs (undefined: the batch itself) and the teacher's logits there. */
interface SoftInputs {
  x?: tf.Tensor;
  mixed?: Float32Array[];
  teacher: tf.Tensor;
}

function softInputs(d: Distillation, teacherParams: Params, idx: readonly number[], x: readonly Float32Array[], inShape: readonly number[], classes: number, next: () => number): SoftInputs {
  if (d.mixup && d.model) {
    const mixed = mixupBatch(x, idx, next);
    const xm = stack(mixed, idx.map((_, k) => k), inShape);
    return { x: xm, mixed, teacher: tf.reshape(batchLogits(d.model, teacherParams, xm), [-1, classes]) };
  }
  if (d.logits) return { teacher: stack(d.logits, idx, [1, classes]) };
  return { teacher: tf.reshape(batchLogits(d.model as FloatGraph, teacherParams, stack(x, idx, inShape)), [-1, classes]) };
}

/**
 * alpha * CE(labels, softmax(z)) on the batch + (1 - alpha) * T^2 * CE(softmax(t / T), softmax(z' / T))
 * on the soft inputs (z' = z without mixup); a term of weight 0 is not computed. With both terms
 * and mixup the student runs once on the batch and the mixed inputs stacked.
 */
function distillationObjective(studentLogits: (x: tf.Tensor) => tf.Tensor, d: Distillation, xs: tf.Tensor, ys: tf.Tensor, soft: SoftInputs | undefined): tf.Scalar {
  const T = d.temperature;
  const b = xs.shape[0] as number;
  const softTerm = (z: tf.Tensor, t: tf.Tensor): tf.Tensor => tf.mul(tf.losses.softmaxCrossEntropy(tf.softmax(tf.div(t, T)), tf.div(z, T)), T * T);
  if (!soft || d.alpha === 1) return tf.losses.softmaxCrossEntropy(ys, studentLogits(xs)) as tf.Scalar;
  if (d.alpha === 0) return softTerm(studentLogits(soft.x ?? xs), soft.teacher) as tf.Scalar;
  const z = studentLogits(soft.x ? tf.concat([xs, soft.x]) : xs);
  const zClean = soft.x ? tf.slice(z, [0, 0], [b, -1]) : z;
  const zSoft = soft.x ? tf.slice(z, [b, 0], [-1, -1]) : z;
  return tf.add(tf.mul(tf.losses.softmaxCrossEntropy(ys, zClean), d.alpha), tf.mul(softTerm(zSoft, soft.teacher), 1 - d.alpha)) as tf.Scalar;
}

/**
 * The distillation loss fineTune minimizes, for one batch: `x` the samples with their `labels`,
 * `mixed` the inputs of the soft term (mixupBatch's; omitted: the samples themselves). For tests
 * and for checking what a setting optimizes; the teacher is `d.model`, or `d.logits` without mixup.
 */
export function distillationLoss(student: FloatGraph, d: Distillation, x: readonly Float32Array[], labels: readonly number[], mixed?: readonly Float32Array[]): number {
  const inShape = (student.tensors[student.inputs[0] as number] as FloatTensor).shape;
  const classes = (student.tensors[student.outputs[0] as number] as FloatTensor).shape.at(-1) ?? 1;
  checkDistillation(student, d, x.length, classes, true);
  const idx = x.map((_, i) => i);
  const teacherParams = d.model ? constants(d.model) : new Map<number, tf.Tensor>();
  try {
    return tf.tidy(() => {
      const xs = stack(x, idx, inShape);
      const ys = tf.oneHot(tf.tensor1d([...labels], 'int32'), classes);
      let soft: SoftInputs | undefined;
      if (mixed && d.model) {
        const xm = stack(mixed, idx, inShape);
        soft = { x: xm, teacher: tf.reshape(batchLogits(d.model, teacherParams, xm), [-1, classes]) };
      } else if (d.alpha < 1) {
        soft = softInputs({ ...d, mixup: false }, teacherParams, idx, x, inShape, classes, () => 0);
      }
      return distillationObjective((v) => tf.reshape(batchLogits(student, new Map(), v), [-1, classes]), d, xs, ys, soft).dataSync()[0] as number;
    });
  } finally {
    for (const t of teacherParams.values()) t.dispose();
  }
}

/**
 * The logits feeding a classifier's final softmax (beta applied), per sample: what a teacher gives
 * distillation. A model without a final softmax gives its outputs.
 */
export function predictLogits(graph: FloatGraph, x: readonly Float32Array[], batchSize = 256): Float32Array[] {
  const inShape = (graph.tensors[graph.inputs[0] as number] as FloatTensor).shape;
  const last = graph.ops[graph.ops.length - 1];
  const outId = graph.outputs[0] as number;
  const softmax = last?.kind === 'softmax' && last.outputs[0] === outId ? last : undefined;
  const until = softmax ? (softmax.inputs[0] as number) : outId;
  const beta = softmax?.kind === 'softmax' ? softmax.attrs.beta : 1;
  const out: Float32Array[] = [];
  for (let at = 0; at < x.length; at += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, x.length - at) }, (_, k) => at + k);
    const flat = tf.tidy(() => {
      const y = forwardBatch(graph, new Map(), stack(x, idx, inShape), until);
      return (beta === 1 ? y : tf.mul(y, beta)).dataSync();
    });
    const per = flat.length / idx.length;
    for (let k = 0; k < idx.length; k++) out.push(Float32Array.from(flat.subarray(k * per, (k + 1) * per)));
  }
  return out;
}

/** The float model's outputs for many samples, computed in batches with TF.js. */
export function predictBatch(graph: FloatGraph, x: readonly Float32Array[], batchSize = 256): Float32Array[] {
  const inShape = (graph.tensors[graph.inputs[0] as number] as FloatTensor).shape;
  const out: Float32Array[] = [];
  for (let at = 0; at < x.length; at += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, x.length - at) }, (_, k) => at + k);
    const flat = tf.tidy(() => forwardBatch(graph, new Map(), stack(x, idx, inShape)).dataSync());
    const per = flat.length / idx.length;
    for (let k = 0; k < idx.length; k++) out.push(Float32Array.from(flat.subarray(k * per, (k + 1) * per)));
  }
  return out;
}
