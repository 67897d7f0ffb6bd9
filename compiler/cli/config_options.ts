// How commands take missing flags from tinyforge.config.json. The config is the one named by the
// global --config, else tinyforge.config.json in the current directory when there is one. It is
// read only by commands that use it, so a broken config does not stop `boards` or `doctor`.

import path from 'node:path';
import type { Command } from 'commander';
import { CONFIG_FILE_NAME, findProjectConfig, loadProjectConfig, type ProjectConfig, type ProjectConfigFile } from '../config/project_config.ts';
import { TinyforgeError } from '../errors.ts';
import { configGeneration, configOptionValue } from './global_options.ts';
import { log } from './log.ts';

export type ConfigKey = keyof ProjectConfigFile;

let loaded: { generation: number; config: ProjectConfig | undefined } | undefined;

/** Where `init` writes and other commands read: --config, else ./tinyforge.config.json. */
export function configFilePath(): string {
  return path.resolve(configOptionValue() ?? CONFIG_FILE_NAME);
}

/** The project config, loaded once per --config value; undefined when there is none. Invalid files are user errors. */
export function projectConfig(): ProjectConfig | undefined {
  if (loaded === undefined || loaded.generation !== configGeneration()) {
    const file = configOptionValue() ?? findProjectConfig();
    const config = file === undefined ? undefined : loadProjectConfig(file);
    if (config) log.verbose(`using ${config.file}`);
    loaded = { generation: configGeneration(), config };
  }
  return loaded.config;
}

/**
 * `opts` with each of `keys` that the command line left unset taken from `config`. A value whose
 * commander source is 'default' counts as unset (pass the command as `cmd`); values given on the
 * command line are kept. `keys` may name fields the options object does not declare (e.g. the
 * positional `model`), which are then added.
 */
export function withConfig<T extends object, K extends ConfigKey>(
  opts: T,
  config: ProjectConfig | undefined,
  keys: readonly K[],
  cmd?: Pick<Command, 'getOptionValueSource'>,
): T & { [P in K]?: ProjectConfigFile[P] } {
  const merged = { ...opts } as Record<string, unknown>;
  if (config === undefined) return merged as T & { [P in K]?: ProjectConfigFile[P] };
  for (const key of keys) {
    const fromConfig = config[key];
    if (fromConfig === undefined) continue;
    const current = merged[key];
    const source = cmd?.getOptionValueSource(key);
    if (current === undefined || source === 'default') {
      merged[key] = fromConfig;
      log.verbose(`${key} = ${fromConfig} (from ${path.basename(config.file)})`);
    }
  }
  return merged as T & { [P in K]?: ProjectConfigFile[P] };
}

/** A setting that must come from the command line or the config. */
export function requireSetting<T>(value: T | undefined, flag: string, field: ConfigKey): T {
  if (value === undefined) throw new TinyforgeError(`missing ${flag} (give it, or set "${field}" in ${CONFIG_FILE_NAME})`);
  return value;
}
