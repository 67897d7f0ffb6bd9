// The README's generated tables (supported ops, corpus status) must match what the code and the
// latest corpus run say: `npm run docs` regenerates them.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { corpusTable, supportedOpsTable } from '../scripts/docs_tables_lib.ts';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');

function block(name: string): string {
  const begin = `<!-- ${name}:begin -->\n`;
  const a = readme.indexOf(begin);
  const b = readme.indexOf(`\n<!-- ${name}:end -->`);
  expect(a, `README has a ${name} block`).toBeGreaterThanOrEqual(0);
  return readme.slice(a + begin.length, b);
}

describe('README generated tables are up to date (npm run docs)', () => {
  it('supported ops and their conformance results', () => {
    expect(block('supported-ops')).toBe(supportedOpsTable());
  });
  it('corpus status from bench/corpus_status.json', () => {
    expect(block('corpus')).toBe(corpusTable());
  });
});
