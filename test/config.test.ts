// tinyforge.config.json: `init` writes it, commands take missing flags from it, flags win, and a
// broken file is a one-line error naming the file and the field.

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { withConfig, requireSetting } from '../compiler/cli/config_options.ts';
import { targetFromConfig } from '../compiler/cli/conventions.ts';
import { CONFIG_FILE_NAME, loadProjectConfig, parseProjectConfig, type ProjectConfig } from '../compiler/config/project_config.ts';
import { TinyforgeError } from '../compiler/errors.ts';
import { goldenDir, modelPath } from './helpers/shared.ts';

const BIN = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
const root = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-config-'));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function tinyforge(cwd: string, ...args: string[]): Result {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh project directory holding hello_world_int8.tflite. */
function project(name: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(modelPath('hello_world_int8'), path.join(dir, 'hello_world_int8.tflite'));
  return dir;
}

function expectOneLineUserError(r: Result, pattern: RegExp): void {
  expect(r.code, r.stderr + r.stdout).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
}

describe('tinyforge init', () => {
  it('writes a valid config, refuses to overwrite it, and replaces it with --force', () => {
    const dir = project('init');
    const file = path.join(dir, CONFIG_FILE_NAME);
    const first = tinyforge(dir, 'init');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/wrote tinyforge\.config\.json/);
    const written = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    expect(written).toEqual({ board: 'qemu-mps2-an386', model: 'hello_world_int8.tflite', out: 'out/hello_world_int8' });
    const config = loadProjectConfig(file);
    expect(config.model).toBe(path.join(dir, 'hello_world_int8.tflite'));

    const before = readFileSync(file, 'utf8');
    expectOneLineUserError(tinyforge(dir, 'init', '--board', 'qemu-mps3-an547'), /tinyforge\.config\.json already exists \(use --force/);
    expect(readFileSync(file, 'utf8')).toBe(before);

    const forced = tinyforge(dir, 'init', '--force', '--board', 'qemu-mps3-an547', '--model', 'hello_world_int8.tflite');
    expect(forced.code, forced.stderr).toBe(0);
    expect(loadProjectConfig(file).board).toBe('qemu-mps3-an547');

    expectOneLineUserError(tinyforge(dir, 'init', '--force', '--board', 'nope'), /unknown board 'nope'/);
    expectOneLineUserError(tinyforge(dir, 'init', '--force', '-b', 'nucleo-f446'), /unknown board 'nucleo-f446' \(did you mean nucleo-f446re\?\)/);
    expect(loadProjectConfig(file).board).toBe('qemu-mps3-an547');
  });

  it('refuses to name a model that is not there', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-init-empty-'));
    expectOneLineUserError(tinyforge(empty, 'init'), /no \.tflite model in .*give it with --model/);
    expectOneLineUserError(tinyforge(empty, 'init', '--model', 'missing.tflite'), /--model missing\.tflite: no such file/);
    expect(existsSync(path.join(empty, CONFIG_FILE_NAME))).toBe(false);
  });

  it('writes model paths relative to the config file', () => {
    const dir = project('init-rel');
    mkdirSync(path.join(dir, 'cfg'));
    const r = tinyforge(dir, '--config', 'cfg/tf.json', 'init', '--model', 'hello_world_int8.tflite');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, 'cfg', 'tf.json'), 'utf8'))).toMatchObject({ model: '../hello_world_int8.tflite' });
  });
});

describe('invalid config files', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['missing field', '{"board": "qemu-mps2-an386", "model": "hello_world_int8.tflite"}', /tinyforge\.config\.json: field 'out' is required/],
    ['wrong type', '{"board": "qemu-mps2-an386", "model": 42, "out": "o"}', /tinyforge\.config\.json: field 'model' must be the path of a \.tflite file/],
    ['unknown field', '{"board": "qemu-mps2-an386", "model": "m.tflite", "out": "o", "borad": "x"}', /tinyforge\.config\.json: unknown field 'borad' \(did you mean board\? fields: board, port, model/],
    ['unknown board', '{"board": "nucleo", "model": "m.tflite", "out": "o"}', /tinyforge\.config\.json: field 'board' names an unknown board 'nucleo'/],
    ['bad prefix', '{"board": "qemu-mps2-an386", "model": "m.tflite", "out": "o", "prefix": "3d"}', /field 'prefix' must be a C identifier/],
    ['not JSON', '{"board": ', /tinyforge\.config\.json: not valid JSON/],
    ['not an object', '[]', /tinyforge\.config\.json: must hold a JSON object/],
  ];
  for (const [what, text, pattern] of cases) {
    it(`${what}: one line naming the file and field, exit 2`, () => {
      const dir = project(`bad-${what.replace(/\W/g, '-')}`);
      writeFileSync(path.join(dir, CONFIG_FILE_NAME), text);
      expectOneLineUserError(tinyforge(dir, 'compile'), pattern);
    });
  }

  it('do not stop commands that do not read the config', () => {
    const dir = project('bad-boards');
    writeFileSync(path.join(dir, CONFIG_FILE_NAME), '{');
    expect(tinyforge(dir, 'boards').code).toBe(0);
  });
});

describe('commands take missing flags from the config', () => {
  it('compile with only a config file in the directory, and flags override it', () => {
    const dir = project('compile');
    writeFileSync(path.join(dir, CONFIG_FILE_NAME), JSON.stringify({ board: 'qemu-mps3-an547', model: 'hello_world_int8.tflite', out: 'build/c', prefix: 'hw' }));

    const r = tinyforge(dir, 'compile', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toMatchObject({ board: 'qemu-mps3-an547', prefix: 'hw', ops: 3 });
    expect(existsSync(path.join(dir, 'build', 'c', 'hw.c'))).toBe(true);

    const o = tinyforge(dir, 'compile', '--json', '--board', 'qemu-mps2-an385', '--out', 'elsewhere', '--prefix', 'other');
    expect(o.code, o.stderr).toBe(0);
    expect(JSON.parse(o.stdout).result).toMatchObject({ board: 'qemu-mps2-an385', prefix: 'other' });
    expect(existsSync(path.join(dir, 'elsewhere', 'other.h'))).toBe(true);
    expect(existsSync(path.join(dir, 'build', 'c', 'other.h'))).toBe(false);

    // A model on the command line wins over the config's, and keeps its own default prefix.
    const m = tinyforge(dir, 'compile', modelPath('micro_speech'), '--json');
    expect(m.code, m.stderr).toBe(0);
    expect(JSON.parse(m.stdout).result).toMatchObject({ model: 'micro_speech.tflite', ops: 4, board: 'qemu-mps3-an547' });
    expect(JSON.parse(m.stdout).result.prefix).not.toBe('hw');
    expect(existsSync(path.join(dir, 'build', 'c', 'hw.c'))).toBe(true);

    const v = tinyforge(dir, '--verbose', 'compile', '--json');
    expect(v.stderr).toMatch(/using .*tinyforge\.config\.json/);
    expect(v.stderr).toMatch(/board = qemu-mps3-an547 \(from tinyforge\.config\.json\)/);
  });

  it('--config names a file elsewhere; its paths are relative to it', () => {
    const dir = project('elsewhere');
    const cwd = path.join(root, 'elsewhere-cwd');
    mkdirSync(cwd, { recursive: true });
    writeFileSync(path.join(dir, 'p.json'), JSON.stringify({ board: 'qemu-mps2-an386', model: 'hello_world_int8.tflite', out: 'gen' }));
    const r = tinyforge(cwd, '--config', path.join(dir, 'p.json'), 'compile');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(dir, 'gen', 'hello_world_int8.c'))).toBe(true);
  });

  it('validate takes model and golden from the config; --target and --random win', () => {
    const dir = project('validate');
    writeFileSync(path.join(dir, CONFIG_FILE_NAME), JSON.stringify({ board: 'qemu-mps2-an386', model: 'hello_world_int8.tflite', out: 'o', golden: goldenDir('hello_world_int8') }));
    const r = tinyforge(dir, 'validate', '--target', 'ref', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toMatchObject({ model: 'hello_world_int8.tflite', target: 'ref', total: 8, passed: 8 });
    // --random replaces the config's golden folder (both would be an error).
    const rnd = tinyforge(dir, 'validate', '--target', 'host', '--random', '2', '--json');
    expect(rnd.code, rnd.stderr).toBe(0);
    expect(JSON.parse(rnd.stdout).result).toMatchObject({ target: 'host', total: 2, oracle: 'tinyforge TS reference' });
    // Another model on the command line does not get the config's golden folder.
    const other = tinyforge(dir, 'validate', modelPath('micro_speech'), '--target', 'ref');
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/give exactly one of --golden <dir> or --random <n>/);
  });
});

describe('withConfig', () => {
  const config: ProjectConfig = { file: '/p/tinyforge.config.json', board: 'qemu-mps3-an547', model: '/p/m.tflite', out: '/p/out', prefix: 'cfg' };
  const sources = (s: Record<string, string | undefined>) => ({ getOptionValueSource: (key: string) => s[key] as never });

  it('fills unset and defaulted keys, keeps command-line values', () => {
    const opts = { board: 'qemu-mps2-an386', out: 'cli-out', prefix: undefined as string | undefined, json: true };
    const merged = withConfig({ ...opts, model: undefined }, config, ['model', 'board', 'out', 'prefix'], sources({ board: 'default', out: 'cli' }));
    expect(merged).toEqual({ board: 'qemu-mps3-an547', out: 'cli-out', prefix: 'cfg', json: true, model: '/p/m.tflite' });
    const cliBoard = withConfig(opts, config, ['board'], sources({ board: 'cli' }));
    expect(cliBoard.board).toBe('qemu-mps2-an386');
  });

  it('only touches the listed keys and nothing without a config', () => {
    expect(withConfig({ out: undefined }, config, ['board'])).toEqual({ out: undefined, board: 'qemu-mps3-an547' });
    expect(withConfig({ out: undefined }, undefined, ['out'])).toEqual({ out: undefined });
  });

  it('requireSetting names the flag and the config field', () => {
    expect(requireSetting('x', '--out <dir>', 'out')).toBe('x');
    expect(() => requireSetting(undefined, '--out <dir>', 'out')).toThrow(TinyforgeError);
    expect(() => requireSetting(undefined, '--out <dir>', 'out')).toThrow(/missing --out <dir> \(give it, or set "out" in tinyforge\.config\.json\)/);
  });

  it('the board becomes --target when it is a target and --target was not given', () => {
    const targets = ['ref', 'host', 'qemu-mps2-an386'];
    const onQemu = { ...config, board: 'qemu-mps2-an386' };
    expect(targetFromConfig('ref', onQemu, targets, sources({ target: 'default' }))).toBe('qemu-mps2-an386');
    expect(targetFromConfig('host', onQemu, targets, sources({ target: 'cli' }))).toBe('host');
    expect(targetFromConfig('ref', config, targets, sources({ target: 'default' }))).toBe('ref');
    expect(targetFromConfig('ref', undefined, targets, sources({ target: 'default' }))).toBe('ref');
  });

  it('parseProjectConfig resolves paths against the file and keeps the port as given', () => {
    const c = parseProjectConfig('/proj/sub/tinyforge.config.json', JSON.stringify({ board: 'esp32-devkitc', port: '/dev/ttyUSB0', model: '../m.tflite', out: 'out', golden: 'g', calibration: 'cal' }), ['esp32-devkitc']);
    expect(c).toMatchObject({ board: 'esp32-devkitc', port: '/dev/ttyUSB0', model: '/proj/m.tflite', out: '/proj/sub/out', golden: '/proj/sub/g', calibration: '/proj/sub/cal' });
  });
});
