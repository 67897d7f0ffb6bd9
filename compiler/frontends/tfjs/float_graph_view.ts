// FloatGraph <-> IR Graph with float32 constants. The pruners (compiler/prune/) work on the IR
// Graph and accept float32 weights as well as int8 ones, so the same channel and magnitude
// pruning can run before quantization (where a pruned model can still be fine-tuned) as after it.
// Tensor ids and op order are kept, so reports refer to the same ops either way.

import { TinyforgeError } from '../../errors.ts';
import type { Graph, Op, Tensor } from '../../ir/graph.ts';
import { float32Constant } from '../../reference/run_reference.ts';
import type { FloatGraph, FloatOp, FloatTensor } from './float_graph.ts';

function bytesOf(data: Float32Array): Uint8Array {
  // A copy: pruners replace data arrays but must never alias the float model's own weights.
  const copy = Float32Array.from(data);
  return new Uint8Array(copy.buffer);
}

/**
 * The IR op of a float op (same inputs and outputs): a built-in IR kind, or for the kinds the IR
 * reads as op modules (compiler/ops/) a module op with the attributes that module's reader gives.
 */
export function irOpFor(fg: FloatGraph, op: FloatOp, index: number): Op {
  const base = { sourceIndex: index, inputs: [...op.inputs], outputs: [...op.outputs] };
  switch (op.kind) {
    case 'fully_connected':
      return { kind: 'fully_connected', ...base, attrs: { activation: op.attrs.activation, keepNumDims: op.attrs.keepNumDims === true } };
    case 'sub':
      return { kind: 'module', module: 'SUB', ...base, attrs: { activation: op.attrs.activation } };
    case 'squared_difference':
      return { kind: 'module', module: 'SQUARED_DIFFERENCE', ...base, attrs: {} };
    case 'gather':
      return { kind: 'module', module: 'GATHER', ...base, attrs: { axis: 0, batchDims: 0 } };
    case 'batch_matmul':
      return { kind: 'module', module: 'BATCH_MATMUL', ...base, attrs: { adjX: op.attrs.adjX, adjY: op.attrs.adjY } };
    case 'mean':
      // The axes are the constant input 1; MEAN's reader also keeps them as an attribute.
      return { kind: 'module', module: 'MEAN', ...base, attrs: { op: 'MEAN', keepDims: op.attrs.keepDims, axes: Array.from(fg.tensors[op.inputs[1] as number]?.data ?? []) } };
    case 'rsqrt':
      return { kind: 'module', module: 'RSQRT', ...base, attrs: {} };
    default:
      // Every other float op kind is an IR op kind with the same attributes.
      return { kind: op.kind, ...base, attrs: structuredClone(op.attrs) } as Op;
  }
}

/** The float model as an IR Graph whose constants are float32 and whose tensors carry no quantization. */
export function floatGraphAsGraph(fg: FloatGraph): Graph {
  const tensors: Tensor[] = fg.tensors.map((t) => ({ id: t.id, name: t.name, shape: [...t.shape], dtype: 'float32', ...(t.data ? { data: bytesOf(t.data) } : {}) }));
  const ops = fg.ops.map((op, index): Op => irOpFor(fg, op, index));
  return { name: fg.name, tensors, ops, inputs: [...fg.inputs], outputs: [...fg.outputs] };
}

/** Back from `floatGraphAsGraph` (after pruning): shapes, constants and reshape targets follow the graph. */
export function graphAsFloatGraph(g: Graph, like: FloatGraph): FloatGraph {
  if (g.ops.length !== like.ops.length) throw new TinyforgeError(`internal: ${g.name} has ${g.ops.length} ops, the float model ${like.ops.length}`);
  const tensors: FloatTensor[] = g.tensors.map((t) => ({ id: t.id, name: t.name, shape: [...t.shape], ...(t.data ? { data: float32Constant(t) } : {}) }));
  const ops = like.ops.map((fop, i): FloatOp => {
    const op = g.ops[i] as Op;
    const moved = { ...fop, inputs: [...op.inputs], outputs: [...op.outputs] } as FloatOp;
    if (moved.kind === 'reshape' && op.kind === 'reshape') return { ...moved, attrs: { newShape: [...op.attrs.newShape] } };
    return moved;
  });
  return { name: like.name, tensors, ops, inputs: [...g.inputs], outputs: [...g.outputs] };
}
