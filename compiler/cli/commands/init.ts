import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { findBoard } from '../../boards/load_boards.ts';
import { writeProjectConfig, type ProjectConfigFile } from '../../config/project_config.ts';
import { TinyforgeError } from '../../errors.ts';
import { log } from '../log.ts';

export interface InitCommandOptions {
  board?: string;
  model?: string;
  force?: boolean;
}

export const DEFAULT_INIT_BOARD = 'qemu-mps2-an386';

/** A path as written in the config: relative to its directory, with forward slashes. */
function relativeTo(dir: string, file: string): string {
  const rel = path.relative(dir, path.resolve(file));
  return (rel === '' ? '.' : rel).split(path.sep).join('/');
}

/**
 * The model to put in a new config: --model, else the only .tflite file next to the config. A
 * config never names a model that is not there: every command that reads it would then fail.
 */
function pickModel(dir: string, given: string | undefined): string {
  if (given !== undefined) {
    if (!existsSync(given)) throw new TinyforgeError(`--model ${given}: no such file (init writes a config only for a model that exists)`);
    return relativeTo(dir, given);
  }
  const found = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.tflite')).sort() : [];
  if (found.length === 1) return found[0] as string;
  if (found.length === 0) {
    throw new TinyforgeError(`no .tflite model in ${path.relative(process.cwd(), dir) || '.'}: give it with --model <file.tflite> (e.g. one written by tinyforge quantize)`);
  }
  throw new TinyforgeError(`several .tflite models here (${found.join(', ')}): choose one with --model <file>`);
}

/** Writes tinyforge.config.json (or the --config file); refuses to replace one without --force. */
export function initCommand(configFile: string, opts: InitCommandOptions): void {
  const dir = path.dirname(configFile);
  const board = findBoard(opts.board ?? DEFAULT_INIT_BOARD);
  const model = pickModel(dir, opts.model);
  const stem = path.basename(model).replace(/\.tflite$/i, '') || 'model';
  const config: ProjectConfigFile = { board: board.id, model, out: `out/${stem}` };
  writeProjectConfig(configFile, config, { force: opts.force });
  const shown = path.relative(process.cwd(), configFile) || configFile;
  console.log(`wrote ${shown}: board ${config.board}, model ${config.model}, out ${config.out}`);
  log.info(`commands run here now default to these settings; flags still override them (see tinyforge --help)`);
}
