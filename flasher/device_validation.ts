// Validation on a device: build (QEMU boards) or flash the agent firmware, open its UART, stream
// every case through the agent, and compare each output byte with the expected bytes.

import path from 'node:path';
import type { Board } from '../compiler/boards/board_schema.ts';
import { countFromTicks, countingOf, isEmulatedBoard, millisecondsOf, type Counting } from '../compiler/boards/counting.ts';
import { compiledForBoard, writeCModule, type CompiledModel } from '../compiler/compile.ts';
import { TinyforgeError } from '../compiler/errors.ts';
import { agentModelSpec, AGENT_C_SOURCES, generateAgentModelSource } from '../compiler/targets/agent_model_source.ts';
import { buildAgentFirmware, firmwareFamilyOf, type FirmwareBuild } from '../compiler/targets/firmware.ts';
import { defaultWorkDir, RUNTIME_TEMPLATES_DIR } from '../compiler/targets/target.ts';
import { compareOutputs, type CaseResult } from '../compiler/validate/compare.ts';
import type { GoldenCase } from '../compiler/validate/golden.ts';
import { AgentSession, type AgentStats, type HelloInfo } from './agent_session.ts';
import { createFlashBackend, type FlashProgress, type FlashResult } from './backend.ts';
import { launchQemu } from './backends/qemu.ts';
import { choosePort } from './ports.ts';
import { SerialTransport, type ByteTransport } from './transport/serial_transport.ts';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readInputFile } from '../compiler/output_paths.ts';
import { textReference } from '../compiler/text/classify.ts';
import type { Vocabulary } from '../compiler/text/tokenizer.ts';
import { emitTokenizer, textModelShape } from '../compiler/text/tokenizer_c.ts';

export const isEmulated = isEmulatedBoard;

/** Builds the agent firmware of a model for a QEMU board (the toolchains we drive ourselves). */
export async function buildQemuFirmware(model: CompiledModel, board: Board, opts: { workDir?: string; profile?: boolean; vocab?: Vocabulary } = {}): Promise<FirmwareBuild> {
  const workDir = opts.workDir ?? defaultWorkDir();
  // Kernel layouts for the board's ISA (Helium on the M55) unless the caller chose one.
  const compiled = compiledForBoard(model, board);
  if (!firmwareFamilyOf(board)) throw new TinyforgeError(`${board.id}: tinyforge builds firmware itself only for QEMU boards; use tinyforge build to get a project for the board's SDK`);
  const dir = path.join(workDir, 'firmware-src', `${board.id}-${compiled.prefix}-${compiled.model.sha256.slice(0, 16)}-${compiled.isa}`);
  const mod = writeCModule(compiled, dir);
  const agentModel = path.join(dir, 'tf_agent_model.c');
  mkdirSync(dir, { recursive: true });
  // A text model gets its tokenizer and the TEXT command (the vocabulary's hash names the build).
  const tokenizer = opts.vocab ? emitTokenizer(compiled.prefix, opts.vocab, textModelShape(compiled.model.graph, opts.vocab)) : undefined;
  const extra: string[] = [];
  if (tokenizer) {
    writeFileSync(path.join(dir, `${compiled.prefix}_tokenizer.h`), tokenizer.header);
    writeFileSync(path.join(dir, `${compiled.prefix}_tokenizer.c`), tokenizer.source);
    extra.push(path.join(dir, `${compiled.prefix}_tokenizer.c`));
  }
  const text = opts.vocab ? { seqLen: textModelShape(compiled.model.graph, opts.vocab).seqLen } : undefined;
  writeFileSync(agentModel, generateAgentModelSource(agentModelSpec(compiled, board.id, text)));
  const vocabTag = tokenizer ? `_text_${createHash('sha256').update(tokenizer.source).digest('hex').slice(0, 12)}` : '';
  return buildAgentFirmware(board, mod, [...AGENT_C_SOURCES.map((f) => path.join(RUNTIME_TEMPLATES_DIR, f)), agentModel, ...extra], {
    workDir,
    // Per-layer counter marks (PROFILE command); a separate cache entry from the plain firmware.
    ...(opts.profile ? { cflags: ['-DTF_PROFILE'] } : {}),
    ...(opts.profile || tokenizer ? { name: `tf_agent${opts.profile ? '_profile' : ''}${vocabTag}` } : {}),
  });
}

export interface OpenDeviceOptions {
  port?: string;
  /** Flash `image` first (real boards). */
  flashImage?: { path: string; address?: number };
  onFlashProgress?: (p: FlashProgress) => void;
  log?: (line: string) => void;
}

export interface OpenDevice {
  transport: ByteTransport;
  /** e.g. `serial:/dev/pts/3` */
  description: string;
  flashed?: FlashResult;
  close(): Promise<void>;
}

/** QEMU boards boot the ELF with the UART on a pty; real boards are flashed (if asked) and opened. */
export async function openDevice(board: Board, firmware: FirmwareBuild | undefined, opts: OpenDeviceOptions = {}): Promise<OpenDevice> {
  if (isEmulated(board)) {
    if (!firmware) throw new TinyforgeError(`${board.id}: no firmware to boot`);
    const session = await launchQemu(board, firmware.elf);
    return { transport: session.transport, description: `serial:${session.ptyPath}`, close: () => session.stop() };
  }
  const port = await choosePort(board, opts.port);
  let flashed: FlashResult | undefined;
  if (opts.flashImage) {
    const data = readInputFile(opts.flashImage.path, '--image');
    const address = opts.flashImage.address ?? (board.flashing.method === 'esp-rom' ? board.flashing.appOffset : board.memory.flash.base);
    flashed = await createFlashBackend(board).flash({ data, address, imagePath: opts.flashImage.path }, { port, onProgress: opts.onFlashProgress, log: opts.log });
  }
  const transport = await SerialTransport.open({ path: port, baudRate: board.uart.baud });
  return { transport, description: transport.description, flashed, close: () => transport.close() };
}

/**
 * One case on a device. Counts are labelled by what they are (compiler/boards/counting.ts): QEMU
 * boards report instructions, real boards core cycles and the milliseconds they take at the board
 * clock; each is null where it does not apply or the counter does not run.
 */
export interface DeviceCaseResult extends CaseResult {
  /** Raw counter ticks around the inference, as the agent measured them. */
  ticks: number;
  instructions: number | null;
  cycles: number | null;
  milliseconds: number | null;
}

export interface DeviceValidationReport {
  board: string;
  transport: string;
  hello: HelloInfo;
  /** What the counts are and how they were counted. */
  counting: Counting;
  cases: DeviceCaseResult[];
  passed: number;
  failed: number;
  stats: AgentStats;
  /** Counter ticks of each layer in the last case (firmware built with -DTF_PROFILE). */
  layerTicks?: number[];
}

/** What every serial-agent validation shares: a session checked against the model, and its counter. */
export interface AgentConnection {
  session: AgentSession;
  hello: HelloInfo;
  counting: Counting;
}

/** Opens an agent session on `device` for `compiled` (the agent must report the model's sha256). */
export async function connectAgent(
  compiled: CompiledModel,
  board: Board,
  device: OpenDevice,
  options: { invokeTimeoutMs?: number; onEvent?: (message: string) => void } = {},
): Promise<AgentConnection> {
  const session = new AgentSession(device.transport, {
    expectModelSha256: compiled.model.sha256,
    baudRate: isEmulated(board) ? undefined : board.uart.baud,
    // QEMU notices that the host opened its pty only about once a second.
    connectTimeoutMs: isEmulated(board) ? 10_000 : 5_000,
    ...(options.invokeTimeoutMs === undefined ? {} : { invokeTimeoutMs: options.invokeTimeoutMs }),
    // Repeats, resets and timeouts are told as they happen: a silent 30 s wait looks like a hang.
    ...(options.onEvent ? { onEvent: (m: string) => options.onEvent?.(`serial: ${m}`) } : {}),
  });
  const hello = await session.connect();
  return { session, hello, counting: countingOf(board, hello.counterName, hello.cyclesPerTick) };
}

/** Counter ticks as the result's instructions, cycles and milliseconds (a counter that did not move gives no count, not 0). */
export function timedTicks(counting: Counting, ticks: number): Pick<DeviceCaseResult, 'ticks' | 'instructions' | 'cycles' | 'milliseconds'> {
  const count = countFromTicks(counting, ticks);
  return { ticks, instructions: counting.unit === 'instructions' ? count : null, cycles: counting.unit === 'cycles' ? count : null, milliseconds: millisecondsOf(counting, count) };
}

/** Reads STATS and totals the cases into the report. */
export async function finishReport(c: AgentConnection, board: Board, device: OpenDevice, results: DeviceCaseResult[]): Promise<DeviceValidationReport> {
  const stats = await c.session.stats();
  const passed = results.filter((r) => r.pass).length;
  return { board: board.id, transport: device.description, hello: c.hello, counting: c.counting, cases: results, passed, failed: results.length - passed, stats };
}

/** Streams every case through the agent; never reports a case whose outputs were not fully received. */
export async function validateOnDevice(
  compiled: CompiledModel,
  board: Board,
  device: OpenDevice,
  cases: readonly GoldenCase[],
  onCase?: (done: number, total: number) => void,
  options: { profile?: boolean; invokeTimeoutMs?: number; onEvent?: (message: string) => void } = {},
): Promise<DeviceValidationReport> {
  const agent = await connectAgent(compiled, board, device, options);
  const { session, counting } = agent;
  const results: DeviceCaseResult[] = [];
  // Stateful models start every case (and every sequence) from a reset state, as TFLite Micro's
  // goldens start from a fresh interpreter; steps of a sequence continue the state.
  const stateful = compiled.plan.stateBytes > 0 || cases.some((c) => c.keepState);
  for (const [i, c] of cases.entries()) {
    if (stateful && !c.keepState) await session.reset();
    const r = await session.infer(c.inputs);
    results.push({ ...compareOutputs(c.id, c.expected, r.outputs), ...timedTicks(counting, r.ticks) });
    onCase?.(i + 1, cases.length);
  }
  if (counting.running && results.length > 0 && results.every((r) => r.ticks === 0)) {
    counting.running = false;
    counting.how = `the ${counting.counter} counter of ${board.id} did not move during any inference: it is not running, so there are no counts or times`;
  }
  const report = await finishReport(agent, board, device, results);
  return options.profile ? { ...report, layerTicks: await session.profile() } : report;
}

/**
 * Text validation: every sentence goes to the agent as a TEXT request (tokenized and classified
 * on the device); the token ids it reports and the scores it computed are compared byte for byte
 * with the host reference (TypeScript tokenizer + reference kernels). In each case, output 0 is
 * the token ids (int32, little-endian) and output 1 the scores.
 */
export async function validateTextOnDevice(
  compiled: CompiledModel,
  board: Board,
  device: OpenDevice,
  vocab: Vocabulary,
  sentences: readonly string[],
  onCase?: (done: number, total: number) => void,
): Promise<DeviceValidationReport> {
  const reference = textReference(compiled.model.graph, vocab);
  const agent = await connectAgent(compiled, board, device);
  const { session, counting } = agent;
  const results: DeviceCaseResult[] = [];
  const utf8 = new TextEncoder();
  for (const [i, sentence] of sentences.entries()) {
    const want = reference(sentence);
    const r = await session.text(utf8.encode(sentence));
    const bytesOf = (ids: Int32Array): Uint8Array => new Uint8Array(Int32Array.from(ids).buffer);
    const cmp = compareOutputs(`s${i + 1}`, [bytesOf(want.ids), want.scores], [bytesOf(r.ids), r.outputs[0] ?? new Uint8Array(0)]);
    results.push({ ...cmp, pass: cmp.pass && r.count === want.count, ...timedTicks(counting, r.ticks) });
    onCase?.(i + 1, sentences.length);
  }
  return finishReport(agent, board, device, results);
}
