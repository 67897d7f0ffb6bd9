// Memory placement across RAM regions (compiler/passes/memory_plan.ts placeAcrossRegions): the
// decision (hottest buffers in the fastest region that fits, capacities kept, no overlap within a
// region), the board side (regions in board files, --arena-in), the emitted C, and a model split
// across three memories of QEMU's mps2-an386 that still matches TFLite Micro byte for byte.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { compile } from '../compiler/api/compile.ts';
import { checkFitsBoard } from '../compiler/boards/fit.ts';
import { findBoard } from '../compiler/boards/load_boards.ts';
import { arenaRegionsFor } from '../compiler/boards/regions.ts';
import { compileModel, loadModel, writeCModule, type CompiledModel } from '../compiler/compile.ts';
import { emitSource } from '../compiler/emit-c/emit_module.ts';
import { TinyforgeError } from '../compiler/errors.ts';
import type { ArenaRegion } from '../compiler/ir/memory_regions.ts';
import { accessedBytes, lifetimesOverlap, type Buffer } from '../compiler/passes/memory_plan.ts';
import { buildForQemuMps2An386, runCasesOnQemuMps2An386 } from '../compiler/targets/qemu_mps2.ts';
import { execTool, findExecutable } from '../compiler/targets/toolchain.ts';
import { firstDifference, modelPath, sharedModel } from './helpers/shared.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-regions-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const kws = loadModel(modelPath('kws_dscnn'));

function regionOf(b: Buffer): string | undefined {
  return b.storage.kind === 'arena' ? b.storage.region : undefined;
}

function offsetOf(b: Buffer): number {
  return b.storage.kind === 'arena' ? b.storage.offset : -1;
}

/** Buffers live together never share bytes of the same region's arena; each fits its arena. */
function expectDisjoint(compiled: CompiledModel): void {
  const arena = compiled.plan.buffers.filter((b) => b.storage.kind === 'arena');
  for (const a of arena) {
    // The default RAM's buffers carry no region name (they go to tf_arena).
    const name = regionOf(a) ?? compiled.options.regions?.find((r) => r.placement === undefined)?.name;
    const region = compiled.plan.regions.find((r) => r.region === name);
    expect(region, `buffer ${a.tensors} has a region`).toBeDefined();
    expect(offsetOf(a) + a.bytes).toBeLessThanOrEqual(region?.bytes ?? 0);
    for (const b of arena) {
      if (a === b || regionOf(a) !== regionOf(b) || !lifetimesOverlap(a, b)) continue;
      const disjoint = offsetOf(a) + a.bytes <= offsetOf(b) || offsetOf(b) + b.bytes <= offsetOf(a);
      // An in-place layer writes its output over its input, which dies there.
      const inPlace = (x: Buffer, y: Buffer): boolean => x.lastUse === y.firstUse && compiled.plan.inPlaceLayers.includes(x.lastUse);
      expect(disjoint || inPlace(a, b) || inPlace(b, a), `tensors ${a.tensors} and ${b.tensors} overlap in ${regionOf(a) ?? 'the default arena'}`).toBe(true);
    }
  }
}

const SECTION = (section: string) => ({ section });

describe('placement decision', () => {
  const single = compileModel(kws, { inPlace: false });

  it('a fast region big enough for the whole arena takes every buffer, at the single arena size', () => {
    const regions: ArenaRegion[] = [
      { name: 'slow', capacity: 1 << 20, speed: 1 },
      { name: 'fast', capacity: single.plan.arenaBytes, speed: 0, placement: SECTION('.fast') },
    ];
    const c = compileModel(kws, { inPlace: false, regions });
    expect(c.plan.regions.map((r) => r.region)).toEqual(['fast', 'slow']); // fastest first, whatever the given order
    expect(c.plan.regions[0]?.bytes).toBe(single.plan.arenaBytes);
    expect(c.plan.regions[1]?.buffers).toBe(0);
    expect(c.plan.arenaBytes).toBe(single.plan.arenaBytes);
    expectDisjoint(c);
  });

  it('a small fast region gets the hottest buffer that fits it, never more than its capacity', () => {
    const capacity = 2048;
    const regions: ArenaRegion[] = [
      { name: 'fast', capacity, speed: 0, placement: SECTION('.fast') },
      { name: 'ram', capacity: 1 << 20, speed: 1 },
    ];
    const c = compileModel(kws, { inPlace: false, regions });
    const [fast, slow] = c.plan.regions;
    expect(fast?.bytes).toBeLessThanOrEqual(capacity);
    expect(fast?.buffers).toBeGreaterThan(0);
    expect(slow?.buffers).toBeGreaterThan(0);
    const arena = c.plan.buffers.filter((b) => b.storage.kind === 'arena');
    // With no in-place chains every block is one buffer: the hottest one that fits alone was
    // considered before any cooler one and found the region empty of everything that fits.
    const hottestFitting = arena.filter((b) => b.bytes <= capacity).sort((a, b) => accessedBytes(b) - accessedBytes(a))[0] as Buffer;
    expect(regionOf(hottestFitting)).toBe('fast');
    const placed = arena.filter((b) => regionOf(b) === 'fast');
    expect(fast?.accessedBytes).toBe(placed.reduce((s, b) => s + accessedBytes(b), 0));
    expectDisjoint(c);
  });

  it('a region too small for any buffer gets none; the slowest region takes the overflow', () => {
    const regions: ArenaRegion[] = [
      { name: 'tiny', capacity: 8, speed: 0, placement: SECTION('.tiny') },
      { name: 'ram', capacity: 16, speed: 1 },
    ];
    const c = compileModel(kws, { inPlace: false, regions });
    expect(c.plan.regions[0]?.buffers).toBe(0);
    expect(c.plan.regions[1]?.bytes).toBe(single.plan.arenaBytes);
  });

  it('keeps in-place chains in one region (their layers still run in place)', () => {
    const inPlace = compileModel(kws);
    const regions: ArenaRegion[] = [
      { name: 'fast', capacity: 4096, speed: 0, placement: SECTION('.fast') },
      { name: 'ram', capacity: 1 << 20, speed: 1 },
    ];
    const c = compileModel(kws, { regions });
    for (const layer of c.plan.inPlaceLayers) {
      const l = c.layers[layer];
      const input = c.plan.storageOf.get(l?.inputs[0] as number);
      const output = c.plan.storageOf.get(l?.outputs[0] as number);
      expect(input?.kind === 'arena' && output?.kind === 'arena' && input.region === output.region).toBe(true);
    }
    expect(c.plan.inPlaceLayers.length).toBeGreaterThan(0);
    expect(inPlace.plan.inPlaceLayers.length).toBeGreaterThan(0);
    expectDisjoint(c);
  });
});

describe('compile with a board', () => {
  it('the API plans across the board regions and reports the placement; --arena-in on a board without the region is a user error', async () => {
    const h7 = await compile(kws, { board: 'nucleo-h743zi' });
    expect(h7.arenaRegions?.map((r) => r.region)).toEqual(['dtcm', 'axi_sram']);
    expect(h7.arenaRegions?.[0]?.bytes).toBe(h7.arenaBytes); // kws_dscnn fits the DTCM
    const f446 = await compile(kws, { board: 'nucleo-f446re' });
    expect(f446.arenaRegions).toBeUndefined();
    await expect(compile(kws, { board: 'esp32-devkitc', arenaIn: 'psram' })).rejects.toMatchObject({ exitCode: 2 });
  });

  it('the CLI prints it as one line with exit code 2', () => {
    const bin = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [bin, 'compile', modelPath('kws_dscnn'), '-b', 'esp32-c3-devkitm-1', '-o', path.join(work, 'cli'), '--arena-in', 'psram'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['error: --arena-in psram: board esp32-c3-devkitm-1 has no psram region (its module has no PSRAM); its RAM regions: dram']);
  });
});

describe('boards', () => {
  it('declare their RAM regions: the H7 DTCM before the AXI SRAM, ESP32-S3 internal RAM before PSRAM', () => {
    const h7 = arenaRegionsFor(findBoard('nucleo-h743zi'));
    expect(h7?.map((r) => [r.name, r.speed, r.capacity])).toEqual([
      ['dtcm', 0, 131072],
      ['axi_sram', 1, 524288],
    ]);
    const s3 = arenaRegionsFor(findBoard('esp32-s3-devkitc-1'));
    expect(s3?.find((r) => r.name === 'psram')?.placement).toEqual({ attribute: 'EXT_RAM_BSS_ATTR', include: 'esp_attr.h' });
    // Boards with one RAM keep one plain arena.
    expect(arenaRegionsFor(findBoard('nucleo-f446re'))).toBeUndefined();
  });

  it('--arena-in psram is refused on a board whose module has no PSRAM, with the regions it has', () => {
    expect(() => arenaRegionsFor(findBoard('esp32-devkitc'), 'psram')).toThrow(TinyforgeError);
    expect(() => arenaRegionsFor(findBoard('esp32-devkitc'), 'psram')).toThrow('--arena-in psram: board esp32-devkitc has no psram region (its module has no PSRAM); its RAM regions: dram');
    expect(arenaRegionsFor(findBoard('esp32-s3-devkitc-1'), 'psram')?.map((r) => r.name)).toEqual(['psram']);
  });

  it('the fit check counts each region against its own size', () => {
    const board = findBoard('nucleo-h743zi');
    const c = compileModel(kws, { regions: arenaRegionsFor(board) });
    expect(() => checkFitsBoard(c, board)).not.toThrow();
    // The same plan on a board whose DTCM is smaller than what was placed there.
    const small = { ...board, memory: { ...board.memory, regions: board.memory.regions?.map((r) => (r.name === 'dtcm' ? { ...r, size: 1024 } : r)) } };
    expect(() => checkFitsBoard(c, small)).toThrow(/needs \d+ bytes of dtcm for its arena, \d+ more than its 1024/);
  });

  it('emits one array per used region with its section or SDK attribute', () => {
    const psram = compileModel(kws, { regions: arenaRegionsFor(findBoard('esp32-s3-devkitc-1'), 'psram') });
    const src = emitSource(psram.model.graph, psram.calls, psram.plan, { prefix: 'm', sourceDescription: 'x', modelSha256: '0', toolVersion: '0', regions: psram.options.regions ?? [] });
    expect(src).toContain('#include "esp_attr.h"');
    expect(src).toContain('#define TF_REGION_PSRAM EXT_RAM_BSS_ATTR');
    expect(src).toMatch(/static uint8_t tf_arena_psram\[\d+\] TF_ALIGNED\(16\) TF_REGION_PSRAM;/);
    expect(src).not.toMatch(/static uint8_t tf_arena\[/);
  });
});

// QEMU's mps2-an386 has three RAMs (info mtree): 16 KiB block RAM at 0x01000000, the 4 MiB SSRAM
// at 0x20000000 the firmware runs on, and 16 MiB at 0x21000000; mps2.ld maps .tf_blockram and
// .tf_psram there. A 2 KiB "fast" region and an SSRAM budget below the model's arena force a
// split (kws_dscnn's in-place chain is one block: it splits in two).
function an386Regions(ssramCapacity: number, psram: boolean): ArenaRegion[] {
  return [
    { name: 'blockram', capacity: 2048, speed: 0, placement: SECTION('.tf_blockram') },
    { name: 'ssram', capacity: ssramCapacity, speed: 1 },
    ...(psram ? [{ name: 'psram', capacity: 16 << 20, speed: 2, placement: SECTION('.tf_psram') }] : []),
  ];
}
const ARM_NM = findExecutable('arm-none-eabi-nm');
const SPLITS = [
  { name: 'kws_dscnn', regions: () => an386Regions(1 << 20, false) },
  { name: 'ic_resnet8', regions: () => an386Regions(17 * 1024, true) },
  { name: 'vww_mobilenet', regions: () => an386Regions(12 * 1024, true) },
] as const;

describe.skipIf(findExecutable('qemu-system-arm') === undefined || ARM_NM === undefined)('split across the memories of mps2-an386', () => {
  for (const split of SPLITS) {
    it(`${split.name}: bit-exact against TFLite Micro with the arena split across ${split.regions().map((r) => r.name).join(', ')}`, async () => {
      const { compiled: base, golden } = sharedModel(split.name);
      const c = compileModel(base.model, { regions: split.regions(), prefix: `${base.prefix}_regions` });
      for (const r of c.plan.regions) expect(r.buffers, `buffers in ${r.region}`).toBeGreaterThan(0);
      expectDisjoint(c);
      const mod = writeCModule(c, path.join(work, split.name));
      const build = await buildForQemuMps2An386(mod, { workDir: work });
      // The arrays are where the linker script maps the regions.
      const nm = await execTool(ARM_NM as string, [build.binary], { timeoutMs: 30_000 });
      const addr = (sym: string): number => parseInt(nm.stdout.split('\n').find((l) => l.endsWith(` ${sym}`))?.split(' ')[0] ?? 'x', 16);
      expect(addr('tf_arena_blockram')).toBeGreaterThanOrEqual(0x01000000);
      expect(addr('tf_arena_blockram')).toBeLessThan(0x01004000);
      expect(addr('tf_arena')).toBeGreaterThanOrEqual(0x20000000);
      expect(addr('tf_arena')).toBeLessThan(0x20400000);
      if (c.plan.regions.some((r) => r.region === 'psram')) expect(addr('tf_arena_psram')).toBeGreaterThanOrEqual(0x21000000);
      const cases = golden.cases.slice(0, 4);
      const actual = await runCasesOnQemuMps2An386(mod, cases.map((x) => x.inputs), { workDir: work });
      expect(actual).toHaveLength(cases.length);
      cases.forEach((x, i) => expect(firstDifference(x.expected, actual[i] ?? []), `case ${x.id}`).toBeUndefined());
    }, 180_000);
  }
});
