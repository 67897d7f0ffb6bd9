import path from 'node:path';
import { compileWithModel, type CompileOptions } from '../../api/compile.ts';
import { formatInt, table } from '../format.ts';
import { setJsonResult } from '../json_output.ts';

export interface CompileCommandOptions extends CompileOptions {
  board: string;
  out: string;
  json?: boolean;
}

export async function compileCommand(modelPath: string, opts: CompileCommandOptions): Promise<void> {
  const { result: s } = await compileWithModel(modelPath, opts);
  if (opts.json) {
    setJsonResult(s);
    return;
  }
  console.log(`compiled ${s.model} for ${s.board} -> ${s.files.map((f) => path.relative(process.cwd(), f) || f).join(', ')}`);
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
  if (s.tokenizer) console.log(`\ntokenizer: ${formatInt(s.tokenizer.vocabSize)} tokens, sequence length ${s.tokenizer.seqLen}, vocabulary tables ${formatInt(s.tokenizer.flashBytes)} flash bytes`);
  console.log(
    `\n${s.board}: constants ${formatInt(s.flashBytesEstimate)} of ${formatInt(s.flashBudgetBytes)} flash bytes, ` +
      `arena + state + I/O ${formatInt(s.ramBytesEstimate)} of ${formatInt(s.ramBudgetBytes)} RAM bytes ` +
      '(code, stack and the C library come on top: tinyforge build or bench measure the whole image)',
  );
}
