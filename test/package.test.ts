// The npm package as a user gets it: `npm pack`, installed into a temporary directory, run from a
// directory that has nothing to do with the repository. Checks what the tarball holds, that the
// CLI starts without tsx or the sources, that each command loads only what it needs and starts
// fast, and that the README's API example compiles against the shipped type declarations and runs.
//
// Offline install: `npm install -g <tgz>` resolves the dependency ranges from registry metadata,
// which `npm ci` does not leave in the npm cache. So the tarball is installed with `npm ci
// --offline` into a temporary project whose package-lock.json pins tinyforge's production
// dependencies to this repository's package-lock.json: the same versions and integrity hashes
// `npm ci` put in the cache, no network. The bin shim npm links (node_modules/.bin/tinyforge) is
// what a global install links into <prefix>/bin. TINYFORGE_PACK_INSTALL=global instead runs
// `npm install -g --prefix <tmp> <tgz> --prefer-offline`, which fetches registry metadata.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { GOLDEN_DIR, MODELS_DIR } from './helpers/shared.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-pack-'));
/** Where the user works: outside the repository, holding only their model and golden data. */
const work = path.join(tmp, 'work');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface Installed {
  /** The `tinyforge` executable npm linked. */
  bin: string;
  /** Directory whose node_modules holds tinyforge (for `import 'tinyforge'`). */
  root: string;
  /** Files in the tarball. */
  files: string[];
}

let installed: Installed;

function run(file: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(file, [...args], { encoding: 'utf8', cwd: opts.cwd ?? work, env: { ...process.env, NO_COLOR: '1', ...opts.env }, maxBuffer: 64 << 20 });
}

function mustRun(file: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = run(file, args, opts);
  if (r.status !== 0) throw new Error(`${path.basename(file)} ${args.join(' ')} exited with ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** Newest mtime of the TypeScript that dist/ is built from. */
function newestSource(): number {
  let newest = 0;
  for (const dir of ['compiler', 'flasher']) {
    for (const f of readdirSync(path.join(REPO, dir), { recursive: true }) as string[]) {
      if (f.endsWith('.ts')) newest = Math.max(newest, statSync(path.join(REPO, dir, f)).mtimeMs);
    }
  }
  return newest;
}

/** `npm test` builds before vitest runs; a bare `vitest run` of this file builds when dist/ is stale. */
function ensureBuild(): void {
  const main = path.join(REPO, 'dist/compiler/cli/main.js');
  if (existsSync(main) && statSync(main).mtimeMs >= newestSource()) return;
  mustRun(process.execPath, [path.join(REPO, 'scripts/build.mjs')], { cwd: REPO });
}

function pack(): { tgz: string; files: string[] } {
  const dest = path.join(tmp, 'pack');
  mkdirSync(dest);
  // --ignore-scripts: the build is done above; prepack would rebuild dist/ under running tests.
  const out = JSON.parse(mustRun(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], { cwd: REPO })) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const entry = out[0] as { filename: string; files: Array<{ path: string }> };
  return { tgz: path.join(dest, entry.filename), files: entry.files.map((f) => f.path) };
}

/** A project that depends on the tarball, locked to this repository's dependency versions. */
function installPinned(tgz: string): Installed['root'] {
  const root = path.join(tmp, 'prefix');
  mkdirSync(root);
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string; license: string; dependencies: Record<string, string>; bin: Record<string, string>; engines: Record<string, string> };
  const lock = JSON.parse(readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const manifest = { name: 'tinyforge-install-test', private: true, dependencies: { tinyforge: `file:${tgz}` } };
  const packages: Record<string, unknown> = {
    '': manifest,
    'node_modules/tinyforge': { version: pkg.version, resolved: `file:${tgz}`, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [key, value] of Object.entries(lock.packages)) if (key.startsWith('node_modules/') && value.dev !== true) packages[key] = value;
  writeFileSync(path.join(root, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(path.join(root, 'package-lock.json'), JSON.stringify({ name: manifest.name, lockfileVersion: 3, requires: true, packages }, null, 2));
  mustRun(NPM, ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: root });
  return root;
}

function installGlobal(tgz: string): Installed['root'] {
  const prefix = path.join(tmp, 'prefix');
  mustRun(NPM, ['install', '-g', '--prefix', prefix, tgz, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: tmp });
  return path.join(prefix, 'lib');
}

beforeAll(() => {
  ensureBuild();
  const { tgz, files } = pack();
  const global = process.env.TINYFORGE_PACK_INSTALL === 'global';
  const root = global ? installGlobal(tgz) : installPinned(tgz);
  const bin = global ? path.join(root, '..', 'bin', 'tinyforge') : path.join(root, 'node_modules', '.bin', 'tinyforge');
  installed = { bin, root, files };
  // The user's directory: a model and its golden data, nothing of the repository.
  mkdirSync(path.join(work, 'models'), { recursive: true });
  copyFileSync(path.join(MODELS_DIR, 'hello_world_int8.tflite'), path.join(work, 'models', 'hello_world_int8.tflite'));
  cpSync(path.join(GOLDEN_DIR, 'hello_world_int8'), path.join(work, 'golden', 'hello_world_int8'), { recursive: true });
}, 900_000);

describe('the tarball', () => {
  it('ships compiled JavaScript, declarations, the C runtime, boards and the docs the help texts name; no TypeScript sources, tests or models', () => {
    const f = installed.files;
    for (const needed of ['bin/tinyforge.mjs', 'dist/compiler/index.js', 'dist/compiler/index.d.ts', 'dist/compiler/cli/main.js', 'dist/compiler/cli/main.js.map', 'dist/flasher/device_validation.js', 'runtime-c-templates/portable/tf_quant.h', 'boards/nucleo-f446re.json', 'docs/cli.md', 'README.md', 'package.json']) {
      expect(f, needed).toContain(needed);
    }
    expect(f.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
    expect(f.filter((p) => /^(test|examples|scripts|bench|compiler|flasher|node_modules)\//.test(p))).toEqual([]);
    expect(f.filter((p) => /\.(tflite|tgz)$/.test(p))).toEqual([]);
    // Every docs/ file a help text points at is in the package.
    const help = mustRun(installed.bin, ['--help']);
    for (const doc of help.match(/docs\/[\w.-]+/g) ?? []) expect(f, doc).toContain(doc);
  });
});

describe('the installed CLI, run outside the repository', () => {
  it('--help and --version start without tsx or the sources', () => {
    expect(existsSync(path.join(installed.root, 'node_modules', 'tsx'))).toBe(false);
    const help = run(installed.bin, ['--help']);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/Commands:[\s\S]*compile[\s\S]*monitor/);
    expect(mustRun(installed.bin, ['--version']).trim()).toBe(JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version);
  });

  it('boards --json is the JSON envelope with every board file', () => {
    const out = JSON.parse(mustRun(installed.bin, ['boards', '--json'])) as { tool: string; ok: boolean; command: string; result: { boards: Array<{ id: string }> } };
    expect(out).toMatchObject({ tool: 'tinyforge', ok: true, command: 'boards' });
    expect(out.result.boards.map((b) => b.id)).toEqual(readdirSync(path.join(REPO, 'boards')).map((f) => f.replace(/\.json$/, '')).sort());
  });

  it('compile writes the C module with the packaged kernel templates', () => {
    const r = run(installed.bin, ['compile', 'models/hello_world_int8.tflite', '-b', 'qemu-mps2-an386', '-o', 'out/hw']);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(path.join(work, 'out/hw/hello_world_int8.h'), 'utf8')).toMatch(/hello_world_int8_invoke/);
    expect(readFileSync(path.join(work, 'out/hw/hello_world_int8.c'), 'utf8')).toMatch(/static uint8_t tf_arena\[/);
  });

  it('validate --target host matches TFLite Micro on every golden case', () => {
    const r = run(installed.bin, ['validate', 'models/hello_world_int8.tflite', '--target', 'host', '--golden', 'golden/hello_world_int8', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, command: 'validate', result: { target: 'host', via: 'host', total: 8, passed: 8, failed: 0 } });
  });

  it('loads only what each command needs: no TF.js, ts-morph or serialport for compile; no zod for --help', () => {
    const loaded = (args: string[]): string[] => {
      const log = path.join(tmp, `loaded-${args[0]}-${Date.now()}.txt`);
      const r = run(process.execPath, ['--require', path.join(REPO, 'test/helpers/log_module_loads.cjs'), installed.bin, ...args], { env: { TINYFORGE_LOAD_LOG: log } });
      expect(r.status, r.stderr).toBe(0);
      return readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
    };
    // Third-party packages only (the last node_modules segment, so tinyforge's own files do not count).
    const pkgs = (urls: string[]): Set<string> =>
      new Set(urls.map((u) => /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u)?.[1]).filter((p): p is string => p !== undefined && p !== 'tinyforge'));
    const help = pkgs(loaded(['--help']));
    expect([...help].sort()).toEqual(['commander', 'picocolors']);
    const compile = pkgs(loaded(['compile', 'models/hello_world_int8.tflite', '-o', 'out/lazy']));
    for (const heavy of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-converter', 'ts-morph', 'serialport', '@serialport/bindings-cpp', 'cli-progress']) expect(compile.has(heavy), heavy).toBe(false);
    expect(compile.has('zod')).toBe(true);
    // The companion does load ts-morph: the hook does see it when it is used.
    expect(pkgs(loaded(['compile', 'models/hello_world_int8.tflite', '-o', 'out/lazy-ts', '--ts'])).has('ts-morph')).toBe(true);
  });

  it('starts within 3x of bare node: median of 10 interleaved runs of --help', () => {
    const time = (args: string[]): number => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(args[0] as string, args.slice(1), { stdio: 'ignore' });
      expect(r.status).toBe(0);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const bare: number[] = [];
    const help: number[] = [];
    time([process.execPath, installed.bin, '--help']);
    for (let i = 0; i < 10; i++) {
      bare.push(time([process.execPath, '-e', '']));
      help.push(time([process.execPath, installed.bin, '--help']));
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
    const ratio = median(help) / median(bare);
    expect(ratio, `tinyforge --help ${median(help).toFixed(0)} ms, node -e "" ${median(bare).toFixed(0)} ms`).toBeLessThan(3);
  });
});

describe('the README API example', () => {
  it('type-checks against the shipped declarations and runs against the installed package', () => {
    const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const block = /<!-- api-example[^>]*-->\s*```ts\n([\s\S]*?)```\s*<!-- \/api-example -->/.exec(readme)?.[1];
    expect(block, 'README.md has an api-example block').toBeDefined();
    // The example lives next to the installed package, as a user's script would.
    const dir = path.join(installed.root, 'example');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'example.mts'), block as string);
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: ['node'], typeRoots: [path.join(REPO, 'node_modules/@types')], outDir: '.' }, files: ['example.mts'] }),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    mustRun(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { cwd: dir });
    const out = mustRun(process.execPath, [path.join(dir, 'example.mjs')], { cwd: work });
    expect(out).toMatch(/^288 MACs, arena \d+ bytes, constants \d+ of 524,?288 flash bytes/m);
    expect(out).toMatch(/hello_world_int8\.h hello_world_int8\.c/);
    expect(out).toMatch(/^8\/8 cases match golden golden\/hello_world_int8$/m);
    expect(out).toMatch(/^nucleo-f446re: 16 MHz, counts cycles$/m);
    expect(out).toMatch(/^qemu-mps2-an386: 25 MHz, counts instructions$/m);
    expect(out).toMatch(/^exit 2: unknown board 'nucleo-f446' \(did you mean nucleo-f446re\?\)$/m);
  });
});
