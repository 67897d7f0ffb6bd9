// Host reference of a text model: the TypeScript tokenizer, then the model's reference kernels
// (bit-exact with the generated C), so device results can be compared byte for byte.

import type { Graph } from '../ir/graph.ts';
import type { Layer } from '../ir/layers.ts';
import { lowerGraph } from '../passes/lower.ts';
import { runReference } from '../reference/run_reference.ts';
import { tokenize, type Vocabulary } from './tokenizer.ts';
import { textModelShape } from './tokenizer_c.ts';

export interface TextResult {
  /** The model input: seqLen token ids. */
  ids: Int32Array;
  /** Tokens before padding. */
  count: number;
  /** Raw output bytes (int8 or int16 little-endian scores). */
  scores: Uint8Array;
}

/** A reusable host classifier: tokenizes like the generated C and runs the reference kernels. */
export function textReference(graph: Graph, vocab: Vocabulary): (text: string) => TextResult {
  const { seqLen } = textModelShape(graph, vocab);
  const layers: Layer[] = lowerGraph(graph);
  return (text) => {
    const { ids, count } = tokenize(text, vocab, seqLen);
    const [scores] = runReference(graph, layers, [new Uint8Array(ids.buffer.slice(0))]);
    return { ids, count, scores: scores as Uint8Array };
  };
}
