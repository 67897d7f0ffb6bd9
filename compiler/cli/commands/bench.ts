import { bench } from '../../api/bench.ts';
import { compileModel, loadModel } from '../../compile.ts';
import { TinyforgeError } from '../../errors.ts';
import type { OptimizeGoal } from '../../passes/select_kernels.ts';
import { XTENSA_BOARD } from '../../targets/qemu_xtensa.ts';
import { table } from '../format.ts';
import { setJsonResult } from '../json_output.ts';

export async function benchCommand(modelPath: string, opts: { board: string; runs: string; json?: boolean; profile?: boolean; optimize?: OptimizeGoal }): Promise<void> {
  const runs = Number(opts.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new TinyforgeError(`--runs wants a number of invokes from 1 to 1000, not '${opts.runs}'`);
  const profile = opts.profile === true;
  const loaded = loadModel(modelPath);
  const r = await bench(loaded, { board: opts.board, runs, profile, ...(opts.optimize ? { optimize: opts.optimize } : {}) });
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
  if (r.layerInstructions) {
    // The layer names and MACs of the compiled model (bench() compiles it again internally).
    const layers = compileModel(loaded, opts.optimize ? { optimize: opts.optimize } : {}).summary.layers;
    const total = r.layerInstructions.reduce((a, b) => a + b, 0);
    console.log(
      `\n${table(
        ['layer', 'op', 'kernel', 'instructions', 'MACs', 'instr/MAC', 'share'],
        r.layerInstructions.map((n, i) => {
          const l = layers[i];
          return [i, l?.op ?? '?', l?.kernel ?? '?', n, l?.macs ?? 0, l && l.macs > 0 ? (n / l.macs).toFixed(2) : '-', total > 0 ? `${((100 * n) / total).toFixed(1)}%` : '-'];
        }),
      )}`,
    );
  }
  const how =
    r.board === XTENSA_BOARD
      ? "counted exactly by a QEMU TCG plugin between markers (the markers' own cost subtracted)"
      : `counted under qemu -icount shift=0 (${r.instructionsPerTick} instructions per timer tick); QEMU models no cycles or time`;
  console.log(
    `\ninstructions per inference: mean of ${r.instructionsPerRun.length} invokes after one warm-up, ${how}${r.layerInstructions ? '; per layer: the last invoke' : ''}.\n` +
      'flash = text + data of the whole image, code = flash minus weight, bias and requantization arrays, RAM = data + bss + stack high-water.',
  );
}
