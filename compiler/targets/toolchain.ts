// Finding and running the external tools the targets need (C compilers, binutils, QEMU).
// Every failure the user can fix (missing tool, compile error, crash, timeout) is a ToolError.

import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import path from 'node:path';

import { ToolError } from '../errors.ts';

/** The Debian command that installs each tool we call. */
export const INSTALL_HINTS: Readonly<Record<string, string>> = {
  cc: 'sudo apt-get install gcc',
  gcc: 'sudo apt-get install gcc',
  'arm-none-eabi-gcc': 'sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi',
  'arm-none-eabi-size': 'sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi',
  'arm-none-eabi-nm': 'sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi',
  'arm-none-eabi-objdump': 'sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi',
  'qemu-system-arm': 'sudo apt-get install qemu-system-arm',
  'xtensa-lx106-elf-gcc': 'sudo apt-get install gcc-xtensa-lx106 binutils-xtensa-lx106 picolibc-xtensa-lx106-elf',
  'xtensa-lx106-elf-size': 'sudo apt-get install binutils-xtensa-lx106',
  'xtensa-lx106-elf-nm': 'sudo apt-get install binutils-xtensa-lx106',
  'xtensa-lx106-elf-addr2line': 'sudo apt-get install binutils-xtensa-lx106',
  'qemu-system-xtensa': 'sudo apt-get install qemu-system-misc',
};

/** Install command for `tool`, or a generic sentence when we do not know its package. */
export function installHint(tool: string): string {
  return INSTALL_HINTS[tool] ?? `install \`${tool}\` and make sure it is on PATH`;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Absolute path of `name` found on PATH (or on `searchPath` when given), or undefined.
 * A name containing a slash is checked as is.
 */
export function findExecutable(name: string, searchPath: string | undefined = process.env.PATH): string | undefined {
  if (name.includes('/')) return isExecutableFile(name) ? path.resolve(name) : undefined;
  for (const dir of (searchPath ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** Like findExecutable, but a missing tool is a ToolError that says how to install it. */
export function requireTool(name: string, searchPath: string | undefined = process.env.PATH): string {
  const found = findExecutable(name, searchPath);
  if (found === undefined) {
    throw new ToolError(`\`${name}\` was not found on PATH. Install it with: ${installHint(name)}`);
  }
  return found;
}

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the process (SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
}

export interface ExecResult {
  /** Exit status, or null when the process was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  elapsedMs: number;
}

/** Keep at most this much of a child's stdout/stderr (the tail is what matters in a crash). */
const MAX_CAPTURE = 1 << 20;

function appendCapped(chunks: Buffer[], size: { n: number }, chunk: Buffer): void {
  chunks.push(chunk);
  size.n += chunk.length;
  while (size.n > MAX_CAPTURE && chunks.length > 1) {
    size.n -= chunks.shift()!.length;
  }
}

/**
 * Runs `file` with `args` (no shell), stdin closed. Resolves when the process has exited, whatever
 * its status; rejects only when it cannot be started. On timeout the process is killed with
 * SIGKILL and the result has timedOut = true.
 */
export function execTool(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const outSize = { n: 0 };
    const errSize = { n: 0 };
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, opts.timeoutMs);
    }
    child.stdout.on('data', (c: Buffer) => appendCapped(out, outSize, c));
    child.stderr.on('data', (c: Buffer) => appendCapped(err, errSize, c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      const base = path.basename(file);
      if (e.code === 'ENOENT') {
        reject(new ToolError(`\`${file}\` could not be started (not found). Install it with: ${installHint(base)}`));
      } else {
        reject(new ToolError(`\`${file}\` could not be started: ${e.message}`));
      }
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        elapsedMs: performance.now() - started,
      });
    });
  });
}

const versionCache = new Map<string, Promise<string>>();

/** First line of `<tool> --version` (memoized per process); part of the build cache key. */
export function toolVersion(file: string): Promise<string> {
  let v = versionCache.get(file);
  if (v === undefined) {
    v = execTool(file, ['--version'], { timeoutMs: 30_000 }).then((r) => (r.stdout.split('\n')[0] ?? '').trim());
    versionCache.set(file, v);
  }
  return v;
}

/** Last `maxLines` lines of a tool's output, trimmed, for error messages. */
export function tailLines(text: string, maxLines = 40): string {
  const lines = text.trim().split('\n');
  return lines.length <= maxLines ? lines.join('\n') : ['…', ...lines.slice(-maxLines)].join('\n');
}

/**
 * Runs a compiler/linker and throws a ToolError carrying its (trimmed) stderr when it fails.
 * `what` names the step in the message, e.g. "host build of fake".
 */
export async function runCompiler(file: string, args: readonly string[], what: string, opts: ExecOptions = {}): Promise<ExecResult> {
  const r = await execTool(file, args, opts);
  if (r.timedOut) {
    throw new ToolError(`${what} failed: ${path.basename(file)} timed out after ${Math.round((opts.timeoutMs ?? 0) / 1000)} s`);
  }
  if (r.code !== 0) {
    const diag = tailLines(r.stderr || r.stdout, 60);
    let hint = '';
    if (/nano\.specs|nosys\.specs|stdint\.h: No such file|cannot find -lc\b/.test(diag)) {
      hint = `\n(newlib seems to be missing: ${installHint('arm-none-eabi-gcc')})`;
    }
    const status = r.code === null ? `killed by ${r.signal}` : `exit code ${r.code}`;
    throw new ToolError(`${what} failed (${path.basename(file)} ${status}):\n${diag}${hint}`);
  }
  return r;
}
