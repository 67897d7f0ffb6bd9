import { runBench } from '../../bench/run_bench.ts';
import { compileModel, loadModel } from '../../compile.ts';
import { XTENSA_BOARD } from '../../targets/qemu_xtensa.ts';
import { printJson, table } from '../format.ts';

export async function benchCommand(modelPath: string, opts: { board: string; runs: string; json?: boolean; profile?: boolean }): Promise<void> {
  const compiled = compileModel(loadModel(modelPath));
  const r = await runBench(compiled, opts.board, Number(opts.runs), opts.profile === true);
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
  if (r.layerInstructions) {
    const total = r.layerInstructions.reduce((a, b) => a + b, 0);
    console.log(
      `\n${table(
        ['layer', 'op', 'kernel', 'instructions', 'MACs', 'instr/MAC', 'share'],
        r.layerInstructions.map((n, i) => {
          const l = compiled.summary.layers[i];
          return [i, l?.op ?? '?', l?.kernel ?? '?', n, l?.macs ?? 0, l && l.macs > 0 ? (n / l.macs).toFixed(2) : '-', total > 0 ? `${((100 * n) / total).toFixed(1)}%` : '-'];
        }),
      )}`,
    );
  }
  const how =
    r.board === XTENSA_BOARD
      ? 'counted exactly by a QEMU TCG plugin between markers (the markers\' own cost subtracted)'
      : `counted under qemu -icount shift=0 (${r.instructionsPerTick} instructions per timer tick)`;
  console.log(`\ninstructions: mean of ${r.instructionsPerRun.length} invokes after one warm-up, ${how}${r.layerInstructions ? '; per layer: the last invoke' : ''}`);
}
