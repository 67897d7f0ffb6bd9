// `tinyforge build` projects (compiler/projects/generate_project.ts) for every board that is not a
// QEMU board, generated for micro_speech: the files are there, the build files parse and name only
// files that exist, and the C compiles with the board's flags.
//
// - Bare-metal Cortex-M projects (NUCLEO-F446RE, NUCLEO-H743ZI, nRF52840 DK) are compiled with
//   -Werror and linked for real, with their own startup code and generated linker script, both
//   directly with arm-none-eabi-gcc and through the generated CMake project (when cmake is
//   installed); the ELF's vector table and size are checked against the board file.
// - The NUCLEO-F446RE firmware also runs: QEMU's netduinoplus2 (STM32F405) has the same USART2 and
//   memory map, so the agent answers over the HAL's USART2 and every golden case must match.
// - SDK-based projects (pico-sdk, ESP-IDF, Arduino), whose SDKs are not installed here: the
//   portable parts compile with the board's flags (arm-none-eabi-gcc for the Cortex-M boards, a
//   stock RISC-V GCC for the ESP32-C3, the host cc for the Xtensa boards, whose compiler is not
//   installed), and the HAL compiles against small stand-in headers written below that declare
//   the SDK functions it calls with the SDKs' signatures. That proves the HAL is valid C/C++
//   against those declarations and defines every tf_hal.h function, not that it links or runs
//   against the real SDK.

import { mkdtempSync, readdirSync, readFileSync, existsSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Board } from '../compiler/boards/board_schema.ts';
import { loadBoards, findBoard } from '../compiler/boards/load_boards.ts';
import { TinyforgeError } from '../compiler/errors.ts';
import { ARDUINO_AGENT_PREAMBLE } from '../compiler/projects/arduino_project.ts';
import { boardSupport } from '../compiler/projects/board_support.ts';
import { DEFAULT_STACK_BYTES } from '../compiler/projects/cmake_project.ts';
import { generateBoardProject, PROJECT_MARKER, type BoardProject } from '../compiler/projects/generate_project.ts';
import { RUNTIME_TEMPLATES_DIR } from '../compiler/targets/target.ts';
import { execTool, findExecutable } from '../compiler/targets/toolchain.ts';
import { AgentSession } from '../flasher/agent_session.ts';
import { countingOf } from '../compiler/boards/counting.ts';
import { SerialTransport } from '../flasher/transport/serial_transport.ts';
import { ESP_STUBS } from './helpers/esp_idf_stubs.ts';
import { firstDifference, sharedModel } from './helpers/shared.ts';

const { compiled } = sharedModel('micro_speech');
const BOARDS = loadBoards().filter((b) => b.project !== 'bare-metal');
const work = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-projects-test-'));
const projects = new Map<string, BoardProject & { dir: string }>();

const ARM_GCC = findExecutable('arm-none-eabi-gcc');
const ARM_GXX = findExecutable('arm-none-eabi-g++');
const CMAKE = findExecutable('cmake');
const HOST_CC = findExecutable('cc') ?? findExecutable('gcc');
const RV_GCC = findExecutable('riscv64-unknown-elf-gcc');
const STRICT = ['-O2', '-Wall', '-Wextra', '-Werror'];

beforeAll(async () => {
  for (const board of BOARDS) {
    const dir = path.join(work, board.id);
    projects.set(board.id, { ...(await generateBoardProject(compiled, board, dir)), dir });
  }
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function project(id: string): BoardProject & { dir: string } {
  const p = projects.get(id);
  if (p === undefined) throw new Error(`no project generated for ${id}`);
  return p;
}

function read(dir: string, rel: string): string {
  return readFileSync(path.join(dir, rel), 'utf8');
}

async function run(file: string, args: readonly string[], cwd?: string): Promise<string> {
  const r = await execTool(file, args, { cwd, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${path.basename(file)} ${args.join(' ')} failed (${r.code}):\n${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Runs the jobs at most `limit` at a time. */
async function pool<T>(limit: number, jobs: ReadonlyArray<() => Promise<T>>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await (jobs[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

// ---- minimal parsers for the generated build files ----

interface CMakeCommand {
  name: string;
  args: string[];
}

/** Command invocations of a CMake file, arguments unquoted (enough for the files we generate). */
function parseCMake(text: string): CMakeCommand[] {
  const commands: CMakeCommand[] = [];
  let i = 0;
  const skipComment = (): void => {
    while (i < text.length && text[i] !== '\n') i++;
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '#') {
      skipComment();
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (!m) {
      i++;
      continue;
    }
    i += m[0].length;
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] !== '(') continue;
    i++;
    const args: string[] = [];
    let depth = 1;
    let cur = '';
    let quoted = false;
    let inQuotes = false;
    const flush = (): void => {
      if (cur !== '' || quoted) args.push(cur);
      cur = '';
      quoted = false;
    };
    while (i < text.length && depth > 0) {
      const ch = text[i] as string;
      if (inQuotes) {
        if (ch === '\\' && i + 1 < text.length) {
          cur += text[i + 1];
          i += 2;
          continue;
        }
        if (ch === '"') inQuotes = false;
        else cur += ch;
      } else if (ch === '"') {
        inQuotes = true;
        quoted = true;
      } else if (ch === '#') {
        flush();
        skipComment();
        continue;
      } else if (ch === '(') {
        depth++;
        cur += ch;
      } else if (ch === ')') {
        depth--;
        if (depth > 0) cur += ch;
      } else if (/\s/.test(ch)) {
        flush();
      } else {
        cur += ch;
      }
      i++;
    }
    if (depth !== 0) throw new Error(`unbalanced parentheses in CMake command ${m[0]}`);
    flush();
    commands.push({ name: m[0].toLowerCase(), args });
  }
  return commands;
}

function cmakeCommand(cmds: readonly CMakeCommand[], name: string): CMakeCommand {
  const c = cmds.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no ${name}() in CMake file`);
  return c;
}

/** Arguments of a command between keyword `from` and the next upper-case keyword. */
function keywordArgs(cmd: CMakeCommand, from: string): string[] {
  const start = cmd.args.indexOf(from);
  if (start < 0) return [];
  const out: string[] = [];
  for (const a of cmd.args.slice(start + 1)) {
    if (/^[A-Z_]+$/.test(a)) break;
    out.push(a);
  }
  return out;
}

/** Block-style YAML mappings of scalars (comments, quotes), enough for idf_component.yml. */
function parseYamlMapping(text: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const stack: Array<{ indent: number; obj: Record<string, unknown> }> = [{ indent: -1, obj: root }];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '');
    if (line.trim() === '') continue;
    const indent = line.length - line.trimStart().length;
    const m = /^([A-Za-z0-9_.-]+):(?:\s+(.*))?$/.exec(line.trim());
    if (!m) throw new Error(`not a YAML mapping line: ${JSON.stringify(raw)}`);
    while ((stack[stack.length - 1] as { indent: number }).indent >= indent) stack.pop();
    const parent = (stack[stack.length - 1] as { obj: Record<string, unknown> }).obj;
    const key = m[1] as string;
    const value = m[2];
    if (value === undefined || value === '') {
      const child: Record<string, unknown> = {};
      parent[key] = child;
      stack.push({ indent, obj: child });
    } else {
      parent[key] = /^"(.*)"$/.test(value) ? JSON.parse(value) : /^'(.*)'$/.test(value) ? value.slice(1, -1) : value;
    }
  }
  return root;
}

function parseIni(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section: Record<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = out[s[1] as string] = {};
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (!kv || section === undefined) throw new Error(`bad ini line ${JSON.stringify(raw)}`);
    section[kv[1] as string] = kv[2] as string;
  }
  return out;
}

function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const kv = /^([A-Za-z0-9_.]+)=(.*)$/.exec(raw);
    if (!kv) throw new Error(`bad properties line ${JSON.stringify(raw)}`);
    out[kv[1] as string] = kv[2] as string;
  }
  return out;
}

/** sdkconfig.defaults: `CONFIG_X=value`, and `# CONFIG_X is not set` as 'n'. */
function parseSdkconfig(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const unset = /^# (CONFIG_[A-Z0-9_]+) is not set$/.exec(line);
    if (unset) {
      out[unset[1] as string] = 'n';
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const kv = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (!kv) throw new Error(`bad sdkconfig line ${JSON.stringify(raw)}`);
    out[kv[1] as string] = kv[2] as string;
  }
  return out;
}

// ---- ELF inspection ----

async function symbols(nm: string, file: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const line of (await run(nm, [file])).split('\n')) {
    const m = /^(?:[0-9a-f]+\s+)?([A-Za-z])\s+(\S+)$/.exec(line.trim());
    if (m) out.set(m[2] as string, m[1] as string);
  }
  return out;
}

/** Definitions (not undefined references) in an object file. */
async function definedSymbols(nm: string, obj: string): Promise<Set<string>> {
  const syms = await symbols(nm, obj);
  return new Set([...syms].filter(([, t]) => t !== 'U' && t !== 'u' && t !== 'w').map(([n]) => n));
}

const TF_HAL_FUNCTIONS = [
  'tf_hal_init',
  'tf_hal_uart_getc',
  'tf_hal_uart_write',
  'tf_hal_cycles',
  'tf_hal_cycles_per_tick',
  'tf_hal_counter_name',
  'tf_hal_stack_lowest',
  'tf_hal_stack_top',
];

it('tf_hal.h declares exactly the functions the HALs are checked for', () => {
  const header = readFileSync(path.join(RUNTIME_TEMPLATES_DIR, 'agent', 'tf_hal.h'), 'utf8');
  const declared = [...header.matchAll(/\b(tf_hal_[a-z_]+)\s*\(/g)].map((m) => m[1]);
  expect(new Set(declared)).toEqual(new Set(TF_HAL_FUNCTIONS));
});

describe('generateBoardProject', () => {
  it('covers every non-QEMU board with a project of its board file kind', () => {
    expect(BOARDS.map((b) => b.id).sort()).toEqual(
      ['arduino-nano-33-ble', 'esp32-c3-devkitm-1', 'esp32-devkitc', 'esp32-s3-devkitc-1', 'nrf52840-dk', 'nucleo-f446re', 'nucleo-h743zi', 'rpi-pico'],
    );
    for (const b of BOARDS) expect(project(b.id).kind).toBe(b.project);
  });

  it('refuses QEMU boards: tinyforge builds those itself', async () => {
    for (const b of loadBoards().filter((x) => x.project === 'bare-metal')) {
      await expect(generateBoardProject(compiled, b, path.join(work, `qemu-${b.id}`))).rejects.toThrow(
        new RegExp(`board ${b.id} runs under QEMU: .*QEMU build path`),
      );
    }
    expect(existsSync(path.join(work, 'qemu-qemu-mps2-an386'))).toBe(false);
  });

  it('refuses a model that does not fit the board, before writing anything', async () => {
    const small: Board = { ...findBoard('nucleo-f446re') };
    small.memory = { flash: { base: 0x08000000, size: 4096 }, ram: { base: 0x20000000, size: 1024 } };
    const dir = path.join(work, 'too-small');
    await expect(generateBoardProject(compiled, small, dir)).rejects.toThrow(/micro_speech\.tflite does not fit nucleo-f446re/);
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses a non-empty directory it did not generate, and regenerates its own in place', async () => {
    const dir = path.join(work, 'foreign');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'notes.txt'), 'mine\n');
    await expect(generateBoardProject(compiled, findBoard('nucleo-f446re'), dir)).rejects.toThrow(TinyforgeError);
    expect(readdirSync(dir)).toEqual(['notes.txt']);

    const own = path.join(work, 'regen');
    await generateBoardProject(compiled, findBoard('esp32-devkitc'), own);
    mkdirSync(path.join(own, 'build'));
    writeFileSync(path.join(own, 'main', 'stale.c'), '');
    const again = await generateBoardProject(compiled, findBoard('esp32-devkitc'), own);
    expect(existsSync(path.join(own, 'main', 'stale.c'))).toBe(false); // generated tree replaced
    expect(existsSync(path.join(own, 'build'))).toBe(true); // same board: build output kept
    expect(again.files.every((f) => existsSync(f))).toBe(true);
    // Another board in the same directory: the previous kind's files and builds are gone.
    await generateBoardProject(compiled, findBoard('nucleo-h743zi'), own);
    expect(existsSync(path.join(own, 'build'))).toBe(false);
    expect(existsSync(path.join(own, 'main'))).toBe(false);
    expect(existsSync(path.join(own, 'sdkconfig.defaults'))).toBe(false);
    expect(JSON.parse(read(own, PROJECT_MARKER))).toMatchObject({ board: 'nucleo-h743zi', project: 'cmake', modelSha256: compiled.model.sha256 });
  });

  it('refuses a model prefix that would overwrite an agent file', async () => {
    await expect(generateBoardProject({ ...compiled, prefix: 'tf_agent' }, findBoard('nrf52840-dk'), path.join(work, 'clash'))).rejects.toThrow(
      /prefix 'tf_agent' .*--prefix/,
    );
  });

  for (const board of BOARDS) {
    it(`${board.id}: lists every file it wrote, with a README that carries the build instructions`, () => {
      const p = project(board.id);
      for (const f of p.files) expect(statSync(f).isFile(), f).toBe(true);
      expect(new Set(p.files).size).toBe(p.files.length);
      const readme = read(p.dir, 'README.md');
      expect(readme).toContain(p.buildInstructions.trim());
      expect(p.buildInstructions).toMatch(new RegExp(`^cd ${p.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`));
      expect(p.buildInstructions).toContain(`tinyforge validate ${path.resolve(compiled.model.path)} --board ${board.id} --port <PORT> --no-flash --random 16`);
      // Flashing with the board file's method: tinyforge flash, or the board file's own command for
      // a tool that takes the ELF.
      const f = board.flashing;
      if (f.method === 'external' && f.command.some((a) => a.includes('{elf}'))) {
        expect(p.buildInstructions).toContain(`${f.command.slice(0, -1).join(' ')} build/tinyforge_agent.elf`);
      } else {
        expect(p.buildInstructions).toMatch(new RegExp(`tinyforge flash --board ${board.id}( --port <(BOOTLOADER_)?PORT>)? --image \\S+`));
      }
      expect(readme).toContain(`${board.uart.baud} baud`);
      expect(readme).toContain(boardSupport(board).serial);
      expect(readme).toContain(compiled.model.sha256);
      // The agent binding names this board and model.
      const binding = p.files.find((f) => f.endsWith('tf_agent_model.c')) as string;
      const text = readFileSync(binding, 'utf8');
      expect(text).toContain(`.board_id = "${board.id}"`);
      expect(text).toContain(`.model_sha256 = "${compiled.model.sha256}"`);
      // The agent sources are verbatim copies (the Arduino one carries a two-line rename first).
      const agent = readFileSync(p.files.find((f) => f.endsWith('/tf_agent.c')) as string, 'utf8');
      const original = readFileSync(path.join(RUNTIME_TEMPLATES_DIR, 'agent', 'tf_agent.c'), 'utf8');
      expect(agent).toBe(board.project === 'arduino' ? ARDUINO_AGENT_PREAMBLE + original : original);
      const config = readFileSync(p.files.find((f) => f.endsWith('/tf_board_config.h')) as string, 'utf8');
      expect(config).toContain(`#define TF_HAL_BAUD ${board.uart.baud}u`);
      expect(config).toContain(`#define TF_HAL_COUNTER_NAME "${board.cycleCounter}"`);
    });
  }
});

const directElfs = new Map<string, Promise<string>>();

/** The project's firmware compiled with -Werror and linked straight with arm-none-eabi-gcc (once per board). */
function linkDirect(board: Board): Promise<string> {
  let elf = directElfs.get(board.id);
  if (elf === undefined) {
    const p = project(board.id);
    const exe = cmakeCommand(parseCMake(read(p.dir, 'CMakeLists.txt')), 'add_executable').args.slice(1);
    const out = path.join(p.dir, 'direct.elf');
    elf = run(ARM_GCC as string, [
      ...board.toolchain.cflags,
      '-std=c99',
      ...STRICT,
      '-ffunction-sections',
      '-fdata-sections',
      '-I', 'agent', '-I', 'model', '-I', 'board',
      ...exe,
      '-T', `ld/${board.id}.ld`,
      '-nostartfiles', '--specs=nano.specs', '--specs=nosys.specs',
      '-Wl,--gc-sections',
      '-o', out,
      '-lm',
    ], p.dir).then(() => out);
    directElfs.set(board.id, elf);
  }
  return elf;
}

// ---- bare-metal Cortex-M CMake projects ----

const CORTEX_M = BOARDS.filter((b) => boardSupport(b).kind === 'cortex-m-cmake');

describe.each(CORTEX_M.map((b) => [b.id, b] as const))('%s (bare-metal CMake)', (id, board) => {
  const support = boardSupport(board);
  const hal = `board/hal_${support.family}.c`;

  it('has a CMake project whose sources exist, with the board flags, linker script and start files', () => {
    const p = project(id);
    const cmds = parseCMake(read(p.dir, 'CMakeLists.txt'));
    expect(cmakeCommand(cmds, 'cmake_minimum_required').args).toEqual(['VERSION', '3.16']);
    expect(cmakeCommand(cmds, 'project').args[0]).toBe('tinyforge_agent');
    const exe = cmakeCommand(cmds, 'add_executable');
    expect(exe.args[0]).toBe('tinyforge_agent');
    const sources = exe.args.slice(1);
    expect(sources).toEqual(expect.arrayContaining(['agent/tf_agent.c', 'agent/tf_cobs.c', 'agent/tf_crc32.c', 'model/micro_speech.c', 'model/tf_agent_model.c', 'board/startup_cortex_m.c', hal]));
    for (const s of sources) expect(existsSync(path.join(p.dir, s)), s).toBe(true);
    expect(cmds.find((c) => c.name === 'set' && c.args[0] === 'TF_CPU_FLAGS')?.args.slice(1)).toEqual(board.toolchain.cflags);
    const link = cmakeCommand(cmds, 'target_link_options').args;
    for (const flag of ['-nostartfiles', '--specs=nano.specs', '--specs=nosys.specs', '-T']) expect(link).toContain(flag);
    const ld = cmds.find((c) => c.name === 'set' && c.args[0] === 'TF_LINKER_SCRIPT')?.args[1] ?? '';
    expect(ld).toBe(`\${CMAKE_CURRENT_SOURCE_DIR}/ld/${id}.ld`);
    for (const dir of keywordArgs(cmakeCommand(cmds, 'target_include_directories'), 'PRIVATE')) expect(existsSync(path.join(p.dir, dir)), dir).toBe(true);

    const tc = parseCMake(read(p.dir, 'cmake/arm-none-eabi.cmake'));
    const setOf = (name: string): string[] | undefined => tc.find((c) => c.name === 'set' && c.args[0] === name)?.args.slice(1);
    expect(setOf('CMAKE_SYSTEM_NAME')).toEqual(['Generic']);
    expect(setOf('CMAKE_TRY_COMPILE_TARGET_TYPE')).toEqual(['STATIC_LIBRARY']);
    expect(setOf('TF_TOOLCHAIN_PREFIX')?.[0]).toBe('arm-none-eabi-');

    const script = read(p.dir, `ld/${id}.ld`);
    const hex = (n: number): string => `0x${n.toString(16).toUpperCase().padStart(8, '0')}`;
    expect(script).toContain(`FLASH (rx)  : ORIGIN = ${hex(board.memory.flash.base)}, LENGTH = ${board.memory.flash.size}`);
    expect(script).toContain(`RAM   (rwx) : ORIGIN = ${hex(board.memory.ram.base)}, LENGTH = ${board.memory.ram.size}`);
    expect(read(p.dir, 'board/tf_board_config.h')).toContain(`#define TF_BOARD_NUM_IRQS ${support.numIrqs}`);
  });

  it.skipIf(ARM_GCC === undefined)('compiles with -Werror and links with its startup and linker script: vector table at the flash base, fits the board', async () => {
    const p = project(id);
    const gcc = ARM_GCC as string;
    const elf = await linkDirect(board);
    await checkFirmware(board, elf, support.numIrqs as number);
    if (support.family === 'nrf52840') {
      // The hardware flow control variant of the HAL compiles too.
      await run(gcc, [...board.toolchain.cflags, '-std=c99', ...STRICT, '-I', 'agent', '-I', 'board', '-DTF_NRF_UART_HWFC=1', '-c', hal, '-o', path.join(p.dir, 'hwfc.o')], p.dir);
    }
  });

  it.skipIf(ARM_GCC === undefined || CMAKE === undefined)('builds through its own CMakeLists.txt and toolchain file', async () => {
    const p = project(id);
    const build = path.join(p.dir, 'build');
    await run(CMAKE as string, ['-S', p.dir, '-B', build, '-DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake', '-DCMAKE_C_FLAGS=-Werror'], p.dir);
    const out = await run(CMAKE as string, ['--build', build], p.dir);
    expect(out).toMatch(/text\s+data\s+bss/); // the size report of the post-build step
    const elf = path.join(build, 'tinyforge_agent.elf');
    await checkFirmware(board, elf, support.numIrqs as number);
    // The flat image starts with the vector table: what the flasher writes at the flash base.
    const bin = readFileSync(path.join(build, 'tinyforge_agent.bin'));
    const sp = bin.readUInt32LE(0);
    expect(sp).toBe(board.memory.ram.base + board.memory.ram.size);
    expect(existsSync(path.join(build, 'tinyforge_agent.hex'))).toBe(true);
  });
});

// ---- the NUCLEO-F446RE firmware, run: QEMU's netduinoplus2 is an STM32F405, whose USART2 and
// memory map (flash at 0x08000000, 128 KiB SRAM at 0x20000000) are those the F446 project uses.
// QEMU does not model the RCC, GPIO or DWT (writes ignored, reads 0: the firmware finds that its
// cycle counter does not move and reports it as "none", so no cycle counts are shown), but it
// does model the USART registers the HAL drives, so the generated startup code, linker script,
// HAL and agent are exercised end to end, and every golden case must match byte for byte.

const QEMU_ARM = findExecutable('qemu-system-arm');

/** Starts QEMU with USART1 unconnected and USART2 on a pty; resolves with the pty path. */
function startNetduino(elf: string): Promise<{ child: ChildProcess; pty: string }> {
  const child = spawn(QEMU_ARM as string, ['-M', 'netduinoplus2', '-nographic', '-monitor', 'none', '-serial', 'null', '-serial', 'pty', '-kernel', elf], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`QEMU announced no pty within 15 s:\n${text}`));
    }, 15_000);
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      const m = /char device redirected to (\/dev\/[^\s]+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve({ child, pty: m[1] as string });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`QEMU exited (${code}) before announcing its pty:\n${text}`));
    });
  });
}

describe.skipIf(ARM_GCC === undefined || QEMU_ARM === undefined || !BOARDS.some((b) => b.id === 'nucleo-f446re'))('nucleo-f446re firmware under QEMU netduinoplus2 (STM32F405)', () => {
  it('boots, answers HELLO as nucleo-f446re over USART2, and matches every golden case', async () => {
    const board = findBoard('nucleo-f446re');
    const elf = await linkDirect(board);
    const { child, pty } = await startNetduino(elf);
    let transport: SerialTransport | undefined;
    try {
      transport = await SerialTransport.open({ path: pty, baudRate: board.uart.baud });
      // QEMU notices that the pty was opened about once a second.
      const session = new AgentSession(transport, { expectModelSha256: compiled.model.sha256, connectTimeoutMs: 10_000 });
      const hello = await session.connect();
      expect(hello).toMatchObject({ boardId: 'nucleo-f446re', counterName: 'none', cyclesPerTick: 1, modelSha256: compiled.model.sha256 });
      expect(countingOf(board, hello.counterName, hello.cyclesPerTick)).toMatchObject({ unit: 'cycles', running: false, clockHz: null });
      const { golden } = sharedModel('micro_speech');
      for (const c of golden.cases) {
        const r = await session.infer(c.inputs);
        expect(firstDifference(c.expected, r.outputs), c.id).toBeUndefined();
      }
      const stats = await session.stats();
      expect(stats.invokeCount).toBe(golden.cases.length);
      expect(stats.stackSizeBytes).toBe(DEFAULT_STACK_BYTES); // __StackLimit .. __StackTop
      expect(stats.stackHighWaterBytes).toBeGreaterThan(0);
      expect(stats.stackHighWaterBytes).toBeLessThan(DEFAULT_STACK_BYTES);
    } finally {
      await transport?.close();
      child.kill('SIGKILL');
    }
  });
});

/** The ELF's vector table sits at the flash base with the right SP and reset vector; it fits. */
async function checkFirmware(board: Board, elf: string, numIrqs: number): Promise<void> {
  const readelf = findExecutable('arm-none-eabi-readelf') as string;
  const sizeTool = findExecutable('arm-none-eabi-size') as string;
  const objdump = findExecutable('arm-none-eabi-objdump') as string;
  const nm = findExecutable('arm-none-eabi-nm') as string;
  const flash = board.memory.flash;
  const ram = board.memory.ram;

  const sections = (await run(readelf, ['-S', '-W', elf])).split('\n');
  const vec = sections.map((l) => /\]\s+\.isr_vector\s+PROGBITS\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)/.exec(l)).find((m) => m);
  expect(vec, '.isr_vector section').toBeTruthy();
  expect(parseInt((vec as RegExpExecArray)[1] as string, 16)).toBe(flash.base);
  expect(parseInt((vec as RegExpExecArray)[2] as string, 16)).toBe(4 * (16 + numIrqs));
  const entry = /Entry point address:\s+0x([0-9a-f]+)/.exec(await run(readelf, ['-h', elf]));

  // First two words: initial SP = top of RAM, reset vector = Reset_Handler (Thumb bit set).
  const dump = await run(objdump, ['-s', '-j', '.isr_vector', elf]);
  const firstRow = dump.split('\n').find((l) => l.trim().startsWith(flash.base.toString(16)));
  expect(firstRow, 'vector table dump').toBeTruthy();
  const words = (firstRow as string).trim().split(/\s+/).slice(1, 3).map((w) => Buffer.from(w, 'hex').readUInt32LE(0));
  const syms = await symbols(nm, elf);
  expect(words[0]).toBe(ram.base + ram.size);
  const resetLine = (await run(nm, [elf])).split('\n').find((l) => / T Reset_Handler$/.test(l)) as string;
  const reset = parseInt(resetLine.split(' ')[0] as string, 16);
  expect(words[1]).toBe(reset | 1);
  expect(parseInt((entry as RegExpExecArray)[1] as string, 16) & ~1).toBe(reset);
  expect(reset).toBeGreaterThanOrEqual(flash.base);
  expect(reset).toBeLessThan(flash.base + flash.size);
  for (const f of TF_HAL_FUNCTIONS) expect(syms.get(f), f).toBe('T');
  // Arena arrays placed in a RAM region by section (the H7's DTCM) link inside that region.
  for (const r of (board.memory.regions ?? []).filter((x) => x.section !== undefined && x.base !== undefined)) {
    const line = (await run(nm, [elf])).split('\n').find((l) => l.endsWith(` tf_arena_${r.name}`));
    if (r.speed === 0) expect(line, `tf_arena_${r.name}: micro_speech's arena fits the fastest region`).toBeDefined();
    if (line === undefined) continue;
    const at = parseInt(line.split(' ')[0] as string, 16);
    expect(at).toBeGreaterThanOrEqual(r.base as number);
    expect(at).toBeLessThan((r.base as number) + r.size);
  }

  const [text, data, bss] = ((await run(sizeTool, ['-B', '-d', elf])).trim().split('\n')[1] as string).trim().split(/\s+/).map(Number) as [number, number, number];
  expect(text + data).toBeLessThanOrEqual(flash.size);
  expect(data + bss + DEFAULT_STACK_BYTES).toBeLessThanOrEqual(ram.size);
  expect(text).toBeGreaterThan(compiled.summary.weightBytes); // the weights are in flash
}

// ---- Raspberry Pi Pico: pico-sdk project ----

const PICO_STUBS: Record<string, string> = {
  'pico/stdlib.h': `#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef unsigned int uint;
void sleep_ms(uint32_t ms);
int getchar_timeout_us(uint32_t timeout_us);
int putchar_raw(int c);
void stdio_flush(void);
`,
  'hardware/uart.h': `#pragma once
#include "pico/stdlib.h"
typedef struct uart_inst uart_inst_t;
extern uart_inst_t *const tf_stub_uart0;
#define uart0 tf_stub_uart0
typedef enum { UART_PARITY_NONE, UART_PARITY_EVEN, UART_PARITY_ODD } uart_parity_t;
uint uart_init(uart_inst_t *uart, uint baudrate);
void uart_set_format(uart_inst_t *uart, uint data_bits, uint stop_bits, uart_parity_t parity);
void uart_set_fifo_enabled(uart_inst_t *uart, bool enabled);
char uart_getc(uart_inst_t *uart);
void uart_write_blocking(uart_inst_t *uart, const uint8_t *src, size_t len);
`,
  'hardware/gpio.h': `#pragma once
#include "pico/stdlib.h"
typedef enum gpio_function { GPIO_FUNC_SPI = 1, GPIO_FUNC_UART = 2, GPIO_FUNC_NULL = 0x1f } gpio_function_t;
void gpio_set_function(uint gpio, gpio_function_t fn);
`,
  'pico/stdio_usb.h': `#pragma once
#include "pico/stdlib.h"
bool stdio_usb_init(void);
bool stdio_usb_connected(void);
`,
};

function writeStubs(dir: string, stubs: Record<string, string>): string {
  for (const [rel, text] of Object.entries(stubs)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

describe.skipIf(!BOARDS.some((b) => b.id === 'rpi-pico'))('rpi-pico (pico-sdk CMake)', () => {
  const board = BOARDS.find((b) => b.id === 'rpi-pico') as Board;

  it('is a pico-sdk project whose sources exist', () => {
    const p = project('rpi-pico');
    const text = read(p.dir, 'CMakeLists.txt');
    const cmds = parseCMake(text);
    expect(cmds.find((c) => c.name === 'include')?.args[0]).toBe('${PICO_SDK_PATH}/external/pico_sdk_import.cmake');
    const names = cmds.map((c) => c.name);
    expect(names.indexOf('include')).toBeLessThan(names.indexOf('project'));
    expect(names.indexOf('project')).toBeLessThan(names.indexOf('pico_sdk_init'));
    const exe = cmakeCommand(cmds, 'add_executable').args;
    expect(exe[0]).toBe('tinyforge_agent');
    for (const s of exe.slice(1)) expect(existsSync(path.join(p.dir, s)), s).toBe(true);
    expect(exe).toContain('board/hal_rp2040.c');
    expect(exe.some((s) => s.includes('startup'))).toBe(false); // the SDK's crt0 and boot2
    expect(cmakeCommand(cmds, 'target_link_libraries').args).toEqual(expect.arrayContaining(['pico_stdlib', 'hardware_uart']));
    expect(cmds.find((c) => c.name === 'pico_enable_stdio_uart')?.args).toEqual(['tinyforge_agent', '0']);
    expect(names).toContain('pico_add_extra_outputs');
  });

  it.skipIf(ARM_GCC === undefined)('compiles the model and agent with the board flags, and the HAL (UART and USB) against stand-in SDK headers', async () => {
    const p = project('rpi-pico');
    const gcc = ARM_GCC as string;
    const nm = findExecutable('arm-none-eabi-nm') as string;
    const stubs = writeStubs(path.join(work, 'stubs-pico'), PICO_STUBS);
    const out = path.join(work, 'obj-pico');
    mkdirSync(out, { recursive: true });
    const exe = cmakeCommand(parseCMake(read(p.dir, 'CMakeLists.txt')), 'add_executable').args.slice(1);
    const flags = [...board.toolchain.cflags, '-std=c99', ...STRICT, '-I', 'agent', '-I', 'model', '-I', 'board'];
    const portable = exe.filter((s) => !s.startsWith('board/'));
    await pool(4, [
      ...portable.map((s) => () => run(gcc, [...flags, '-c', s, '-o', path.join(out, `${path.basename(s)}.o`)], p.dir)),
      () => run(gcc, [...flags, '-std=gnu11', '-I', stubs, '-c', 'board/hal_rp2040.c', '-o', path.join(out, 'hal_uart.o')], p.dir),
      () => run(gcc, [...flags, '-std=gnu11', '-I', stubs, '-DTF_PICO_USB_CDC=1', '-c', 'board/hal_rp2040.c', '-o', path.join(out, 'hal_usb.o')], p.dir),
    ]);
    for (const o of ['hal_uart.o', 'hal_usb.o']) {
      const defined = await definedSymbols(nm, path.join(out, o));
      for (const f of [...TF_HAL_FUNCTIONS, 'isr_systick']) expect(defined.has(f), `${o}: ${f}`).toBe(true);
    }
    const agent = await definedSymbols(nm, path.join(out, 'tf_agent.c.o'));
    expect(agent.has('main')).toBe(true); // the SDK's crt0 calls the agent's main() directly
  });
});

// ---- ESP-IDF projects ----

/** The board's compiler when installed; for the ESP32-C3 a stock RISC-V GCC with the same ISA flags; else the host cc. */
function espCompiler(board: Board): { cc: string; flags: string[]; what: string } | undefined {
  const own = findExecutable(board.toolchain.compiler);
  if (own) return { cc: own, flags: board.toolchain.cflags, what: board.toolchain.compiler };
  if (board.core === 'rv32imc' && RV_GCC) return { cc: RV_GCC, flags: [...board.toolchain.cflags, '--specs=picolibc.specs'], what: 'riscv64-unknown-elf-gcc' };
  if (HOST_CC) return { cc: HOST_CC, flags: [], what: 'host cc' };
  return undefined;
}

const ESP = BOARDS.filter((b) => b.project === 'esp-idf');

describe.each(ESP.map((b) => [b.id, b] as const))('%s (ESP-IDF)', (id, board) => {
  const chip = board.flashing.method === 'esp-rom' ? board.flashing.chip : '';

  it('is an ESP-IDF project: project file, main component, manifest, sdkconfig.defaults', () => {
    const p = project(id);
    const top = parseCMake(read(p.dir, 'CMakeLists.txt'));
    expect(top.map((c) => c.name)).toEqual(['cmake_minimum_required', 'include', 'project']);
    expect(cmakeCommand(top, 'include').args).toEqual(['$ENV{IDF_PATH}/tools/cmake/project.cmake']);
    expect(cmakeCommand(top, 'project').args).toEqual(['tinyforge_agent']);

    const main = parseCMake(read(p.dir, 'main/CMakeLists.txt'));
    const reg = cmakeCommand(main, 'idf_component_register');
    const srcs = keywordArgs(reg, 'SRCS');
    expect(srcs).toEqual(expect.arrayContaining(['hal_esp_idf.c', 'agent/tf_agent.c', 'agent/tf_cobs.c', 'agent/tf_crc32.c', 'model/micro_speech.c', 'model/tf_agent_model.c']));
    for (const s of srcs) expect(existsSync(path.join(p.dir, 'main', s)), s).toBe(true);
    const incs = keywordArgs(reg, 'INCLUDE_DIRS');
    expect(incs).toEqual(['.', 'agent', 'model']);
    for (const d of incs) expect(existsSync(path.join(p.dir, 'main', d)), d).toBe(true);
    // Every .c under main/ is built (nothing generated is left out).
    const cFiles = (dir: string, rel = ''): string[] =>
      readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? cFiles(dir, path.posix.join(rel, e.name)) : e.name.endsWith('.c') ? [path.posix.join(rel, e.name)] : []));
    expect(cFiles(path.join(p.dir, 'main')).sort()).toEqual([...srcs].sort());
    expect(cmakeCommand(main, 'set_source_files_properties').args).toEqual(['agent/tf_agent.c', 'PROPERTIES', 'COMPILE_DEFINITIONS', 'main=tf_agent_main']);

    const manifest = parseYamlMapping(read(p.dir, 'main/idf_component.yml'));
    expect(manifest).toMatchObject({ dependencies: { idf: { version: '>=5.1.0' } } });
    expect(typeof manifest.description).toBe('string');

    const sdk = parseSdkconfig(read(p.dir, 'sdkconfig.defaults'));
    expect(sdk.CONFIG_IDF_TARGET).toBe(`"${chip}"`);
    expect(sdk.CONFIG_ESP_CONSOLE_NONE).toBe('y');
    expect(sdk.CONFIG_ESP_TASK_WDT_INIT).toBe('n');
    expect(sdk[`CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ_${board.clockHz / 1e6}`]).toBe('y');
    const flashMiB = ((board.flashing.method === 'esp-rom' ? board.flashing.appOffset : 0) + board.memory.flash.size) / (1024 * 1024);
    expect(sdk[`CONFIG_ESPTOOLPY_FLASHSIZE_${flashMiB}MB`]).toBe('y');
    expect(sdk.CONFIG_COMPILER_OPTIMIZATION_PERF).toBe('y');
    expect(p.buildInstructions).toContain(`idf.py set-target ${chip}\nidf.py build\n`);
  });

  const compiler = espCompiler(board);
  it.skipIf(compiler === undefined)(`compiles the model, the agent (main renamed) and the HAL against stand-in ESP-IDF headers (${compiler?.what ?? 'no compiler'})`, async () => {
    const p = project(id);
    const { cc, flags } = compiler as { cc: string; flags: string[] };
    const nm = (/-gcc$/.test(cc) ? findExecutable(cc.replace(/gcc$/, 'nm')) : undefined) ?? (findExecutable('nm') as string);
    const stubs = writeStubs(path.join(work, 'stubs-esp'), ESP_STUBS);
    const out = path.join(work, `obj-${id}`);
    mkdirSync(out, { recursive: true });
    const main = path.join(p.dir, 'main');
    const srcs = keywordArgs(cmakeCommand(parseCMake(read(p.dir, 'main/CMakeLists.txt')), 'idf_component_register'), 'SRCS');
    // ESP-IDF compiles C as gnu17.
    const base = [...flags, '-std=gnu17', ...STRICT, '-I', '.', '-I', 'agent', '-I', 'model'];
    await pool(4, srcs.map((s) => () => {
      const extra = s === 'agent/tf_agent.c' ? ['-Dmain=tf_agent_main'] : s === 'hal_esp_idf.c' ? ['-I', stubs] : [];
      return run(cc, [...base, ...extra, '-c', s, '-o', path.join(out, `${path.basename(s)}.o`)], main);
    }));
    const agent = await symbols(nm, path.join(out, 'tf_agent.c.o'));
    expect(agent.get('tf_agent_main')).toBe('T');
    expect(agent.has('main')).toBe(false);
    const hal = await symbols(nm, path.join(out, 'hal_esp_idf.c.o'));
    for (const f of [...TF_HAL_FUNCTIONS, 'app_main']) expect(hal.get(f), f).toBe('T');
    expect(hal.get('tf_agent_main')).toBe('U');
  });
});

// ---- Arduino: PlatformIO project + Arduino library ----

const ARDUINO_STUB = `#pragma once
#include <stddef.h>
#include <stdint.h>
class TfStubStream {
 public:
  void begin(unsigned long baud);
  int read();
  size_t write(const uint8_t *buffer, size_t size);
  explicit operator bool();
};
extern TfStubStream Serial;
extern TfStubStream Serial1;
void delay(unsigned long ms);
void setup(void);
void loop(void);
`;

describe.each(BOARDS.filter((b) => b.project === 'arduino').map((b) => [b.id, b] as const))('%s (PlatformIO + Arduino library)', (id, board) => {
  const lib = 'lib/tinyforge_agent';

  it('has platformio.ini, library.properties, library.json and the example sketch', () => {
    const p = project(id);
    const ini = parseIni(read(p.dir, 'platformio.ini'));
    expect(ini[`env:nano33ble`]).toMatchObject({ platform: 'nordicnrf52', board: 'nano33ble', framework: 'arduino', monitor_speed: String(board.uart.baud) });
    expect(ini.platformio?.src_dir).toBe(`${lib}/examples/tinyforge_agent`);
    expect(readdirSync(path.join(p.dir, ini.platformio?.src_dir as string))).toEqual(['tinyforge_agent.ino']);

    const props = parseProperties(read(p.dir, `${lib}/library.properties`));
    for (const key of ['name', 'version', 'author', 'maintainer', 'sentence', 'paragraph', 'category', 'url', 'architectures']) {
      expect(props[key], key).toBeTruthy();
    }
    expect(props.name).toBe('tinyforge_agent');
    expect(props.includes).toBe('tinyforge_agent.h');
    expect(props.name).not.toMatch(/^arduino/i);

    const manifest = JSON.parse(read(p.dir, `${lib}/library.json`)) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: 'tinyforge_agent', frameworks: 'arduino', platforms: 'nordicnrf52' });

    const sketch = read(p.dir, `${lib}/examples/tinyforge_agent/tinyforge_agent.ino`);
    expect(sketch).toContain('#include <tinyforge_agent.h>');
    expect(sketch).toMatch(/void setup\(\) \{\s*tf_agent_main\(\);/);
    const src = readdirSync(path.join(p.dir, lib, 'src')).sort();
    expect(src).toEqual(
      ['hal_arduino.c', 'micro_speech.c', 'micro_speech.h', 'tf_agent.c', 'tf_agent_model.c', 'tf_agent_model.h', 'tf_board_config.h', 'tf_cobs.c', 'tf_crc32.c', 'tf_dwt.h', 'tf_hal.h', 'tf_protocol.h', 'tf_serial_bridge.cpp', 'tf_serial_bridge.h', 'tinyforge_agent.h'].sort(),
    );
  });

  it.skipIf(ARM_GCC === undefined || ARM_GXX === undefined)('compiles every library source with the board flags (C++ bridge and sketch against a stand-in Arduino.h)', async () => {
    const p = project(id);
    const gcc = ARM_GCC as string;
    const gxx = ARM_GXX as string;
    const nm = findExecutable('arm-none-eabi-nm') as string;
    const src = path.join(p.dir, lib, 'src');
    const stubs = writeStubs(path.join(work, 'stubs-arduino'), { 'Arduino.h': ARDUINO_STUB });
    const out = path.join(work, `obj-${id}`);
    mkdirSync(out, { recursive: true });
    const cFiles = readdirSync(src).filter((f) => f.endsWith('.c'));
    await pool(4, [
      ...cFiles.map((f) => () => run(gcc, [...board.toolchain.cflags, '-std=gnu11', ...STRICT, '-I', '.', '-c', f, '-o', path.join(out, `${f}.o`)], src)),
      () => run(gxx, [...board.toolchain.cflags, '-std=gnu++17', ...STRICT, '-I', stubs, '-I', '.', '-c', 'tf_serial_bridge.cpp', '-o', path.join(out, 'bridge.o')], src),
      // The Arduino builder compiles a sketch as C++ with Arduino.h included first.
      () => run(gxx, [...board.toolchain.cflags, '-std=gnu++17', ...STRICT, '-I', stubs, '-I', src, '-include', 'Arduino.h', '-x', 'c++', '-fsyntax-only', path.join(p.dir, lib, 'examples/tinyforge_agent/tinyforge_agent.ino')]),
    ]);
    const agent = await symbols(nm, path.join(out, 'tf_agent.c.o'));
    expect(agent.get('tf_agent_main')).toBe('T');
    expect(agent.has('main')).toBe(false); // the core's main() stays the only one
    const hal = await definedSymbols(nm, path.join(out, 'hal_arduino.c.o'));
    for (const f of TF_HAL_FUNCTIONS) expect(hal.has(f), f).toBe(true);
    const bridge = await definedSymbols(nm, path.join(out, 'bridge.o'));
    for (const f of ['tf_serial_begin', 'tf_serial_read_blocking', 'tf_serial_write']) expect(bridge.has(f), `extern "C" ${f}`).toBe(true);
  });
});

it('docs/boards.md covers every board file', () => {
  const doc = readFileSync(new URL('../docs/boards.md', import.meta.url), 'utf8');
  for (const b of loadBoards()) expect(doc, b.id).toContain(`\`${b.id}\``);
});
