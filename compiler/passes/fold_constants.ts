// Constant folding: an op module whose inputs are all constants (or whose output follows from
// static shapes, like SHAPE) is computed at compile time with its reference kernel, and its output
// becomes a constant. Keras exports reshape its activations through SHAPE -> STRIDED_SLICE -> PACK
// chains; TFLite Micro runs them on every invoke, tinyforge runs them once, here.

import { DTYPE_BYTES, elementCount, type Graph, type Op, type Tensor } from '../ir/graph.ts';
import type { KernelIo } from '../ops/op_module.ts';
import { requireModule } from '../ops/registry.ts';
import { constantData, tensorData } from '../reference/run_reference.ts';
import { lowerOp } from './lower.ts';

function foldOne(graph: Graph, op: Op): Uint8Array[] | undefined {
  // Builtin ADD / MUL lower to op modules when they are not int8 same-shape (e.g. int32 shape arithmetic).
  if (op.kind !== 'module' && op.kind !== 'add' && op.kind !== 'mul') return undefined;
  // A write to state (ASSIGN_VARIABLE of a constant) must happen on every invoke.
  if (op.outputs.some((id) => graph.tensors[id]?.state)) return undefined;
  const fromShapes = op.kind === 'module' ? requireModule(op.module).foldFromShapes?.(graph, op) : undefined;
  if (fromShapes) return [fromShapes];
  const allConstant = op.inputs.every((id) => id < 0 || graph.tensors[id]?.data !== undefined);
  if (!allConstant || op.inputs.length === 0) return undefined;
  const layer = lowerOp(graph, op);
  if (layer.kernel !== 'module') return undefined;
  const outputs = op.outputs.map((id) => {
    const t = graph.tensors[id] as Tensor;
    return new Uint8Array(elementCount(t.shape) * DTYPE_BYTES[t.dtype]);
  });
  // Every input of a folded op is a constant, so the kernel's inputs are all of the op's inputs.
  const inputs = op.inputs.filter((id) => id >= 0);
  const io: KernelIo = {
    graph,
    input: (i) => constantData(graph.tensors[inputs[i] as number] as Tensor),
    output: (i) => tensorData(graph.tensors[op.outputs[i] as number] as Tensor, outputs[i] as Uint8Array),
    inputCount: inputs.length,
    outputCount: outputs.length,
  };
  requireModule(layer.module).run(layer.params, io);
  return outputs;
}

/** Returns a graph where every foldable op is gone and its outputs are constants. */
export function foldConstants(graph: Graph): Graph {
  const tensors = graph.tensors.map((t) => ({ ...t }));
  const g: Graph = { ...graph, tensors, ops: [] };
  for (const op of graph.ops) {
    const isGraphOutput = op.outputs.some((id) => graph.outputs.includes(id));
    const folded = isGraphOutput ? undefined : foldOne(g, op);
    if (!folded) {
      g.ops.push(op);
      continue;
    }
    op.outputs.forEach((id, i) => {
      (tensors[id] as Tensor).data = folded[i] as Uint8Array;
    });
  }
  return g;
}
