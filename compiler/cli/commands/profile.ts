// Per-layer profile on an emulated board: the benchmark image with a timer read before every
// layer (TF_PROFILE), run under qemu -icount so the counts are instructions.

import { writeFileSync } from 'node:fs';
import { findBenchBoard, runBench } from '../../bench/run_bench.ts';
import type { CompiledModel } from '../../compile.ts';
import { TinyforgeError } from '../../errors.ts';
import { formatInt, table } from '../format.ts';

export interface LayerProfile {
  index: number;
  op: string;
  kernel: string;
  instructions: number;
  macs: number;
  share: number;
}

export async function profileLayers(compiled: CompiledModel, boardId: string): Promise<{ total: number; layers: LayerProfile[] }> {
  try {
    findBenchBoard(boardId);
  } catch {
    throw new TinyforgeError(`--profile runs on the emulated Cortex-M boards (per-layer counters on real boards are not implemented yet), not on ${boardId}`);
  }
  const r = await runBench(compiled, boardId, 1, true);
  const counts = r.layerInstructions ?? [];
  const total = counts.reduce((a, b) => a + b, 0);
  const layers = compiled.summary.layers.map((l, i) => ({
    index: l.index,
    op: l.op,
    kernel: l.kernel,
    instructions: counts[i] ?? 0,
    macs: l.macs,
    share: total > 0 ? (counts[i] ?? 0) / total : 0,
  }));
  return { total, layers };
}

export function printProfile(p: { total: number; layers: LayerProfile[] }, boardId: string): void {
  console.log(
    table(
      ['layer', 'op', 'kernel', 'instructions', 'MACs', 'MACs/instr', 'share'],
      p.layers.map((l) => [l.index, l.op, l.kernel, l.instructions, l.macs, l.macs > 0 && l.instructions > 0 ? (l.macs / l.instructions).toFixed(2) : '-', `${(100 * l.share).toFixed(1)}%`]),
    ),
  );
  console.log(`\nper-layer instructions on ${boardId} (qemu -icount shift=0; instructions, not cycles): ${formatInt(p.total)} in all`);
}

/** The format `tinyforge report --profile` reads. */
export function writeProfileJson(file: string, p: { layers: LayerProfile[] }): void {
  writeFileSync(file, `${JSON.stringify({ layers: p.layers.map((l) => ({ index: l.index, cycles: l.instructions })) }, null, 2)}\n`);
}
