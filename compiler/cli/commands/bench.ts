import { runBench } from '../../bench/run_bench.ts';
import { compileModel, loadModel } from '../../compile.ts';
import type { OptimizeGoal } from '../../passes/select_kernels.ts';
import { printJson, table } from '../format.ts';

export async function benchCommand(modelPath: string, opts: { board: string; runs: string; json?: boolean; optimize?: OptimizeGoal }): Promise<void> {
  const compiled = compileModel(loadModel(modelPath), opts.optimize ? { optimize: opts.optimize } : {});
  const r = await runBench(compiled, opts.board, Number(opts.runs));
  if (opts.json) {
    printJson(r);
    return;
  }
  console.log(
    table(
      ['model', 'board', 'instructions', 'MACs', 'instr/MAC', 'flash', 'code', 'RAM', 'stack', 'arena', 'arena bound'],
      [[r.model, r.board, r.instructions, r.macs, r.instructionsPerMac.toFixed(2), r.flash_bytes, r.code_bytes, r.ram_bytes, r.stack_bytes, r.arena_bytes, r.arena_lower_bound]],
    ),
  );
  console.log(`\ninstructions: mean of ${r.instructionsPerRun.length} invokes after one warm-up, counted under qemu -icount shift=0 (${r.instructionsPerTick} instructions per timer tick)`);
}
