import { validate, type ValidateCase, type ValidateOptions, type ValidateResult } from '../../api/validate.ts';
import { EXIT_MISMATCH, TinyforgeError } from '../../errors.ts';
import { formatInt, table } from '../format.ts';
import { setJsonResult } from '../json_output.ts';
import { log } from '../log.ts';
import { createProgress } from '../progress.ts';
import { formatProfile, writeProfileJson } from './profile.ts';

export interface ValidateCommandOptions {
  /** A run target (ref, host, qemu-mps2-an386, qemu-xtensa-lx106); ignored when `board` is given. */
  target: string;
  /** Validate on a board through the serial agent (QEMU boards are built and booted). */
  board?: string;
  port?: string;
  /** false with --no-flash. */
  flash?: boolean;
  image?: string;
  /** Also report per-layer counts of the last case (from the agent's PROFILE command). */
  profile?: boolean;
  /** Write the per-layer profile as JSON (the format tinyforge report --profile reads). */
  profileOut?: string;
  golden?: string;
  random?: string;
  /** With --random: invokes per case on one model instance (state carried), each step compared. */
  steps?: string;
  /** Enrollment spec: compile with --adapt last and check enrollment on the board step by step. */
  enroll?: string;
  adaptClasses?: string;
  adaptEpochs?: string;
  adaptReplay?: string;
  json?: boolean;
  sanitize?: boolean;
  /** With --board: seconds to wait for one inference (INVOKE reply). */
  timeout?: string;
  /** Sentences for the agent's TEXT command (with vocab). */
  text?: string;
  vocab?: string;
}

function firstDiff(r: ValidateCase): [string, string] {
  const bad = r.outputs.find((o) => o.differing > 0);
  return bad ? [`out ${bad.output}[${bad.firstIndex}]`, `${bad.expected ?? 'none'} / ${bad.actual ?? 'none'}`] : ['-', '-'];
}

const orDash = (n: number | null, digits?: number): string | number => (n === null ? '-' : digits === undefined ? n : n.toFixed(digits));

function printResult(r: ValidateResult): void {
  const base = (c: ValidateCase): Array<string | number> => [c.id, c.pass ? 'match' : 'MISMATCH', c.outputs.reduce((s, o) => s + o.bytes, 0), c.outputs.reduce((s, o) => s + o.differing, 0), ...firstDiff(c)];
  const d = r.device;
  if (d === null) {
    console.log(table(['case', 'result', 'bytes', 'differing', 'first diff', 'expected / actual'], r.cases.map(base)));
    console.log(`\n${r.model} on ${r.target}: ${r.passed}/${r.total} cases match ${r.oracle} byte for byte (${r.seconds.toFixed(1)} s wall clock)`);
    return;
  }
  const counted = d.counting.running;
  const timing = !counted ? [] : d.counting.unit === 'instructions' ? ['instructions'] : ['cycles', 'ms'];
  console.log(
    table(
      ['case', 'result', 'bytes', 'differing', 'first diff', 'expected / actual', ...timing],
      r.cases.map((c) => [...base(c), ...(!counted ? [] : d.counting.unit === 'instructions' ? [orDash(c.instructions)] : [orDash(c.cycles), orDash(c.milliseconds, 2)])]),
    ),
  );
  console.log(
    `\n${r.model} on ${d.board} via ${d.transport}: ${r.passed}/${r.total} cases match ${r.oracle} byte for byte; ` +
      `arena ${formatInt(d.arenaBytes)} bytes, stack high-water ${formatInt(d.stackHighWaterBytes)} of ${formatInt(d.stackSizeBytes)} bytes`,
  );
  console.log(`counts: ${d.counting.how}`);
  if (r.profile) {
    console.log('');
    console.log(formatProfile(r.profile, d.board, false));
  }
}

function parseWhole(flag: string, what: string, v: string): number {
  if (!/^\s*\d+\s*$/.test(v)) throw new TinyforgeError(`${flag} wants ${what}, not '${v}'`);
  return Number(v);
}

/** Returns the process exit code: 0 when every case matches, 1 otherwise. */
export async function validateCommand(modelPath: string, opts: ValidateCommandOptions): Promise<number> {
  if (opts.random !== undefined && !/^\s*\d+\s*$/.test(opts.random)) throw new TinyforgeError(`--random wants a case count from 1 to 100000, not '${opts.random}'`);
  const timeout = opts.timeout === undefined ? undefined : Number(opts.timeout);
  if (opts.timeout !== undefined && !(timeout !== undefined && timeout > 0 && Number.isFinite(timeout))) throw new TinyforgeError(`--timeout wants seconds greater than 0, not '${opts.timeout}'`);
  if (timeout !== undefined && opts.board === undefined) throw new TinyforgeError('--timeout is the wait for one inference on a board through the serial agent: give it with --board');
  const progress = createProgress({ json: opts.json });
  let stage = '';
  const apiOptions: ValidateOptions = {
    target: opts.target,
    ...(opts.board === undefined ? {} : { board: opts.board }),
    ...(opts.port === undefined ? {} : { port: opts.port }),
    ...(opts.image === undefined ? {} : { image: opts.image }),
    flash: opts.flash ?? true,
    profile: opts.profile === true || opts.profileOut !== undefined,
    ...(opts.golden === undefined ? {} : { golden: opts.golden }),
    ...(opts.random === undefined ? {} : { random: Number(opts.random) }),
    ...(opts.steps === undefined ? {} : { steps: Number(opts.steps) }),
    ...(opts.enroll === undefined ? {} : { enroll: opts.enroll }),
    ...(opts.adaptClasses === undefined ? {} : { adaptClasses: parseWhole('--adapt-classes', 'a class count', opts.adaptClasses) }),
    ...(opts.adaptEpochs === undefined ? {} : { adaptEpochs: parseWhole('--adapt-epochs', 'a whole number', opts.adaptEpochs) }),
    ...(opts.adaptReplay === undefined ? {} : { adaptReplay: parseWhole('--adapt-replay', 'a whole number', opts.adaptReplay) }),
    sanitize: opts.sanitize === true,
    ...(timeout === undefined ? {} : { timeout }),
    ...(opts.text === undefined ? {} : { text: opts.text }),
    ...(opts.vocab === undefined ? {} : { vocab: opts.vocab }),
    onInfo: (line) => log.info(line),
    onProgress: (p) => {
      if (p.stage !== stage) {
        stage = p.stage;
        progress.start(p.total, p.stage, p.unit);
      }
      progress.update(p.done);
    },
  };
  let result: ValidateResult;
  try {
    result = await validate(modelPath, apiOptions);
  } finally {
    progress.stop();
  }
  if (opts.profileOut && result.profile) writeProfileJson(opts.profileOut, result.profile);
  const failure = result.failed === 0 ? undefined : `${result.failed} of ${result.total} cases differ from ${result.oracle}`;
  if (opts.json) setJsonResult(result, failure);
  else printResult(result);
  return result.failed === 0 ? 0 : EXIT_MISMATCH;
}
