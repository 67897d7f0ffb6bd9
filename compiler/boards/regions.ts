// A board's RAM regions as the memory planner takes them, and `--arena-in <region>`.

import { TinyforgeError } from '../errors.ts';
import type { ArenaRegion } from '../ir/memory_regions.ts';
import type { Board, RamRegion } from './board_schema.ts';
import { espStaticBudget } from './esp_idf_base.ts';

/** The board's declared regions, or memory.ram as the one region `ram`. */
export function ramRegionsOf(board: Board): RamRegion[] {
  return board.memory.regions ?? [{ name: 'ram', kind: 'sram', base: board.memory.ram.base, size: board.memory.ram.size, speed: 0 }];
}

function toArenaRegion(board: Board, r: RamRegion): ArenaRegion {
  const placement = r.section !== undefined ? { section: r.section } : r.attribute !== undefined && r.include !== undefined ? { attribute: r.attribute, include: r.include } : undefined;
  // On ESP-IDF boards static data may use less internal RAM than there is (esp_idf_base.ts).
  const capacity = placement === undefined && board.espIdf !== undefined ? Math.min(r.size, espStaticBudget(board)) : r.size;
  return { name: r.name, capacity, speed: r.speed, ...(placement === undefined ? {} : { placement }) };
}

/**
 * The regions to plan `board`'s arena across: all declared regions, or with `arenaIn` only that
 * one (e.g. `--arena-in psram`). Undefined for a board with one RAM and no choice: one plain arena.
 */
export function arenaRegionsFor(board: Board, arenaIn?: string): ArenaRegion[] | undefined {
  const regions = ramRegionsOf(board);
  if (arenaIn !== undefined) {
    const chosen = regions.find((r) => r.name === arenaIn);
    if (chosen === undefined) {
      const why = arenaIn === 'psram' ? ` (its module has no PSRAM)` : '';
      throw new TinyforgeError(`--arena-in ${arenaIn}: board ${board.id} has no ${arenaIn} region${why}; its RAM regions: ${regions.map((r) => r.name).join(', ')}`);
    }
    return [toArenaRegion(board, chosen)];
  }
  return board.memory.regions === undefined ? undefined : regions.map((r) => toArenaRegion(board, r));
}
