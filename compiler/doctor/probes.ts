// What `tinyforge doctor` asks of the machine, behind one interface so tests can simulate a
// machine with tools missing. systemProbes() asks the real one.

import { execFile } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { findExecutable } from '../targets/toolchain.ts';

/** One entry of SerialPort.list(). */
export interface SerialPortInfo {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
}

export interface RunResult {
  /** Exit status; null when killed or when the program could not be started. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface DoctorProbes {
  /** process.versions.node */
  nodeVersion: string;
  platform: NodeJS.Platform;
  /** Absolute path of a program on PATH, or undefined. */
  findExecutable(name: string): string | undefined;
  /** Runs a program (no shell) with a short timeout. */
  run(file: string, args: readonly string[]): Promise<RunResult>;
  fileExists(file: string): boolean;
  /** Where an npm package resolves from this installation, or undefined. */
  resolvePackage(name: string): string | undefined;
  /** Loads serialport and its native binding; rejects when that fails. */
  loadSerialBinding(): Promise<void>;
  /** SerialPort.list(); on Linux it spawns `udevadm` and rejects with ENOENT when it is missing. */
  listSerialPorts(): Promise<SerialPortInfo[]>;
  /** Effective user id; undefined on Windows. */
  uid(): number | undefined;
  /** Group names of this process, and the groups /etc/group lists the user in (they differ until the next login). */
  userGroups(): { session: string[]; configured: string[] };
  /** USB serial device nodes: /dev/ttyUSB* and /dev/ttyACM*. */
  serialDevices(): string[];
  /** Whether this user may read and write a device node: undefined when yes, else the errno code. */
  accessDevice(device: string): string | undefined;
}

function groupTable(): Array<{ name: string; gid: number; members: string[] }> {
  try {
    return readFileSync('/etc/group', 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => {
        const [name = '', , gid = '', members = ''] = l.split(':');
        return { name, gid: Number(gid), members: members.split(',').filter((m) => m !== '') };
      });
  } catch {
    return [];
  }
}

const requireHere = createRequire(import.meta.url);

export interface SystemProbeOptions {
  /** Search path for programs; defaults to $PATH. */
  PATH?: string;
}

export function systemProbes(opts: SystemProbeOptions = {}): DoctorProbes {
  const searchPath = opts.PATH ?? process.env.PATH;
  return {
    nodeVersion: process.versions.node,
    platform: process.platform,
    findExecutable: (name) => findExecutable(name, searchPath),
    run: (file, args) =>
      new Promise((resolve) => {
        execFile(file, [...args], { timeout: 15_000, encoding: 'utf8', env: { ...process.env, PATH: searchPath ?? '' } }, (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        });
      }),
    fileExists: (file) => existsSync(file),
    resolvePackage: (name) => {
      // Node's own search list for `name`; its package.json there means npm installed it.
      for (const dir of requireHere.resolve.paths(name) ?? []) {
        const manifest = path.join(dir, name, 'package.json');
        if (existsSync(manifest)) return path.dirname(manifest);
      }
      return undefined;
    },
    loadSerialBinding: async () => {
      await import('serialport');
    },
    listSerialPorts: async () => {
      const { SerialPort } = await import('serialport');
      return SerialPort.list();
    },
    uid: () => (typeof process.getuid === 'function' ? process.getuid() : undefined),
    userGroups: () => {
      const table = groupTable();
      const byGid = new Map(table.map((g) => [g.gid, g.name]));
      const gids = typeof process.getgroups === 'function' ? [...process.getgroups(), ...(process.getgid ? [process.getgid()] : [])] : [];
      const session = [...new Set(gids.map((g) => byGid.get(g) ?? String(g)))];
      let user = '';
      try {
        user = os.userInfo().username;
      } catch {
        // no passwd entry (containers)
      }
      const configured = table.filter((g) => g.members.includes(user) || gids.includes(g.gid)).map((g) => g.name);
      return { session, configured: [...new Set(configured)] };
    },
    serialDevices: () => {
      try {
        return readdirSync('/dev')
          .filter((f) => /^tty(USB|ACM)\d+$/.test(f))
          .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
          .map((f) => path.join('/dev', f));
      } catch {
        return [];
      }
    },
    accessDevice: (device) => {
      try {
        // access(2), not open(2): opening a port raises DTR/RTS, which resets many boards.
        accessSync(device, fsConstants.R_OK | fsConstants.W_OK);
        return undefined;
      } catch (e) {
        return (e as NodeJS.ErrnoException).code ?? 'EACCES';
      }
    },
  };
}
