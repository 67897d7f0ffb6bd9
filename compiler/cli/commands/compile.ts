import path from 'node:path';
import { findBoard } from '../../boards/load_boards.ts';
import { checkFitsBoard } from '../../boards/fit.ts';
import { compileModel, isaForBoard, loadModel, writeCModule } from '../../compile.ts';
import type { OptimizeGoal } from '../../passes/select_kernels.ts';
import { prepareTsCompanion, type TsCompanionCliOptions } from '../../emit-ts/write_companion.ts';
import { formatInt, printJson, table } from '../format.ts';

export interface CompileCommandOptions extends TsCompanionCliOptions {
  board: string;
  out: string;
  prefix?: string;
  json?: boolean;
  optimize?: OptimizeGoal;
}

export function compileCommand(modelPath: string, opts: CompileCommandOptions): void {
  const board = findBoard(opts.board);
  const model = loadModel(modelPath);
  // Kernel layouts for the board's ISA (Helium layouts on the Cortex-M55).
  const compiled = compileModel(model, { prefix: opts.prefix, isa: isaForBoard(board), ...(opts.optimize ? { optimize: opts.optimize } : {}) });
  const fit = checkFitsBoard(compiled, board);
  const companion = prepareTsCompanion(compiled, opts);
  const written = writeCModule(compiled, opts.out);
  if (companion) written.files.push(companion.write(opts.out));
  const s = compiled.summary;
  if (opts.json) {
    printJson({ ...s, board: board.id, flashBytesEstimate: fit.flashBytes, ramBytesEstimate: fit.ramBytes, files: written.files });
    return;
  }
  console.log(`compiled ${s.model} for ${board.id} -> ${written.files.map((f) => path.relative(process.cwd(), f) || f).join(', ')}`);
  console.log('');
  console.log(
    table(
      ['layer', 'op', 'kernel', 'output', 'MACs', 'weight bytes', 'flash bytes'],
      s.layers.map((l) => [l.index, l.op, l.kernel, `[${l.outputShape.join('x')}]`, l.macs, l.weightBytes, l.flashBytes]),
    ),
  );
  console.log('');
  console.log(
    table(
      ['ops', 'MACs', 'weight bytes', 'flash bytes', 'arena bytes', 'arena lower bound', 'state bytes'],
      [[s.ops, s.macs, s.weightBytes, s.flashBytes, s.arenaBytes, s.arenaLowerBound, s.stateBytes]],
    ),
  );
  console.log(
    `\n${board.id}: constants ${formatInt(fit.flashBytes)} of ${formatInt(board.memory.flash.size)} flash bytes, ` +
      `arena + state + I/O ${formatInt(fit.ramBytes)} of ${formatInt(board.memory.ram.size)} RAM bytes`,
  );
}
