// Where tinyforge writes and what it reads on the user's behalf: output directories, output
// files and input files named on the command line. Every failure is one line naming the option
// and the path (exit 2 for a path the user can fix, exit 3 when the disk itself fails), never a
// stack trace.
//
// Directories are created one level at a time, never with mkdirSync({ recursive: true }): on
// procfs and sysfs Node's recursive mkdir gets EEXIST/ENOENT answers it retries forever, so
// `--out /proc/x/y` hung instead of failing.

import { accessSync, constants, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EXIT_DEVICE_ERROR, TinyforgeError } from './errors.ts';

/** Errno codes that mean the disk or the system failed, not the path the user gave. */
const TOOL_ERRNOS = new Set(['ENOSPC', 'EIO', 'EDQUOT', 'EMFILE', 'ENFILE', 'ENOMEM']);

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'read-only file system',
  EEXIST: 'already exists',
  ENOSPC: 'no space left on the device',
  EIO: 'input/output error',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
};

/** Special file systems where nothing tinyforge writes can live (and recursive mkdir loops). */
const PSEUDO_FS_ROOTS = ['/proc', '/sys', '/dev'];

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** The one-line error for a failed file-system call on `file` given as `what` (e.g. "--out"). */
export function fileSystemError(what: string, file: string, e: unknown): TinyforgeError {
  const code = errnoOf(e);
  const reason = code !== undefined ? (REASONS[code] ?? code) : e instanceof Error ? e.message : String(e);
  return new TinyforgeError(`${what} ${file}: ${reason}`, code !== undefined && TOOL_ERRNOS.has(code) ? EXIT_DEVICE_ERROR : undefined);
}

function isDirectory(p: string): boolean | undefined {
  try {
    return statSync(p).isDirectory();
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw e;
  }
}

function onPseudoFileSystem(abs: string): boolean {
  // /dev/shm is an ordinary (memory) file system.
  if (abs === '/dev/shm' || abs.startsWith('/dev/shm/')) return false;
  return PSEUDO_FS_ROOTS.some((root) => abs === root || abs.startsWith(`${root}/`));
}

/**
 * Makes sure `dir` is a directory tinyforge can write into, creating it (and missing parents)
 * when needed. `what` names the option in the message, e.g. "--out".
 */
export function ensureOutputDir(dir: string, what = '--out', shown = dir): string {
  if (dir.trim() === '') throw new TinyforgeError(`${what}: give a directory (the path is empty)`);
  const abs = path.resolve(dir);
  if (onPseudoFileSystem(abs)) throw new TinyforgeError(`${what} ${shown}: /${abs.split('/')[1]} is a special file system, not a place for output; give a directory on disk`);
  const missing: string[] = [];
  let p = abs;
  for (;;) {
    let kind: boolean | undefined;
    try {
      kind = isDirectory(p);
    } catch (e) {
      throw fileSystemError(what, shown, e);
    }
    if (kind === false) throw new TinyforgeError(`${what} ${shown}: ${p === abs && shown === dir ? 'is a file, not a directory' : `${p} is a file, not a directory`}`);
    if (kind === true) break;
    missing.unshift(p);
    const parent = path.dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      if (errnoOf(e) !== 'EEXIST') throw fileSystemError(what, shown, e);
    }
  }
  try {
    accessSync(abs, constants.W_OK);
  } catch (e) {
    throw fileSystemError(what, shown, e);
  }
  return abs;
}

/** Writes an output file the user named (`what` is the option, e.g. "--output"), creating its directory. */
export function writeOutputFile(file: string, data: string | Uint8Array, what: string): void {
  if (file.trim() === '') throw new TinyforgeError(`${what}: give a file name (the path is empty)`);
  const abs = path.resolve(file);
  // Writing to /dev/null or /dev/stdout is a user's choice; only directories there are refused.
  if (!abs.startsWith('/dev/') || abs.startsWith('/dev/shm/')) ensureOutputDir(path.dirname(abs), what, file);
  if (isDirectoryQuiet(abs)) throw new TinyforgeError(`${what} ${file}: is a directory, not a file`);
  try {
    writeFileSync(file, data);
  } catch (e) {
    throw fileSystemError(what, file, e);
  }
}

function isDirectoryQuiet(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Reads an input file the user named (`what` is the option, e.g. "--image"). */
export function readInputFile(file: string, what: string): Uint8Array {
  if (file.trim() === '') throw new TinyforgeError(`${what}: give a file name (the path is empty)`);
  if (isDirectoryQuiet(file)) throw new TinyforgeError(`${what} ${file}: is a directory, not a file`);
  try {
    return new Uint8Array(readFileSync(file));
  } catch (e) {
    throw fileSystemError(what, file, e);
  }
}
