// Host target: compiles the model with the system C compiler (`cc`) into a native test runner
// and runs all cases in one process (tf_in.bin -> tf_out.bin in a scratch directory).

import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { generateRunnerSource } from './runner_source.ts';
import {
  BUILD_TIMEOUT_MS,
  cachedBuild,
  checkModuleRef,
  collectRun,
  contentHash,
  encodeCases,
  modelSourceFiles,
  resolveWorkDir,
  RUNTIME_TEMPLATES_DIR,
  withRunDir,
  type BuildResult,
  type CompiledModuleRef,
  type RunOptions,
} from './target.ts';
import { execTool, requireTool, runCompiler, toolVersion } from './toolchain.ts';

export const HOST_CC = 'cc';
export const HOST_CFLAGS: readonly string[] = ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror'];
export const HOST_SANITIZE_FLAGS: readonly string[] = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-g'];
export const HOST_DEFAULT_TIMEOUT_MS = 60_000;

/** All compiler flags of a host build (compile and link in one step). */
export function hostCompilerFlags(opts?: RunOptions): string[] {
  return [...HOST_CFLAGS, ...(opts?.sanitize ? HOST_SANITIZE_FLAGS : [])];
}

/** Builds (or fetches from the cache) the native runner for `mod`. `binary` is the executable. */
export async function buildForHost(mod: CompiledModuleRef, opts?: RunOptions): Promise<BuildResult> {
  checkModuleRef(mod);
  const cc = requireTool(HOST_CC);
  const flags = hostCompilerFlags(opts);
  const runnerSource = generateRunnerSource(mod);
  const templates = [path.join(RUNTIME_TEMPLATES_DIR, 'runner_io.h'), path.join(RUNTIME_TEMPLATES_DIR, 'host', 'io_host.c')];
  const hash = await contentHash(
    ['host', cc, await toolVersion(cc), mod.prefix, ...flags, runnerSource],
    [...(await modelSourceFiles(mod)), ...templates],
  );
  return cachedBuild(resolveWorkDir(opts), `host-${mod.prefix}`, hash, 'tf_runner', async (dir) => {
    const runnerC = path.join(dir, 'tf_runner.c');
    await writeFile(runnerC, runnerSource);
    const args = [
      ...flags,
      '-I', path.resolve(mod.dir),
      '-I', RUNTIME_TEMPLATES_DIR,
      path.resolve(mod.dir, `${mod.prefix}.c`),
      runnerC,
      path.join(RUNTIME_TEMPLATES_DIR, 'host', 'io_host.c'),
      '-o', path.join(dir, 'tf_runner'),
      '-lm',
    ];
    await runCompiler(cc, args, `host build of ${mod.prefix}`, { cwd: dir, timeoutMs: BUILD_TIMEOUT_MS });
  });
}

/** Builds if needed, runs every case in one native process and returns each case's outputs. */
export async function runCasesOnHost(mod: CompiledModuleRef, cases: Uint8Array[][], opts?: RunOptions): Promise<Uint8Array[][]> {
  const input = encodeCases(mod, cases, opts?.keepState);
  const { binary } = await buildForHost(mod, opts);
  const timeoutMs = opts?.timeoutMs ?? HOST_DEFAULT_TIMEOUT_MS;
  return withRunDir(resolveWorkDir(opts), input, async (dir) => {
    const r = await execTool(binary, [], { cwd: dir, timeoutMs });
    const where = `host run of ${mod.prefix}${opts?.sanitize ? ' (sanitized)' : ''}`;
    return collectRun(where, mod, cases.length, path.join(dir, 'tf_out.bin'), r, timeoutMs);
  });
}
