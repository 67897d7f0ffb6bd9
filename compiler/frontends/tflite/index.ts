// TFLite frontend: .tflite flatbuffer -> tinyforge IR. Every problem with the file is a ModelError.

import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { ModelError } from '../../errors.ts';
import type { Graph } from '../../ir/graph.ts';
import type { Fail } from './checked_reader.ts';
import { readRawModel, type RawModel } from './read_model.ts';
import { toGraph } from './to_ir.ts';

export type { RawBuffer, RawModel, RawOperator, RawOperatorCode, RawQuantization, RawSubgraph, RawTensor } from './read_model.ts';
export { BUILTIN_FOR_KIND, builtinNameOf, operatorCodeName, supportedOpNames } from './to_ir.ts';
export { builtinOperatorName } from './schema.ts';

function failer(fileLabel: string): Fail {
  return (detail: string): never => {
    throw new ModelError(fileLabel, detail);
  };
}

/** The graph name for a file: its basename without extension. */
export function graphNameFor(fileLabel: string): string {
  const base = basename(fileLabel);
  const ext = extname(base);
  return ext ? base.slice(0, -ext.length) : base;
}

/**
 * Reads the checked low-level structure of a model without converting it (field values and their
 * byte positions in the file). Throws ModelError on any structural problem.
 */
export function readTfliteStructure(bytes: Uint8Array, fileLabel: string): RawModel {
  return readRawModel(bytes, failer(fileLabel));
}

/** Parses a TFLite model held in memory. `fileLabel` names it in error messages and gives the graph its name. */
export function parseTflite(bytes: Uint8Array, fileLabel: string): Graph {
  const fail = failer(fileLabel);
  const raw = readRawModel(bytes, fail);
  return toGraph(raw, graphNameFor(fileLabel), fail);
}

/** Reads and parses a .tflite file. */
export function loadTfliteFile(path: string): Graph {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String((e as Error).message);
    throw new ModelError(path, `cannot read file: ${why}`);
  }
  return parseTflite(bytes, path);
}
