// Reading a golden folder: manifest.json plus raw input/output tensor files (format of ../shared/golden).

import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TinyforgeError } from '../errors.ts';

const manifestSchema = z.object({
  model: z.string().optional(),
  model_sha256: z.string().optional(),
  labels: z.array(z.string()).optional(),
  cases: z.array(
    z.object({
      id: z.string(),
      kind: z.string().optional(),
      steps: z.number().int().positive().optional(),
      // Single-invoke cases list files; sequence cases list one list of files per step.
      input_files: z.union([z.array(z.string()).min(1), z.array(z.array(z.string()).min(1)).min(1)]),
      output_files: z.union([z.array(z.string()).min(1), z.array(z.array(z.string()).min(1)).min(1)]),
    }),
  ),
});

export interface GoldenCase {
  id: string;
  inputs: Uint8Array[];
  expected: Uint8Array[];
  /** True for step 1 and later of a sequence: the invoke continues the previous one's state. */
  keepState?: boolean;
}

export interface GoldenSet {
  dir: string;
  modelSha256?: string;
  labels?: string[];
  cases: GoldenCase[];
}

function readBytes(file: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TinyforgeError(`golden ${what} ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(e))}`);
  }
}

/**
 * The file a manifest names, which must lie inside the golden folder: a manifest is data someone
 * else may have written, and `../../etc/passwd` or an absolute path must not be read through it.
 */
export function goldenFilePath(dir: string, name: string, manifestPath: string): string {
  const root = path.resolve(dir);
  const file = path.resolve(root, name);
  const rel = path.relative(root, file);
  const outside = (r: string): boolean => r === '' || r.split(path.sep)[0] === '..' || path.isAbsolute(r);
  const refuse = (why: string): TinyforgeError => new TinyforgeError(`${manifestPath}: '${name}' ${why}`);
  if (name === '' || path.isAbsolute(name) || name.includes('\0') || outside(rel)) throw refuse(`is not a file inside the golden folder (name files relative to ${dir}, without ..)`);
  // A symbolic link inside the folder must not lead out of it either.
  let real: string | undefined;
  try {
    real = realpathSync(file);
  } catch {
    real = undefined; // missing: readBytes says so
  }
  if (real !== undefined && outside(path.relative(realpathSync(root), real))) throw refuse('is a link to a file outside the golden folder');
  return file;
}

function isFileList(x: string[] | string[][]): x is string[] {
  return typeof x[0] === 'string';
}

export function loadGolden(dir: string): GoldenSet {
  const manifestPath = path.join(dir, 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(readBytes(manifestPath, 'manifest')));
  } catch (e) {
    if (e instanceof TinyforgeError) throw e;
    throw new TinyforgeError(`${manifestPath}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TinyforgeError(`${manifestPath}: ${issue?.path.join('.') || 'manifest'}: ${issue?.message ?? 'invalid'}`);
  }
  const m = parsed.data;
  return {
    dir,
    modelSha256: m.model_sha256,
    labels: m.labels,
    cases: m.cases.flatMap((c): GoldenCase[] => {
      const read = (f: string, what: string): Uint8Array => readBytes(goldenFilePath(dir, f, manifestPath), `${what} of case ${c.id}`);
      const ins = c.input_files;
      const outs = c.output_files;
      if (isFileList(ins) && isFileList(outs)) return [{ id: c.id, inputs: ins.map((f) => read(f, 'input')), expected: outs.map((f) => read(f, 'output')) }];
      if (isFileList(ins) || isFileList(outs) || ins.length !== outs.length) throw new TinyforgeError(`${manifestPath}: case ${c.id} mixes single-invoke and sequence file lists`);
      // A sequence: one case per step, run on one model instance in order.
      return ins.map((stepIns, t) => ({
        id: `${c.id}/s${t}`,
        inputs: stepIns.map((f) => read(f, `step ${t} input`)),
        expected: (outs[t] as string[]).map((f) => read(f, `step ${t} output`)),
        keepState: t > 0,
      }));
    }),
  };
}

/** Checks that every case fits the model's inputs and outputs before anything runs. */
export function checkGoldenAgainstModel(golden: GoldenSet, inputBytes: readonly number[], outputBytes: readonly number[]): void {
  for (const c of golden.cases) {
    if (c.inputs.length !== inputBytes.length) throw new TinyforgeError(`golden case ${c.id} has ${c.inputs.length} inputs; the model has ${inputBytes.length}`);
    if (c.expected.length !== outputBytes.length) throw new TinyforgeError(`golden case ${c.id} has ${c.expected.length} outputs; the model has ${outputBytes.length}`);
    c.inputs.forEach((b, i) => {
      if (b.byteLength !== inputBytes[i]) throw new TinyforgeError(`golden case ${c.id}: input ${i} has ${b.byteLength} bytes; the model expects ${inputBytes[i]}`);
    });
    c.expected.forEach((b, i) => {
      if (b.byteLength !== outputBytes[i]) throw new TinyforgeError(`golden case ${c.id}: output ${i} has ${b.byteLength} bytes; the model produces ${outputBytes[i]}`);
    });
  }
}
