// Does a compiled model fit a board? Checked before anything is built or flashed.

import type { CompiledModel } from '../compile.ts';
import type { Graph } from '../ir/graph.ts';
import type { KernelCall } from '../passes/select_kernels.ts';
import { TinyforgeError } from '../errors.ts';
import type { Board } from './board_schema.ts';
import { ramRegionsOf } from './regions.ts';

export interface FitEstimate {
  /** Constant data the model puts in flash: weights, biases and requantization tables. */
  flashBytes: number;
  /** The arena (with the inputs it holds) plus the caller's output buffers. */
  ramBytes: number;
}

/**
 * Flash bytes of one layer's constants as the emitted C lays them out: filters (padded, widened,
 * interleaved or sparse with their index), folded biases, requantization tables; constants a
 * generic kernel reads from the model are counted once (`counted` holds tensor ids already seen).
 */
export function callFlashBytes(call: KernelCall, graph: Graph, counted: Set<number> = new Set()): number {
  const l = call.layer;
  let bytes = 0;
  // int32 multipliers and int8 shifts per channel (the depthwise stream carries its own)
  if (call.kind === 'conv_gemm_s8' && call.rq) return call.filter.byteLength + call.rq.byteLength; // bias and tables live in rq
  if ('multipliers' in l && call.kind !== 'depthwise_conv_s8_fast') bytes += l.multipliers.byteLength + l.shifts.length;
  if (call.kind !== 'generic') {
    const filterBytes =
      call.kind === 'fully_connected_s8_sparse'
        ? call.tiles.byteLength + call.steps.byteLength + call.counts.byteLength
        : call.kind === 'fully_connected_s8_csr_sparse'
          ? call.values.byteLength + call.deltas.byteLength + call.counts.byteLength
          : call.kind === 'conv_gemm_s8_sparse' || call.kind === 'conv_gemm_s8_mve_sparse' || call.kind === 'fully_connected_s8_mve_sparse'
            ? call.filter.byteLength + call.index.byteLength
            : call.kind === 'depthwise_conv_s8_fast'
              ? call.stream.byteLength // bias, weights and (again) the requantization tables
              : call.filter.byteLength;
    return bytes + filterBytes + ('bias' in call ? call.bias.byteLength : 0);
  }
  const constants = 'weights' in l ? [l.weights, l.bias] : l.kernel === 'module' ? (l.constants ?? []) : [];
  {
    for (const id of constants) {
      if (id < 0 || counted.has(id)) continue;
      counted.add(id);
      bytes += graph.tensors[id]?.data?.byteLength ?? 0;
    }
  }
  return bytes;
}

export function estimateFootprint(compiled: CompiledModel): FitEstimate {
  const graph = compiled.model.graph;
  const counted = new Set<number>();
  const flashBytes = compiled.calls.reduce((sum, call) => sum + callFlashBytes(call, graph, counted), 0);
  // Inputs planned in the arena are already counted there; the rest are the caller's buffers.
  const callerInputs = compiled.summary.inputs.filter((_, i) => compiled.plan.storageOf.get(graph.inputs[i] as number)?.kind !== 'arena');
  const io = [...callerInputs, ...compiled.summary.outputs].reduce((s, t) => s + t.bytes, 0);
  // State (resource variables, recurrent state) and a learnable head live in RAM beside the arena.
  const head = compiled.summary.head?.ramBytes ?? 0;
  return { flashBytes, ramBytes: compiled.plan.arenaBytes + compiled.plan.stateBytes + head + io };
}

export function checkFitsBoard(compiled: CompiledModel, board: Board): FitEstimate {
  const est = estimateFootprint(compiled);
  const problems: string[] = [];
  const regions = compiled.plan.regions;
  if (regions.length > 0) {
    // Each further region holds only its arena; the default RAM holds its arena, state and I/O.
    const declared = ramRegionsOf(board);
    let elsewhere = 0;
    for (const r of regions) {
      const region = declared.find((d) => d.name === r.region);
      if (region === undefined) throw new TinyforgeError(`${compiled.summary.model} was planned for RAM region ${r.region}, which board ${board.id} does not have`);
      if (region.section === undefined && region.attribute === undefined) continue;
      elsewhere += r.bytes;
      if (r.bytes > region.size) problems.push(`needs ${r.bytes} bytes of ${region.name} for its arena, ${r.bytes - region.size} more than its ${region.size}`);
    }
    const inDefault = est.ramBytes - elsewhere;
    if (inDefault > board.memory.ram.size) problems.push(`needs ${inDefault} bytes of the default RAM for arena, state and I/O, ${inDefault - board.memory.ram.size} more than its ${board.memory.ram.size}`);
    if (est.flashBytes > board.memory.flash.size) problems.unshift(`needs ${est.flashBytes} bytes of flash for constants, ${est.flashBytes - board.memory.flash.size} more than the board's ${board.memory.flash.size}`);
    if (problems.length > 0) throw new TinyforgeError(`${compiled.summary.model} does not fit ${board.id}: ${problems.join('; ')}`);
    return est;
  }
  if (est.flashBytes > board.memory.flash.size) {
    problems.push(`needs ${est.flashBytes} bytes of flash for constants, ${est.flashBytes - board.memory.flash.size} more than the board's ${board.memory.flash.size}`);
  }
  if (est.ramBytes > board.memory.ram.size) {
    problems.push(`needs ${est.ramBytes} bytes of RAM for arena, state and I/O, ${est.ramBytes - board.memory.ram.size} more than the board's ${board.memory.ram.size}`);
  }
  if (problems.length > 0) throw new TinyforgeError(`${compiled.summary.model} does not fit ${board.id}: ${problems.join('; ')}`);
  return est;
}
