// QEMU mps2 targets: cross-compiles the model for a Cortex-M board with arm-none-eabi-gcc
// (newlib-nano, our own startup and linker script), boots the ELF in qemu-system-arm and runs
// all cases in one emulator process, talking to the host through semihosting files.

import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { ToolError } from '../errors.ts';
import { generateRunnerSource } from './runner_source.ts';
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
import { execTool, requireTool, runCompiler, toolVersion } from './toolchain.ts';

export interface Mps2Board {
  /** QEMU machine (`-M`). */
  machine: string;
  /** The CPU QEMU emulates for this machine. */
  core: string;
  /** arm-none-eabi-gcc CPU/FPU flags. */
  cpuFlags: readonly string[];
  /** Extra qemu-system-arm arguments, if any. */
  qemuArgs?: readonly string[];
  /** Linker script in runtime-c-templates/cortex-m (default mps2.ld). */
  linkerScript?: string;
}

/** The Arm MPS boards QEMU emulates: mps2 machines share mps2.ld's memory map (4 MiB code at 0,
 * 4 MiB SRAM at 0x20000000); mps3-an547 (Cortex-M55) boots from its ITCM at 0x10000000. */
export const MPS2_BOARDS = {
  'mps2-an385': {
    machine: 'mps2-an385',
    core: 'cortex-m3',
    cpuFlags: ['-mcpu=cortex-m3', '-mthumb', '-mfloat-abi=soft'],
  },
  'mps2-an386': {
    machine: 'mps2-an386',
    core: 'cortex-m4',
    cpuFlags: ['-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv4-sp-d16'],
  },
  'mps2-an500': {
    machine: 'mps2-an500',
    core: 'cortex-m7',
    cpuFlags: ['-mcpu=cortex-m7', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv5-d16'],
  },
  'mps3-an547': {
    machine: 'mps3-an547',
    core: 'cortex-m55',
    cpuFlags: ['-mcpu=cortex-m55', '-mthumb', '-mfloat-abi=hard'],
    linkerScript: 'mps3_an547.ld',
  },
} as const satisfies Record<string, Mps2Board>;

export type Mps2BoardName = keyof typeof MPS2_BOARDS;

export const ARM_GCC = 'arm-none-eabi-gcc';
export const ARM_SIZE = 'arm-none-eabi-size';
export const QEMU_ARM = 'qemu-system-arm';
export const QEMU_DEFAULT_TIMEOUT_MS = 120_000;

export const ARM_COMMON_CFLAGS: readonly string[] = ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror'];
export const ARM_SECTION_FLAGS: readonly string[] = ['-ffunction-sections', '-fdata-sections'];
export const ARM_LINK_FLAGS: readonly string[] = ['-nostartfiles', '--specs=nano.specs', '--specs=nosys.specs', '-Wl,--gc-sections'];

const CORTEX_M_DIR = path.join(RUNTIME_TEMPLATES_DIR, 'cortex-m');
export const MPS2_LINKER_SCRIPT = path.join(CORTEX_M_DIR, 'mps2.ld');

function linkerScriptOf(board: Mps2BoardName): string {
  const b: Mps2Board = MPS2_BOARDS[board];
  return b.linkerScript ? path.join(CORTEX_M_DIR, b.linkerScript) : MPS2_LINKER_SCRIPT;
}

function boardOf(name: Mps2BoardName): Mps2Board {
  const board: Mps2Board | undefined = MPS2_BOARDS[name];
  if (board === undefined) {
    throw new ToolError(`unknown QEMU board ${JSON.stringify(name)}; known: ${Object.keys(MPS2_BOARDS).join(', ')}`);
  }
  return board;
}

/** Compile flags for a board: common flags, CPU/FPU flags, one section per function/object. */
export function armCompilerFlags(board: Mps2BoardName): string[] {
  return [...ARM_COMMON_CFLAGS, ...boardOf(board).cpuFlags, ...ARM_SECTION_FLAGS];
}

/** qemu-system-arm arguments that boot `elf` on `board` with semihosting on the host's files. */
export function qemuArgs(board: Mps2BoardName, elf: string): string[] {
  const b = boardOf(board);
  return [
    '-M', b.machine,
    ...(b.qemuArgs ?? []),
    '-nographic',
    '-monitor', 'none',
    '-serial', 'null',
    '-semihosting-config', 'enable=on,target=native',
    '-kernel', elf,
  ];
}

/**
 * Builds (or fetches from the cache) the semihosting runner ELF of `mod` for `board`.
 * `binary` is the ELF; `buildDir` also holds tf_runner.map.
 */
export async function buildForQemuMps2(board: Mps2BoardName, mod: CompiledModuleRef, opts?: RunOptions): Promise<BuildResult> {
  checkModuleRef(mod);
  const gcc = requireTool(ARM_GCC);
  const cflags = armCompilerFlags(board);
  const runnerSource = generateRunnerSource(mod);
  const templates = [
    path.join(RUNTIME_TEMPLATES_DIR, 'runner_io.h'),
    path.join(CORTEX_M_DIR, 'io_semihost.c'),
    path.join(CORTEX_M_DIR, 'startup_cortex_m.c'),
    path.join(CORTEX_M_DIR, 'cortex_m_reset.h'),
    linkerScriptOf(board),
  ];
  const hash = await contentHash(
    [board, gcc, await toolVersion(gcc), mod.prefix, ...cflags, ...ARM_LINK_FLAGS, runnerSource],
    [...(await modelSourceFiles(mod)), ...templates],
  );
  return cachedBuild(resolveWorkDir(opts), `${board}-${mod.prefix}`, hash, 'tf_runner.elf', async (dir) => {
    const runnerC = path.join(dir, 'tf_runner.c');
    await writeFile(runnerC, runnerSource);
    const args = [
      ...cflags,
      '-I', path.resolve(mod.dir),
      '-I', RUNTIME_TEMPLATES_DIR,
      '-I', CORTEX_M_DIR,
      path.resolve(mod.dir, `${mod.prefix}.c`),
      runnerC,
      path.join(CORTEX_M_DIR, 'io_semihost.c'),
      path.join(CORTEX_M_DIR, 'startup_cortex_m.c'),
      '-T', linkerScriptOf(board),
      ...ARM_LINK_FLAGS,
      `-Wl,-Map=${path.join(dir, 'tf_runner.map')}`,
      '-o', path.join(dir, 'tf_runner.elf'),
      '-lm',
    ];
    await runCompiler(gcc, args, `${board} build of ${mod.prefix}`, { cwd: dir, timeoutMs: BUILD_TIMEOUT_MS });
  });
}

/** Builds if needed, runs every case in one QEMU process and returns each case's outputs. */
export async function runCasesOnQemuMps2(
  board: Mps2BoardName,
  mod: CompiledModuleRef,
  cases: Uint8Array[][],
  opts?: RunOptions,
): Promise<Uint8Array[][]> {
  const input = encodeCases(mod, cases, opts?.keepState);
  const qemu = requireTool(QEMU_ARM);
  const { binary } = await buildForQemuMps2(board, mod, opts);
  const timeoutMs = opts?.timeoutMs ?? QEMU_DEFAULT_TIMEOUT_MS;
  return withRunDir(resolveWorkDir(opts), input, async (dir) => {
    // execTool kills QEMU with SIGKILL when the timeout expires.
    const r = await execTool(qemu, qemuArgs(board, binary), { cwd: dir, timeoutMs });
    return collectRun(`QEMU ${board} run of ${mod.prefix}`, mod, cases.length, path.join(dir, 'tf_out.bin'), r, timeoutMs);
  });
}

export function buildForQemuMps2An386(mod: CompiledModuleRef, opts?: RunOptions): Promise<BuildResult> {
  return buildForQemuMps2('mps2-an386', mod, opts);
}

export function runCasesOnQemuMps2An386(mod: CompiledModuleRef, cases: Uint8Array[][], opts?: RunOptions): Promise<Uint8Array[][]> {
  return runCasesOnQemuMps2('mps2-an386', mod, cases, opts);
}

export interface ElfSize {
  /** Code + read-only data + vector table (flash). */
  text: number;
  /** Initialized data (in RAM, with a copy in flash). */
  data: number;
  /** Zero-initialized data (RAM). The stack is not included (see mps2.ld). */
  bss: number;
}

/** text/data/bss of an ELF, from `arm-none-eabi-size` (Berkeley format). */
export async function sizeOf(elf: string): Promise<ElfSize> {
  const size = requireTool(ARM_SIZE);
  const r = await execTool(size, ['-B', '-d', elf], { timeoutMs: 30_000 });
  if (r.code !== 0) {
    throw new ToolError(`${ARM_SIZE} ${elf} failed: ${(r.stderr || r.stdout).trim()}`);
  }
  // "   text    data     bss     dec     hex filename" then one line of numbers.
  const line = r.stdout.trim().split('\n')[1];
  const m = line?.trim().match(/^(\d+)\s+(\d+)\s+(\d+)\s/);
  if (!m) {
    throw new ToolError(`cannot parse ${ARM_SIZE} output for ${elf}: ${r.stdout.trim()}`);
  }
  return { text: Number(m[1]), data: Number(m[2]), bss: Number(m[3]) };
}
