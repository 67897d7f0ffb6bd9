import { bench } from '../../api/bench.ts';
import { TinyforgeError } from '../../errors.ts';
import { table } from '../format.ts';
import { setJsonResult } from '../json_output.ts';

export async function benchCommand(modelPath: string, opts: { board: string; runs: string; json?: boolean }): Promise<void> {
  const runs = Number(opts.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new TinyforgeError(`--runs wants a number of invokes from 1 to 1000, not '${opts.runs}'`);
  const r = await bench(modelPath, { board: opts.board, runs });
  if (opts.json) {
    setJsonResult(r);
    return;
  }
  console.log(
    table(
      ['model', 'board', 'instructions', 'MACs', 'instr/MAC', 'flash bytes', 'code bytes', 'RAM bytes', 'stack bytes', 'arena bytes', 'arena bound'],
      [[r.model, r.board, r.instructions, r.macs, r.instructionsPerMac.toFixed(2), r.flash_bytes, r.code_bytes, r.ram_bytes, r.stack_bytes, r.arena_bytes, r.arena_lower_bound]],
    ),
  );
  console.log(
    `\ninstructions per inference: mean of ${r.instructionsPerRun.length} invokes after one warm-up, counted under qemu -icount shift=0 ` +
      `(${r.instructionsPerTick} instructions per timer tick); QEMU models no cycles or time.\n` +
      'flash = text + data of the whole image, code = flash minus weight, bias and requantization arrays, RAM = data + bss + stack high-water.',
  );
}
