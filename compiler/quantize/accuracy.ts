// Classification accuracy of the float model and of the quantized (int8 or int16) model (TS
// reference kernels, which are bit-exact with the device) on labelled samples.

import { predictBatch } from '../frontends/tfjs/float_train.ts';
import type { FloatGraph } from '../frontends/tfjs/float_graph.ts';
import type { Graph } from '../ir/graph.ts';
import { lowerGraph } from '../passes/lower.ts';
import { runReference } from '../reference/run_reference.ts';
import { TinyforgeError } from '../errors.ts';
import { dequantizeOutput, quantizeInput, type IoQuant } from './ptq.ts';

export interface LabelledSet {
  x: readonly Float32Array[];
  labels: readonly number[];
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if ((v[i] as number) > (v[best] as number)) best = i;
  return best;
}

function check(set: LabelledSet, classes: number, where: string): void {
  if (set.x.length !== set.labels.length) throw new TinyforgeError(`${where}: ${set.labels.length} labels for ${set.x.length} samples`);
  if (set.x.length === 0) throw new TinyforgeError(`${where}: no labelled samples`);
  const bad = set.labels.findIndex((y) => y >= classes);
  if (bad >= 0) throw new TinyforgeError(`${where}: label ${bad} is ${set.labels[bad]} but the model has ${classes} classes`);
}

/** Fraction of samples whose float output's argmax is the label. */
export function floatAccuracy(fg: FloatGraph, set: LabelledSet): number {
  const classes = fg.tensors[fg.outputs[0] as number]?.shape.at(-1) ?? 1;
  check(set, classes, fg.name);
  const out = predictBatch(fg, set.x);
  return out.filter((o, i) => argmax(o) === set.labels[i]).length / set.x.length;
}

/** Fraction of samples whose quantized output's argmax is the label; inputs quantized with `input`. */
export function quantizedAccuracy(graph: Graph, input: IoQuant, set: LabelledSet): number {
  const classes = graph.tensors[graph.outputs[0] as number]?.shape.at(-1) ?? 1;
  check(set, classes, graph.name);
  const layers = lowerGraph(graph);
  let right = 0;
  set.x.forEach((x, i) => {
    const [out] = runReference(graph, layers, [quantizeInput(x, input)]);
    // Output scales are positive, so the argmax of the integers is the dequantized one.
    const outDtype = graph.tensors[graph.outputs[0] as number]?.dtype === 'int16' ? 'int16' : 'int8';
    const values = dequantizeOutput(out as Uint8Array, { dtype: outDtype, scale: 1, zeroPoint: 0 });
    if (argmax(values) === set.labels[i]) right++;
  });
  return right / set.x.length;
}
