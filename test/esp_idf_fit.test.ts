// ESP-IDF projects that fit (compiler/boards/esp_idf_fit.ts, compiler/projects/esp_idf_project.ts):
// the partition table each ESP board's project gets from the model's size, the fit checks against
// the flash chip and the static-data limit of internal RAM, the arena in internal RAM or PSRAM,
// and the generated C compiled with xtensa-lx106-elf-gcc -Wall -Wextra -Werror against stand-in
// ESP-IDF headers (ESP-IDF is not installed here: the project is checked structurally, and its C
// is proven to build, not to link or run against the real SDK).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { compile } from '../compiler/api/compile.ts';
import type { Board } from '../compiler/boards/board_schema.ts';
import { ESP_IDF_BASE } from '../compiler/boards/esp_idf_base.ts';
import { APP_PARTITION_ALIGN, appPartitionSize, checkEspIdfFit, estimateEspIdfFit } from '../compiler/boards/esp_idf_fit.ts';
import { findBoard, loadBoards } from '../compiler/boards/load_boards.ts';
import { arenaRegionsFor } from '../compiler/boards/regions.ts';
import { compileModel, type CompiledModel } from '../compiler/compile.ts';
import { TinyforgeError } from '../compiler/errors.ts';
import { generateBoardProject } from '../compiler/projects/generate_project.ts';
import { picolibcSpecs } from '../compiler/targets/qemu_xtensa.ts';
import { execTool, findExecutable } from '../compiler/targets/toolchain.ts';
import { ESP_STUBS } from './helpers/esp_idf_stubs.ts';
import { sharedModel } from './helpers/shared.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-esp-fit-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ESP_BOARDS = loadBoards().filter((b) => b.project === 'esp-idf');
const MODELS = ['micro_speech', 'vww_mobilenet'] as const;

interface Partition {
  name: string;
  type: string;
  subtype: string;
  offset: number;
  size: number;
}

/** partitions.csv as ESP-IDF's gen_esp32part.py reads it: comments, then name,type,subtype,offset,size[,flags]. */
function parsePartitions(text: string): Partition[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const f = l.split(',').map((x) => x.trim());
      expect(f.length, l).toBeGreaterThanOrEqual(5);
      const num = (x: string): number => {
        expect(x, `${l}: explicit offsets and sizes`).toMatch(/^0x[0-9a-f]+$/);
        return parseInt(x, 16);
      };
      return { name: f[0] as string, type: f[1] as string, subtype: f[2] as string, offset: num(f[3] as string), size: num(f[4] as string) };
    });
}

function parseSdkconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const kv = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (kv) out.set(kv[1] as string, kv[2] as string);
  }
  return out;
}

async function project(board: Board, compiled: CompiledModel, name: string): Promise<string> {
  const dir = path.join(work, name);
  await generateBoardProject(compiled, board, dir);
  return dir;
}

/** The structural checks every generated ESP-IDF project must pass. */
function checkProject(dir: string, board: Board, compiled: CompiledModel): { partitions: Partition[]; sdk: Map<string, string> } {
  const fit = estimateEspIdfFit(compiled, board);
  const partitions = parsePartitions(readFileSync(path.join(dir, 'partitions.csv'), 'utf8'));
  expect(partitions.map((p) => p.name)).toEqual(['nvs', 'phy_init', 'factory']);
  let end = 0x8000 + 0x1000; // the partition table's own sector
  for (const p of partitions) {
    expect(p.offset % (p.type === 'app' ? APP_PARTITION_ALIGN : 0x1000), `${p.name} offset alignment`).toBe(0);
    expect(p.offset, `${p.name} starts after the previous one`).toBeGreaterThanOrEqual(end);
    end = p.offset + p.size;
  }
  expect(end, 'the last partition ends inside the flash chip').toBeLessThanOrEqual(fit.flashChipBytes);
  const app = partitions.find((p) => p.type === 'app') as Partition;
  expect(app.subtype).toBe('factory');
  expect(app.offset).toBe(board.flashing.method === 'esp-rom' ? board.flashing.appOffset : -1); // where tinyforge flash writes the app
  // At least the app image estimate: the model's constants plus ESP-IDF's estimated share.
  const chip = board.flashing.method === 'esp-rom' ? board.flashing.chip : 'esp32';
  expect(app.size).toBeGreaterThanOrEqual(compiled.summary.flashBytes + ESP_IDF_BASE[chip].appImageBytes);
  expect(app.size).toBeGreaterThanOrEqual(fit.appImageBytes);

  const sdk = parseSdkconfig(readFileSync(path.join(dir, 'sdkconfig.defaults'), 'utf8'));
  expect(sdk.get('CONFIG_PARTITION_TABLE_CUSTOM')).toBe('y');
  expect(sdk.get('CONFIG_PARTITION_TABLE_CUSTOM_FILENAME')).toBe('"partitions.csv"');
  expect(sdk.get('CONFIG_PARTITION_TABLE_OFFSET')).toBe('0x8000');
  expect(sdk.get(`CONFIG_ESPTOOLPY_FLASHSIZE_${fit.flashChipBytes / (1024 * 1024)}MB`)).toBe('y');
  // PSRAM is switched on exactly when the arena uses it.
  const inPsram = fit.psramArenaBytes > 0;
  expect(sdk.get('CONFIG_SPIRAM')).toBe(inPsram ? 'y' : undefined);
  expect(sdk.get('CONFIG_SPIRAM_ALLOW_BSS_SEG_EXTERNAL_MEMORY')).toBe(inPsram ? 'y' : undefined);
  if (inPsram) expect(sdk.get(board.espIdf?.psramMode === 'octal' ? 'CONFIG_SPIRAM_MODE_OCT' : 'CONFIG_SPIRAM_MODE_QUAD')).toBe('y');

  const main = readFileSync(path.join(dir, 'main', 'CMakeLists.txt'), 'utf8');
  expect(main).toMatch(/^idf_component_register\(/m);
  const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
  expect(readme).toContain('idf.py -p <PORT> build flash monitor');
  expect(readme).toContain(`factory partition of\n  ${app.size} bytes`);
  return { partitions, sdk };
}

describe.each(ESP_BOARDS.map((b) => [b.id, b] as const))('%s: ESP-IDF project sized for the model', (id, board) => {
  for (const name of MODELS) {
    it(`${name}: partitions.csv, sdkconfig.defaults, component, README`, async () => {
      const { compiled } = sharedModel(name);
      const dir = await project(board, compiled, `${id}-${name}`);
      checkProject(dir, board, compiled);
    });
  }

});

describe('fit checks', () => {
  it('sizes the factory partition from the app image: 1 MiB until the image with 25% headroom outgrows it, then on 64 KiB', () => {
    expect(appPartitionSize(400_000)).toBe(0x100000);
    expect(appPartitionSize(0x100000 * 0.8)).toBe(0x100000);
    expect(appPartitionSize(0x100000)).toBe(0x140000);
    expect(appPartitionSize(3_000_000)).toBe(Math.ceil(3_750_000 / 0x10000) * 0x10000);
    expect(appPartitionSize(3_000_000) % APP_PARTITION_ALIGN).toBe(0);
  });

  const esp32 = findBoard('esp32-devkitc');
  const s3 = findBoard('esp32-s3-devkitc-1');
  const vww = sharedModel('vww_mobilenet').compiled;

  it('compile() on an ESP board reports the ESP-IDF fit, the same the project is generated from', async () => {
    const r = await compile(vww.model, { board: 'esp32-devkitc' });
    expect(r.espIdfFit).toEqual(estimateEspIdfFit(compileModel(vww.model, { regions: arenaRegionsFor(esp32) }), esp32));
    expect(r.espIdfFit?.staticDramLimitBytes).toBe(160 * 1024);
    expect((await compile(vww.model, { board: 'nucleo-f446re' })).espIdfFit).toBeUndefined();
  });

  it('refuses an app partition that runs past the end of the flash chip', () => {
    // A 1 MiB flash chip: the 1 MiB factory partition at 0x10000 ends 64 KiB past it.
    const small: Board = { ...esp32, memory: { ...esp32.memory, flash: { ...esp32.memory.flash, size: 0x100000 - 0x10000 } } };
    expect(() => checkEspIdfFit(vww, small)).toThrow(TinyforgeError);
    expect(() => checkEspIdfFit(vww, small)).toThrow(/needs a 1048576-byte app partition at 0x10000, 65536 bytes past the end of the 1 MiB flash/);
  });

  it('refuses static data beyond the internal-RAM limit, suggesting PSRAM only where there is some', () => {
    const tight: Board = { ...esp32, espIdf: { staticDramBytes: 48 * 1024 } };
    expect(() => checkEspIdfFit(vww, tight)).toThrow(/exceeds the 49152 bytes of internal RAM ESP-IDF allows static data by \d+$/);
    const s3Tight: Board = { ...s3, espIdf: { staticDramBytes: 96 * 1024, psramMode: 'octal' } };
    const inDram = compileModel(vww.model, { regions: arenaRegionsFor(s3Tight, 'dram') });
    expect(() => checkEspIdfFit(inDram, s3Tight)).toThrow(/\(put the arena in PSRAM: --arena-in psram\)/);
    // The 160 KiB of the ESP32's docs take vww_mobilenet's arena.
    expect(checkEspIdfFit(vww, esp32).staticDramLimitBytes).toBe(160 * 1024);
  });

  it('on the ESP32-S3 the arena overflows into PSRAM by itself when internal RAM is short, and the project turns PSRAM on', async () => {
    // 128 KiB of D/IRAM less the IRAM and ESP-IDF estimates leaves 24 KiB for vww_mobilenet's 46 KiB arena.
    const s3Tight: Board = { ...s3, espIdf: { staticDramBytes: 128 * 1024, psramMode: 'octal' } };
    const split = compileModel(vww.model, { regions: arenaRegionsFor(s3Tight) });
    const [dram, psram] = split.plan.regions;
    expect(dram?.region).toBe('dram');
    expect(psram?.region).toBe('psram');
    expect(psram?.bytes).toBeGreaterThan(0);
    expect(dram?.bytes).toBeLessThanOrEqual(dram?.capacity ?? 0);
    const fit = checkEspIdfFit(split, s3Tight);
    expect(fit.psramArenaBytes).toBe(psram?.bytes);
    const dir = await project(s3Tight, split, 's3-split');
    checkProject(dir, s3Tight, split);
  });

  it('--arena-in psram on the ESP32-S3: the whole arena in PSRAM, with EXT_RAM_BSS_ATTR', async () => {
    const inPsram = compileModel(vww.model, { regions: arenaRegionsFor(s3, 'psram') });
    const dir = await project(s3, inPsram, 's3-psram');
    const { sdk } = checkProject(dir, s3, inPsram);
    expect(sdk.get('CONFIG_SPIRAM_MODE_OCT')).toBe('y');
    const c = readFileSync(path.join(dir, 'main', 'model', `${inPsram.prefix}.c`), 'utf8');
    expect(c).toMatch(/static uint8_t tf_arena_psram\[\d+\] TF_ALIGNED\(16\) TF_REGION_PSRAM;/);
    expect(c).toContain('#define TF_REGION_PSRAM EXT_RAM_BSS_ATTR');
  });
});

// ---- the generated C builds with an Xtensa compiler ----

const LX106_GCC = findExecutable('xtensa-lx106-elf-gcc');
const LX106_OBJDUMP = findExecutable('xtensa-lx106-elf-objdump');

describe.skipIf(LX106_GCC === undefined || LX106_OBJDUMP === undefined)('xtensa-lx106-elf-gcc -Wall -Wextra -Werror builds the component', () => {
  const stubs = path.join(work, 'stubs');
  for (const [rel, text] of Object.entries(ESP_STUBS)) {
    mkdirSync(path.dirname(path.join(stubs, rel)), { recursive: true });
    writeFileSync(path.join(stubs, rel), text);
  }

  async function compileComponent(dir: string, extra: readonly string[]): Promise<string> {
    const gcc = LX106_GCC as string;
    const main = path.join(dir, 'main');
    const srcs = [...readFileSync(path.join(main, 'CMakeLists.txt'), 'utf8').matchAll(/^ {4}"([^"]+\.c)"$/gm)].map((m) => m[1] as string);
    expect(srcs).toEqual(expect.arrayContaining(['hal_esp_idf.c', 'agent/tf_agent.c']));
    const out = path.join(dir, 'obj');
    mkdirSync(out, { recursive: true });
    // ESP-IDF compiles C as gnu17; the lx106 has no FPU, MAC16 or high multiply: the plainest Xtensa.
    const flags = [`--specs=${picolibcSpecs(gcc)}`, '-std=gnu17', '-O2', '-Wall', '-Wextra', '-Werror', '-mlongcalls', '-I', '.', '-I', 'agent', '-I', 'model', '-I', stubs, ...extra];
    for (const s of srcs) {
      const r = await execTool(gcc, [...flags, ...(s === 'agent/tf_agent.c' ? ['-Dmain=tf_agent_main'] : []), '-c', s, '-o', path.join(out, `${path.basename(s)}.o`)], { cwd: main, timeoutMs: 120_000 });
      expect(r.code, `${s}:\n${r.stderr}`).toBe(0);
    }
    return out;
  }

  it('micro_speech on esp32-devkitc, with and without TF_PROFILE (per-layer esp_cpu_get_cycle_count)', async () => {
    const { compiled } = sharedModel('micro_speech');
    const dir = await project(findBoard('esp32-devkitc'), compiled, 'lx106-esp32');
    await compileComponent(dir, []);
    const out = await compileComponent(dir, ['-DTF_PROFILE=1']);
    const hal = await execTool(LX106_OBJDUMP as string, ['-t', path.join(out, 'hal_esp_idf.c.o')], { timeoutMs: 30_000 });
    expect(hal.stdout).toMatch(/\*UND\*\s+0+ esp_cpu_get_cycle_count/);
    const agent = await execTool(LX106_OBJDUMP as string, ['-t', path.join(out, 'tf_agent.c.o')], { timeoutMs: 30_000 });
    expect(agent.stdout).toMatch(/\btf_profile_mark\b/);
  }, 240_000);

  it('vww_mobilenet on esp32-s3-devkitc-1 with the arena in PSRAM: tf_arena_psram lands in .ext_ram.bss', async () => {
    const s3 = findBoard('esp32-s3-devkitc-1');
    const inPsram = compileModel(sharedModel('vww_mobilenet').compiled.model, { regions: arenaRegionsFor(s3, 'psram') });
    const dir = await project(s3, inPsram, 'lx106-s3-psram');
    const out = await compileComponent(dir, []);
    const syms = await execTool(LX106_OBJDUMP as string, ['-t', path.join(out, `${inPsram.prefix}.c.o`)], { timeoutMs: 30_000 });
    expect(syms.stdout).toMatch(/\.ext_ram\.bss\.0\s+[0-9a-f]+ tf_arena_psram/);
  }, 240_000);
});
