// Shared types and plumbing of the execution targets (host C, QEMU mps2 boards): the case file
// format, the content-hashed build cache and per-run scratch directories.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { TinyforgeError, ToolError } from '../errors.ts';
import { packagePath } from '../package_root.ts';
import { describeRunnerExit } from './runner_source.ts';
import { tailLines } from './toolchain.ts';

/** A compiled model: `<dir>/<prefix>.c` and `<dir>/<prefix>.h`, declaring `int <prefix>_invoke(in..., out...)`. */
export interface CompiledModuleRef {
  dir: string;
  prefix: string;
  /** Byte size of each input, in invoke's parameter order. */
  inputBytes: number[];
  /** Byte size of each output, in invoke's parameter order. */
  outputBytes: number[];
}

export interface RunOptions {
  /** keepState[i]: case i continues the state case i - 1 left (a sequence step); otherwise the model is reset first. */
  keepState?: readonly boolean[];
  /** Host only: build with -fsanitize=address,undefined -fno-sanitize-recover=all -g. */
  sanitize?: boolean;
  /** Where builds are cached and runs happen. Default: `<os tmpdir>/tinyforge-targets`. */
  workDir?: string;
  /** Limit for running all cases (not for building). Default 60 s on host, 120 s in QEMU. */
  timeoutMs?: number;
}

/** What a builder produced. */
export interface BuildResult {
  /** The linked program: host executable or Cortex-M ELF. */
  binary: string;
  /** The cache directory holding the binary, tf_runner.c and (Arm) the link map. */
  buildDir: string;
  /** True when the binary came from the cache. */
  cached: boolean;
}

/** Runs every case in one process; returns the outputs of each case. */
export type CaseRunner = (mod: CompiledModuleRef, cases: Uint8Array[][], opts?: RunOptions) => Promise<Uint8Array[][]>;

/** Directory of the C runtime templates (runner_io.h, host/, cortex-m/). */
export const RUNTIME_TEMPLATES_DIR = packagePath('runtime-c-templates/');

/** Compile timeout: model sources holding megabytes of weights can take a while. */
export const BUILD_TIMEOUT_MS = 10 * 60_000;

export function defaultWorkDir(): string {
  return path.join(os.tmpdir(), 'tinyforge-targets');
}

export function resolveWorkDir(opts: RunOptions | undefined): string {
  return path.resolve(opts?.workDir ?? defaultWorkDir());
}

/** Checks the shape of a module reference and that its files exist. */
export function checkModuleRef(mod: CompiledModuleRef): void {
  for (const f of [`${mod.prefix}.c`, `${mod.prefix}.h`]) {
    if (!existsSync(path.join(mod.dir, f))) {
      throw new TinyforgeError(`compiled model: ${path.join(mod.dir, f)} does not exist`);
    }
  }
}

/**
 * Concatenates all cases into the tf_in.bin format: a control byte (reset or continue) and all
 * inputs in order. Every case starts from a reset state unless `keepState[i]` says case i
 * continues case i - 1 (the steps of a sequence).
 */
export function encodeCases(mod: CompiledModuleRef, cases: readonly (readonly Uint8Array[])[], keepState: readonly boolean[] = []): Buffer {
  const caseBytes = 1 + mod.inputBytes.reduce((a, b) => a + b, 0);
  const buf = Buffer.alloc(caseBytes * cases.length);
  let off = 0;
  cases.forEach((c, ci) => {
    buf[off++] = keepState[ci] ? 0 : 1;
    if (c.length !== mod.inputBytes.length) {
      throw new TinyforgeError(`case ${ci}: ${c.length} inputs given, model ${mod.prefix} has ${mod.inputBytes.length}`);
    }
    c.forEach((t, ti) => {
      if (t.byteLength !== mod.inputBytes[ti]) {
        throw new TinyforgeError(
          `case ${ci}: input ${ti} has ${t.byteLength} bytes, model ${mod.prefix} expects ${mod.inputBytes[ti]}`,
        );
      }
      buf.set(t, off);
      off += t.byteLength;
    });
  });
  return buf;
}

/** Splits tf_out.bin into per-case, per-output arrays (copies, independent of `data`). */
export function decodeOutputs(mod: CompiledModuleRef, data: Uint8Array, caseCount: number, where: string): Uint8Array[][] {
  const caseBytes = mod.outputBytes.reduce((a, b) => a + b, 0);
  if (data.byteLength !== caseBytes * caseCount) {
    throw new ToolError(
      `${where}: expected ${caseBytes * caseCount} output bytes (${caseCount} cases x ${caseBytes}), got ${data.byteLength}`,
    );
  }
  const result: Uint8Array[][] = [];
  let off = 0;
  for (let ci = 0; ci < caseCount; ci++) {
    const outs: Uint8Array[] = [];
    for (const n of mod.outputBytes) {
      const out = new Uint8Array(n);
      out.set(data.subarray(off, off + n));
      outs.push(out);
      off += n;
    }
    result.push(outs);
  }
  return result;
}

/**
 * Turns a finished runner process into outputs or a ToolError naming the failure: exit status
 * (with its meaning, from `describeExit`: fault codes differ per architecture), signal, or timeout. `outFile` is read either way to say how far it got.
 */
export async function collectRun(
  where: string,
  mod: CompiledModuleRef,
  caseCount: number,
  outFile: string,
  r: { code: number | null; signal: string | null; timedOut: boolean; stderr: string },
  timeoutMs: number,
  describeExit: (code: number) => string | undefined = describeRunnerExit,
): Promise<Uint8Array[][]> {
  let data: Buffer | undefined;
  try {
    data = await readFile(outFile);
  } catch {
    data = undefined;
  }
  if (r.timedOut || r.code !== 0) {
    const caseBytes = mod.outputBytes.reduce((a, b) => a + b, 0);
    const progress =
      data !== undefined && caseBytes > 0
        ? ` after ${Math.floor(data.byteLength / caseBytes)} of ${caseCount} cases`
        : '';
    let what: string;
    if (r.timedOut) {
      what = `timed out after ${formatSeconds(timeoutMs)} s (killed)`;
    } else if (r.code === null) {
      what = `killed by signal ${r.signal ?? '?'}`;
    } else {
      const meaning = describeExit(r.code);
      what = `exit code ${r.code}${meaning ? ` (${meaning})` : ''}`;
    }
    const stderr = r.stderr.trim();
    throw new ToolError(`${where} failed: ${what}${progress}${stderr ? `\n${tailLines(stderr)}` : ''}`);
  }
  if (data === undefined) {
    throw new ToolError(`${where}: the runner exited 0 but wrote no ${path.basename(outFile)}`);
  }
  return decodeOutputs(mod, data, caseCount, where);
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? String(s) : s.toFixed(1);
}

/** The model's C sources and headers (every .c/.h/.inc in its directory), sorted by name. */
export async function modelSourceFiles(mod: CompiledModuleRef): Promise<string[]> {
  const names = (await readdir(mod.dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && /\.(c|h|inc)$/.test(e.name))
    .map((e) => e.name)
    .sort();
  return names.map((n) => path.join(mod.dir, n));
}

/** Hash of labelled strings and file contents, stable across runs. */
export async function contentHash(parts: readonly string[], files: readonly string[]): Promise<string> {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(`s${p.length}:`).update(p);
  }
  for (const f of files) {
    const data = await readFile(f);
    h.update(`f${path.basename(f)}:${data.length}:`).update(data);
  }
  return h.digest('hex').slice(0, 24);
}

/**
 * Returns `<workDir>/<name>-<hash>` holding `binaryName`, building it with `build(dir)` first
 * when absent. Builds happen in a private directory that is renamed into place, so concurrent
 * builders of the same key never see a half-written result.
 */
export async function cachedBuild(
  workDir: string,
  name: string,
  hash: string,
  binaryName: string,
  build: (dir: string) => Promise<void>,
): Promise<BuildResult> {
  const finalDir = path.join(workDir, `${name}-${hash}`);
  const binary = path.join(finalDir, binaryName);
  if (existsSync(binary)) return { binary, buildDir: finalDir, cached: true };
  await mkdir(workDir, { recursive: true });
  const tmpDir = path.join(workDir, `.build-${name}-${hash}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmpDir);
  try {
    await build(tmpDir);
    try {
      await rename(tmpDir, finalDir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Someone else finished the same build first: use theirs.
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && existsSync(binary)) {
        await rm(tmpDir, { recursive: true, force: true });
        return { binary, buildDir: finalDir, cached: true };
      }
      throw e;
    }
  } catch (e) {
    await rm(tmpDir, { recursive: true, force: true });
    throw e;
  }
  return { binary, buildDir: finalDir, cached: false };
}

/** Runs `fn` in a fresh directory under workDir holding tf_in.bin, removed afterwards. */
export async function withRunDir<T>(workDir: string, input: Uint8Array, fn: (dir: string) => Promise<T>): Promise<T> {
  await mkdir(workDir, { recursive: true });
  const dir = await mkdtemp(path.join(workDir, 'run-'));
  try {
    await writeFile(path.join(dir, 'tf_in.bin'), input);
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
