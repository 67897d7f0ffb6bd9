// Float model -> (pruned) int8 or int16x8 model, with accuracy at every stage.
//
// With a teacher (distill), the float student first trains on the teacher's softened outputs and
// the labels; the distilled student is what gets pruned and quantized.
//
// Without fine-tuning, pruning runs on the quantized model's int8 weights (what the pruners were
// written for: the zero pattern is chosen on the weights the device will hold). With fine-tuning,
// the same pruners run on the float model first (frontends/tfjs/float_graph_view.ts), the pruned
// float model trains for N epochs with its zeros held at zero, and only then is it calibrated and
// quantized; pruning the quantized model to the same target then finds the zeros already in place.

import { floatGraphAsGraph, graphAsFloatGraph } from '../frontends/tfjs/float_graph_view.ts';
import type { FloatGraph } from '../frontends/tfjs/float_graph.ts';
import { fineTune, predictLogits, type Distillation } from '../frontends/tfjs/float_train.ts';
import { TinyforgeError } from '../errors.ts';
import type { Graph, Tensor } from '../ir/graph.ts';
import { float32Constant } from '../reference/run_reference.ts';
import { pruneMagnitude, type PruneReport } from '../prune/magnitude.ts';
import { pruneChannels, type ChannelPruneReport } from '../prune/structured.ts';
import { activationType } from './activation_type.ts';
import { floatAccuracy, quantizedAccuracy, type LabelledSet } from './accuracy.ts';
import { layerSqnr, quantizeFloatGraph, type LayerSqnr, type PtqOptions, type PtqResult } from './ptq.ts';

export interface CompressOptions extends PtqOptions {
  /** Fraction of output channels to remove per prunable layer (structured pruning). */
  pruneChannels?: number;
  /** Target fraction of zero weights (magnitude pruning), in blocks of `block` x `block`. */
  prune?: number;
  block?: number;
  /** 'layer' (default): every layer reaches the targets; 'global': the smallest weights / channels of all layers go first. */
  pruneScope?: 'layer' | 'global';
  /** Fine-tune the pruned float model for this many epochs on `train` before quantizing. */
  finetune?: { epochs: number; learningRate?: number; batchSize?: number; onEpoch?: (epoch: number, loss: number) => void };
  /** Calibration cases used for the SQNR table (default 64). */
  sqnrCases?: number;
  /**
   * Knowledge distillation: train the student (this model) for `epochs` on a mix of the teacher's
   * softened outputs and the labels before pruning and quantizing; with `finetune` the pruned
   * student keeps learning from the teacher. See fineTune's TrainSet.teacher for the loss.
   */
  distill?: DistillOptions;
}

export interface DistillOptions {
  /** The teacher: a float classifier with the student's input and classes. */
  teacher: FloatGraph;
  /** Softmax temperature of both models' logits in the soft term (> 0). */
  temperature: number;
  /** Weight of the labels' cross-entropy; 1 - alpha goes to the teacher's softened outputs. */
  alpha: number;
  /**
   * Match the teacher on fresh mixup inputs every step (function matching; Distillation.mixup in
   * float_train.ts) rather than on the labelled samples only. Default false: on the synthetic
   * benches it did not beat classic distillation measurably (bench/distill.md) and costs twice the time.
   */
  mixup?: boolean;
  epochs: number;
  learningRate?: number;
  batchSize?: number;
  onEpoch?: (epoch: number, loss: number) => void;
}

export interface CompressData {
  calibration: readonly Float32Array[];
  /** Labelled training data for fine-tuning. */
  train?: LabelledSet;
  /** Labelled data the accuracy table is measured on. */
  test?: LabelledSet;
}

export interface StageAccuracy {
  stage: string;
  accuracy: number;
}

export interface CompressResult {
  /** The final quantized graph. */
  graph: Graph;
  /** Quantization of the (pruned, fine-tuned) float model, before pruning the quantized one. */
  ptq: PtqResult;
  sqnr: LayerSqnr[];
  channels?: ChannelPruneReport;
  prune?: PruneReport;
  /** Stages in order; empty without test data. */
  accuracy: StageAccuracy[];
  /** Mean training loss per fine-tuning epoch. */
  losses: number[];
  /** The float model that was quantized (pruned and fine-tuned when asked). */
  floatGraph: FloatGraph;
}

/** 0/1 masks of the weights the magnitude pruner zeroed, by tensor id (fine-tuning keeps them at zero). */
export function zeroMasks(g: Graph, report: PruneReport): Map<number, Float32Array> {
  const masks = new Map<number, Float32Array>();
  for (const l of report.layers) {
    masks.set(l.tensor, float32Constant(g.tensors[l.tensor] as Tensor).map((v) => (v === 0 ? 0 : 1)));
  }
  return masks;
}

export function compressFloatGraph(source: FloatGraph, data: CompressData, opts: CompressOptions = {}): CompressResult {
  let fg = source;
  const accuracy: StageAccuracy[] = [];
  const test = data.test;
  const measureFloat = (stage: string, g: FloatGraph): void => {
    if (test) accuracy.push({ stage, accuracy: floatAccuracy(g, test) });
  };
  // Stages of the quantized model are named after its activation type ('int8', 'int16, pruned').
  const dtype = activationType(opts.activations).dtype;
  const measureQuantized = (stage: string, g: Graph, ptq: PtqResult): void => {
    if (test) accuracy.push({ stage: `${dtype}${stage}`, accuracy: quantizedAccuracy(g, ptq.inputs[0] as PtqResult['inputs'][number], test) });
  };
  const cases = data.calibration.map((x) => [x]);
  const scope = opts.pruneScope ?? 'layer';
  const magnitude = opts.prune === undefined ? undefined : { sparsity: opts.prune, block: [opts.block ?? 1, opts.block ?? 1] as const, scope };
  let teacher: Distillation | undefined;
  if (opts.distill) {
    const d = opts.distill;
    if (!data.train) throw new TinyforgeError(`${fg.name}: distillation needs labelled training data (--labels)`);
    measureFloat('float', fg);
    measureFloat('teacher (float)', d.teacher);
    const mixup = d.mixup ?? false;
    teacher = mixup ? { model: d.teacher, temperature: d.temperature, alpha: d.alpha, mixup } : { logits: predictLogits(d.teacher, data.train.x), temperature: d.temperature, alpha: d.alpha };
    const distilled = fineTune(fg, { ...data.train, teacher }, { epochs: d.epochs, ...(d.learningRate === undefined ? {} : { learningRate: d.learningRate }), ...(d.batchSize === undefined ? {} : { batchSize: d.batchSize }), ...(d.onEpoch ? { onEpoch: d.onEpoch } : {}) });
    fg = distilled.graph;
    measureFloat(`float, distilled ${d.epochs} epoch${d.epochs === 1 ? '' : 's'}${mixup ? ' on mixup inputs' : ''}`, fg);
  } else {
    measureFloat('float', fg);
  }

  if (opts.finetune) {
    if (!data.train) throw new TinyforgeError(`${fg.name}: fine-tuning needs labelled training data`);
    let g = floatGraphAsGraph(fg);
    const channels = opts.pruneChannels === undefined ? undefined : pruneChannels(g, { fraction: opts.pruneChannels, scope });
    if (channels) g = channels.graph;
    const floatPrune = magnitude && pruneMagnitude(g, magnitude);
    if (floatPrune) g = floatPrune.graph;
    const pruned = graphAsFloatGraph(g, fg);
    if (channels || floatPrune) measureFloat('float, pruned', pruned);
    const masks = floatPrune ? zeroMasks(g, floatPrune.report) : new Map<number, Float32Array>();
    const { epochs, learningRate, batchSize, onEpoch } = opts.finetune;
    const tuned = fineTune(pruned, teacher ? { ...data.train, teacher } : data.train, { epochs, masks, ...(learningRate === undefined ? {} : { learningRate }), ...(batchSize === undefined ? {} : { batchSize }), ...(onEpoch ? { onEpoch } : {}) });
    measureFloat(`float, pruned, fine-tuned ${epochs} epoch${epochs === 1 ? '' : 's'}`, tuned.graph);
    const ptq = quantizeFloatGraph(tuned.graph, cases, opts);
    const sqnr = layerSqnr(tuned.graph, ptq, cases.slice(0, opts.sqnrCases ?? 64));
    const final = magnitude && pruneMagnitude(ptq.graph, magnitude);
    const graph = final?.graph ?? ptq.graph;
    measureQuantized(', final', graph, ptq);
    return { graph, ptq, sqnr, ...(channels ? { channels: channels.report } : {}), ...(final ? { prune: final.report } : {}), accuracy, losses: tuned.losses, floatGraph: tuned.graph };
  }

  const ptq = quantizeFloatGraph(fg, cases, opts);
  const sqnr = layerSqnr(fg, ptq, cases.slice(0, opts.sqnrCases ?? 64));
  let graph = ptq.graph;
  const channels = opts.pruneChannels === undefined ? undefined : pruneChannels(graph, { fraction: opts.pruneChannels, scope });
  if (channels) graph = channels.graph;
  const pruned = magnitude && pruneMagnitude(graph, magnitude);
  if (pruned) graph = pruned.graph;
  if (channels || pruned) measureQuantized('', ptq.graph, ptq);
  measureQuantized(channels || pruned ? ', pruned' : '', graph, ptq);
  return { graph, ptq, sqnr, ...(channels ? { channels: channels.report } : {}), ...(pruned ? { prune: pruned.report } : {}), accuracy, losses: [], floatGraph: fg };
}

/** The accuracy table: one line per stage, with the change from the float model. */
export function formatAccuracy(rows: readonly StageAccuracy[], where: string): string {
  const base = rows[0]?.accuracy ?? 0;
  const width = Math.max(...rows.map((r) => r.stage.length));
  return [`accuracy on ${where}:`, ...rows.map((r, i) => `  ${r.stage.padEnd(width)}  ${(100 * r.accuracy).toFixed(2).padStart(6)} %${i === 0 ? '' : `  (${r.accuracy >= base ? '+' : ''}${(100 * (r.accuracy - base)).toFixed(2)})`}`)].join('\n');
}
