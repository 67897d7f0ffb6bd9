// What every command shares: examples and exit codes in --help, no colour with NO_COLOR or into a
// pipe, --quiet, one-line user errors with exit code 2, and progress bars only on a terminal.

import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { colorEnabled, colorsFor } from '../compiler/cli/color.ts';
import { log, setLogLevel, setLogSink } from '../compiler/cli/log.ts';
import { createProgress, formatRate } from '../compiler/cli/progress.ts';
import { goldenDir, modelPath } from './helpers/shared.ts';

const BIN = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-conv-'));
const ANSI = /\u001b\[/;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with pipes (not a TTY); `env` is added to a copy of this environment without colour settings. */
function tinyforge(args: string[], env: NodeJS.ProcessEnv = {}, cwd = tmp): Result {
  const base = { ...process.env };
  for (const k of ['NO_COLOR', 'FORCE_COLOR', 'CI', 'TERM']) delete base[k];
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...base, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function expectOneLineUserError(r: Result, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/** Command names from the "Commands:" section of `tinyforge --help`. */
function commandNames(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1]?.split(/^\S/m)[0] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z0-9-]*)\b/gm)].map((m) => m[1] as string).filter((name) => name !== 'help');
}

describe('--help', () => {
  let rootHelp: Result | undefined;
  const rootHelpOnce = (): Result => (rootHelp ??= tinyforge(['--help']));

  it('lists the global options and documents the exit codes', () => {
    const root = rootHelpOnce();
    expect(root.code).toBe(0);
    for (const flag of ['--quiet', '--verbose', '--config <file>']) expect(root.stdout).toContain(flag);
    expect(root.stdout).toMatch(/Exit codes:\n\s+0\s+ok\n\s+1\s+validation mismatch[^\n]*\n\s+2\s+user error[\s\S]*\n\s+3\s+tool or device error/);
  });

  it('of every command has an Example section and the exit codes', () => {
    const names = commandNames(rootHelpOnce().stdout);
    // The commands of this issue and the ones that were there before it, at least.
    expect(names).toEqual(expect.arrayContaining(['boards', 'inspect', 'compile', 'run', 'validate', 'bench', 'init', 'doctor']));
    for (const name of names) {
      const r = tinyforge([name, '--help']);
      expect(r.code, `${name} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout, `tinyforge ${name} --help`).toMatch(/Examples?:\n {2}tinyforge /);
      expect(r.stdout, `tinyforge ${name} --help`).toContain('Exit codes:');
      expect(r.stdout, `tinyforge ${name} --help`).toContain('--quiet');
    }
  });
});

describe('colour', () => {
  it('is decided per stream: a TTY, NO_COLOR unset or empty, TERM not dumb', () => {
    expect(colorEnabled({ isTTY: true }, {})).toBe(true);
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(colorEnabled({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
    // picocolors alone would colour a pipe under CI or FORCE_COLOR; we do not.
    expect(colorEnabled({ isTTY: false }, { FORCE_COLOR: '1', CI: 'true' })).toBe(false);
    expect(colorEnabled({}, {})).toBe(false);
    expect(colorsFor({ isTTY: true }, {}).red('x')).toMatch(ANSI);
    expect(colorsFor({ isTTY: true }, { NO_COLOR: '1' }).red('x')).toBe('x');
  });

  it('NO_COLOR=1 output has no ANSI escapes, even where picocolors would colour (CI, FORCE_COLOR)', () => {
    const env = { NO_COLOR: '1', FORCE_COLOR: '1', CI: 'true' };
    const runs = [
      tinyforge(['boards'], env),
      tinyforge(['doctor'], env),
      tinyforge(['compile', modelPath('hello_world_int8'), '--out', path.join(tmp, 'nc')], env),
      tinyforge(['compile', modelPath('hello_world_int8'), '--board', 'nope', '--out', path.join(tmp, 'nc2')], env),
    ];
    expect(runs[0]?.code).toBe(0);
    expect(runs[3]?.code).toBe(2);
    for (const r of runs) {
      expect(r.stdout).not.toMatch(ANSI);
      expect(r.stderr).not.toMatch(ANSI);
    }
  });

  it('is off into a pipe without NO_COLOR too', () => {
    const r = tinyforge(['boards'], { FORCE_COLOR: '1', CI: 'true' });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(ANSI);
  });
});

describe('--quiet and --verbose', () => {
  const args = ['validate', modelPath('hello_world_int8'), '--target', 'ref', '--golden', goldenDir('hello_world_int8')];

  it('info lines go to stderr; --quiet suppresses them and keeps the result', () => {
    const normal = tinyforge(args);
    expect(normal.code, normal.stderr).toBe(0);
    expect(normal.stderr).toMatch(/^validating hello_world_int8\.tflite on ref: 8 case\(s\)/m);
    expect(normal.stdout).toMatch(/8\/8 cases match/);

    for (const quiet of [['--quiet', ...args], [...args, '--quiet']]) {
      const r = tinyforge(quiet);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/8\/8 cases match/);
    }
  });

  it('--quiet still prints errors', () => {
    expectOneLineUserError(tinyforge(['--quiet', 'compile', modelPath('hello_world_int8'), '--board', 'nope', '--out', path.join(tmp, 'q')]), /unknown board 'nope'/);
  });

  it('--quiet and --verbose exclude each other', () => {
    const r = tinyforge(['--quiet', '--verbose', 'boards']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'--quiet' cannot be used with option '--verbose'/);
  });

  it('the logger: info and verbose follow the level, warnings and errors always print', () => {
    const lines: string[] = [];
    const restore = setLogSink({ write: (t: string) => lines.push(t), isTTY: false });
    try {
      for (const level of ['quiet', 'normal', 'verbose'] as const) {
        setLogLevel(level);
        log.info(`info ${level}`);
        log.verbose(`verbose ${level}`);
        log.warn(`warn ${level}`);
        log.error(`error ${level}`);
      }
    } finally {
      setLogLevel('normal');
      restore();
    }
    expect(lines).toEqual([
      'warning: warn quiet\n',
      'error: error quiet\n',
      'info normal\n',
      'warning: warn normal\n',
      'error: error normal\n',
      'info verbose\n',
      'verbose verbose\n',
      'warning: warn verbose\n',
      'error: error verbose\n',
    ]);
  });
});

describe('exit codes', () => {
  it('user errors exit 2 with one line', () => {
    expectOneLineUserError(tinyforge(['compile', modelPath('hello_world_int8'), '--board', 'nope', '--out', path.join(tmp, 'e1')]), /unknown board 'nope'/);
    // No --out and no config file in the directory.
    expectOneLineUserError(tinyforge(['compile', modelPath('hello_world_int8')]), /missing --out <dir> \(give it, or set "out" in tinyforge\.config\.json\)/);
    expectOneLineUserError(tinyforge(['validate']), /missing <model>/);
    expectOneLineUserError(tinyforge(['--config', path.join(tmp, 'absent.json'), 'compile']), /absent\.json: no such file/);
    expect(tinyforge(['compile', '--bogus']).code).toBe(2);
    expect(tinyforge(['no-such-command']).code).toBe(2);
  });

  it('ok is 0', () => {
    expect(tinyforge(['boards']).code).toBe(0);
    expect(tinyforge(['--version']).code).toBe(0);
  });
});

/** A writable that records what is written and claims to be a terminal (or not). */
function fakeStream(isTTY: boolean): Writable & { isTTY: boolean; columns: number; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return Object.assign(w, { isTTY, columns: 100, text: () => chunks.join('') });
}

describe('progress bars', () => {
  it('draw count, rate and ETA on a terminal', async () => {
    const stream = fakeStream(true);
    const p = createProgress({ stream, quiet: false });
    expect(p.enabled).toBe(true);
    p.start(10, 'running cases', 'cases');
    await new Promise((r) => setTimeout(r, 250));
    p.update(5);
    p.increment();
    p.stop();
    p.stop();
    const text = stream.text();
    expect(text).toContain('running cases');
    expect(text).toMatch(/6\/10 \| [\d.]+ cases\/s \| ETA \d+s/);
  });

  it('draw nothing into a pipe, with --quiet or with --json', () => {
    for (const [stream, opts] of [
      [fakeStream(false), {}],
      [fakeStream(true), { quiet: true }],
      [fakeStream(true), { json: true }],
    ] as const) {
      const p = createProgress({ stream, quiet: false, ...opts });
      expect(p.enabled).toBe(false);
      p.start(3, 'x');
      p.update(2);
      p.stop();
      expect(stream.text()).toBe('');
    }
  });

  it('format the rate', () => {
    expect(formatRate(0)).toBe('-');
    expect(formatRate(2.345)).toBe('2.3');
    expect(formatRate(123.6)).toBe('124');
  });
});
