// The C declarations of a plan's arenas: one `tf_arena` in the default RAM, plus one array per
// further RAM region the planner used, placed there with the region's linker section or SDK
// attribute (ESP-IDF's EXT_RAM_BSS_ATTR for PSRAM).

import { arenaSymbol, type ArenaRegion } from '../ir/memory_regions.ts';
import type { MemoryPlan } from '../passes/memory_plan.ts';
import { safeComment } from './c_literals.ts';

/** `TF_REGION_<NAME>`: the attribute macro of a region, overridable with -D. */
function attributeMacro(region: string): string {
  return `TF_REGION_${region.toUpperCase()}`;
}

function placementLines(region: ArenaRegion): string[] {
  const placement = region.placement;
  if (placement === undefined) return [];
  const macro = attributeMacro(region.name);
  const body =
    'section' in placement
      ? [`#define ${macro} __attribute__((section("${placement.section}")))`]
      : [`#include "${placement.include}"`, `#define ${macro} ${placement.attribute}`];
  return [`#ifndef ${macro}`, ...body, '#endif'];
}

/** Declarations of every arena the plan uses (none when every tensor lives in caller buffers). */
export function arenaDeclarations(plan: MemoryPlan, regions: readonly ArenaRegion[] = []): string[] {
  if (plan.regions.length === 0) {
    return plan.arenaBytes > 0 ? [`static uint8_t tf_arena[${plan.arenaBytes}] TF_ALIGNED(16);`] : ['/* every tensor lives in caller-owned buffers: no arena */'];
  }
  const lines: string[] = [];
  for (const used of plan.regions) {
    const region = regions.find((r) => r.name === used.region);
    if (region === undefined) throw new Error(`internal: the plan uses region ${used.region}, which the emitter was not given`);
    const symbol = arenaSymbol(region.placement === undefined ? undefined : region.name);
    const what = `region ${used.region} (speed rank ${used.speed}): ${used.buffers} buffers, ${used.accessedBytes} bytes accessed per inference`;
    // A region that got no buffers has no array (an unused static array would not build with -Werror).
    if (used.buffers === 0) {
      lines.push(`/* ${safeComment(what)}: unused */`);
      continue;
    }
    lines.push(`/* ${safeComment(what)} */`, ...placementLines(region));
    const attr = region.placement === undefined ? '' : ` ${attributeMacro(region.name)}`;
    lines.push(`static uint8_t ${symbol}[${used.bytes}] TF_ALIGNED(16)${attr};`);
  }
  return lines;
}
