// The qemu-xtensa-lx106 target: cross-compiles the model with Debian's ESP8266 compiler
// (xtensa-lx106-elf-gcc, call0 ABI, picolibc; our startup, linker script and the integer/float
// helpers its libgcc lacks), boots the ELF in `qemu-system-xtensa -M sim -cpu lx106` and runs all
// cases in one emulator process, talking to the host through Xtensa ISS semihosting (simcall).
//
// The lx106 is the ESP8266's core, not an ESP32's (those are LX6/LX7 with windowed registers,
// MAC16, a high multiply and an FPU), but it runs the same C on the same ISA family and, like the
// ESP32, faults on a misaligned 16/32-bit load or store, which Cortex-M silently allows.

import { existsSync, realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { ToolError } from '../errors.ts';
import { describeRunnerExit, generateRunnerSource } from './runner_source.ts';
import {
  BUILD_TIMEOUT_MS,
  cachedBuild,
  checkModuleRef,
  collectRun,
  contentHash,
  encodeCases,
  modelSourceFiles,
  resolveWorkDir,
  RUNTIME_TEMPLATES_DIR,
  withRunDir,
  type BuildResult,
  type CompiledModuleRef,
  type RunOptions,
} from './target.ts';
import { execTool, installHint, requireTool, runCompiler, toolVersion, type ExecResult } from './toolchain.ts';

export const XTENSA_BOARD = 'qemu-xtensa-lx106';
export const XTENSA_GCC = 'xtensa-lx106-elf-gcc';
export const XTENSA_ADDR2LINE = 'xtensa-lx106-elf-addr2line';
export const QEMU_XTENSA = 'qemu-system-xtensa';
export const QEMU_XTENSA_DEFAULT_TIMEOUT_MS = 120_000;

export const XTENSA_DIR = path.join(RUNTIME_TEMPLATES_DIR, 'xtensa');
export const XTENSA_LINKER_SCRIPT = path.join(XTENSA_DIR, 'sim_lx106.ld');

/** -mlongcalls: code (IRAM) and its callees can be further apart than a CALL0 reaches. */
export const XTENSA_CFLAGS: readonly string[] = ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-mlongcalls', '-ffunction-sections', '-fdata-sections'];
/** Besides `--specs=<picolibc.specs>` (see picolibcSpecs). */
export const XTENSA_LINK_FLAGS: readonly string[] = ['-nostartfiles', '-Wl,--gc-sections'];

/** Startup, host I/O and the libgcc helpers: every program for this board links them. */
export const XTENSA_RUNTIME_SOURCES: readonly string[] = [
  path.join(XTENSA_DIR, 'startup_sim.S'),
  path.join(XTENSA_DIR, 'io_simcall.c'),
  path.join(XTENSA_DIR, 'lx106_libgcc.c'),
  path.join(XTENSA_DIR, 'lx106_softfloat.c'),
];
/** Hashed with the sources (not compiled on their own). */
const XTENSA_RUNTIME_HEADERS: readonly string[] = [path.join(XTENSA_DIR, 'tf_xtensa_sim.h'), path.join(RUNTIME_TEMPLATES_DIR, 'runner_io.h'), XTENSA_LINKER_SCRIPT];

/**
 * Debian's picolibc-xtensa-lx106-elf puts picolibc.specs in <prefix>/lib/xtensa-lx106-elf/, where
 * the compiler does not look for specs by name (unlike the riscv64 package): pass it by path.
 */
export function picolibcSpecs(gcc: string): string {
  const specs = path.resolve(path.dirname(realpathSync(gcc)), '..', 'lib', 'xtensa-lx106-elf', 'picolibc.specs');
  if (!existsSync(specs)) {
    throw new ToolError(`${specs} does not exist: picolibc for lx106 seems to be missing. Install it with: ${installHint(XTENSA_GCC)}`);
  }
  return specs;
}

/** qemu-system-xtensa arguments that boot `elf` with semihosting on the host's files. */
export function qemuXtensaArgs(elf: string): string[] {
  return ['-M', 'sim', '-cpu', 'lx106', '-semihosting', '-nodefaults', '-display', 'none', '-monitor', 'none', '-serial', 'none', '-kernel', elf];
}

// Xtensa ISA EXCCAUSE values the core can raise in these programs.
const EXCCAUSE: Readonly<Record<number, string>> = {
  0: 'illegal instruction',
  2: 'instruction fetch error',
  3: 'load/store error',
  6: 'integer divide by zero',
  8: 'privileged instruction',
  9: 'misaligned load or store (LoadStoreAlignmentCause)',
  12: 'instruction bus error',
  13: 'load/store bus error',
  20: 'instruction fetch from a prohibited address',
  28: 'load from a prohibited address',
  29: 'store to a prohibited address',
};

/** Exit status 125: startup_sim.S's double-exception vector. */
export const XTENSA_EXIT_DOUBLE_EXCEPTION = 125;

/** Meaning of an exit status of the Xtensa runner: its own codes, then 128 + EXCCAUSE. */
export function describeXtensaExit(code: number): string | undefined {
  if (code === XTENSA_EXIT_DOUBLE_EXCEPTION) return 'crash: double exception';
  if (code >= 128 && code < 192) {
    const cause = code - 128;
    return `crash: Xtensa exception ${cause}, ${EXCCAUSE[cause] ?? 'see EXCCAUSE in the Xtensa ISA'}`;
  }
  return describeRunnerExit(code);
}

const FAULT_LINE = /tinyforge xtensa fault: .*epc1=(0x[0-9a-f]+) excvaddr=(0x[0-9a-f]+)/;

/** The fault report with the faulting instruction's function and source line, when addr2line can tell. */
async function explainFault(elf: string, stderr: string): Promise<string> {
  const m = FAULT_LINE.exec(stderr);
  if (!m) return stderr;
  let where = '';
  try {
    const r = await execTool(requireTool(XTENSA_ADDR2LINE), ['-f', '-e', elf, m[1] as string], { timeoutMs: 30_000 });
    const [fn, line] = r.stdout.trim().split('\n');
    // Built without -g (it changes Xtensa code density): usually the file is known, the line not.
    const file = line && !line.startsWith('??') ? path.basename(line).replace(/:\?.*$/, '') : '';
    if (r.code === 0 && fn && fn !== '??') where = ` in ${fn}${file ? ` (${file})` : ''}`;
  } catch {
    // addr2line is a convenience: the raw addresses are in the report either way
  }
  return `${stderr.trimEnd()}\nfaulting instruction at ${m[1]}${where}, data address ${m[2]}`;
}

export interface XtensaProgram {
  /** Cache entry name (letters, digits, '_', '-', '.'). */
  name: string;
  /** C sources besides the board runtime; `generated` ones are written into the build directory. */
  sources: readonly string[];
  generated?: ReadonlyArray<{ file: string; text: string }>;
  /** -I directories (runtime-c-templates and its xtensa/ are always on the path). */
  includeDirs?: readonly string[];
  /** Files whose content the result depends on besides `sources` (headers). */
  dependencies?: readonly string[];
  /** Extra compiler flags (e.g. -DTF_PROFILE). */
  cflags?: readonly string[];
  workDir?: string;
}

/**
 * Compiles and links a bare-metal program for the board (startup, simcall I/O, libgcc and
 * soft-float helpers, sim_lx106.ld), cached by content. `binary` is the ELF, next to its map.
 */
export async function buildXtensaProgram(p: XtensaProgram): Promise<BuildResult> {
  const gcc = requireTool(XTENSA_GCC);
  const cflags = [...XTENSA_CFLAGS, ...(p.cflags ?? [])];
  const linkFlags = [`--specs=${picolibcSpecs(gcc)}`, ...XTENSA_LINK_FLAGS];
  const includeDirs = [...(p.includeDirs ?? []).map((d) => path.resolve(d)), RUNTIME_TEMPLATES_DIR, XTENSA_DIR];
  const sources = p.sources.map((s) => path.resolve(s));
  const generated = p.generated ?? [];
  const hash = await contentHash(
    [XTENSA_BOARD, gcc, await toolVersion(gcc), ...cflags, '--', ...linkFlags, '--', ...includeDirs, ...generated.flatMap((g) => [g.file, g.text])],
    [...sources, ...(p.dependencies ?? []), ...XTENSA_RUNTIME_SOURCES, ...XTENSA_RUNTIME_HEADERS],
  );
  return cachedBuild(resolveWorkDir({ workDir: p.workDir }), `${XTENSA_BOARD}-${p.name}`, hash, 'program.elf', async (dir) => {
    for (const g of generated) await writeFile(path.join(dir, g.file), g.text);
    const args = [
      ...cflags,
      ...includeDirs.flatMap((d) => ['-I', d]),
      ...sources,
      ...generated.map((g) => path.join(dir, g.file)),
      ...XTENSA_RUNTIME_SOURCES,
      '-T', XTENSA_LINKER_SCRIPT,
      ...linkFlags,
      `-Wl,-Map=${path.join(dir, 'program.map')}`,
      '-o', path.join(dir, 'program.elf'),
    ];
    await runCompiler(gcc, args, `${XTENSA_BOARD} build of ${p.name}`, { cwd: dir, timeoutMs: BUILD_TIMEOUT_MS });
  });
}

/** Builds (or fetches from the cache) the semihosting runner ELF of `mod`. */
export async function buildForQemuXtensa(mod: CompiledModuleRef, opts?: RunOptions): Promise<BuildResult> {
  checkModuleRef(mod);
  return buildXtensaProgram({
    name: mod.prefix,
    sources: [path.join(mod.dir, `${mod.prefix}.c`)],
    generated: [{ file: 'tf_runner.c', text: generateRunnerSource(mod) }],
    includeDirs: [mod.dir],
    dependencies: await modelSourceFiles(mod),
    ...(opts?.workDir !== undefined ? { workDir: opts.workDir } : {}),
  });
}

/** Runs QEMU on `elf` in `dir` (holding tf_in.bin); a fault report in stderr gets its source location. */
export async function runQemuXtensa(elf: string, dir: string, timeoutMs: number, extraArgs: readonly string[] = []): Promise<ExecResult> {
  const qemu = requireTool(QEMU_XTENSA);
  // execTool kills QEMU with SIGKILL when the timeout expires.
  const r = await execTool(qemu, [...extraArgs, ...qemuXtensaArgs(elf)], { cwd: dir, timeoutMs });
  return r.code !== 0 ? { ...r, stderr: await explainFault(elf, r.stderr) } : r;
}

/** Builds if needed, runs every case in one QEMU process and returns each case's outputs. */
export async function runCasesOnQemuXtensa(mod: CompiledModuleRef, cases: Uint8Array[][], opts?: RunOptions): Promise<Uint8Array[][]> {
  const input = encodeCases(mod, cases, opts?.keepState);
  requireTool(QEMU_XTENSA);
  const { binary } = await buildForQemuXtensa(mod, opts);
  const timeoutMs = opts?.timeoutMs ?? QEMU_XTENSA_DEFAULT_TIMEOUT_MS;
  return withRunDir(resolveWorkDir(opts), input, async (dir) => {
    const r = await runQemuXtensa(binary, dir, timeoutMs);
    return collectRun(`QEMU ${XTENSA_BOARD} run of ${mod.prefix}`, mod, cases.length, path.join(dir, 'tf_out.bin'), r, timeoutMs, describeXtensaExit);
  });
}
