// `tinyforge doctor`: is this machine ready to compile, emulate and flash? Every check says ok,
// missing or warning, what needs it, and for anything not ok the exact command that fixes it.
// The verdict (exit code) covers what the QEMU boards need; missing tools for real boards, the
// host target or the test suites are reported without failing it.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Board } from '../boards/board_schema.ts';
import { loadBoards } from '../boards/load_boards.ts';
import { EXIT_OK, EXIT_USER_ERROR } from '../errors.ts';
import { packagePath } from '../package_root.ts';
import { systemProbes, type DoctorProbes, type SerialPortInfo } from './probes.ts';

export type CheckStatus = 'ok' | 'missing' | 'warning';

export interface DoctorCheck {
  /** runtime, toolchain, emulator, tool, serial */
  group: string;
  name: string;
  status: CheckStatus;
  detail: string;
  /** Command (or instruction) that fixes a missing item or a warning. */
  fix?: string;
  /** What uses it: boards, targets, tests. */
  neededFor: string;
  /** Needed by the QEMU boards: when missing, doctor exits 2. */
  required: boolean;
}

export interface AttachedBoard {
  path: string;
  vid: string;
  pid: string;
  description: string;
  /** Boards whose uart.usb lists this VID:PID. */
  boards: string[];
}

export interface DoctorReport {
  /** Everything the QEMU boards need is present. */
  ok: boolean;
  /** 0 when ok, else 2. */
  exitCode: number;
  checks: DoctorCheck[];
  attached: AttachedBoard[];
}

export const MIN_NODE_MAJOR = 20;

const ESP_IDF_FIX =
  'provided by ESP-IDF, not by Debian: install ESP-IDF (https://docs.espressif.com/projects/esp-idf/en/stable/esp32/get-started/linux-macos-setup.html), then run `. $IDF_PATH/export.sh`';

/** Debian packages (or the instruction) for each program tinyforge or the board files use. */
export const DOCTOR_INSTALL: Readonly<Record<string, string>> = {
  cc: 'sudo apt-get install gcc libc6-dev',
  'arm-none-eabi-gcc': 'sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi',
  'riscv64-unknown-elf-gcc': 'sudo apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf',
  'xtensa-lx106-elf-gcc': 'sudo apt-get install gcc-xtensa-lx106 binutils-xtensa-lx106 picolibc-xtensa-lx106-elf',
  'xtensa-esp32-elf-gcc': ESP_IDF_FIX,
  'xtensa-esp32s3-elf-gcc': ESP_IDF_FIX,
  'riscv32-esp-elf-gcc': ESP_IDF_FIX,
  'qemu-system-arm': 'sudo apt-get install qemu-system-arm',
  'qemu-system-riscv32': 'sudo apt-get install qemu-system-misc',
  'qemu-system-riscv64': 'sudo apt-get install qemu-system-misc',
  'qemu-system-xtensa': 'sudo apt-get install qemu-system-misc',
  socat: 'sudo apt-get install socat',
  udevadm: 'sudo apt-get install udev',
  bossac: 'sudo apt-get install bossa-cli',
  openocd: 'sudo apt-get install openocd',
  'st-flash': 'sudo apt-get install stlink-tools',
  'dfu-util': 'sudo apt-get install dfu-util',
  'probe-rs': 'cargo install probe-rs-tools --locked (or the installer at https://probe.rs)',
};

/**
 * The tools that build and load the projects `tinyforge build` writes for real boards, beyond the
 * compilers and the flashing tools the board files name. `anyOf` lists programs that serve
 * equally (the first found counts). None of them is needed by the QEMU boards.
 */
interface SdkTool {
  name: string;
  anyOf: string[];
  uses: (b: Board) => boolean;
  neededFor: string;
  fix: string;
}

const isStm32 = (b: Board): boolean => b.flashing.method === 'stm32-uart';
const isCortexMBoard = (b: Board): boolean => b.flashing.method !== 'qemu' && b.core.startsWith('cortex-m');

const SDK_TOOLS: readonly SdkTool[] = [
  { name: 'cmake', anyOf: ['cmake'], uses: (b) => b.project === 'cmake', neededFor: 'building the CMake / pico-sdk projects of', fix: 'sudo apt-get install cmake' },
  { name: 'ninja or make', anyOf: ['ninja', 'make'], uses: (b) => b.project === 'cmake', neededFor: "CMake's build tool for the projects of", fix: 'sudo apt-get install ninja-build (or make)' },
  { name: 'idf.py', anyOf: ['idf.py'], uses: (b) => b.project === 'esp-idf', neededFor: 'building and flashing the ESP-IDF projects of', fix: ESP_IDF_FIX },
  // tinyforge flash talks to the ROM loader itself (esptool-js); idf.py flash and monitor run esptool.
  {
    name: 'esptool',
    anyOf: ['esptool.py', 'esptool'],
    uses: (b) => b.flashing.method === 'esp-rom',
    neededFor: 'idf.py flash (tinyforge flash needs no esptool: it uses esptool-js) on',
    fix: `${ESP_IDF_FIX} (esptool comes with it), or: pipx install esptool`,
  },
  { name: 'pio', anyOf: ['pio'], uses: (b) => b.project === 'arduino', neededFor: 'building the PlatformIO projects of', fix: 'pipx install platformio (or: python3 -m pip install --user platformio)' },
  { name: 'picotool', anyOf: ['picotool'], uses: (b) => b.flashing.method === 'uf2', neededFor: 'loading UF2 images without the BOOTSEL drive on', fix: 'sudo apt-get install picotool (or build it from https://github.com/raspberrypi/picotool)' },
  { name: 'st-flash or stm32flash', anyOf: ['st-flash', 'stm32flash'], uses: isStm32, neededFor: 'flashing through the ST-LINK (st-flash) or another UART loader (stm32flash) instead of the built-in one, for', fix: 'sudo apt-get install stlink-tools (or stm32flash)' },
  { name: 'probe-rs or openocd', anyOf: ['probe-rs', 'openocd'], uses: isCortexMBoard, neededFor: 'flashing and debugging over SWD / JTAG with a debug probe, for', fix: 'sudo apt-get install openocd (or probe-rs: cargo install probe-rs-tools --locked)' },
];

async function sdkToolChecks(probes: DoctorProbes, boards: readonly Board[]): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  for (const tool of SDK_TOOLS) {
    const ids = boards.filter(tool.uses).map((b) => b.id);
    if (ids.length === 0) continue;
    const found = tool.anyOf.map((p) => probes.findExecutable(p)).find((p) => p !== undefined);
    const espIdf = tool.fix === ESP_IDF_FIX;
    checks.push({
      group: 'sdk',
      name: tool.name,
      status: found ? 'ok' : 'missing',
      detail: found
        ? `${found}${await versionOf(probes, found).then((v) => (v ? ` (${v})` : ''))}`
        : espIdf
          ? 'not on PATH (expected unless ESP-IDF is installed and its export.sh sourced)'
          : 'not on PATH',
      ...(found ? {} : { fix: tool.fix }),
      neededFor: `${tool.neededFor} ${boardList(ids)}`,
      required: false,
    });
  }
  return checks;
}

/**
 * The C library a cross compiler must find, named by the specs file it ships. `besideCompiler`:
 * the specs file is not on the compiler's search path but in this directory relative to the
 * compiler's (Debian's lx106 picolibc; tinyforge passes it by path, see qemu_xtensa.ts).
 */
const LIBC_SPECS: Readonly<Record<string, { specs: string; libc: string; besideCompiler?: string }>> = {
  'arm-none-eabi-gcc': { specs: 'nano.specs', libc: 'newlib' },
  'riscv64-unknown-elf-gcc': { specs: 'picolibc.specs', libc: 'picolibc' },
  'xtensa-lx106-elf-gcc': { specs: 'picolibc.specs', libc: 'lx106 picolibc', besideCompiler: '../lib/xtensa-lx106-elf' },
};

export function installCommand(program: string): string {
  return DOCTOR_INSTALL[program] ?? `install \`${program}\` and put it on PATH`;
}

const isEspIdf = (program: string): boolean => DOCTOR_INSTALL[program] === ESP_IDF_FIX;

function boardList(ids: readonly string[]): string {
  return ids.length <= 2 ? ids.join(', ') : `${ids.slice(0, 2).join(', ')} +${ids.length - 2} more`;
}

function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.trim() !== '') ?? '').trim();
}

function errorText(e: unknown): string {
  return firstLine(e instanceof Error ? e.message : String(e));
}

/** npm packages the CLI loads: the dependencies of package.json. */
export function runtimePackages(): string[] {
  const manifest = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(manifest.dependencies ?? {}).sort();
}

/** Programs the boards need, each with the boards that use it and whether a QEMU board does. */
function programsOf(boards: readonly Board[], pick: (b: Board) => string | undefined): Map<string, { boards: string[]; required: boolean }> {
  const m = new Map<string, { boards: string[]; required: boolean }>();
  for (const b of boards) {
    const program = pick(b);
    if (program === undefined) continue;
    const entry = m.get(program) ?? { boards: [], required: false };
    entry.boards.push(b.id);
    if (b.flashing.method === 'qemu') entry.required = true;
    m.set(program, entry);
  }
  return new Map([...m].sort(([a, x], [b, y]) => Number(y.required) - Number(x.required) || a.localeCompare(b)));
}

async function versionOf(probes: DoctorProbes, file: string): Promise<string> {
  const r = await probes.run(file, ['--version']);
  return r.code === 0 ? firstLine(r.stdout) : '';
}

async function runtimeChecks(probes: DoctorProbes, packages: readonly string[]): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const major = Number(probes.nodeVersion.split('.')[0]);
  checks.push({
    group: 'runtime',
    name: 'node',
    status: major >= MIN_NODE_MAJOR ? 'ok' : 'missing',
    detail: major >= MIN_NODE_MAJOR ? `v${probes.nodeVersion}` : `v${probes.nodeVersion}; tinyforge needs ${MIN_NODE_MAJOR} or newer`,
    ...(major >= MIN_NODE_MAJOR ? {} : { fix: `install Node.js ${MIN_NODE_MAJOR} or newer (https://nodejs.org/en/download, or NodeSource's Debian packages)` }),
    neededFor: 'everything',
    required: true,
  });
  const unresolved = packages.filter((p) => probes.resolvePackage(p) === undefined);
  checks.push({
    group: 'runtime',
    name: 'npm packages',
    status: unresolved.length === 0 ? 'ok' : 'missing',
    detail: unresolved.length === 0 ? `${packages.length} of ${packages.length} resolvable` : `not installed: ${unresolved.join(', ')}`,
    ...(unresolved.length === 0 ? {} : { fix: 'npm ci (in the tinyforge directory)' }),
    neededFor: 'everything',
    required: true,
  });
  try {
    await probes.loadSerialBinding();
    checks.push({ group: 'runtime', name: 'serialport binding', status: 'ok', detail: 'native binding loads', neededFor: 'QEMU boards (pty), serial boards', required: true });
  } catch (e) {
    checks.push({
      group: 'runtime',
      name: 'serialport binding',
      status: 'missing',
      detail: `cannot load: ${errorText(e)}`,
      fix: 'npm rebuild @serialport/bindings-cpp (building it needs: sudo apt-get install build-essential python3)',
      neededFor: 'QEMU boards (pty), serial boards',
      required: true,
    });
  }
  return checks;
}

async function compilerChecks(probes: DoctorProbes, boards: readonly Board[]): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const cc = probes.findExecutable('cc');
  checks.push({
    group: 'toolchain',
    name: 'cc',
    status: cc ? 'ok' : 'missing',
    detail: cc ? `${cc}${await versionOf(probes, cc).then((v) => (v ? ` (${v})` : ''))}` : 'host C compiler not on PATH',
    ...(cc ? {} : { fix: installCommand('cc') }),
    neededFor: 'host target (run/validate --target host)',
    required: false,
  });
  for (const [compiler, use] of programsOf(boards, (b) => b.toolchain.compiler)) {
    const neededFor = use.required ? `QEMU boards: ${boardList(use.boards.filter((id) => boards.find((b) => b.id === id)?.flashing.method === 'qemu'))}` : boardList(use.boards);
    const found = probes.findExecutable(compiler);
    const espIdf = isEspIdf(compiler);
    checks.push({
      group: 'toolchain',
      name: compiler,
      status: found ? 'ok' : 'missing',
      detail: found
        ? `${found}${await versionOf(probes, found).then((v) => (v ? ` (${v})` : ''))}`
        : espIdf
          ? 'not on PATH (expected unless ESP-IDF is installed and its export.sh sourced)'
          : 'not on PATH',
      ...(found ? {} : { fix: installCommand(compiler) }),
      neededFor,
      required: use.required,
    });
    const libc = LIBC_SPECS[compiler];
    if (libc === undefined) continue;
    const name = `${libc.libc} (${libc.specs})`;
    if (!found) {
      checks.push({ group: 'toolchain', name, status: 'missing', detail: `needs ${compiler}`, fix: installCommand(compiler), neededFor, required: use.required });
      continue;
    }
    let specsPath: string;
    let present: boolean;
    if (libc.besideCompiler !== undefined) {
      specsPath = path.resolve(path.dirname(found), libc.besideCompiler, libc.specs);
      present = probes.fileExists(specsPath);
    } else {
      // gcc prints the bare name back when it cannot find the file.
      const r = await probes.run(found, [`-print-file-name=${libc.specs}`]);
      const printed = firstLine(r.stdout);
      specsPath = path.isAbsolute(printed) ? path.normalize(printed) : printed;
      present = r.code === 0 && path.isAbsolute(specsPath) && probes.fileExists(specsPath);
    }
    checks.push({
      group: 'toolchain',
      name,
      status: present ? 'ok' : 'missing',
      detail: present ? specsPath : libc.besideCompiler !== undefined ? `${specsPath} does not exist` : `${compiler} does not find ${libc.specs}`,
      ...(present ? {} : { fix: installCommand(compiler) }),
      neededFor,
      required: use.required,
    });
  }
  return checks;
}

async function programChecks(
  probes: DoctorProbes,
  group: string,
  programs: Map<string, { boards: string[]; required: boolean }>,
  neededFor: (use: { boards: string[]; required: boolean }) => string,
): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  for (const [program, use] of programs) {
    const found = probes.findExecutable(program);
    checks.push({
      group,
      name: program,
      status: found ? 'ok' : 'missing',
      detail: found ? `${found}${await versionOf(probes, found).then((v) => (v ? ` (${v})` : ''))}` : 'not on PATH',
      ...(found ? {} : { fix: installCommand(program) }),
      neededFor: neededFor(use),
      required: use.required,
    });
  }
  return checks;
}

const SERIAL_GROUPS = ['dialout', 'uucp'];

function permissionChecks(probes: DoctorProbes): DoctorCheck[] {
  const neededFor = 'flashing and talking to USB boards';
  if (probes.platform !== 'linux') {
    return [{ group: 'serial', name: 'serial permissions', status: 'ok', detail: `not checked on ${probes.platform}`, neededFor, required: false }];
  }
  const checks: DoctorCheck[] = [];
  const uid = probes.uid();
  const { session, configured } = probes.userGroups();
  const inSession = SERIAL_GROUPS.find((g) => session.includes(g));
  const inConfig = SERIAL_GROUPS.find((g) => configured.includes(g));
  if (uid === 0) {
    checks.push({ group: 'serial', name: 'serial permissions', status: 'ok', detail: 'running as root', neededFor, required: false });
  } else if (inSession) {
    checks.push({ group: 'serial', name: 'serial permissions', status: 'ok', detail: `member of group ${inSession}`, neededFor, required: false });
  } else if (inConfig) {
    checks.push({
      group: 'serial',
      name: 'serial permissions',
      status: 'warning',
      detail: `in group ${inConfig} per /etc/group, but not in this login session`,
      fix: `log out and in again (or run \`newgrp ${inConfig}\`)`,
      neededFor,
      required: false,
    });
  } else {
    checks.push({
      group: 'serial',
      name: 'serial permissions',
      status: 'warning',
      detail: 'not root and not in group dialout or uucp: USB serial ports will refuse to open',
      fix: 'sudo usermod -aG dialout $USER, then log out and in again (Arch: group uucp)',
      neededFor,
      required: false,
    });
  }
  const devices = probes.serialDevices();
  if (devices.length === 0) {
    checks.push({ group: 'serial', name: 'USB serial devices', status: 'ok', detail: 'none present (/dev/ttyUSB*, /dev/ttyACM*)', neededFor, required: false });
  }
  for (const device of devices) {
    const err = probes.accessDevice(device);
    checks.push({
      group: 'serial',
      name: device,
      status: err === undefined ? 'ok' : 'warning',
      detail: err === undefined ? 'can be opened for reading and writing' : `cannot be opened (${err})`,
      ...(err === undefined ? {} : { fix: 'sudo usermod -aG dialout $USER, then log out and in again' }),
      neededFor,
      required: false,
    });
  }
  return checks;
}

function hex4(id: string | undefined): string | undefined {
  return id === undefined ? undefined : id.toLowerCase().replace(/^0x/, '').padStart(4, '0');
}

async function attachedBoardChecks(probes: DoctorProbes, boards: readonly Board[]): Promise<{ checks: DoctorCheck[]; attached: AttachedBoard[] }> {
  const neededFor = 'picking a board\'s port (flash, validate on a device)';
  let ports: SerialPortInfo[];
  try {
    ports = await probes.listSerialPorts();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const udevMissing = code === 'ENOENT';
    return {
      checks: [
        {
          group: 'serial',
          name: 'attached boards',
          status: 'warning',
          detail: udevMissing ? 'cannot list serial ports: `udevadm` is not installed (SerialPort.list() runs it)' : `cannot list serial ports: ${errorText(e)}`,
          fix: udevMissing ? installCommand('udevadm') : 'give the port explicitly (--port /dev/ttyUSB0)',
          neededFor,
          required: false,
        },
      ],
      attached: [],
    };
  }
  const attached: AttachedBoard[] = [];
  for (const port of ports) {
    const vid = hex4(port.vendorId);
    const pid = hex4(port.productId);
    if (vid === undefined || pid === undefined) continue;
    const matching = boards.filter((b) => b.uart.usb.some((u) => u.vid === vid && u.pid === pid));
    if (matching.length === 0) continue;
    const description = matching.flatMap((b) => b.uart.usb).find((u) => u.vid === vid && u.pid === pid)?.description ?? port.manufacturer ?? '';
    attached.push({ path: port.path, vid, pid, description, boards: matching.map((b) => b.id) });
  }
  const checks: DoctorCheck[] = attached.map((a) => ({
    group: 'serial',
    name: a.path,
    status: 'ok' as const,
    detail: `${a.vid}:${a.pid} ${a.description} -> ${boardList(a.boards)}`,
    neededFor,
    required: false,
  }));
  if (attached.length === 0) {
    checks.push({
      group: 'serial',
      name: 'attached boards',
      status: 'ok',
      detail: `none of ${ports.length} serial port(s) has the USB VID:PID of a known board`,
      neededFor,
      required: false,
    });
  }
  return { checks, attached };
}

export interface DoctorOptions {
  probes?: DoctorProbes;
  boards?: readonly Board[];
  /** npm packages to look for; default: package.json dependencies. */
  packages?: readonly string[];
}

export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const probes = opts.probes ?? systemProbes();
  const boards = opts.boards ?? loadBoards();
  const packages = opts.packages ?? runtimePackages();
  const emulators = programsOf(boards, (b) => b.emulator?.program);
  const flashTools = programsOf(boards, (b) => (b.flashing.method === 'external' ? b.flashing.command[0] : undefined));
  const serial = await attachedBoardChecks(probes, boards);
  const checks = [
    ...(await runtimeChecks(probes, packages)),
    ...(await compilerChecks(probes, boards)),
    ...(await programChecks(probes, 'emulator', emulators, (u) => `QEMU boards: ${boardList(u.boards)}`)),
    ...(await programChecks(probes, 'tool', flashTools, (u) => `flashing ${boardList(u.boards)}`)),
    ...(await sdkToolChecks(probes, boards)),
    ...(await programChecks(probes, 'tool', new Map([['socat', { boards: [], required: false }]]), () => 'serial test suites (pty pairs)')),
    ...permissionChecks(probes),
    ...serial.checks,
  ];
  const ok = checks.every((c) => !c.required || c.status !== 'missing');
  return { ok, exitCode: ok ? EXIT_OK : EXIT_USER_ERROR, checks, attached: serial.attached };
}
