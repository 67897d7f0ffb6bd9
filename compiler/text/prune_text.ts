// Magnitude pruning of the intent transformer's FULLY_CONNECTED weights (attention projections,
// feed-forward layers, classifier) with the project's pruner (compiler/prune/magnitude.ts), the
// way quantize --prune --finetune does it: prune the float model, fine-tune it with the zeros held
// at zero (trainTextClassifier with the masks), quantize, then prune the int8 model to the same
// target, which finds the zeros already in place. Embeddings and layer norms are not pruned: they
// are not FULLY_CONNECTED weights and the compiler has no sparse layout for them.

import { floatGraphAsGraph, graphAsFloatGraph } from '../frontends/tfjs/float_graph_view.ts';
import type { Graph } from '../ir/graph.ts';
import { pruneMagnitude, type PruneOptions, type PruneReport } from '../prune/magnitude.ts';
import { zeroMasks } from '../quantize/compress.ts';
import type { TextClassifier } from './intent_transformer.ts';

export interface TextPruneOptions {
  /** Target fraction of zero blocks per FULLY_CONNECTED layer, 0..1. */
  sparsity: number;
  /** Square block side: 1 zeroes single weights, 4 whole 4x4 tiles (the tile-sparse kernel's layout). Default 1. */
  block?: number;
}

export interface PrunedTextClassifier {
  /** The model with its pruned weights at zero (float). */
  model: TextClassifier;
  /** 0/1 masks by weight tensor id: pass to trainTextClassifier to fine-tune with the zeros kept. */
  masks: Map<number, Float32Array>;
  report: PruneReport;
}

function pruneOptions(opts: TextPruneOptions): PruneOptions {
  const b = opts.block ?? 1;
  return { sparsity: opts.sparsity, block: [b, b], kinds: ['fully_connected'] };
}

/** Prunes the float model's FULLY_CONNECTED weights by magnitude; fine-tune the result with `masks`. */
export function pruneTextClassifier(model: TextClassifier, opts: TextPruneOptions): PrunedTextClassifier {
  const pruned = pruneMagnitude(floatGraphAsGraph(model.graph), pruneOptions(opts));
  return { model: { ...model, graph: graphAsFloatGraph(pruned.graph, model.graph) }, masks: zeroMasks(pruned.graph, pruned.report), report: pruned.report };
}

/**
 * Prunes the quantized model's FULLY_CONNECTED weights to the same target. After pruning the
 * float model and fine-tuning with its masks, the pruned weights quantize to zero and this only
 * confirms them (int8 rounding can add zeros, never remove the pruned ones).
 */
export function pruneQuantizedText(graph: Graph, opts: TextPruneOptions): { graph: Graph; report: PruneReport } {
  return pruneMagnitude(graph, pruneOptions(opts));
}
