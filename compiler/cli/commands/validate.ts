import { findBoard } from '../../boards/load_boards.ts';
import { compileModel, loadModel } from '../../compile.ts';
import { validateOnBoardCommand } from './device.ts';
import { EXIT_MISMATCH, TinyforgeError } from '../../errors.ts';
import { compareOutputs, type CaseResult } from '../../validate/compare.ts';
import { checkGoldenAgainstModel, loadGolden, type GoldenCase } from '../../validate/golden.ts';
import { randomInputs, randomSequence } from '../../validate/random_cases.ts';
import { ReferenceState, runReference } from '../../reference/run_reference.ts';
import type { CompiledModel } from '../../compile.ts';
import { printJson, table } from '../format.ts';
import { log } from '../log.ts';
import { createProgress, type Progress } from '../progress.ts';
import { firmwareFamilyOf } from '../../targets/firmware.ts';
import { isTarget, parseTarget, runOnTarget, type TargetName } from '../targets.ts';

export interface ValidateCommandOptions {
  /** A run target (ref, host, qemu-mps2-an386, qemu-xtensa-lx106); ignored when `board` is given. */
  target: string;
  /** Validate on a board through the serial agent (QEMU boards are built and booted). */
  board?: string;
  port?: string;
  /** false with --no-flash. */
  flash?: boolean;
  image?: string;
  /** Also report per-layer cycles of the last case (from the agent's PROFILE command). */
  profile?: boolean;
  /** Write the per-layer profile as JSON (the format tinyforge report --profile reads). */
  profileOut?: string;
  golden?: string;
  random?: string;
  /** With --random: invokes per case on one model instance (state carried), each step compared. */
  steps?: string;
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

/** Golden cases from a folder, or random cases whose expected outputs come from the TS reference. */
function testCases(compiled: CompiledModel, opts: ValidateCommandOptions, target: string, progress: Progress): { cases: GoldenCase[]; oracle: string } {
  if ((opts.golden === undefined) === (opts.random === undefined)) throw new TinyforgeError('give exactly one of --golden <dir> or --random <n>');
  if (opts.steps !== undefined && opts.random === undefined) throw new TinyforgeError('--steps goes with --random (golden sequences carry their own steps)');
  const { inputs, outputs } = compiled.summary;
  if (opts.random !== undefined) {
    const n = Number(opts.random);
    if (!Number.isInteger(n) || n < 1 || n > 100000) throw new TinyforgeError(`--random wants a case count from 1 to 100000, not '${opts.random}'`);
    if (target === 'ref') throw new TinyforgeError('--random compares a target with the TS reference; choose --target host, qemu-mps2-an386 or qemu-xtensa-lx106');
    const steps = opts.steps === undefined ? 1 : Number(opts.steps);
    if (!Number.isInteger(steps) || steps < 1 || steps > 10000) throw new TinyforgeError(`--steps wants a step count from 1 to 10000, not '${opts.steps}'`);
    progress.start(n, 'reference outputs', 'cases');
    const cases: GoldenCase[] = [];
    for (let k = 0; k < n; k++) {
      if (steps === 1) {
        const caseInputs = randomInputs(inputs, k);
        cases.push({ id: `rand${k}`, inputs: caseInputs, expected: runReference(compiled.model.graph, compiled.layers, caseInputs) });
      } else {
        // One model instance per case; its steps draw inputs as the goldens' seq<k> cases do.
        const state = new ReferenceState(compiled.model.graph);
        randomSequence(inputs, k, steps).forEach((stepInputs, t) => {
          cases.push({ id: `seq${k}/s${t}`, inputs: stepInputs, expected: runReference(compiled.model.graph, compiled.layers, stepInputs, state), keepState: t > 0 });
        });
      }
      progress.update(k + 1);
    }
    progress.stop();
    return { cases, oracle: 'tinyforge TS reference' };
  }
  const golden = loadGolden(opts.golden as string);
  if (golden.cases.length === 0) throw new TinyforgeError(`${opts.golden}: the manifest lists no cases`);
  if (golden.modelSha256 && golden.modelSha256 !== compiled.model.sha256) {
    throw new TinyforgeError(`${opts.golden} was made for a model with sha256 ${golden.modelSha256.slice(0, 16)}..., not ${compiled.summary.model} (${compiled.model.sha256.slice(0, 16)}...)`);
  }
  checkGoldenAgainstModel(golden, inputs.map((i) => i.bytes), outputs.map((o) => o.bytes));
  return { cases: golden.cases, oracle: `golden ${opts.golden}` };
}

/**
 * Outputs of every case on the target. The reference runs case by case, with a progress bar over
 * cases; host and QEMU build once and run all cases in one process, so their bar counts steps.
 */
async function runCases(target: TargetName, compiled: CompiledModel, cases: GoldenCase[], opts: ValidateCommandOptions, progress: Progress): Promise<Uint8Array[][]> {
  const keepState = cases.map((c) => c.keepState === true);
  if (target === 'ref') {
    progress.start(cases.length, 'running on ref', 'cases');
    const state = new ReferenceState(compiled.model.graph);
    const actual: Uint8Array[][] = [];
    for (const [i, c] of cases.entries()) {
      if (!c.keepState) state.reset();
      actual.push(runReference(compiled.model.graph, compiled.layers, c.inputs, state));
      progress.update(i + 1);
    }
    return actual;
  }
  log.info(`building for ${target} and running ${cases.length} case(s) in one process`);
  progress.start(1, `build + run on ${target}`, 'steps');
  const t0 = Date.now();
  const actual = await runOnTarget(target, compiled, cases.map((c) => c.inputs), { sanitize: opts.sanitize, keepState });
  progress.update(1);
  log.verbose(`build + run on ${target}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return actual;
}

/** Returns the process exit code: 0 when every case matches, 1 otherwise. */
export async function validateCommand(modelPath: string, opts: ValidateCommandOptions): Promise<number> {
  if (opts.board !== undefined) {
    const board = findBoard(opts.board);
    // An emulated board without serial agent firmware (qemu-xtensa-lx106) that is a semihosting
    // target validates through that target: same cases, same comparison, no agent.
    if (board.flashing.method === 'qemu' && firmwareFamilyOf(board) === undefined && isTarget(board.id)) {
      if (opts.profile || opts.profileOut !== undefined) {
        throw new TinyforgeError(`--profile reads the serial agent's cycle counter; ${board.id} has no agent: use tinyforge bench ${modelPath} --board ${board.id} --profile`);
      }
      log.info(`${board.id} has no serial agent firmware: validating through semihosting (as --target ${board.id})`);
      return validateCommand(modelPath, { ...opts, board: undefined, target: board.id });
    }
    const compiled = compileModel(loadModel(modelPath));
    const progress = createProgress({ json: opts.json });
    let prepared: { cases: GoldenCase[]; oracle: string };
    try {
      // --random on a board compares with the TS reference, like a host target does.
      prepared = testCases(compiled, opts, 'board', progress);
    } finally {
      progress.stop();
    }
    log.info(`validating ${compiled.summary.model} on ${board.id} through the serial agent: ${prepared.cases.length} case(s) against ${prepared.oracle}`);
    return validateOnBoardCommand(compiled, prepared.cases, prepared.oracle, {
      board,
      port: opts.port,
      flash: opts.flash ?? true,
      image: opts.image,
      json: opts.json,
      profile: opts.profile || opts.profileOut !== undefined,
      profileOut: opts.profileOut,
    });
  }
  const target = parseTarget(opts.target);
  const compiled = compileModel(loadModel(modelPath));
  const progress = createProgress({ json: opts.json });
  let cases: GoldenCase[];
  let oracle: string;
  let actual: Uint8Array[][];
  let started: number;
  try {
    ({ cases, oracle } = testCases(compiled, opts, target, progress));
    log.info(`validating ${compiled.summary.model} on ${target}: ${cases.length} case(s) against ${oracle}`);
    started = Date.now();
    actual = await runCases(target, compiled, cases, opts, progress);
  } finally {
    progress.stop();
  }
  const results = cases.map((c, i) => compareOutputs(c.id, c.expected, actual[i] ?? []));
  const passed = results.filter((r) => r.pass).length;
  if (opts.json) {
    printJson({ model: compiled.summary.model, target, oracle, cases: results.length, passed, failed: results.length - passed, seconds: (Date.now() - started) / 1000, results });
  } else {
    console.log(table(['case', 'result', 'bytes', 'differing', 'first diff', 'expected / actual'], results.map(row)));
    console.log(`\n${compiled.summary.model} on ${target}: ${passed}/${results.length} cases match ${oracle} byte for byte (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  return passed === results.length ? 0 : EXIT_MISMATCH;
}
