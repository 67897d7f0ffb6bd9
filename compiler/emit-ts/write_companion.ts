// `tinyforge compile --ts`: the companion is generated (and its labels checked) before any file is
// written, then written as <prefix>.ts next to the C module.

import path from 'node:path';
import type { CompiledModel } from '../compile.ts';
import { ensureOutputDir, writeOutputFile } from '../output_paths.ts';
import { emitTsCompanion } from './companion.ts';
import { resolveLabels } from './labels.ts';

export interface TsCompanionCliOptions {
  /** Write <prefix>.ts. Implied by labels. */
  ts?: boolean;
  /** Comma-separated class labels. */
  labels?: string;
  /** A file with one label per line, or a JSON array. */
  labelsFile?: string;
}

export interface PreparedCompanion {
  fileName: string;
  text: string;
  /** Writes the file into `outDir` and returns its path. */
  write(outDir: string): string;
}

/** The companion the options ask for, or undefined when they ask for none. */
export function prepareTsCompanion(compiled: CompiledModel, opts: TsCompanionCliOptions): PreparedCompanion | undefined {
  const labels = resolveLabels(opts);
  if (!opts.ts && labels === undefined) return undefined;
  const text = emitTsCompanion(compiled, { labels });
  const fileName = `${compiled.prefix}.ts`;
  return {
    fileName,
    text,
    write(outDir: string): string {
      ensureOutputDir(outDir, '--out');
      const file = path.join(outDir, fileName);
      writeOutputFile(file, text, '--out');
      return file;
    },
  };
}
