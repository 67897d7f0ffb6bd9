// Printing and saving the per-layer profile that validate --profile reads from the agent.

import type { ModelProfile } from '../../api/profile.ts';
import { writeOutputFile } from '../../output_paths.ts';
import { formatInt, table } from '../format.ts';

/** The profile table; `how` adds the sentence on how the counts were taken (omit it when already printed). */
export function formatProfile(p: ModelProfile, boardId: string, how = true): string {
  const perMac = p.unit === 'instructions' ? 'instr/MAC' : 'cycles/MAC';
  return [
    table(
      ['layer', 'op', 'kernel', p.unit, 'MACs', perMac, 'share'],
      p.layers.map((l) => [l.index, l.op, l.kernel, l.count, l.macs, l.macs > 0 && l.count > 0 ? (l.count / l.macs).toFixed(2) : '-', `${(100 * l.share).toFixed(1)}%`]),
    ),
    '',
    `per-layer ${p.unit} of the last case on ${boardId}: ${formatInt(p.total)} in all${how ? `; ${p.how}` : ''}`,
  ].join('\n');
}

/**
 * The file `tinyforge report --profile` reads: the unit, and each layer's count under the unit's
 * name, e.g. {"unit": "instructions", "layers": [{"index": 0, "instructions": 585680}, ...]}.
 */
export function writeProfileJson(file: string, p: ModelProfile): void {
  const layers = p.layers.map((l) => ({ index: l.index, [p.unit]: l.count }));
  writeOutputFile(file, `${JSON.stringify({ unit: p.unit, counter: p.counter, layers }, null, 2)}\n`, '--profile-out');
}
