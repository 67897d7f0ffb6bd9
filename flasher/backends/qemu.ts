// The "flash" backend of the emulated boards: boots a firmware ELF in QEMU with the board's UART
// on a pseudo-terminal and hands it to the caller as a ByteTransport over SerialTransport.
//
// Sequence: start QEMU paused (-S) with its QMP monitor on stdio and `-serial pty`; read
// "char device redirected to /dev/pts/N" from its output; wait until the monitor answers (the
// machine is built and the firmware loaded); open the pty with SerialTransport (serialport sets
// the line raw: no echo, no CR/LF translation); only then send `cont`, so that nothing the guest
// sends is lost and nothing is echoed back to it.
//
// Guest power-off (and, with noReboot, guest reset) pauses the VM (`-action shutdown=pause`)
// instead of ending QEMU at once: QEMU's exit would hang up the pty and the kernel could discard
// the guest's last words (a fault report) before we read them. We let the pty drain, then quit.
//
// No orphans: stop() (also called by the transport's close(), on a session timeout and when
// the launch fails) ends QEMU and waits for it; while sessions are live, process 'exit',
// SIGINT, SIGTERM and SIGHUP handlers kill them (installed once, removed with the last
// session); and where util-linux `setpriv --pdeathsig` exists, QEMU is started through it so
// that the kernel kills QEMU even when Node itself is SIGKILLed.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

import type { Board } from '../../compiler/boards/board_schema.ts';
import { TinyforgeError, ToolError } from '../../compiler/errors.ts';
import { findExecutable, tailLines } from '../../compiler/targets/toolchain.ts';
import {
  SerialTransport,
  TimeoutError,
  TransportError,
  type ByteTransport,
  type ModemSignals,
} from '../transport/serial_transport.ts';

/** Debian packages of the emulators. */
export const QEMU_INSTALL_HINTS: Readonly<Record<string, string>> = {
  'qemu-system-arm': 'sudo apt-get install qemu-system-arm',
  'qemu-system-riscv32': 'sudo apt-get install qemu-system-misc',
  'qemu-system-riscv64': 'sudo apt-get install qemu-system-misc',
  'qemu-system-xtensa': 'sudo apt-get install qemu-system-misc',
};

/** What the firmware's fault handlers print (startup_agent_cortex_m.c, riscv/startup_virt.c). */
export const FIRMWARE_FAULT_MARKER = '*** TF-FAULT ';
const FAULT_LINE = /\*\*\* TF-FAULT ([A-Za-z0-9]+) ([^\r\n]*?) \*\*\*/;

/** The fault report in some bytes received from a firmware, if there is one. */
export function findFaultReport(data: Uint8Array): { kind: string; detail: string; line: string } | undefined {
  const m = FAULT_LINE.exec(Buffer.from(data).toString('latin1'));
  if (!m) return undefined;
  return { kind: m[1] as string, detail: m[2] as string, line: m[0] };
}

export interface QemuLaunchOptions {
  /** `-icount shift=0`: 1 ns of virtual time per instruction, deterministic timers. Default true. */
  icount?: boolean;
  /**
   * End the session when the guest resets (the firmware's fault handlers reset the board after
   * their report), instead of letting the firmware boot again. Default false.
   */
  noReboot?: boolean;
  /** Stop QEMU after this long; pending and later reads fail with a message saying so. Default: no limit. */
  timeoutMs?: number;
  /** Limit for QEMU to start and announce its pty. Default 15 s. */
  startTimeoutMs?: number;
  /** The emulator binary (name on PATH or path). Default: the board file's emulator.program. */
  program?: string;
  /** Extra arguments, placed before -kernel. */
  extraArgs?: string[];
  /** Working directory of QEMU. Default: the ELF's directory. */
  cwd?: string;
  /**
   * Start QEMU through `setpriv --pdeathsig KILL` (when available) so that the kernel kills it if
   * this process dies without running its handlers (SIGKILL, crash). Default true.
   */
  killWithParent?: boolean;
}

export interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface QemuSession {
  /** The guest's UART. close() stops QEMU too. */
  readonly transport: QemuTransport;
  /** The pseudo-terminal QEMU attached the UART to, e.g. /dev/pts/7. */
  readonly ptyPath: string;
  /** QEMU's process id. */
  readonly pid: number;
  /** The command line QEMU was started with (without a setpriv wrapper). */
  readonly argv: readonly string[];
  /** Resolves when QEMU has exited, for whatever reason. */
  readonly exited: Promise<QemuExit>;
  /** True until QEMU has exited. */
  readonly running: boolean;
  /** How many times the guest has reset the board (RESET events of the guest). */
  readonly resets: number;
  /** The last lines QEMU printed on stdout and stderr, without the QMP traffic. */
  output(): string;
  /** Ends QEMU (QMP `quit`, then SIGKILL) and closes the transport; resolves once it is gone. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 15_000;
const QUIT_GRACE_MS = 1_000;
const PTY_LINE = /char device redirected to (\/dev\/[^\s]+)/;

/** The emulator binary for a board, or a ToolError with the apt command that installs it. */
export function requireQemu(program: string): string {
  const found = findExecutable(program);
  if (found === undefined) {
    const hint = QEMU_INSTALL_HINTS[path.basename(program)] ?? `install \`${program}\` and make sure it is on PATH`;
    throw new ToolError(`\`${program}\` was not found on PATH. Install it with: ${hint}`);
  }
  return found;
}

/** QEMU's arguments (after the program name) for running `elf` on `board` with its UART on a pty. */
export function qemuSerialArgs(board: Board, elf: string, opts: QemuLaunchOptions = {}): string[] {
  const emu = board.emulator;
  if (emu === undefined) throw new TinyforgeError(`board ${board.id} is not an emulated board (no "emulator" in its board file)`);
  const riscv = /riscv/.test(path.basename(opts.program ?? emu.program));
  return [
    '-M', emu.machine,
    ...(emu.cpu !== undefined ? ['-cpu', emu.cpu] : []),
    ...(riscv ? ['-bios', 'none'] : []),
    '-nographic',
    '-monitor', 'none',
    '-qmp', 'stdio',
    '-serial', 'pty',
    '-S',
    ...(opts.icount ?? true ? ['-icount', 'shift=0'] : []),
    '-action', opts.noReboot ? 'reboot=shutdown,shutdown=pause' : 'shutdown=pause',
    ...(opts.extraArgs ?? []),
    '-kernel', elf,
  ];
}

// ---------------------------------------------------------------------------------------------
// Live sessions and the process handlers that kill them.

const live = new Set<ChildProcess>();
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let handlersInstalled = false;

function killAllNow(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function onExit(): void {
  killAllNow();
}

function onSignal(signal: NodeJS.Signals): void {
  killAllNow();
  uninstallHandlers();
  // We replaced the default action (exit) by being a listener: restore it unless someone else
  // handles the signal.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', onExit);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstallHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  process.off('exit', onExit);
  for (const s of SIGNALS) process.off(s, onSignal);
}

function track(child: ChildProcess): void {
  live.add(child);
  installHandlers();
}

function untrack(child: ChildProcess): void {
  live.delete(child);
  if (live.size === 0) uninstallHandlers();
}

/** Number of QEMU processes started here that have not exited yet (for tests). */
export function liveQemuCount(): number {
  return live.size;
}

let pdeathsigWrapper: string[] | null | undefined;

/** `setpriv --pdeathsig KILL --` when util-linux's setpriv supports it. */
function parentDeathWrapper(): string[] | null {
  if (pdeathsigWrapper !== undefined) return pdeathsigWrapper;
  pdeathsigWrapper = null;
  const setpriv = findExecutable('setpriv');
  if (setpriv !== undefined && process.platform === 'linux') {
    const r = spawnSync(setpriv, ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore', timeout: 5_000 });
    if (r.status === 0) pdeathsigWrapper = [setpriv, '--pdeathsig', 'KILL', '--'];
  }
  return pdeathsigWrapper;
}

// ---------------------------------------------------------------------------------------------

/** Keeps the last `max` characters of a process's text output. */
class OutputTail {
  private text = '';
  constructor(private readonly max = 32_768) {}
  push(chunk: string): void {
    this.text += chunk;
    if (this.text.length > this.max) this.text = this.text.slice(-this.max);
  }
  get value(): string {
    return this.text;
  }
}

/** For error messages: QEMU's own error lines (`qemu-system-arm: …`, `qemu: fatal: …`) first, then the last lines. */
export function summarizeQemuOutput(text: string, maxLines = 20): string {
  const lines = text.replace(/\r/g, '').split('\n').filter((l) => l.trim() !== '');
  const errors = lines.filter((l) => /^qemu[\w-]*: /.test(l));
  const rest = tailLines(lines.filter((l) => !errors.includes(l)).join('\n'), maxLines);
  return [...errors.slice(0, 5), ...(rest ? [rest] : [])].join('\n');
}

interface QmpMessage {
  QMP?: unknown;
  return?: unknown;
  error?: { class?: string; desc?: string };
  event?: string;
  data?: Record<string, unknown>;
  id?: number;
}

/** A QMP client over QEMU's stdin/stdout (one JSON object per line). */
class QmpChannel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closedWith: Error | undefined;
  private greeted!: () => void;
  readonly greeting = new Promise<void>((resolve) => {
    this.greeted = resolve;
  });

  constructor(
    private readonly child: ChildProcess,
    private readonly onEvent: (event: string, data: Record<string, unknown> | undefined) => void,
  ) {}

  /** Handles one line of stdout; false when it is not QMP (plain text QEMU printed). */
  handleLine(line: string): boolean {
    if (!line.startsWith('{')) return false;
    let msg: QmpMessage;
    try {
      msg = JSON.parse(line) as QmpMessage;
    } catch {
      return false;
    }
    if (msg.QMP !== undefined) {
      this.greeted();
    } else if (msg.event !== undefined) {
      this.onEvent(msg.event, msg.data);
    } else if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (p) {
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new ToolError(`QMP: ${msg.error.class ?? 'error'}: ${msg.error.desc ?? ''}`));
        else p.resolve(msg.return);
      }
    }
    return true;
  }

  command(execute: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const stdin = this.child.stdin;
      if (stdin === null || !stdin.writable) {
        this.pending.delete(id);
        reject(new ToolError('QMP: QEMU\'s stdin is closed'));
        return;
      }
      stdin.write(`${JSON.stringify({ execute, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  close(e: Error): void {
    this.closedWith = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

/** How long the pty may drain after the guest stopped (power-off, or reset with noReboot) before QEMU quits. */
const GUEST_STOP_DRAIN_MS = 300;

/**
 * The guest UART of a QEMU session: SerialTransport on the pty, plus the session's fate. Bytes
 * already received can always be read; a read that cannot be satisfied fails with QEMU's exit
 * status and output when QEMU exits (or with the reason when the session is stopped or times
 * out) instead of waiting for its own timeout. close() stops QEMU.
 */
export class QemuTransport implements ByteTransport {
  private failure: Error | undefined;
  private readonly failed: Promise<never>;
  private rejectFailed!: (e: Error) => void;

  constructor(
    readonly serial: SerialTransport,
    readonly description: string,
    private readonly stopSession: () => Promise<void>,
    /** Resolves with the error describing QEMU's exit (never rejects). */
    private readonly exitError: Promise<Error>,
  ) {
    this.failed = new Promise<never>((_, reject) => {
      this.rejectFailed = reject;
    });
    this.failed.catch(() => undefined);
  }

  /** Makes every pending and later operation that the received data cannot satisfy fail with `e` (first call wins). */
  fail(e: Error): void {
    if (this.failure !== undefined) return;
    this.failure = e;
    this.rejectFailed(e);
  }

  private async guard<T>(p: Promise<T>): Promise<T> {
    p.catch(() => undefined);
    try {
      // `p` first: when both are settled already (data buffered, session over), the data wins.
      return await Promise.race([p, this.failed]);
    } catch (e) {
      if (this.failure !== undefined) throw this.failure;
      // SerialTransport's errors when the pty goes away with QEMU: report QEMU's exit instead,
      // which may be known a moment later than the pty's hang-up.
      if (!(e instanceof TransportError) || e instanceof TimeoutError || !/serial port closed|serial error/.test(e.message)) throw e;
      const exit = await Promise.race([this.exitError, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1_000))]);
      throw this.failure ?? exit ?? e;
    }
  }

  write(data: Uint8Array): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return this.guard(this.serial.write(data));
  }

  read(n: number, timeoutMs: number): Promise<Uint8Array> {
    return this.guard(this.serial.read(n, timeoutMs));
  }

  readUntil(delimiter: number, timeoutMs: number, maxBytes?: number): Promise<Uint8Array> {
    return this.guard(this.serial.readUntil(delimiter, timeoutMs, maxBytes));
  }

  discardInput(): void {
    this.serial.discardInput();
  }

  /** Pseudo-terminals reject modem-control ioctls; SerialTransport ignores that. */
  setSignals(signals: ModemSignals): Promise<void> {
    return this.serial.setSignals(signals);
  }

  /** Pseudo-terminals ignore the baud rate. */
  setBaudRate(baud: number): Promise<void> {
    return this.serial.setBaudRate(baud);
  }

  /** Closes the pty and stops QEMU. */
  close(): Promise<void> {
    return this.stopSession();
  }
}

function describeExit(e: QemuExit): string {
  return e.code !== null ? `exit code ${e.code}` : `signal ${e.signal ?? '?'}`;
}

/**
 * Boots `elf` on the emulated `board` and returns its UART. The guest starts running only after
 * the pty is open. Errors: ToolError when the emulator is missing (with the apt command), when it
 * exits or stays silent during start-up (with its output), or when the pty cannot be opened;
 * QEMU is gone whenever launchQemu rejects.
 */
export async function launchQemu(board: Board, elf: string, opts: QemuLaunchOptions = {}): Promise<QemuSession> {
  const emu = board.emulator;
  if (emu === undefined) throw new TinyforgeError(`board ${board.id} is not an emulated board (no "emulator" in its board file)`);
  const program = requireQemu(opts.program ?? emu.program);
  const elfPath = path.resolve(elf);
  if (!existsSync(elfPath)) throw new TinyforgeError(`firmware ${elfPath} does not exist`);
  const args = qemuSerialArgs(board, elfPath, opts);
  const argv = [program, ...args];
  const what = `QEMU ${emu.machine} (${board.id})`;

  const wrapper = opts.killWithParent === false ? null : parentDeathWrapper();
  const [file, ...fileArgs] = wrapper !== null ? [...wrapper, ...argv] : argv;
  const child = spawn(file as string, fileArgs, {
    cwd: opts.cwd ?? path.dirname(elfPath),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  track(child);

  const tail = new OutputTail();
  let exitInfo: QemuExit | undefined;
  let outputClosed = 0;
  let resolveExited!: (e: QemuExit) => void;
  const exited = new Promise<QemuExit>((resolve) => {
    resolveExited = resolve;
  });
  // Resolve `exited` once the process is gone and its output has been read to the end.
  const maybeExited = (): void => {
    if (exitInfo !== undefined && outputClosed >= 2) resolveExited(exitInfo);
  };
  child.on('exit', (code, signal) => {
    exitInfo = { code, signal };
    untrack(child);
    maybeExited();
    // Should a grandchild keep the pipes open, do not wait for them forever.
    setTimeout(() => resolveExited({ code, signal }), 2_000).unref();
  });
  const spawnError = new Promise<Error>((resolve) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      untrack(child);
      resolve(
        e.code === 'ENOENT'
          ? new ToolError(`\`${program}\` could not be started (not found). Install it with: ${QEMU_INSTALL_HINTS[path.basename(program)] ?? 'install QEMU'}`)
          : new ToolError(`\`${program}\` could not be started: ${e.message}`),
      );
    });
  });
  // Writing to the monitor of a QEMU that has just died must not crash us.
  child.stdin?.on('error', () => undefined);

  // Output: QMP on stdout, everything else (pty announcement, errors) kept as text.
  const watchers = new Set<() => void>();
  const notify = (): void => {
    for (const w of [...watchers]) w();
  };
  let resets = 0;
  let guestStop: string | undefined;
  let onGuestStop: (reason: string) => void = () => undefined;
  const qmp = new QmpChannel(child, (event, data) => {
    if (event === 'RESET' && data?.guest === true) resets++;
    if (event === 'SHUTDOWN' && data?.guest === true && guestStop === undefined) {
      guestStop = typeof data.reason === 'string' ? data.reason : 'guest';
      onGuestStop(guestStop);
    }
  });
  let stdoutRest = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    const lines = (stdoutRest + chunk).split('\n');
    stdoutRest = lines.pop() ?? '';
    for (const line of lines) {
      if (!qmp.handleLine(line.trim())) tail.push(`${line}\n`);
    }
    notify();
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail.push(chunk);
    notify();
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('close', () => {
      outputClosed++;
      maybeExited();
    });
  }
  const outputMatches = (re: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve) => {
      const check = (): void => {
        const m = re.exec(tail.value);
        if (m) {
          watchers.delete(check);
          resolve(m);
        }
      };
      watchers.add(check);
      check();
    });
  const outputSummary = (): string => summarizeQemuOutput(tail.value);
  void exited.then(() => qmp.close(new ToolError(`${what} has exited`)));

  const killNow = async (): Promise<void> => {
    if (exitInfo === undefined) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    await exited;
  };

  /** Waits for `step`, or kills QEMU and throws on an exit, a spawn error or the start timeout. */
  const startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const startDeadline = Date.now() + startTimeoutMs;
  const startStep = async <T>(step: Promise<T>, waitingFor: string): Promise<T> => {
    step.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      step.then(
        (value) => ({ kind: 'ok' as const, value }),
        (err: unknown) => ({ kind: 'failed' as const, err }),
      ),
      exited.then((e) => ({ kind: 'exit' as const, e })),
      spawnError.then((err) => ({ kind: 'error' as const, err })),
      new Promise<{ kind: 'timeout' }>((resolve) => {
        timer = setTimeout(() => resolve({ kind: 'timeout' }), Math.max(0, startDeadline - Date.now()));
      }),
    ]);
    clearTimeout(timer);
    if (outcome.kind === 'ok') return outcome.value;
    await killNow().catch(() => undefined);
    if (outcome.kind === 'error') throw outcome.err;
    if (outcome.kind === 'failed') {
      throw outcome.err instanceof TinyforgeError ? outcome.err : new ToolError(`${what}: ${String((outcome.err as Error)?.message ?? outcome.err)}`);
    }
    const why =
      outcome.kind === 'exit'
        ? `exited during start-up (${describeExit(outcome.e)})`
        : `did not ${waitingFor} within ${startTimeoutMs} ms (killed)`;
    const out = outputSummary();
    throw new ToolError(`${what} ${why}: ${argv.join(' ')}${out ? `\n${out}` : ''}`);
  };

  // 1. The pty, announced while QEMU creates its character devices.
  const ptyPath = (await startStep(outputMatches(PTY_LINE), 'announce its serial pty'))[1] as string;
  // 2. The monitor answers once the machine is built and the firmware loaded.
  await startStep(
    qmp.greeting.then(() => qmp.command('qmp_capabilities')).then(() => qmp.command('query-status')),
    'answer on its QMP monitor',
  );
  // 3. The pty, opened raw before the guest runs.
  const serial = await startStep(SerialTransport.open({ path: ptyPath, baudRate: board.uart.baud }), `let us open ${ptyPath}`);

  const exitError = exited.then((e) => {
    const after =
      guestStop === undefined
        ? ''
        : guestStop === 'guest-reset'
          ? ' after the guest reset the board (noReboot)'
          : ` after the guest stopped the machine (${guestStop})`;
    const out = outputSummary();
    return new TransportError(`${what} exited (${describeExit(e)})${after}${out ? `\n${out}` : ''}`);
  });

  let stopping: Promise<void> | undefined;
  let sessionTimer: NodeJS.Timeout | undefined;
  const quit = async (): Promise<void> => {
    if (exitInfo === undefined) {
      qmp.command('quit').catch(() => undefined);
      const graceful = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), QUIT_GRACE_MS))]);
      if (!graceful) await killNow();
    }
    await exited;
  };
  const stop = (): Promise<void> => {
    if (stopping !== undefined) return stopping;
    stopping = (async () => {
      clearTimeout(sessionTimer);
      transport.fail(new TransportError(`${what} was stopped`));
      await serial.close().catch(() => undefined);
      await quit();
      watchers.clear();
    })();
    return stopping;
  };

  const transport = new QemuTransport(serial, `${what} on ${ptyPath}`, stop, exitError);

  // The guest powered off (or reset, with noReboot): QEMU has paused it. Let the pty drain, quit.
  onGuestStop = () => {
    setTimeout(() => void quit().catch(() => undefined), GUEST_STOP_DRAIN_MS);
  };
  // QEMU going away ends the session: reads that the received bytes cannot satisfy fail with its
  // exit status and output.
  void exitError.then((err) => {
    transport.fail(err);
    void serial.close().catch(() => undefined);
  });

  // 4. Run. A guest that brings QEMU down at once (a lockup is fatal in QEMU) may not leave it
  // time to answer: then the session is returned all the same and its reads report the exit.
  try {
    await qmp.command('cont');
  } catch (e) {
    if (exitInfo === undefined) {
      await stop();
      const out = outputSummary();
      throw new ToolError(`${what}: cannot start the guest: ${(e as Error).message}${out ? `\n${out}` : ''}`);
    }
  }

  if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
    const ms = opts.timeoutMs;
    sessionTimer = setTimeout(() => {
      transport.fail(new TransportError(`${what}: session timed out after ${ms} ms (QEMU stopped)`));
      void stop();
    }, ms);
    sessionTimer.unref();
  }

  return {
    transport,
    ptyPath,
    pid: child.pid ?? -1,
    argv,
    exited,
    get running() {
      return exitInfo === undefined;
    },
    get resets() {
      return resets;
    },
    output: () => tail.value,
    stop,
  };
}
