// The op-level conformance suite in ../shared/conformance: single-op models with TFLite Micro
// goldens. Each variant is compiled and its single-invoke cases (random and generator-written
// inputs) compared byte for byte; sequence cases belong to the stateful-op tests.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SHARED_DIR } from './shared.ts';

export const CONFORMANCE_DIR = `${SHARED_DIR}conformance/`;

export interface ConformanceCase {
  id: string;
  inputs: Uint8Array[];
  expected: Uint8Array[];
}

export interface ConformanceVariant {
  op: string;
  variant: string;
  /** "OP/variant" */
  id: string;
  dir: string;
  model: string;
  kind: string;
  /** Builtin operators the model uses. */
  ops: string[];
}

interface IndexEntry {
  op: string;
  variant: string;
  kind: string;
}

export function conformanceVariants(): ConformanceVariant[] {
  const index = JSON.parse(readFileSync(`${CONFORMANCE_DIR}index.json`, 'utf8')) as IndexEntry[];
  return index
    .map((e) => {
      const dir = path.join(CONFORMANCE_DIR, e.op, e.variant);
      const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { ops?: Record<string, number> };
      return { op: e.op, variant: e.variant, id: `${e.op}/${e.variant}`, dir, model: path.join(dir, 'model.tflite'), kind: e.kind, ops: Object.keys(manifest.ops ?? { [e.op]: 1 }) };
    })
    .filter((v) => existsSync(v.model));
}

/** The single-invoke cases of a variant (sequence cases are skipped here). */
export function conformanceCases(v: ConformanceVariant): ConformanceCase[] {
  const manifest = JSON.parse(readFileSync(path.join(v.dir, 'manifest.json'), 'utf8')) as {
    cases: Array<{ id: string; kind: string; input_files: unknown[]; output_files: unknown[] }>;
  };
  const read = (f: unknown): Uint8Array => new Uint8Array(readFileSync(path.join(v.dir, String(f))));
  return manifest.cases
    .filter((c) => c.kind !== 'sequence')
    .map((c) => ({ id: c.id, inputs: c.input_files.map(read), expected: c.output_files.map(read) }));
}

export interface ConformanceSequence {
  id: string;
  steps: ConformanceCase[];
}

/** The sequence cases of a variant: one interpreter, state carried from step to step. */
export function conformanceSequences(v: ConformanceVariant): ConformanceSequence[] {
  return sequencesIn(v.dir);
}

/** The sequence cases of a golden directory with a manifest.json (conformance variants, corpus seqgolden). */
export function sequencesIn(dir: string): ConformanceSequence[] {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    cases: Array<{ id: string; kind: string; input_files: unknown[]; output_files: unknown[] }>;
  };
  const read = (f: unknown): Uint8Array => new Uint8Array(readFileSync(path.join(dir, String(f))));
  return manifest.cases
    .filter((c) => c.kind === 'sequence')
    .map((c) => ({
      id: c.id,
      steps: c.input_files.map((files, t) => ({ id: `${c.id} step ${t}`, inputs: (files as unknown[]).map(read), expected: (c.output_files[t] as unknown[]).map(read) })),
    }));
}
