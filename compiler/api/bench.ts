// bench(): instructions per inference under QEMU -icount, and flash, RAM and stack from the ELF.
// What `tinyforge bench` runs; its result is the `result` of `bench --json`.

import { compileModel, loadModel, type LoadedModel } from '../compile.ts';
import type { BenchResult } from '../bench/run_bench.ts';
import type { OptimizeGoal } from '../passes/select_kernels.ts';

export type { BenchResult } from '../bench/run_bench.ts';

export interface BenchOptions {
  /** A QEMU board: qemu-mps2-an385, -an386 (default), -an500, qemu-mps3-an547 or qemu-xtensa-lx106 (exact counts from a TCG plugin). */
  board?: string;
  /** Measured invokes after one warm-up (default 5). */
  runs?: number;
  /** Also count each layer's instructions in the last run. */
  profile?: boolean;
  /** Flash against speed, as for compile (default 'balanced'). */
  optimize?: OptimizeGoal;
}

export async function bench(model: string | LoadedModel, opts: BenchOptions = {}): Promise<BenchResult> {
  const { runBench } = await import('../bench/run_bench.ts');
  const loaded = typeof model === 'string' ? loadModel(model) : model;
  return runBench(compileModel(loaded, opts.optimize ? { optimize: opts.optimize } : {}), opts.board ?? 'qemu-mps2-an386', opts.runs ?? 5, opts.profile ?? false);
}
