// "Did you mean": the closest of a list of names to a misspelt one, for boards, targets and the
// other enumerated flag values.

import { TinyforgeError } from './errors.ts';

/**
 * Edit distance with insertions, deletions, substitutions and swaps of two neighbouring letters
 * (optimal string alignment: `borad` is one edit from `board`), case-insensitive.
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let before: number[] = [];
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      let d = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, (previous[j - 1] as number) + (s[i - 1] === t[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, (before[j - 2] as number) + 1);
      row.push(d);
    }
    before = previous;
    previous = row;
  }
  return previous[t.length] as number;
}

/**
 * The names close enough to `given` to be what was meant: those it is a prefix or a part of
 * (`nucleo-f446` -> `nucleo-f446re`, `an386` -> `qemu-mps2-an386`), else the nearest of those
 * within an edit distance of a third of its length (at least 1). Empty when nothing is close.
 */
export function closestNames(given: string, names: readonly string[]): string[] {
  const g = given.toLowerCase();
  if (g === '') return [];
  const containing = names.filter((n) => n.toLowerCase().includes(g));
  if (containing.length > 0 && containing.length <= 3) return containing;
  const limit = Math.max(1, Math.floor(g.length / 3));
  const near = names.map((n) => ({ n, d: editDistance(g, n) })).filter((x) => x.d <= limit);
  // Only the nearest: a one-letter slip should not drag in names two letters away.
  const best = Math.min(...near.map((x) => x.d));
  return near
    .filter((x) => x.d === best)
    .map((x) => x.n)
    .sort()
    .slice(0, 3);
}

/** "did you mean a or b?" for the close names, else the whole list (or `listHint` for long lists). */
export function suggestionText(given: string, names: readonly string[], listHint?: string): string {
  const close = closestNames(given, names);
  if (close.length > 0) return `did you mean ${close.length === 1 ? close[0] : `${close.slice(0, -1).join(', ')} or ${close.at(-1)}`}?`;
  return listHint ?? `choose one of: ${names.join(', ')}`;
}

/**
 * `given` when it is one of `choices`; otherwise a user error naming what was wrong and what was
 * probably meant, e.g. "unknown board 'nucleo-f446' (did you mean nucleo-f446re?)".
 */
export function oneOf<T extends string>(what: string, given: string, choices: readonly T[], listHint?: string): T {
  if ((choices as readonly string[]).includes(given)) return given as T;
  throw new TinyforgeError(`unknown ${what} '${given}' (${suggestionText(given, choices, listHint)})`);
}
