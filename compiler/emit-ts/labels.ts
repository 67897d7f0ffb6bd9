// Class labels for the TypeScript companion, from `--labels a,b,c` or `--labels-file <file>`.

import { readFileSync } from 'node:fs';
import { TinyforgeError } from '../errors.ts';

/** Comma-separated labels; surrounding spaces are dropped. */
export function parseLabelList(list: string): string[] {
  const labels = list.split(',').map((l) => l.trim());
  if (labels.some((l) => l.length === 0)) throw new TinyforgeError(`--labels '${list}': empty label (expected a,b,c)`);
  return labels;
}

/** A labels file: a JSON array of strings, or one label per line (blank lines and # comments skipped). */
export function readLabelsFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TinyforgeError(`labels file ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(e))}`);
  }
  if (text.trimStart().startsWith('[')) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new TinyforgeError(`labels file ${file}: not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(raw) || raw.some((l) => typeof l !== 'string' || l.length === 0)) {
      throw new TinyforgeError(`labels file ${file}: expected a JSON array of non-empty strings`);
    }
    return raw as string[];
  }
  const labels = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
  if (labels.length === 0) throw new TinyforgeError(`labels file ${file}: no labels`);
  return labels;
}

/** Labels from the CLI options, or undefined when neither was given. */
export function resolveLabels(opts: { labels?: string; labelsFile?: string }): string[] | undefined {
  if (opts.labels !== undefined && opts.labelsFile !== undefined) throw new TinyforgeError('give --labels or --labels-file, not both');
  if (opts.labels !== undefined) return parseLabelList(opts.labels);
  if (opts.labelsFile !== undefined) return readLabelsFile(opts.labelsFile);
  return undefined;
}
