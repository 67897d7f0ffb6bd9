// Does a compiled model fit a board? Checked before anything is built or flashed.

import type { CompiledModel } from '../compile.ts';
import { TinyforgeError } from '../errors.ts';
import type { Board } from './board_schema.ts';

export interface FitEstimate {
  /** Constant data the model puts in flash: weights, biases and requantization tables. */
  flashBytes: number;
  /** The arena plus the caller's input and output buffers. */
  ramBytes: number;
}

export function estimateFootprint(compiled: CompiledModel): FitEstimate {
  const graph = compiled.model.graph;
  const constantIds = new Set<number>();
  let requantTables = 0;
  for (const l of compiled.layers) {
    if ('weights' in l) {
      constantIds.add(l.weights);
      if (l.bias >= 0) constantIds.add(l.bias);
    }
    if ('multipliers' in l) requantTables += l.multipliers.byteLength + l.shifts.byteLength;
  }
  let flashBytes = requantTables;
  for (const id of constantIds) flashBytes += graph.tensors[id]?.data?.byteLength ?? 0;
  const io = [...compiled.summary.inputs, ...compiled.summary.outputs].reduce((s, t) => s + t.bytes, 0);
  return { flashBytes, ramBytes: compiled.plan.arenaBytes + io };
}

export function checkFitsBoard(compiled: CompiledModel, board: Board): FitEstimate {
  const est = estimateFootprint(compiled);
  const problems: string[] = [];
  if (est.flashBytes > board.memory.flash.size) {
    problems.push(`needs ${est.flashBytes} bytes of flash for constants, ${est.flashBytes - board.memory.flash.size} more than the board's ${board.memory.flash.size}`);
  }
  if (est.ramBytes > board.memory.ram.size) {
    problems.push(`needs ${est.ramBytes} bytes of RAM for arena and I/O, ${est.ramBytes - board.memory.ram.size} more than the board's ${board.memory.ram.size}`);
  }
  if (problems.length > 0) throw new TinyforgeError(`${compiled.summary.model} does not fit ${board.id}: ${problems.join('; ')}`);
  return est;
}
