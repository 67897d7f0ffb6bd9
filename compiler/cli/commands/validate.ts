import { compileModel, loadModel } from '../../compile.ts';
import { EXIT_MISMATCH, TinyforgeError } from '../../errors.ts';
import { compareOutputs, type CaseResult } from '../../validate/compare.ts';
import { checkGoldenAgainstModel, loadGolden } from '../../validate/golden.ts';
import { printJson, table } from '../format.ts';
import { parseTarget, runOnTarget } from '../targets.ts';

export interface ValidateCommandOptions {
  target: string;
  golden: string;
  json?: boolean;
  sanitize?: boolean;
}

function row(r: CaseResult): Array<string | number> {
  const bad = r.outputs.find((o) => o.differing > 0);
  return [
    r.id,
    r.pass ? 'match' : 'MISMATCH',
    r.outputs.reduce((s, o) => s + o.bytes, 0),
    r.outputs.reduce((s, o) => s + o.differing, 0),
    bad ? `out ${bad.output}[${bad.firstIndex}]` : '-',
    bad ? `${bad.expected ?? 'none'} / ${bad.actual ?? 'none'}` : '-',
  ];
}

/** Returns the process exit code: 0 when every case matches, 1 otherwise. */
export async function validateCommand(modelPath: string, opts: ValidateCommandOptions): Promise<number> {
  const target = parseTarget(opts.target);
  const model = loadModel(modelPath);
  const compiled = compileModel(model);
  const golden = loadGolden(opts.golden);
  if (golden.cases.length === 0) throw new TinyforgeError(`${opts.golden}: the manifest lists no cases`);
  if (golden.modelSha256 && golden.modelSha256 !== model.sha256) {
    throw new TinyforgeError(`${opts.golden} was made for a model with sha256 ${golden.modelSha256.slice(0, 16)}..., not ${modelPath} (${model.sha256.slice(0, 16)}...)`);
  }
  checkGoldenAgainstModel(golden, compiled.summary.inputs.map((i) => i.bytes), compiled.summary.outputs.map((o) => o.bytes));
  const started = Date.now();
  const actual = await runOnTarget(target, compiled, golden.cases.map((c) => c.inputs), { sanitize: opts.sanitize });
  const results = golden.cases.map((c, i) => compareOutputs(c.id, c.expected, actual[i] ?? []));
  const passed = results.filter((r) => r.pass).length;
  if (opts.json) {
    printJson({ model: compiled.summary.model, target, golden: opts.golden, cases: results.length, passed, failed: results.length - passed, seconds: (Date.now() - started) / 1000, results });
  } else {
    console.log(table(['case', 'result', 'bytes', 'differing', 'first diff', 'expected / actual'], results.map(row)));
    console.log(`\n${compiled.summary.model} on ${target}: ${passed}/${results.length} cases match byte for byte (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  return passed === results.length ? 0 : EXIT_MISMATCH;
}
