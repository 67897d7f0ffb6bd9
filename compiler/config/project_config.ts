// tinyforge.config.json: the settings of one project (board, model, where to write), so that
// commands run in its directory need no flags. Flags given on the command line win over it.
//
//   { "board": "qemu-mps2-an386", "model": "model.tflite", "out": "out/model" }
//
// Paths in the file (model, golden, calibration, out) are relative to the file's directory.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { loadBoards } from '../boards/load_boards.ts';
import { TinyforgeError } from '../errors.ts';
import { C_IDENTIFIER_PATTERN } from '../emit-c/c_literals.ts';
import { CONFIG_FILE_NAME } from './config_file_name.ts';
import { closestNames, suggestionText } from '../suggest.ts';

export { CONFIG_FILE_NAME };

const required = (what: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${what}`),
});

const pathField = (what: string) => z.string(required(what)).min(1, `must be ${what}`);

export const projectConfigSchema = z
  .object({
    /** Board id (a file in boards/). */
    board: z.string(required('a board id (a string)')).min(1, 'must be a board id'),
    /** Serial port of the board, e.g. /dev/ttyUSB0 (flash, and validate on a device). */
    port: z.string(required('a device path (a string)')).min(1, 'must be a device path').optional(),
    /** The .tflite model. */
    model: pathField('the path of a .tflite file'),
    /** Golden folder (manifest.json plus raw tensors) for `validate`. */
    golden: pathField('the path of a golden folder').optional(),
    /** Representative inputs, for commands that need them. */
    calibration: pathField('a path').optional(),
    /** Output directory of `compile` and `build`. */
    out: pathField('the path of an output directory'),
    /** C symbol prefix. */
    prefix: z
      .string(required('a C identifier (a string)'))
      .regex(C_IDENTIFIER_PATTERN, 'must be a C identifier (letters, digits and _, not starting with a digit)')
      .optional(),
  })
  .strict();

export type ProjectConfigFile = z.infer<typeof projectConfigSchema>;
export const PROJECT_CONFIG_FIELDS = Object.keys(projectConfigSchema.shape) as Array<keyof ProjectConfigFile>;
const PATH_FIELDS = ['model', 'golden', 'calibration', 'out'] as const;

/** A loaded config: the file's settings with paths made absolute, and where it came from. */
export interface ProjectConfig extends ProjectConfigFile {
  /** Absolute path of the config file. */
  file: string;
}

function shown(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** Parses and checks the text of a config file; `knownBoards` defaults to the files in boards/. */
export function parseProjectConfig(file: string, text: string, knownBoards?: readonly string[]): ProjectConfig {
  const name = shown(file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TinyforgeError(`${name}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TinyforgeError(`${name}: must hold a JSON object like {"board": ..., "model": ..., "out": ...}`);
  const parsed = projectConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => `'${k}'`).join(', ');
      const close = issue.keys.length === 1 ? closestNames(issue.keys[0] as string, PROJECT_CONFIG_FIELDS) : [];
      throw new TinyforgeError(`${name}: unknown field ${keys} (${close.length > 0 ? `did you mean ${close.join(' or ')}? ` : ''}fields: ${PROJECT_CONFIG_FIELDS.join(', ')})`);
    }
    throw new TinyforgeError(`${name}: field '${issue?.path.join('.') || '(root)'}' ${issue?.message ?? 'is invalid'}`);
  }
  const boards = knownBoards ?? loadBoards().map((b) => b.id);
  if (!boards.includes(parsed.data.board)) {
    throw new TinyforgeError(`${name}: field 'board' names an unknown board '${parsed.data.board}' (${suggestionText(parsed.data.board, boards)})`);
  }
  const abs = path.resolve(file);
  const config: ProjectConfig = { ...parsed.data, file: abs };
  for (const key of PATH_FIELDS) {
    const value = config[key];
    if (value !== undefined) config[key] = path.resolve(path.dirname(abs), value);
  }
  return config;
}

export function loadProjectConfig(file: string, knownBoards?: readonly string[]): ProjectConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TinyforgeError(`${shown(file)}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
  }
  return parseProjectConfig(file, text, knownBoards);
}

/** tinyforge.config.json of `dir` when there is one. */
export function findProjectConfig(dir: string = process.cwd()): string | undefined {
  const file = path.join(dir, CONFIG_FILE_NAME);
  return existsSync(file) ? file : undefined;
}

/** The file text of a config, fields in schema order. */
export function formatProjectConfig(config: ProjectConfigFile): string {
  const ordered: Record<string, unknown> = {};
  for (const key of PROJECT_CONFIG_FIELDS) if (config[key] !== undefined) ordered[key] = config[key];
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** Writes a config after checking it against the schema; refuses to replace a file unless `force`. */
export function writeProjectConfig(file: string, config: ProjectConfigFile, opts: { force?: boolean } = {}): void {
  if (existsSync(file) && !opts.force) throw new TinyforgeError(`${shown(file)} already exists (use --force to overwrite it)`);
  const text = formatProjectConfig(config);
  parseProjectConfig(file, text);
  try {
    writeFileSync(file, text);
  } catch (e) {
    throw new TinyforgeError(`cannot write ${shown(file)}: ${(e as Error).message}`);
  }
}
