// RAM regions the arena may be split across (a board's DTCM, SRAM, PSRAM ...), as the memory
// planner and the C emitter see them: no board file types here, so the planner stays board-free.

/** How the C places a variable in a region other than the default .bss. */
export type RegionPlacement =
  /** A linker output section the board's linker script maps to the region (e.g. ".tf_blockram"). */
  | { section: string }
  /** An SDK attribute macro (e.g. ESP-IDF's EXT_RAM_BSS_ATTR) and the header that defines it. */
  | { attribute: string; include: string };

export interface ArenaRegion {
  /** C-identifier-safe name: the region's arena is `tf_arena_<name>` (the default region's is `tf_arena`). */
  name: string;
  /** Bytes of the region the arena may use. */
  capacity: number;
  /** Speed rank: 0 is the fastest; the planner fills faster regions first. */
  speed: number;
  /** Absent: the default RAM (.bss), whose arena is `tf_arena`. */
  placement?: RegionPlacement;
}

/** Where each region's arena ended up, and how full it is. */
export interface RegionArena {
  region: string;
  /** Bytes of that region's arena (aligned). */
  bytes: number;
  capacity: number;
  speed: number;
  /** Bytes the planned buffers of this region read and write per inference (the placement's key). */
  accessedBytes: number;
  /** Buffers placed there. */
  buffers: number;
}

/** The C array holding a region's arena. */
export function arenaSymbol(region: string | undefined): string {
  return region === undefined ? 'tf_arena' : `tf_arena_${region}`;
}
