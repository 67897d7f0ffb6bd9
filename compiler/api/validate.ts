// validate(): run golden (or random) cases on a target or a board and compare every output byte.
// What `tinyforge validate` runs; its result is the `result` of `validate --json`, one shape for
// every target: `total`, `passed`, `failed` are counts, `cases` is always the per-case list.

import { readFileSync } from 'node:fs';
import type { Board } from '../boards/board_schema.ts';
import { isEmulatedBoard, type Counting } from '../boards/counting.ts';
import { checkFitsBoard } from '../boards/fit.ts';
import { findBoard } from '../boards/load_boards.ts';
import { compileModel, loadModel, type CompiledModel, type LoadedModel } from '../compile.ts';
import { TinyforgeError } from '../errors.ts';
import { readInputFile } from '../output_paths.ts';
import { isTarget, parseTarget, type TargetName } from '../cli/target_names.ts';
import { ReferenceState, runReference } from '../reference/run_reference.ts';
import { firmwareFamilyOf } from '../targets/firmware.ts';
import { compareOutputs, type CaseResult } from '../validate/compare.ts';
import { checkGoldenAgainstModel, loadGolden, type GoldenCase } from '../validate/golden.ts';
import { randomInputs, randomSequence } from '../validate/random_cases.ts';
import type { AgentStats, HelloInfo } from '../../flasher/protocol/messages.ts';
import type { DeviceValidationReport, OpenDevice } from '../../flasher/device_validation.ts';
import type { Vocabulary } from '../text/tokenizer.ts';
import { layerProfile, type ModelProfile } from './profile.ts';
import { expectedEnrollment, loadEnrollSpec, specLearning, type EnrollSpec } from '../adapt/enroll_plan.ts';

export interface ValidateProgress {
  /** e.g. "reference outputs", "running on ref", "build + run on host", "cases on qemu-mps2-an386". */
  stage: string;
  done: number;
  total: number;
  /** What is counted: cases or steps. */
  unit: 'cases' | 'steps';
}

export interface ValidateOptions {
  /** ref (TypeScript reference), host (system cc), qemu-mps2-an386 or qemu-xtensa-lx106 (semihosting). Default ref; ignored with `board`. */
  target?: string;
  /** Validate on a board through the serial agent (QEMU boards are built and booted). */
  board?: string;
  /** Real boards: serial port (default: the only USB serial device matching the board). */
  port?: string;
  /** Real boards: firmware image to flash first. */
  image?: string;
  /** Real boards: false when the board already runs the agent (no image needed). Default true. */
  flash?: boolean;
  /** With `board`: per-layer counts of the last case (QEMU firmware is built with -DTF_PROFILE). */
  profile?: boolean;
  /** Golden folder: manifest.json plus raw tensors. Exactly one of golden and random. */
  golden?: string;
  /** This many random cases, checked against the TypeScript reference. */
  random?: number;
  /** With `random`: invokes per case on one model instance, state carried (stateful models). Default 1. */
  steps?: number;
  /** Host target: AddressSanitizer and UndefinedBehaviorSanitizer. */
  sanitize?: boolean;
  /**
   * With `board`: compile with `--adapt last` and check on-device enrollment step by step against
   * the TS reference: an enrollment spec file (compiler/adapt/enroll_plan.ts) or the spec itself.
   * Takes the place of golden / random.
   */
  enroll?: string | EnrollSpec;
  /** With `enroll`: classes of the learnable head (default: the spec's, else the replaced layer's units). */
  adaptClasses?: number;
  /** With `enroll`: the head's SGD epochs and replay slots (default: the spec's, else compile's defaults). */
  adaptEpochs?: number;
  adaptReplay?: number;
  /**
   * With `board` and `vocab`: a file of sentences (one per line, blank lines skipped) sent with the
   * agent's TEXT command, tokenized and classified on the device; token ids (output 0 of each
   * case) and scores (output 1) are compared with the host reference. Replaces golden / random.
   */
  text?: string;
  /** The text model's vocabulary (docs/tokenizer.md): the firmware gets its tokenizer. */
  vocab?: string;
  onProgress?: (p: ValidateProgress) => void;
  /**
   * With `board`: seconds to wait for one inference's INVOKE reply before the board counts as
   * gone (then a few seconds of repeats). Default 30.
   */
  timeout?: number;
  /** Status lines ("validating ... on host: 8 cases against ..."), and serial-line events (repeats, resets). */
  onInfo?: (line: string) => void;
}

/**
 * One case. `instructions` (QEMU boards through the agent), `cycles` and `milliseconds` (real
 * boards with a running counter) are null wherever they are not measured.
 */
export interface ValidateCase extends CaseResult {
  instructions: number | null;
  cycles: number | null;
  milliseconds: number | null;
}

export interface DeviceInfo {
  board: string;
  /** e.g. serial:/dev/pts/3 */
  transport: string;
  counting: Counting;
  /** Arena bytes as the firmware reports them. */
  arenaBytes: number;
  stackHighWaterBytes: number;
  stackSizeBytes: number;
  hello: HelloInfo;
  stats: AgentStats;
}

export interface ValidateResult {
  model: string;
  modelSha256: string;
  /** The target name or the board id. */
  target: string;
  /** How the model ran: the TS reference, a host binary, QEMU with semihosting, or the agent over serial. */
  via: 'reference' | 'host' | 'semihosting' | 'agent';
  /** What the outputs were compared with. */
  oracle: string;
  total: number;
  passed: number;
  failed: number;
  /** Wall-clock seconds of building and running (not of the model on the device). */
  seconds: number;
  cases: ValidateCase[];
  /** With a board: what the agent reported. */
  device: DeviceInfo | null;
  /** With a board and `profile`. */
  profile: ModelProfile | null;
}

/** Golden cases from a folder, or random cases whose expected outputs come from the TS reference. */
export function testCases(compiled: CompiledModel, opts: ValidateOptions, where: string): { cases: GoldenCase[]; oracle: string } {
  if ((opts.golden === undefined) === (opts.random === undefined)) throw new TinyforgeError('give exactly one of --golden <dir> or --random <n>');
  if (opts.steps !== undefined && opts.random === undefined) throw new TinyforgeError('--steps goes with --random (golden sequences carry their own steps)');
  const { inputs, outputs } = compiled.summary;
  if (opts.random !== undefined) {
    const n = opts.random;
    if (!Number.isInteger(n) || n < 1 || n > 100000) throw new TinyforgeError(`--random wants a case count from 1 to 100000, not '${n}'`);
    if (where === 'ref') throw new TinyforgeError('--random compares a target with the TS reference; choose --target host, qemu-mps2-an386 or qemu-xtensa-lx106');
    const steps = opts.steps ?? 1;
    if (!Number.isInteger(steps) || steps < 1 || steps > 10000) throw new TinyforgeError(`--steps wants a step count from 1 to 10000, not '${steps}'`);
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
      opts.onProgress?.({ stage: 'reference outputs', done: k + 1, total: n, unit: 'cases' });
    }
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
 * Outputs of every case on the target. The reference runs case by case (progress per case); host
 * and QEMU build once and run all cases in one process (progress per step).
 */
async function runCases(target: TargetName, compiled: CompiledModel, cases: GoldenCase[], opts: ValidateOptions): Promise<Uint8Array[][]> {
  const { runOnTarget } = await import('../cli/targets.ts');
  // Steps of a sequence continue the previous invoke's state; every other case starts fresh.
  const keepState = cases.map((c) => c.keepState === true);
  if (target === 'ref') {
    const state = new ReferenceState(compiled.model.graph);
    const actual: Uint8Array[][] = [];
    for (const [i, c] of cases.entries()) {
      if (!c.keepState) state.reset();
      actual.push(runReference(compiled.model.graph, compiled.layers, c.inputs, state));
      opts.onProgress?.({ stage: 'running on ref', done: i + 1, total: cases.length, unit: 'cases' });
    }
    return actual;
  }
  opts.onInfo?.(`building for ${target} and running ${cases.length} case(s) in one process`);
  opts.onProgress?.({ stage: `build + run on ${target}`, done: 0, total: 1, unit: 'steps' });
  const actual = await runOnTarget(target, compiled, cases.map((c) => c.inputs), { sanitize: opts.sanitize, keepState });
  opts.onProgress?.({ stage: `build + run on ${target}`, done: 1, total: 1, unit: 'steps' });
  return actual;
}

const untimed = (r: CaseResult): ValidateCase => ({ ...r, instructions: null, cycles: null, milliseconds: null });

/** The head's SGD settings: the flags over the spec's fields over compile's defaults. */
function enrollLearning(spec: EnrollSpec, opts: Pick<ValidateOptions, 'adaptEpochs' | 'adaptReplay'>): { epochs?: number; replay?: number } {
  return { ...specLearning(spec), ...(opts.adaptEpochs === undefined ? {} : { epochs: opts.adaptEpochs }), ...(opts.adaptReplay === undefined ? {} : { replay: opts.adaptReplay }) };
}

/** Compile with the learnable head, then enroll and classify on the board against the TS reference. */
async function validateEnrollmentOnBoard(loaded: LoadedModel, opts: ValidateOptions & { board: string; enroll: string | EnrollSpec }): Promise<ValidateResult> {
  if (opts.golden !== undefined || opts.random !== undefined || opts.steps !== undefined) throw new TinyforgeError('--enroll takes the place of --golden / --random / --steps');
  if (opts.profile) throw new TinyforgeError('--profile goes with --golden or --random, not --enroll');
  const spec = typeof opts.enroll === 'string' ? loadEnrollSpec(opts.enroll) : opts.enroll;
  const classes = opts.adaptClasses ?? spec.classes;
  const compiled = compileModel(loaded, { adapt: { layer: 'last', ...(classes === undefined ? {} : { classes }), learning: enrollLearning(spec, opts) } });
  const plan = expectedEnrollment(compiled, spec);
  const board = findBoard(opts.board);
  checkAgentOptions(board, opts);
  const { validateEnrollmentOnDevice } = await import('../../flasher/enroll_validation.ts');
  checkFitsBoard(compiled, board);
  const oracle = 'tinyforge TS reference head';
  opts.onInfo?.(`enrolling on ${board.id} through the serial agent: ${spec.steps.length} step(s) against the ${oracle} (${compiled.summary.head?.classes} classes)`);
  const started = Date.now();
  const report = await withAgentDevice(compiled, board, opts, {}, (device) =>
    validateEnrollmentOnDevice(compiled, board, device, plan, (done, total) => opts.onProgress?.({ stage: `enrollment on ${board.id}`, done, total, unit: 'steps' })),
  );
  return agentResult(compiled, board, oracle, started, report, null);
}

async function validateOnBoard(compiled: CompiledModel, opts: ValidateOptions & { board: string }): Promise<ValidateResult> {
  const board = findBoard(opts.board);
  checkAgentOptions(board, opts);
  // Device code (serialport, firmware builds) is loaded only for boards.
  const { validateOnDevice } = await import('../../flasher/device_validation.ts');
  const { cases, oracle } = testCases(compiled, opts, 'board');
  checkFitsBoard(compiled, board);
  opts.onInfo?.(`validating ${compiled.summary.model} on ${board.id} through the serial agent: ${cases.length} case(s) against ${oracle}`);
  const started = Date.now();
  const report = await withAgentDevice(compiled, board, opts, { profile: opts.profile }, (device) =>
    validateOnDevice(compiled, board, device, cases, (done, total) => opts.onProgress?.({ stage: `cases on ${board.id}`, done, total, unit: 'cases' }), {
      profile: opts.profile,
      ...(opts.timeout === undefined ? {} : { invokeTimeoutMs: opts.timeout * 1000 }),
      ...(opts.onInfo ? { onEvent: opts.onInfo } : {}),
    }),
  );
  const profile = opts.profile ? layerProfile(compiled, report.layerTicks ?? [], report.counting, board) : null;
  return agentResult(compiled, board, oracle, started, report, profile);
}

/**
 * Options of every serial-agent validation, checked before anything is built: QEMU boards are
 * booted by tinyforge on a pty of its own with the firmware built here, so --port and --no-flash
 * are for real boards; a missing --image is found first.
 */
function checkAgentOptions(board: Board, opts: ValidateOptions): void {
  const emulated = isEmulatedBoard(board);
  if (emulated && opts.port !== undefined) {
    throw new TinyforgeError(`--port: ${board.id} runs under QEMU, which tinyforge starts with its own serial pty; --port is for real boards (leave it out)`);
  }
  if (emulated && opts.flash === false) {
    throw new TinyforgeError(`--no-flash: ${board.id} runs under QEMU, which boots the firmware tinyforge builds for the model each time; --no-flash is for real boards (leave it out)`);
  }
  if (opts.timeout !== undefined && !(opts.timeout > 0 && Number.isFinite(opts.timeout))) throw new TinyforgeError(`--timeout wants seconds greater than 0, not ${opts.timeout}`);
  if (!emulated && (opts.flash ?? true) && opts.image !== undefined) readInputFile(opts.image, '--image');
}

/** Builds (QEMU) or flashes (real boards, --image) the agent firmware, opens the board, runs `use`, closes it. */
async function withAgentDevice<T>(
  compiled: CompiledModel,
  board: Board,
  opts: ValidateOptions,
  firmwareOptions: { profile?: boolean; vocab?: Vocabulary },
  use: (device: OpenDevice) => Promise<T>,
): Promise<T> {
  const { buildQemuFirmware, openDevice } = await import('../../flasher/device_validation.ts');
  const emulated = isEmulatedBoard(board);
  const flash = opts.flash ?? true;
  const firmware = emulated ? await buildQemuFirmware(compiled, board, firmwareOptions) : undefined;
  if (!emulated && flash && !opts.image) {
    throw new TinyforgeError(`${board.id}: give --image <file> to flash (built from tinyforge build's project), or --no-flash if the board already runs it`);
  }
  const device = await openDevice(board, firmware, { port: opts.port, flashImage: flash && opts.image ? { path: opts.image } : undefined });
  try {
    return await use(device);
  } finally {
    await device.close();
  }
}

/** The result of a validation over the serial agent. */
function agentResult(compiled: CompiledModel, board: Board, oracle: string, started: number, report: DeviceValidationReport, profile: ValidateResult['profile']): ValidateResult {
  return {
    model: compiled.summary.model,
    modelSha256: compiled.model.sha256,
    target: board.id,
    via: 'agent',
    oracle,
    total: report.cases.length,
    passed: report.passed,
    failed: report.failed,
    seconds: (Date.now() - started) / 1000,
    cases: report.cases.map(({ ticks: _ticks, ...c }) => c),
    device: {
      board: board.id,
      transport: report.transport,
      counting: report.counting,
      arenaBytes: report.hello.arenaBytes,
      stackHighWaterBytes: report.stats.stackHighWaterBytes,
      stackSizeBytes: report.stats.stackSizeBytes,
      hello: report.hello,
      stats: report.stats,
    },
    profile,
  };
}

/** The sentences of a --text file: its non-blank lines, without trailing whitespace. */
export function readSentences(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TinyforgeError(`${file}: cannot read the sentences: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const sentences = text.split('\n').map((l) => l.replace(/\s+$/, '')).filter((l) => l.trim() !== '');
  if (sentences.length === 0) throw new TinyforgeError(`${file}: no sentences (one per line)`);
  return sentences;
}

async function validateTextOnBoard(compiled: CompiledModel, opts: ValidateOptions & { board: string; text: string; vocab: string }): Promise<ValidateResult> {
  const board = findBoard(opts.board);
  checkAgentOptions(board, opts);
  const { validateTextOnDevice } = await import('../../flasher/device_validation.ts');
  const { readVocabulary } = await import('../text/tokenizer.ts');
  const { textModelShape } = await import('../text/tokenizer_c.ts');
  const vocab = readVocabulary(opts.vocab);
  textModelShape(compiled.model.graph, vocab);
  const sentences = readSentences(opts.text);
  if (opts.profile) throw new TinyforgeError('--profile is not available with --text');
  checkFitsBoard(compiled, board);
  const oracle = 'the host reference (TypeScript tokenizer and reference kernels)';
  opts.onInfo?.(`validating ${compiled.summary.model} on ${board.id} through the serial agent: ${sentences.length} sentence(s) tokenized and classified on the device against ${oracle}`);
  const started = Date.now();
  const report = await withAgentDevice(compiled, board, opts, { vocab }, (device) =>
    validateTextOnDevice(compiled, board, device, vocab, sentences, (done, total) => opts.onProgress?.({ stage: `sentences on ${board.id}`, done, total, unit: 'cases' })),
  );
  return agentResult(compiled, board, oracle, started, report, null);
}

/**
 * Validates a model: every case's outputs compared byte for byte with the golden (or reference)
 * outputs. Mismatches are reported in the result (failed > 0), not thrown; problems with the
 * model, the flags or the tools throw a TinyforgeError.
 */
export async function validate(model: string | LoadedModel, opts: ValidateOptions): Promise<ValidateResult> {
  const loaded = typeof model === 'string' ? loadModel(model) : model;
  if (opts.enroll !== undefined) {
    if (opts.board === undefined) throw new TinyforgeError('--enroll runs on a board through the serial agent: add --board <board> (e.g. qemu-mps2-an386)');
    return validateEnrollmentOnBoard(loaded, { ...opts, board: opts.board, enroll: opts.enroll });
  }
  const stray = ([['--adapt-classes', opts.adaptClasses], ['--adapt-epochs', opts.adaptEpochs], ['--adapt-replay', opts.adaptReplay]] as const).find(([, v]) => v !== undefined);
  if (stray) throw new TinyforgeError(`${stray[0]} goes with --enroll`);
  if (opts.board !== undefined) {
    const board = findBoard(opts.board);
    // An emulated board without serial agent firmware (qemu-xtensa-lx106) that is a semihosting
    // target validates through that target: same cases, same comparison, no agent.
    if (board.flashing.method === 'qemu' && firmwareFamilyOf(board) === undefined && isTarget(board.id)) {
      if (opts.profile) {
        throw new TinyforgeError(`--profile reads the serial agent's cycle counter; ${board.id} has no agent: use tinyforge bench <model> --board ${board.id} --profile`);
      }
      opts.onInfo?.(`${board.id} has no serial agent firmware: validating through semihosting (as --target ${board.id})`);
      const { board: _board, ...rest } = opts;
      return validate(loaded, { ...rest, target: board.id });
    }
  }
  if ((opts.text === undefined) !== (opts.vocab === undefined)) throw new TinyforgeError('--text and --vocab go together: sentences, and the vocabulary of the text model');
  if (opts.text !== undefined && opts.board === undefined) throw new TinyforgeError('--text validates through the serial agent: give --board (e.g. --board qemu-mps2-an386)');
  if (opts.text !== undefined && (opts.golden !== undefined || opts.random !== undefined)) throw new TinyforgeError('--text replaces --golden and --random: give one of them');
  const compiled = compileModel(loaded);
  if (opts.board !== undefined && opts.text !== undefined && opts.vocab !== undefined) return validateTextOnBoard(compiled, { ...opts, board: opts.board, text: opts.text, vocab: opts.vocab });
  if (opts.board !== undefined) return validateOnBoard(compiled, { ...opts, board: opts.board });
  const target = parseTarget(opts.target ?? 'ref');
  const { cases, oracle } = testCases(compiled, opts, target);
  opts.onInfo?.(`validating ${compiled.summary.model} on ${target}: ${cases.length} case(s) against ${oracle}`);
  const started = Date.now();
  const actual = await runCases(target, compiled, cases, opts);
  const results = cases.map((c, i) => untimed(compareOutputs(c.id, c.expected, actual[i] ?? [])));
  const passed = results.filter((r) => r.pass).length;
  return {
    model: compiled.summary.model,
    modelSha256: compiled.model.sha256,
    target,
    via: target === 'ref' ? 'reference' : target === 'host' ? 'host' : 'semihosting',
    oracle,
    total: results.length,
    passed,
    failed: results.length - passed,
    seconds: (Date.now() - started) / 1000,
    cases: results,
    device: null,
    profile: null,
  };
}
