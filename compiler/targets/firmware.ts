// Bare-metal firmware for the on-device agent: the compiled model module, the agent's portable C
// (passed in as extra sources), the board family's HAL (tf_hal.h over the UART, no semihosting),
// startup code and linker script, cross-compiled and linked in one compiler call and cached by
// content like the semihosting runner of qemu_mps2.ts.
//
// Families:
//   mps2        QEMU mps2-an385 / an386 / an500: cortex-m/hal_mps2.c, startup_agent_cortex_m.c, mps2.ld
//   mps3-an547  QEMU mps3-an547:                 cortex-m/hal_mps3_an547.c, startup_agent_cortex_m.c, mps3_an547.ld
//   riscv-virt  QEMU riscv32 virt:              riscv/hal_virt.c, startup_virt.S, startup_virt.c, virt.ld

import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { Board } from '../boards/board_schema.ts';
import { TinyforgeError, ToolError } from '../errors.ts';
import { BUILD_TIMEOUT_MS, cachedBuild, contentHash, modelSourceFiles, resolveWorkDir, RUNTIME_TEMPLATES_DIR } from './target.ts';
import { execTool, findExecutable, installHint, runCompiler, toolVersion } from './toolchain.ts';

export type FirmwareFamily = 'mps2' | 'mps3-an547' | 'riscv-virt';

export interface FirmwareFamilySpec {
  family: FirmwareFamily;
  /** HAL and startup sources (C or preprocessed assembly). */
  sources: string[];
  linkerScript: string;
  /** Directories added with -I (after the model's and the agent's). */
  includeDirs: string[];
  /** C library and start-file flags for the link. */
  libFlags: string[];
}

/** A compiled model module: `<dir>/<prefix>.c` and `<dir>/<prefix>.h`. */
export interface FirmwareModule {
  dir: string;
  prefix: string;
}

export interface FirmwareOptions {
  /** Where builds are cached. Default: `<os tmpdir>/tinyforge-targets` (as the other targets). */
  workDir?: string;
  /** Extra compiler flags (e.g. `-DNAME=value`), after the board's and the common ones. */
  cflags?: string[];
  /** Extra -I directories. The directories of `extraSources` are always added. */
  includeDirs?: string[];
  /** Stack size in bytes (multiple of 16); default: the linker script's 64 KiB. */
  stackSize?: number;
  /** Base name of the outputs (`<name>.elf`, `.bin`, `.map`) and of the cache entry. Default `tf_agent`. */
  name?: string;
}

export interface FirmwareSize {
  /** Code + read-only data + vector table (flash). */
  text: number;
  /** Initialized data (in RAM, with a copy in flash). */
  data: number;
  /** Zero-initialized data (RAM). The stack is not included. */
  bss: number;
}

export interface FirmwareBuild {
  board: string;
  family: FirmwareFamily;
  /** The linked ELF: what QEMU's -kernel takes. */
  elf: string;
  /** Flat image from objcopy -O binary, starting at the lowest loaded address (the flash base). */
  bin: string;
  /** Linker map. */
  map: string;
  buildDir: string;
  cached: boolean;
  size: FirmwareSize;
}

/** Flags every firmware is compiled with, besides the board file's toolchain.cflags. */
export const FIRMWARE_COMMON_CFLAGS: readonly string[] = ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-ffunction-sections', '-fdata-sections'];

const CORTEX_M_DIR = path.join(RUNTIME_TEMPLATES_DIR, 'cortex-m');
const RISCV_DIR = path.join(RUNTIME_TEMPLATES_DIR, 'riscv');
/** tf_hal.h and tf_agent_model.h. */
export const AGENT_TEMPLATES_DIR = path.join(RUNTIME_TEMPLATES_DIR, 'agent');

const ARM_LIB_FLAGS = ['-nostartfiles', '--specs=nano.specs', '--specs=nosys.specs'];
// picolibc.specs links picolibc's crt0 and picolibc.ld unless told otherwise: we bring our own.
const RISCV_LIB_FLAGS = ['--specs=picolibc.specs', '-nostartfiles'];

const FAMILIES: Readonly<Record<FirmwareFamily, FirmwareFamilySpec>> = {
  mps2: {
    family: 'mps2',
    sources: [path.join(CORTEX_M_DIR, 'hal_mps2.c'), path.join(CORTEX_M_DIR, 'startup_agent_cortex_m.c')],
    linkerScript: path.join(CORTEX_M_DIR, 'mps2.ld'),
    // cortex_m_reset.h, shared by the startups (listed so the build cache sees it)
    includeDirs: [CORTEX_M_DIR],
    libFlags: ARM_LIB_FLAGS,
  },
  'mps3-an547': {
    family: 'mps3-an547',
    sources: [path.join(CORTEX_M_DIR, 'hal_mps3_an547.c'), path.join(CORTEX_M_DIR, 'startup_agent_cortex_m.c')],
    linkerScript: path.join(CORTEX_M_DIR, 'mps3_an547.ld'),
    includeDirs: [CORTEX_M_DIR],
    libFlags: ARM_LIB_FLAGS,
  },
  'riscv-virt': {
    family: 'riscv-virt',
    sources: [path.join(RISCV_DIR, 'hal_virt.c'), path.join(RISCV_DIR, 'startup_virt.S'), path.join(RISCV_DIR, 'startup_virt.c')],
    linkerScript: path.join(RISCV_DIR, 'virt.ld'),
    includeDirs: [],
    libFlags: RISCV_LIB_FLAGS,
  },
};

const MPS2_MACHINES = new Set(['mps2-an385', 'mps2-an386', 'mps2-an500']);

/** The firmware family of a board, or undefined when tinyforge has no bare-metal HAL for it. */
export function firmwareFamilyOf(board: Board): FirmwareFamily | undefined {
  const emu = board.emulator;
  if (emu === undefined) return undefined;
  if (emu.program === 'qemu-system-arm' && MPS2_MACHINES.has(emu.machine)) return 'mps2';
  if (emu.program === 'qemu-system-arm' && emu.machine === 'mps3-an547') return 'mps3-an547';
  if (emu.program === 'qemu-system-riscv32' && emu.machine === 'virt') return 'riscv-virt';
  return undefined;
}

/** HAL, startup and linker script of a board; a ToolError for boards without a bare-metal HAL. */
export function firmwareFamilySpec(board: Board): FirmwareFamilySpec {
  const family = firmwareFamilyOf(board);
  if (family === undefined) {
    throw new ToolError(
      `board ${board.id}: tinyforge has no bare-metal agent firmware for it (supported: QEMU mps2-an385/an386/an500, mps3-an547, riscv32 virt)`,
    );
  }
  return FAMILIES[family];
}

/** Debian packages of the cross toolchains (toolchain.ts knows the Arm ones). */
const FIRMWARE_INSTALL_HINTS: Readonly<Record<string, string>> = {
  'arm-none-eabi-objcopy': 'sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi',
  'riscv64-unknown-elf-gcc': 'sudo apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf',
  'riscv64-unknown-elf-size': 'sudo apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf',
  'riscv64-unknown-elf-objcopy': 'sudo apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf',
};

function firmwareInstallHint(tool: string): string {
  return FIRMWARE_INSTALL_HINTS[tool] ?? installHint(tool);
}

/** Absolute path of a cross tool, or a ToolError that says which package provides it. */
export function requireFirmwareTool(name: string): string {
  const found = findExecutable(name);
  if (found === undefined) {
    throw new ToolError(`\`${name}\` was not found on PATH. Install it with: ${firmwareInstallHint(name)}`);
  }
  return found;
}

/** `arm-none-eabi-gcc` -> `arm-none-eabi-<tool>` (binutils of the same toolchain). */
export function siblingTool(compiler: string, tool: string): string {
  const base = path.basename(compiler);
  const m = base.match(/^(.*-)(?:gcc|cc|clang)(-[\d.]+)?$/);
  if (!m) throw new ToolError(`cannot derive ${tool} from compiler name ${JSON.stringify(compiler)}`);
  return `${m[1]}${tool}`;
}

/** text/data/bss of an ELF from `<prefix>size -B -d`. */
export async function firmwareSizeOf(sizeTool: string, elf: string): Promise<FirmwareSize> {
  const r = await execTool(sizeTool, ['-B', '-d', elf], { timeoutMs: 30_000 });
  if (r.code !== 0) {
    throw new ToolError(`${path.basename(sizeTool)} ${elf} failed: ${(r.stderr || r.stdout).trim()}`);
  }
  // "   text    data     bss     dec     hex filename" then one line of numbers.
  const line = r.stdout.trim().split('\n')[1];
  const m = line?.trim().match(/^(\d+)\s+(\d+)\s+(\d+)\s/);
  if (!m) {
    throw new ToolError(`cannot parse ${path.basename(sizeTool)} output for ${elf}: ${r.stdout.trim()}`);
  }
  return { text: Number(m[1]), data: Number(m[2]), bss: Number(m[3]) };
}

/** Every header next to the given sources (they may include each other): part of the cache key. */
async function headersIn(dirs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && /\.(h|inc)$/.test(e.name)).map((e) => e.name);
    } catch {
      continue;
    }
    for (const n of names.sort()) out.push(path.join(dir, n));
  }
  return out;
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/**
 * Builds (or takes from the cache) the agent firmware of `board`: the model module `mod` (may be
 * null for a firmware without a model), `extraSources` (the agent's .c files and the generated
 * tf_agent_model.c, or a test's own main), the board family's HAL and startup code, linked with
 * its linker script. Compile flags: the board's toolchain.cflags, FIRMWARE_COMMON_CFLAGS, then
 * opts.cflags; include path: the model's directory, runtime-c-templates/agent (tf_hal.h,
 * tf_agent_model.h), the directories of extraSources, opts.includeDirs.
 */
export async function buildAgentFirmware(
  board: Board,
  mod: FirmwareModule | null,
  extraSources: readonly string[],
  opts: FirmwareOptions = {},
): Promise<FirmwareBuild> {
  const spec = firmwareFamilySpec(board);
  const name = opts.name ?? 'tf_agent';
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new TinyforgeError(`firmware name ${JSON.stringify(name)}: use letters, digits, '_', '.', '-'`);
  if (opts.stackSize !== undefined && (!Number.isInteger(opts.stackSize) || opts.stackSize <= 0 || opts.stackSize % 16 !== 0)) {
    throw new TinyforgeError(`stack size ${opts.stackSize}: must be a positive multiple of 16 bytes`);
  }

  let modelFiles: string[] = [];
  let modelSource: string[] = [];
  if (mod !== null) {
    const c = path.resolve(mod.dir, `${mod.prefix}.c`);
    for (const f of [c, path.resolve(mod.dir, `${mod.prefix}.h`)]) {
      if (!existsSync(f)) throw new TinyforgeError(`compiled model: ${f} does not exist`);
    }
    modelFiles = await modelSourceFiles({ dir: path.resolve(mod.dir), prefix: mod.prefix, inputBytes: [], outputBytes: [] });
    modelSource = [c];
  }
  const extras = extraSources.map((s) => path.resolve(s));
  for (const s of extras) {
    if (!existsSync(s)) throw new TinyforgeError(`firmware source ${s} does not exist`);
  }

  const gcc = requireFirmwareTool(board.toolchain.compiler);
  const objcopy = requireFirmwareTool(siblingTool(board.toolchain.compiler, 'objcopy'));
  const sizeTool = requireFirmwareTool(siblingTool(board.toolchain.compiler, 'size'));

  const includeDirs = unique([
    ...(mod !== null ? [path.resolve(mod.dir)] : []),
    AGENT_TEMPLATES_DIR,
    ...extras.map((s) => path.dirname(s)),
    ...(opts.includeDirs ?? []).map((d) => path.resolve(d)),
    ...spec.includeDirs,
  ]);
  const cflags = [...board.toolchain.cflags, ...FIRMWARE_COMMON_CFLAGS, ...(opts.cflags ?? [])];
  const linkFlags = [
    ...spec.libFlags,
    '-Wl,--gc-sections',
    ...(opts.stackSize !== undefined ? [`-Wl,--defsym,__stack_size=${opts.stackSize}`] : []),
    ...board.toolchain.ldflags,
  ];
  const sources = unique([...modelSource, ...extras, ...spec.sources]);

  const hash = await contentHash(
    [board.id, spec.family, gcc, await toolVersion(gcc), name, ...cflags, '--', ...linkFlags, '--', ...includeDirs, '--', ...sources],
    unique([...modelFiles, ...extras, ...(await headersIn(includeDirs)), ...spec.sources, spec.linkerScript]),
  );

  const cacheName = `fw-${board.id}-${mod?.prefix ?? 'nomodel'}-${name}`;
  const built = await cachedBuild(resolveWorkDir(opts), cacheName, hash, `${name}.elf`, async (dir) => {
    const elf = path.join(dir, `${name}.elf`);
    const args = [
      ...cflags,
      ...includeDirs.flatMap((d) => ['-I', d]),
      ...sources,
      '-T', spec.linkerScript,
      ...linkFlags,
      `-Wl,-Map=${path.join(dir, `${name}.map`)}`,
      '-o', elf,
      '-lm',
    ];
    try {
      await runCompiler(gcc, args, `${board.id} firmware build${mod ? ` of ${mod.prefix}` : ''}`, { cwd: dir, timeoutMs: BUILD_TIMEOUT_MS });
    } catch (e) {
      if (e instanceof ToolError && /picolibc\.specs/.test(e.message)) {
        throw new ToolError(`${e.message}\n(picolibc seems to be missing: ${firmwareInstallHint(board.toolchain.compiler)})`);
      }
      throw e;
    }
    const r = await execTool(objcopy, ['-O', 'binary', elf, path.join(dir, `${name}.bin`)], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new ToolError(`${path.basename(objcopy)} -O binary ${elf} failed: ${(r.stderr || r.stdout).trim()}`);
    const size = await firmwareSizeOf(sizeTool, elf);
    await writeFile(path.join(dir, 'size.json'), `${JSON.stringify(size)}\n`);
  });

  const size = JSON.parse(await readFile(path.join(built.buildDir, 'size.json'), 'utf8')) as FirmwareSize;
  return {
    board: board.id,
    family: spec.family,
    elf: built.binary,
    bin: path.join(built.buildDir, `${name}.bin`),
    map: path.join(built.buildDir, `${name}.map`),
    buildDir: built.buildDir,
    cached: built.cached,
    size,
  };
}
