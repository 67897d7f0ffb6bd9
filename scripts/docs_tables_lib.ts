// The README's generated tables (see docs_tables.ts).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileModel, loadModel } from '../compiler/compile.ts';
import { supportedOpNames } from '../compiler/frontends/tflite/index.ts';
import { ReferenceState, runReference } from '../compiler/reference/run_reference.ts';
import { FLOAT32_BY_COPY } from '../compiler/ops/float32.ts';
import { float32BuiltinNames } from '../compiler/ops/registry.ts';
import { FLOAT32_ONLY_UNARY } from '../compiler/ops/unary_f32_readers.ts';
import { conformanceCases, conformanceSequences, conformanceVariants } from '../test/helpers/conformance.ts';

function equal(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((x, i) => Buffer.compare(Buffer.from(x), Buffer.from(b[i] as Uint8Array)) === 0);
}

/** Per op and activation type: conformance variants passing on the TS reference / variants in the suite. */
export function supportedOpsTable(): string {
  const tally = new Map<string, { int8: [number, number]; int16: [number, number] }>();
  for (const v of conformanceVariants()) {
    const type = v.variant.startsWith('int16') ? 'int16' : 'int8';
    const row = tally.get(v.op) ?? { int8: [0, 0], int16: [0, 0] };
    tally.set(v.op, row);
    row[type][1] += 1;
    try {
      const c = compileModel(loadModel(v.model));
      const singles = conformanceCases(v).every((k) => equal(k.expected, runReference(c.model.graph, c.layers, k.inputs)));
      const sequences = conformanceSequences(v).every((s) => {
        const state = new ReferenceState(c.model.graph);
        return s.steps.every((k) => equal(k.expected, runReference(c.model.graph, c.layers, k.inputs, state)));
      });
      if (singles && sequences) row[type][0] += 1;
    } catch {
      // refused: counted as not passing
    }
  }
  const cell = (x: [number, number]): string => (x[1] === 0 ? '–' : `${x[0]}/${x[1]}`);
  const lines = ['| op | int8 variants passing | int16 variants passing | float32 |', '|---|---:|---:|---|'];
  const float32Kernels = float32BuiltinNames();
  const float32 = (op: string): string => (float32Kernels.includes(op) ? 'kernel' : FLOAT32_BY_COPY.includes(op) ? 'copy' : '–');
  for (const op of supportedOpNames()) {
    const t = tally.get(op) ?? tally.get(op === 'VAR_HANDLE' || op === 'READ_VARIABLE' || op === 'ASSIGN_VARIABLE' || op === 'CALL_ONCE' ? 'VAR_HANDLE' : op);
    // Ops tinyforge reads for float32 only have no integer form to count.
    const integer = (x: [number, number] | undefined): string => (FLOAT32_ONLY_UNARY.includes(op) ? '–' : x ? cell(x) : 'no suite');
    lines.push(`| ${op} | ${integer(t?.int8)} | ${integer(t?.int16)} | ${float32(op)} |`);
  }
  const missing = [...tally.keys()].filter((op) => !supportedOpNames().includes(op));
  if (missing.length > 0) lines.push('', `Conformance folders of ops not supported yet: ${missing.join(', ')}.`);
  return lines.join('\n');
}

interface CorpusStatus {
  summary: { models_with_golden: number; compiling: number; bit_exact_on_all_targets: number; cases_passing: Record<string, number>; cases_total: number; not_run_on: Record<string, string[]> };
  models: Array<{ model: string; compiles: boolean; reason: string | null }>;
}

function notRun(byTarget: Record<string, string[]>): string {
  const parts = Object.entries(byTarget).filter(([, models]) => models.length > 0).map(([t, models]) => `${models.join(', ')} not run on ${t}, whose emulated board's memory they do not fit`);
  return parts.length > 0 ? `; ${parts.join('; ')}` : '';
}

/** "float model" or the unsupported ops, for one table cell. */
function shortReason(reason: string): string {
  if (/is float32; tinyforge compiles int8/.test(reason)) return 'float model';
  const ops = /does not support ops (.*?)(?: \(supported ops|$)/.exec(reason);
  if (ops) return `needs ${(ops[1] ?? '').replace(/ \(first: [^)]*\)/g, '')}`;
  return reason;
}

/** The corpus summary from bench/corpus_status.json (written by npm run test:corpus). */
export function corpusTable(): string {
  const status = JSON.parse(readFileSync(fileURLToPath(new URL('../bench/corpus_status.json', import.meta.url)), 'utf8')) as CorpusStatus;
  const s = status.summary;
  const refused = status.models.filter((m) => !m.compiles);
  const bySource = new Map<string, { total: number; compiling: number }>();
  for (const m of status.models) {
    const source = m.model.split('__')[0] ?? m.model;
    const row = bySource.get(source) ?? { total: 0, compiling: 0 };
    row.total += 1;
    if (m.compiles) row.compiling += 1;
    bySource.set(source, row);
  }
  return [
    `${s.compiling} of the ${s.models_with_golden} corpus models that TFLite Micro runs compile; ${s.bit_exact_on_all_targets} of them are bit-exact on every target they were run on (golden cases matching byte for byte: ref ${s.cases_passing.ref}, host ${s.cases_passing.host}, M4 ${s.cases_passing.m4}, M55 ${s.cases_passing.m55} of ${s.cases_total}${notRun(s.not_run_on)}; full table in [bench/corpus_status.md](bench/corpus_status.md)).`,
    '',
    '| source | models | compile |',
    '|---|---:|---:|',
    ...[...bySource].map(([source, r]) => `| ${source} | ${r.total} | ${r.compiling} |`),
    ...(refused.length === 0 ? [] : ['', `Not compiled: ${refused.map((m) => `${m.model} (${shortReason(m.reason ?? '')})`).join('; ')}.`]),
  ].join('\n');
}
