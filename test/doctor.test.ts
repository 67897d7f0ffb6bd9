// tinyforge doctor against simulated machines (injected probes) and on this one.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatDoctorReport } from '../compiler/cli/commands/doctor.ts';
import { colorsFor } from '../compiler/cli/color.ts';
import { runDoctor, type DoctorReport } from '../compiler/doctor/doctor.ts';
import type { DoctorProbes, SerialPortInfo } from '../compiler/doctor/probes.ts';

const BIN = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
const plain = colorsFor({ isTTY: false });

const ALL_PROGRAMS = [
  'cc',
  'arm-none-eabi-gcc',
  'riscv64-unknown-elf-gcc',
  'xtensa-lx106-elf-gcc',
  'xtensa-esp32-elf-gcc',
  'xtensa-esp32s3-elf-gcc',
  'riscv32-esp-elf-gcc',
  'qemu-system-arm',
  'qemu-system-riscv32',
  'qemu-system-xtensa',
  'bossac',
  'probe-rs',
  'socat',
  'cmake',
  'ninja',
  'idf.py',
  'esptool.py',
  'pio',
  'picotool',
  'st-flash',
  'openocd',
];

/** A machine with everything installed, one ESP32 on USB; `missing` programs are not on PATH. */
function fakeProbes(opts: { missing?: string[]; overrides?: Partial<DoctorProbes>; ports?: SerialPortInfo[] } = {}): DoctorProbes {
  const installed = new Set(ALL_PROGRAMS.filter((p) => !(opts.missing ?? []).includes(p)));
  return {
    nodeVersion: '20.11.1',
    platform: 'linux',
    findExecutable: (name) => (installed.has(name) ? `/usr/bin/${name}` : undefined),
    run: async (file, args) => {
      const spec = args[0]?.match(/^-print-file-name=(.+)$/)?.[1];
      if (spec !== undefined) return { code: 0, stdout: `/usr/lib/${file.split('/').pop()}/${spec}\n`, stderr: '' };
      return { code: 0, stdout: `${file.split('/').pop()} 1.0\n`, stderr: '' };
    },
    fileExists: () => true,
    resolvePackage: (name) => `/repo/node_modules/${name}`,
    loadSerialBinding: async () => {},
    listSerialPorts: async () => opts.ports ?? [{ path: '/dev/ttyUSB0', vendorId: '10c4', productId: 'EA60', manufacturer: 'Silicon Labs' }, { path: '/dev/ttyS0' }],
    uid: () => 1000,
    userGroups: () => ({ session: ['users', 'dialout'], configured: ['users', 'dialout'] }),
    serialDevices: () => ['/dev/ttyUSB0'],
    accessDevice: () => undefined,
    ...opts.overrides,
  };
}

const check = (r: DoctorReport, name: string) => r.checks.find((c) => c.name === name);
const text = (r: DoctorReport): string => formatDoctorReport(r, plain);

describe('doctor with simulated machines', () => {
  it('everything present: ok, exit 0, the attached board is recognised', async () => {
    const r = await runDoctor({ probes: fakeProbes(), packages: ['commander', 'serialport'] });
    expect(r.ok).toBe(true);
    expect(r.exitCode).toBe(0);
    expect(r.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(check(r, 'node')?.detail).toBe('v20.11.1');
    expect(check(r, 'newlib (nano.specs)')?.detail).toBe('/usr/lib/arm-none-eabi-gcc/nano.specs');
    expect(r.attached).toEqual([
      { path: '/dev/ttyUSB0', vid: '10c4', pid: 'ea60', description: 'Silicon Labs CP2102', boards: ['esp32-c3-devkitm-1', 'esp32-devkitc', 'esp32-s3-devkitc-1'] },
    ]);
    const out = text(r);
    expect(out).toMatch(/^status\s+check\s+needed for\s+detail/);
    expect(out).toMatch(/^ok\s+\/dev\/ttyUSB0\s.*10c4:ea60 Silicon Labs CP2102 -> esp32-c3-devkitm-1, esp32-devkitc \+1 more/m);
    expect(out).toContain('Everything the QEMU boards need is present.');
    expect(out).not.toContain('To fix:');
  });

  it('arm-none-eabi-gcc missing: the exact apt command, exit code 2', async () => {
    const r = await runDoctor({ probes: fakeProbes({ missing: ['arm-none-eabi-gcc'] }), packages: [] });
    expect(r.ok).toBe(false);
    expect(r.exitCode).toBe(2);
    expect(check(r, 'arm-none-eabi-gcc')).toMatchObject({ status: 'missing', required: true, fix: 'sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi' });
    expect(check(r, 'newlib (nano.specs)')?.status).toBe('missing');
    const out = text(r);
    expect(out).toMatch(/^missing\s+arm-none-eabi-gcc\s/m);
    expect(out).toContain('arm-none-eabi-gcc, newlib (nano.specs): sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi');
    expect(out).toContain('Missing for the QEMU boards: arm-none-eabi-gcc, newlib (nano.specs) (exit code 2).');
  });

  it('newlib missing although gcc is there (gcc prints the bare specs name back)', async () => {
    const probes = fakeProbes({
      overrides: {
        run: async (file, args) => ({ code: 0, stdout: args[0] === '-print-file-name=nano.specs' ? 'nano.specs\n' : `${file} 1.0\n`, stderr: '' }),
      },
    });
    const r = await runDoctor({ probes, packages: [] });
    expect(r.exitCode).toBe(2);
    expect(check(r, 'arm-none-eabi-gcc')?.status).toBe('ok');
    expect(check(r, 'newlib (nano.specs)')).toMatchObject({ status: 'missing', fix: 'sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi' });
  });

  it('RISC-V toolchain and QEMU missing: picolibc and qemu-system-misc commands', async () => {
    const r = await runDoctor({ probes: fakeProbes({ missing: ['riscv64-unknown-elf-gcc', 'qemu-system-riscv32'] }), packages: [] });
    expect(r.exitCode).toBe(2);
    const out = text(r);
    expect(out).toContain('sudo apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf');
    expect(out).toContain('qemu-system-riscv32: sudo apt-get install qemu-system-misc');
  });

  it('Xtensa lx106 board: compiler, its picolibc beside it and qemu-system-xtensa are required', async () => {
    const ok = await runDoctor({ probes: fakeProbes(), packages: [] });
    expect(check(ok, 'lx106 picolibc (picolibc.specs)')).toMatchObject({ status: 'ok', detail: '/usr/lib/xtensa-lx106-elf/picolibc.specs', required: true });
    const noSpecs = await runDoctor({ probes: fakeProbes({ overrides: { fileExists: (f) => !f.endsWith('xtensa-lx106-elf/picolibc.specs') } }), packages: [] });
    expect(noSpecs.exitCode).toBe(2);
    expect(check(noSpecs, 'lx106 picolibc (picolibc.specs)')).toMatchObject({ status: 'missing', detail: '/usr/lib/xtensa-lx106-elf/picolibc.specs does not exist' });
    const r = await runDoctor({ probes: fakeProbes({ missing: ['xtensa-lx106-elf-gcc', 'qemu-system-xtensa'] }), packages: [] });
    expect(r.exitCode).toBe(2);
    const out = text(r);
    expect(out).toContain('sudo apt-get install gcc-xtensa-lx106 binutils-xtensa-lx106 picolibc-xtensa-lx106-elf');
    expect(out).toContain('qemu-system-xtensa: sudo apt-get install qemu-system-misc');
    expect(check(r, 'qemu-system-xtensa')?.neededFor).toContain('qemu-xtensa-lx106');
  });

  it('tools only real boards or tests need are reported but do not fail; ESP-IDF is named', async () => {
    const r = await runDoctor({ probes: fakeProbes({ missing: ['cc', 'xtensa-esp32-elf-gcc', 'xtensa-esp32s3-elf-gcc', 'riscv32-esp-elf-gcc', 'bossac', 'probe-rs', 'socat'] }), packages: [] });
    expect(r.exitCode).toBe(0);
    expect(check(r, 'xtensa-esp32-elf-gcc')).toMatchObject({ status: 'missing', required: false });
    const out = text(r);
    expect(out).toMatch(/xtensa-esp32-elf-gcc.*\(optional\): provided by ESP-IDF/);
    expect(out).toContain('cc (optional): sudo apt-get install gcc libc6-dev');
    expect(out).toContain('socat (optional): sudo apt-get install socat');
    expect(out).toContain('Everything the QEMU boards need is present.');
  });

  it('old Node, missing npm packages or a broken serialport binding fail', async () => {
    const old = await runDoctor({ probes: fakeProbes({ overrides: { nodeVersion: '18.19.0' } }), packages: [] });
    expect(old.exitCode).toBe(2);
    expect(check(old, 'node')?.detail).toMatch(/needs 20 or newer/);

    const pkgs = await runDoctor({ probes: fakeProbes({ overrides: { resolvePackage: (n) => (n === 'zod' ? undefined : `/x/${n}`) } }), packages: ['commander', 'zod'] });
    expect(pkgs.exitCode).toBe(2);
    expect(check(pkgs, 'npm packages')).toMatchObject({ status: 'missing', detail: 'not installed: zod', fix: 'npm ci (in the tinyforge directory)' });

    const binding = await runDoctor({
      probes: fakeProbes({ overrides: { loadSerialBinding: () => Promise.reject(new Error('No native build was found for platform=linux')) } }),
      packages: [],
    });
    expect(binding.exitCode).toBe(2);
    expect(check(binding, 'serialport binding')?.fix).toMatch(/^npm rebuild @serialport\/bindings-cpp/);
  });

  it('SerialPort.list() rejecting with ENOENT (no udevadm) is a warning, not a crash', async () => {
    const enoent = Object.assign(new Error('spawn udevadm ENOENT'), { code: 'ENOENT' });
    const r = await runDoctor({ probes: fakeProbes({ overrides: { listSerialPorts: () => Promise.reject(enoent) } }), packages: [] });
    expect(r.exitCode).toBe(0);
    expect(r.attached).toEqual([]);
    expect(check(r, 'attached boards')).toMatchObject({ status: 'warning', fix: 'sudo apt-get install udev' });
    expect(check(r, 'attached boards')?.detail).toMatch(/udevadm/);
    expect(text(r)).toMatch(/^warning\s+attached boards\s/m);

    const other = await runDoctor({ probes: fakeProbes({ overrides: { listSerialPorts: () => Promise.reject(new Error('boom')) } }), packages: [] });
    expect(check(other, 'attached boards')).toMatchObject({ status: 'warning', detail: 'cannot list serial ports: boom' });
  });

  it('serial permissions: not in dialout, in it only after the next login, devices that refuse', async () => {
    const outsider = await runDoctor({
      probes: fakeProbes({ overrides: { userGroups: () => ({ session: ['users'], configured: ['users'] }), accessDevice: () => 'EACCES' } }),
      packages: [],
    });
    expect(outsider.exitCode).toBe(0);
    expect(check(outsider, 'serial permissions')).toMatchObject({ status: 'warning', fix: expect.stringContaining('sudo usermod -aG dialout $USER') });
    expect(check(outsider, '/dev/ttyUSB0')?.status).toBe('warning');
    expect(outsider.checks.filter((c) => c.name === '/dev/ttyUSB0').map((c) => c.status)).toEqual(['warning', 'ok']);

    const pending = await runDoctor({ probes: fakeProbes({ overrides: { userGroups: () => ({ session: ['users'], configured: ['users', 'dialout'] }) } }), packages: [] });
    expect(check(pending, 'serial permissions')).toMatchObject({ status: 'warning', fix: expect.stringContaining('log out and in again') });

    const rootUser = await runDoctor({ probes: fakeProbes({ overrides: { uid: () => 0, userGroups: () => ({ session: ['root'], configured: ['root'] }) } }), packages: [] });
    expect(check(rootUser, 'serial permissions')).toMatchObject({ status: 'ok', detail: 'running as root' });
  });
});

describe('doctor on this machine', () => {
  it('returns a report with Node ok', async () => {
    const r = await runDoctor();
    expect(check(r, 'node')?.status).toBe('ok');
    expect(check(r, 'npm packages')?.status).toBe('ok');
    expect([0, 2]).toContain(r.exitCode);
    expect(r.ok).toBe(r.exitCode === 0);
    for (const c of r.checks) expect(['ok', 'missing', 'warning']).toContain(c.status);
  });

  it('tinyforge doctor --json agrees with its exit code', () => {
    const p = spawnSync(process.execPath, [BIN, 'doctor', '--json'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const envelope = JSON.parse(p.stdout) as { ok: boolean; result: DoctorReport };
    const report = envelope.result;
    expect(p.status).toBe(report.exitCode);
    expect(envelope.ok).toBe(report.ok);
    expect(report.checks.find((c) => c.name === 'node')?.status).toBe('ok');
  });

  it('with nothing on PATH: exit 2, the apt commands, and SerialPort.list() without udevadm is a warning', () => {
    const p = spawnSync(process.execPath, [BIN, 'doctor'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', PATH: '/nonexistent' } });
    expect(p.status, p.stderr).toBe(2);
    expect(p.stdout).toContain('sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi');
    expect(p.stdout).toContain('sudo apt-get install qemu-system-arm');
    expect(p.stdout).toMatch(/^ok\s+node\s/m);
    if (process.platform === 'linux') expect(p.stdout).toMatch(/^warning\s+attached boards\s.*udevadm/m);
  });
});
