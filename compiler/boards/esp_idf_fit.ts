// Does a model fit an ESP-IDF board: the app image in the factory app partition tinyforge writes
// (partitions.csv, sized from the model), the partition in the flash chip, and the static data in
// the internal RAM ESP-IDF's linker allows it (160 KiB on the ESP32, ESP-IDF "Memory Types").
//
// ESP-IDF is not run here, so what ESP-IDF itself adds is an estimate per chip (below), stated as
// such wherever it is shown; the model's own bytes (constants in flash rodata, arena, state, I/O)
// are exact.

import type { CompiledModel } from '../compile.ts';
import { TinyforgeError } from '../errors.ts';
import type { Board } from './board_schema.ts';
import { ESP_IDF_BASE, espChip, type EspChip } from './esp_idf_base.ts';
import { estimateFootprint } from './fit.ts';

/** App partitions start on a 64 KiB boundary (ESP-IDF partition tables). */
export const APP_PARTITION_ALIGN = 0x10000;
/** Where ESP-IDF puts the partition table by default (CONFIG_PARTITION_TABLE_OFFSET). */
export const PARTITION_TABLE_OFFSET = 0x8000;
/** ESP-IDF's own "single factory app" partition size: models that fit it keep it. */
export const MIN_APP_PARTITION = 0x100000;
/** Headroom on the app image estimate when sizing the partition (the ESP-IDF part is estimated). */
export const APP_HEADROOM = 1.25;

export interface EspIdfFit {
  chip: EspChip;
  /** Flash chip size (appOffset + flash.size of the board file). */
  flashChipBytes: number;
  /** Estimated app image: the ESP-IDF estimate plus the model's constants (rodata). */
  appImageBytes: number;
  appPartitionOffset: number;
  /** The factory partition: at least 1 MiB, else the estimate with headroom, on 64 KiB. */
  appPartitionBytes: number;
  /** Internal RAM static data may use, after IRAM code on chips that share it. */
  staticDramLimitBytes: number;
  /** Estimated static data: the ESP-IDF estimate plus the model's arena in internal RAM, state and I/O. */
  staticDramBytes: number;
  /** The model's arena bytes in PSRAM (EXT_RAM_BSS_ATTR), 0 when none. */
  psramArenaBytes: number;
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** The factory partition for an app image: the image with headroom on 64 KiB, at least ESP-IDF's 1 MiB. */
export function appPartitionSize(appImageBytes: number): number {
  return Math.max(MIN_APP_PARTITION, alignUp(Math.ceil(appImageBytes * APP_HEADROOM), APP_PARTITION_ALIGN));
}

/** Bytes of arena the plan put in PSRAM-kind regions of the board. */
function psramArena(compiled: CompiledModel, board: Board): number {
  const psram = new Set((board.memory.regions ?? []).filter((r) => r.kind === 'psram').map((r) => r.name));
  return compiled.plan.regions.filter((r) => psram.has(r.region)).reduce((s, r) => s + r.bytes, 0);
}

export function estimateEspIdfFit(compiled: CompiledModel, board: Board): EspIdfFit {
  const chip = espChip(board);
  const appOffset = board.flashing.method === 'esp-rom' ? board.flashing.appOffset : 0;
  const base = ESP_IDF_BASE[chip];
  const est = estimateFootprint(compiled);
  const appImageBytes = base.appImageBytes + est.flashBytes;
  const psramArenaBytes = psramArena(compiled, board);
  return {
    chip,
    flashChipBytes: appOffset + board.memory.flash.size,
    appImageBytes,
    appPartitionOffset: alignUp(Math.max(appOffset, PARTITION_TABLE_OFFSET + 0x1000), APP_PARTITION_ALIGN),
    appPartitionBytes: appPartitionSize(appImageBytes),
    staticDramLimitBytes: (board.espIdf?.staticDramBytes ?? board.memory.ram.size) - base.iramBytes,
    staticDramBytes: base.staticRamBytes + est.ramBytes - psramArenaBytes,
    psramArenaBytes,
  };
}

/** The ESP-IDF fit, or a one-line TinyforgeError saying what does not fit and by how much. */
export function checkEspIdfFit(compiled: CompiledModel, board: Board): EspIdfFit {
  const fit = estimateEspIdfFit(compiled, board);
  const problems: string[] = [];
  const end = fit.appPartitionOffset + fit.appPartitionBytes;
  if (end > fit.flashChipBytes) {
    problems.push(
      `the app image (about ${fit.appImageBytes} bytes) needs a ${fit.appPartitionBytes}-byte app partition at 0x${fit.appPartitionOffset.toString(16)}, ${end - fit.flashChipBytes} bytes past the end of the ${fit.flashChipBytes / (1024 * 1024)} MiB flash`,
    );
  }
  if (fit.staticDramBytes > fit.staticDramLimitBytes) {
    const psram = (board.memory.regions ?? []).some((r) => r.kind === 'psram');
    problems.push(
      `static data (about ${fit.staticDramBytes} bytes with ESP-IDF's) exceeds the ${fit.staticDramLimitBytes} bytes of internal RAM ESP-IDF allows static data by ${fit.staticDramBytes - fit.staticDramLimitBytes}` +
        (psram ? ' (put the arena in PSRAM: --arena-in psram)' : ''),
    );
  }
  if (problems.length > 0) throw new TinyforgeError(`${compiled.summary.model} does not fit ${board.id}: ${problems.join('; ')}`);
  return fit;
}

/** partitions.csv: ESP-IDF's single-factory-app layout with the factory partition sized for the model. */
export function partitionsCsv(fit: EspIdfFit, board: Board, model: string): string {
  const hex = (n: number): string => `0x${n.toString(16)}`;
  return [
    `# Generated by tinyforge for ${board.id}, model ${model}: ESP-IDF's single factory app layout,`,
    `# the factory partition sized for an app image of about ${fit.appImageBytes} bytes (the model's`,
    `# constants in flash rodata plus an estimate of ESP-IDF and the agent), with ${Math.round((APP_HEADROOM - 1) * 100)}% headroom, at least 1 MiB.`,
    '# Name,   Type, SubType, Offset,  Size, Flags',
    'nvs,      data, nvs,     0x9000,  0x6000,',
    'phy_init, data, phy,     0xf000,  0x1000,',
    `factory,  app,  factory, ${hex(fit.appPartitionOffset)}, ${hex(fit.appPartitionBytes)},`,
    '',
  ].join('\n');
}
