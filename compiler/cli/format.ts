// Plain-text tables and number formatting for the CLI.

import { stdoutColors as pc } from './color.ts';

export function formatInt(n: number): string {
  return n.toLocaleString('en-US');
}

/** Left-aligns text columns and right-aligns columns whose cells are all numbers. */
export function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatInt(c) : c)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  return [pc.bold(line(headers)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

