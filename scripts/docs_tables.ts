// Regenerates the README's generated tables from the code and the latest corpus run:
//   <!-- supported-ops:begin/end -->  every op the reader accepts, with the conformance variants
//                                     (TFLite Micro goldens) it passes per activation type;
//   <!-- corpus:begin/end -->          the summary of bench/corpus_status.json (npm run test:corpus).
// `npm run docs` rewrites README.md; test/docs_tables.test.ts fails when they are out of date.

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { supportedOpsTable } from './docs_tables_lib.ts';
import { corpusTable } from './docs_tables_lib.ts';

const README = fileURLToPath(new URL('../README.md', import.meta.url));

export function replaceBlock(text: string, name: string, body: string): string {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`README.md has no ${begin} ... ${end} block`);
  return `${text.slice(0, a + begin.length)}\n${body}\n${text.slice(b)}`;
}

const readme = readFileSync(README, 'utf8');
const updated = replaceBlock(replaceBlock(readme, 'supported-ops', supportedOpsTable()), 'corpus', corpusTable());
writeFileSync(README, updated);
console.log(updated === readme ? 'README.md tables are up to date' : 'README.md tables regenerated');
