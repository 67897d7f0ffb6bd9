// Flashing backends against device simulators on a pseudo-terminal pair (socat), UF2 against a
// temporary directory standing in for the drive, and external tools against small scripts.

import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Board } from '../compiler/boards/board_schema.ts';
import { findBoard } from '../compiler/boards/load_boards.ts';
import { TinyforgeError, EXIT_DEVICE_ERROR, EXIT_USER_ERROR } from '../compiler/errors.ts';
import { createFlashBackend, FlashError, type FlashOptions, type FlashProgress, type FlashResult } from '../flasher/backend.ts';
import { EspRomBackend } from '../flasher/backends/esp_rom.ts';
import { EsptoolJsBackend } from '../flasher/backends/esptool_js.ts';
import { Stm32UartBackend } from '../flasher/backends/stm32_uart.ts';
import { parseUf2, toUf2, Uf2Backend, UF2_FLAG_FAMILY_ID } from '../flasher/backends/uf2.ts';
import { SerialTransport } from '../flasher/transport/serial_transport.ts';
import { openPtyPair } from './helpers/pty_pair.ts';
import { EspRomSim, type EspSimOptions } from './sim/esp_rom_sim.ts';
import { Stm32BootloaderSim, type Stm32SimOptions } from './sim/stm32_bootloader_sim.ts';

// ---- a pty pair per test ----

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function deviceEnd(parity: 'even' | 'none'): Promise<{ port: string; transport: SerialTransport }> {
  const pair = await openPtyPair();
  const transport = await SerialTransport.open({ path: pair.device, baudRate: 115200, parity });
  cleanups.push(async () => {
    await transport.close();
    pair.socat.kill();
  });
  return { port: pair.host, transport };
}

async function stm32Sim(opts: Stm32SimOptions = {}): Promise<{ port: string; sim: Stm32BootloaderSim }> {
  const { port, transport } = await deviceEnd('even');
  const sim = new Stm32BootloaderSim(transport, opts).start();
  cleanups.push(() => sim.stop());
  return { port, sim };
}

async function espSim(opts: EspSimOptions = {}): Promise<{ port: string; sim: EspRomSim }> {
  const { port, transport } = await deviceEnd('none');
  const sim = new EspRomSim(transport, opts).start();
  cleanups.push(() => sim.stop());
  return { port, sim };
}

/** Deterministic bytes with some structure, so deflate has something to do but not everything. */
function testImage(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = i % 64 < 24 ? i & 0xff : x & 0xff;
  }
  return out;
}

async function flashError(p: Promise<FlashResult>): Promise<FlashError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(FlashError);
    return e as FlashError;
  }
  throw new Error('flashing succeeded but should have failed');
}

function recorder(): { opts: FlashOptions; logs: string[]; phases: FlashProgress['phase'][] } {
  const logs: string[] = [];
  const phases: FlashProgress['phase'][] = [];
  return {
    logs,
    phases,
    opts: {
      log: (l) => logs.push(l),
      onProgress: (p) => {
        if (phases[phases.length - 1] !== p.phase) phases.push(p.phase);
      },
    },
  };
}

// ---- stm32-uart ----

describe('stm32-uart against the AN3155 bootloader simulator', () => {
  const board = findBoard('nucleo-f446re');
  const base = 0x0800_0000;

  it('flashes a 20 KB image, erases only the sectors it needs, verifies and jumps to the start address', async () => {
    const { port, sim } = await stm32Sim();
    const image = testImage(20 * 1024 + 6);
    const rec = recorder();
    const result = await createFlashBackend(board).flash({ data: image, address: base }, { ...rec.opts, port });

    expect(result).toMatchObject({ method: 'stm32-uart', verified: true, bytesWritten: image.length });
    expect(sim.read(base, image.length)).toEqual(image);
    // padded to a multiple of 4 with the erased value, the rest of the sector erased
    expect([...sim.read(base + image.length, 2)]).toEqual([0xff, 0xff]);
    expect(sim.read(base + 0x8000 - 16, 16).every((b) => b === 0xff)).toBe(true);
    // sector 2 (0x08008000..) was not touched: still the old contents
    expect(sim.read(base + 0x8000, 16).every((b) => b === 0x3c)).toBe(true);
    expect(sim.erasedUnits).toEqual([0, 1]);
    expect(sim.massErases).toBe(0);
    expect(sim.goAddress).toBe(base);
    expect(sim.writes.every(([, n]) => n <= 256 && n % 4 === 0)).toBe(true);
    expect(sim.reads.reduce((s, [, n]) => s + n, 0)).toBe(image.length);
    expect(sim.commands.slice(0, 3)).toEqual([0x00, 0x02, 0x44]);
    expect(sim.commands[sim.commands.length - 1]).toBe(0x21);
    expect(rec.phases).toEqual(['connect', 'erase', 'write', 'verify', 'run']);
    expect(rec.logs.join('\n')).toMatch(/product id 0x421 \(STM32F446\)/);
  });

  it('detects a corrupted block on read-back and reports the address and a partial image', async () => {
    const bad = base + 5000;
    const { port, sim } = await stm32Sim({ faults: { corruptWriteAt: bad } });
    const e = await flashError(createFlashBackend(board).flash({ data: testImage(20 * 1024), address: base }, { port }));
    expect(e.phase).toBe('verify');
    expect(e.address).toBe(bad);
    expect(e.partial).toBe(true);
    expect(e.exitCode).toBe(EXIT_DEVICE_ERROR);
    expect(e.message).toContain('0x08001388');
    expect(e.message).toMatch(/partial or corrupt image/);
    expect(sim.goAddress).toBeUndefined();
  });

  it('retries a block the bootloader NACKed once', async () => {
    const { port, sim } = await stm32Sim({ faults: { nackOnce: { command: 0x31, occurrence: 3 } } });
    const image = testImage(20 * 1024, 7);
    const rec = recorder();
    const result = await createFlashBackend(board).flash({ data: image, address: base }, { ...rec.opts, port });
    expect(result.verified).toBe(true);
    expect(sim.nacksSent).toBe(1);
    expect(sim.read(base, image.length)).toEqual(image);
    expect(rec.logs.join('\n')).toMatch(/WRITE MEMORY at 0x08000200.*NACK.*retrying \(1\/3\)/);
  });

  it('retries a read whose answer was lost', async () => {
    const { port, sim } = await stm32Sim({ faults: { dropReplyOnce: { command: 0x11, occurrence: 4 } } });
    const image = testImage(4096, 9);
    const result = await createFlashBackend(board).flash({ data: image, address: base }, { port, timeoutMs: 1000 });
    expect(result.verified).toBe(true);
    expect(sim.reads.length).toBe(4096 / 256 + 1);
  });

  it('says clearly when nothing answers the sync byte', async () => {
    const { port, sim } = await stm32Sim({ faults: { silent: true } });
    const backend = new Stm32UartBackend(board, board.flashing as Extract<Board['flashing'], { method: 'stm32-uart' }>, { syncAttempts: 4, syncTimeoutMs: 100 });
    const e = await flashError(backend.flash({ data: testImage(1024), address: base }, { port }));
    expect(e.phase).toBe('connect');
    expect(e.flashState).toBe('untouched');
    expect(e.message).toMatch(/no answer to sync \(0x7f\).*after 4 tries.*BOOT0/);
    expect(e.message).toMatch(/flash memory was not changed/);
    expect(sim.commands).toEqual([]);
  });

  it('uses the legacy ERASE command with page numbers when GET lists only 0x43', async () => {
    const { port, sim } = await stm32Sim({ pid: 0x410, units: new Array<number>(128).fill(1024), eraseCommand: 0x43 });
    const image = testImage(3000, 3);
    await createFlashBackend(board).flash({ data: image, address: base + 1024 }, { port });
    expect(sim.erasedUnits).toEqual([1, 2, 3]);
    expect(sim.read(base + 1024, image.length)).toEqual(image);
    expect(sim.read(base, 16).every((b) => b === 0x3c)).toBe(true);
  });

  it('mass-erases a chip whose sector map it does not know, and says why', async () => {
    const { port, sim } = await stm32Sim({ pid: 0x4ff });
    const rec = recorder();
    await createFlashBackend(board).flash({ data: testImage(600), address: base }, { ...rec.opts, port });
    expect(sim.massErases).toBe(1);
    expect(rec.logs.join('\n')).toMatch(/mass erase: product id 0x4ff is not in tinyforge's sector maps/);
  });

  it('refuses an image outside the board flash before opening the port', async () => {
    const e = createFlashBackend(board).flash({ data: new Uint8Array(16), address: 0x2000_0000 }, { port: '/dev/null' });
    await expect(e).rejects.toThrow(/does not fit the flash of nucleo-f446re/);
    await expect(createFlashBackend(board).flash({ data: new Uint8Array(16), address: base }, {})).rejects.toThrow(/pass --port/);
  });
});

// ---- esp-rom ----

// The hand-written ROM-protocol backend (flashing now goes through esptool-js, see
// test/esptool_flash.test.ts); kept as a second, independent client of the simulator.
describe('esp-rom (EspRomBackend, our own ROM protocol) against the ROM loader simulator', () => {
  const rom = (board: Board): EspRomBackend => new EspRomBackend(board, board.flashing as Extract<Board['flashing'], { method: 'esp-rom' }>);
  const esp32 = findBoard('esp32-devkitc');
  const offset = 0x10000;
  const appImage = (n: number, seed = 5): Uint8Array => {
    const d = testImage(n, seed);
    d[0] = 0xe9;
    return d;
  };

  it('flashes deflated blocks that the loader inflates, verifies the MD5 and resets', async () => {
    const { port, sim } = await espSim({ chip: 'esp32' });
    const image = appImage(20 * 1024 + 3);
    const rec = recorder();
    const result = await rom(esp32).flash({ data: image, address: offset }, { ...rec.opts, port });

    expect(result).toMatchObject({ method: 'esp-rom', verified: true, bytesWritten: image.length });
    expect(sim.flash.subarray(offset, offset + image.length)).toEqual(image);
    expect(sim.flash.subarray(offset - 16, offset).every((b) => b === 0x5a)).toBe(true); // before: untouched
    expect(sim.flash.subarray(offset + image.length, offset + 0x6000).every((b) => b === 0xff)).toBe(true); // erased tail
    expect(sim.baud).toBe(460800);
    expect(sim.spiAttached).toBe(true);
    const [eraseSize, blocks, blockSize, beginOffset] = sim.beginParams!;
    expect(sim.beginParams).toHaveLength(4);
    expect(beginOffset).toBe(offset);
    expect(blockSize).toBe(0x400);
    expect(eraseSize).toBe(Math.ceil(image.length / 0x400) * 0x400);
    expect(sim.blocksWritten).toBe(blocks);
    expect(blocks).toBeLessThan(Math.ceil(image.length / 0x400)); // it really was compressed
    expect(sim.commands).toContain(0x13);
    expect(sim.endFlag).toBe(1);
    expect(rec.phases).toEqual(['connect', 'erase', 'write', 'verify', 'run']);
    expect(rec.logs.join('\n')).toContain(`MD5 ${createHash('md5').update(image).digest('hex')} verified`);
  });

  it('sends the fifth FLASH_DEFL_BEGIN word to the ESP32-S3 ROM and identifies the -C3 too', async () => {
    const s3 = await espSim({ chip: 'esp32s3' });
    const image = appImage(5000, 11);
    await rom(findBoard('esp32-s3-devkitc-1')).flash({ data: image, address: offset }, { port: s3.port });
    expect(s3.sim.beginParams).toEqual([5120, expect.any(Number), 0x400, offset, 0]);
    expect(s3.sim.baud).toBe(921600);
    expect(s3.sim.flash.subarray(offset, offset + image.length)).toEqual(image);

    const c3 = await espSim({ chip: 'esp32c3' });
    await rom(findBoard('esp32-c3-devkitm-1')).flash({ data: image, address: offset }, { port: c3.port });
    expect(c3.sim.flash.subarray(offset, offset + image.length)).toEqual(image);
  });

  it('catches a corrupted block with the MD5 check', async () => {
    const { port, sim } = await espSim({ chip: 'esp32', faults: { corruptBlock: 2 } });
    const e = await flashError(rom(esp32).flash({ data: appImage(20 * 1024), address: offset }, { port }));
    expect(e.phase, e.message).toBe('verify');
    expect(e.message).toMatch(/MD5 mismatch for 20480 bytes at flash offset 0x00010000/);
    expect(e.partial).toBe(true);
    expect(sim.endFlag).toBeUndefined();
  });

  it('refuses a chip that is not the board’s', async () => {
    const { port, sim } = await espSim({ chip: 'esp32s3' });
    const e = await flashError(rom(esp32).flash({ data: appImage(1024), address: offset }, { port }));
    expect(e.phase).toBe('connect');
    expect(e.flashState).toBe('untouched');
    expect(e.message).toMatch(/is ESP32-S3, but board esp32-devkitc has ESP32/);
    expect(sim.commands).not.toContain(0x10);
  });

  it('retries a block the loader rejected once and one whose answer was lost', async () => {
    const a = await espSim({ faults: { nackOnce: { command: 0x11, occurrence: 2 } } });
    const image = appImage(12 * 1024, 13);
    const rec = recorder();
    expect((await rom(esp32).flash({ data: image, address: offset }, { ...rec.opts, port: a.port })).verified).toBe(true);
    expect(a.sim.errorsSent).toBeGreaterThanOrEqual(1);
    expect(rec.logs.join('\n')).toMatch(/block 2\/\d+: .*invalid CRC.*retrying/);
    expect(a.sim.flash.subarray(offset, offset + image.length)).toEqual(image);

    const b = await espSim({ faults: { dropReplyOnce: { command: 0x11, occurrence: 3 } } });
    expect((await rom(esp32).flash({ data: image, address: offset }, { port: b.port, timeoutMs: 1000 })).verified).toBe(true);
    expect(b.sim.duplicateBlocks).toBe(1);
    expect(b.sim.flash.subarray(offset, offset + image.length)).toEqual(image);
  });

  it('says clearly when the loader does not answer SYNC', async () => {
    const { port } = await espSim({ faults: { silent: true } });
    const backend = new EspRomBackend(esp32, esp32.flashing as Extract<Board['flashing'], { method: 'esp-rom' }>, { resetModes: ['classic', 'usb-jtag'], syncsPerAttempt: 3 });
    const e = await flashError(backend.flash({ data: appImage(1024), address: offset }, { port }));
    expect(e.message).toMatch(/no answer to SYNC.*after 2 resets.*hold BOOT/);
    expect(e.flashState).toBe('untouched');
  });
});

// ---- uf2 ----

describe('uf2', () => {
  const pico = findBoard('rpi-pico');
  const family = 0xe48bff56;
  const base = 0x1000_0000;

  it('round-trips a 100 KB image through the encoder and parseUf2, with the fields of the spec', () => {
    const image = testImage(100 * 1024 + 77, 21);
    const file = toUf2(image, base, family);
    const n = Math.ceil(image.length / 256);
    expect(file.length).toBe(n * 512);
    const v = new DataView(file.buffer);
    for (let i = 0; i < n; i++) {
      const o = i * 512;
      expect(v.getUint32(o, true)).toBe(0x0a324655);
      expect(v.getUint32(o + 4, true)).toBe(0x9e5d5157);
      expect(v.getUint32(o + 8, true)).toBe(0x00002000);
      expect(v.getUint32(o + 12, true)).toBe(base + i * 256);
      expect(v.getUint32(o + 16, true)).toBe(256);
      expect(v.getUint32(o + 20, true)).toBe(i);
      expect(v.getUint32(o + 24, true)).toBe(n);
      expect(v.getUint32(o + 28, true)).toBe(family);
      expect(file.subarray(o + 32 + 256, o + 508).every((b) => b === 0)).toBe(true);
      expect(v.getUint32(o + 508, true)).toBe(0x0ab16f30);
    }
    expect(Buffer.from(file.subarray(0, 4)).toString('latin1')).toBe('UF2\n');
    const parsed = parseUf2(file);
    expect(parsed.blocks).toHaveLength(n);
    expect(parsed.blocks.every((b) => b.flags === UF2_FLAG_FAMILY_ID && b.numBlocks === n)).toBe(true);
    expect(parsed.familyId).toBe(family);
    expect(parsed.address).toBe(base);
    expect(parsed.data.subarray(0, image.length)).toEqual(image);
    expect(parsed.data.subarray(image.length).every((b) => b === 0xff)).toBe(true);
  });

  it('aligns an image that does not start on a 256-byte page', () => {
    const image = testImage(300, 2);
    const parsed = parseUf2(toUf2(image, base + 0x110, family));
    expect(parsed.address).toBe(base + 0x100);
    expect(parsed.blocks).toHaveLength(2);
    expect(parsed.data.subarray(0x10, 0x10 + 300)).toEqual(image);
    expect(parsed.data.subarray(0, 0x10).every((b) => b === 0xff)).toBe(true);
  });

  it('rejects malformed UF2 files', () => {
    const file = toUf2(testImage(512), base, family);
    expect(() => parseUf2(file.subarray(0, 700))).toThrow(/512-byte blocks/);
    const broken = file.slice();
    broken[512 + 509] = broken[512 + 509]! ^ 0xff;
    expect(() => parseUf2(broken)).toThrow(/block 1: bad magic/);
  });

  it('copies the UF2 to the drive found by its volume label', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-media-'));
    const drive = path.join(root, 'RPI-RP2');
    mkdirSync(drive);
    writeFileSync(path.join(drive, 'INFO_UF2.TXT'), 'UF2 Bootloader v3.0\nBoard-ID: RPI-RP2\n');
    const image = testImage(100 * 1024, 4);
    const rec = recorder();
    const result = await createFlashBackend(pico, undefined, { uf2SearchRoots: [path.join(root, 'nothing-here'), root] }).flash({ data: image, address: base }, rec.opts);
    expect(result).toMatchObject({ method: 'uf2', verified: false, bytesWritten: image.length });
    expect(readdirSync(drive).sort()).toEqual(['INFO_UF2.TXT', 'tinyforge.uf2']);
    const parsed = parseUf2(new Uint8Array(readFileSync(path.join(drive, 'tinyforge.uf2'))));
    expect(parsed.familyId).toBe(family);
    expect(parsed.data.subarray(0, image.length)).toEqual(image);
    expect(rec.logs[0]).toBe(`UF2 drive: ${drive}`);

    // an explicit --drive wins over the search
    const other = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-drive-'));
    await createFlashBackend(pico, undefined, { uf2SearchRoots: [root] }).flash({ data: image, address: base }, { drive: other });
    expect(readdirSync(other)).toEqual(['tinyforge.uf2']);
  });

  it('tells the user to hold BOOTSEL when the drive is not mounted', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-media-'));
    const backend = new Uf2Backend(pico, pico.flashing as Extract<Board['flashing'], { method: 'uf2' }>, { searchRoots: [root] });
    const e = await flashError(backend.flash({ data: testImage(1000), address: base }, {}));
    expect(e.phase).toBe('connect');
    expect(e.message).toMatch(/no drive labelled RPI-RP2 is mounted.*hold the BOOTSEL button.*--drive/);
    await expect(backend.flash({ data: testImage(10), address: base }, { drive: path.join(root, 'gone') })).rejects.toThrow(/is not a mounted directory/);
  });
});

// ---- external ----

describe('external tools', () => {
  const nrf = findBoard('nrf52840-dk');
  const withCommand = (command: string[]): Board => ({ ...nrf, flashing: { method: 'external', command } });

  it('runs the command with {image}, {elf} and {port} substituted, no shell, streaming its output', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-ext-'));
    const script = path.join(dir, 'fake-flasher.mjs');
    writeFileSync(
      script,
      [
        "import { copyFileSync, writeFileSync } from 'node:fs';",
        'const args = process.argv.slice(2);',
        `writeFileSync(${JSON.stringify(path.join(dir, 'args.json'))}, JSON.stringify(args));`,
        `copyFileSync(args[1], ${JSON.stringify(path.join(dir, 'got.bin'))});`,
        "console.log('Erasing... done');",
        "console.error('Programming 100%');",
      ].join('\n'),
    );
    const image = testImage(3000, 8);
    const rec = recorder();
    const backend = createFlashBackend(withCommand([process.execPath, script, '--port={port}', '{image}', '--elf', '{elf}', '$HOME;*']));
    const result = await backend.flash({ data: image, address: 0, elfPath: '/tmp/app.elf' }, { ...rec.opts, port: '/dev/ttyACM7' });
    expect(result).toMatchObject({ method: 'external', verified: false });
    const args = JSON.parse(readFileSync(path.join(dir, 'args.json'), 'utf8')) as string[];
    expect(args[0]).toBe('--port=/dev/ttyACM7');
    expect(args[1]).toMatch(/image\.bin$/);
    expect(args.slice(2)).toEqual(['--elf', '/tmp/app.elf', '$HOME;*']);
    expect(new Uint8Array(readFileSync(path.join(dir, 'got.bin')))).toEqual(image);
    expect(rec.logs).toContain('Erasing... done');
    expect(rec.logs).toContain('Programming 100%');
  });

  it('names a missing program and how to install it', async () => {
    const e = await flashError(createFlashBackend(withCommand(['tinyforge-no-such-flasher', '{image}'])).flash({ data: testImage(10), address: 0 }, {}));
    expect(e.message).toMatch(/tinyforge-no-such-flasher \(the flasher board nrf52840-dk uses\) was not found on PATH/);
    expect(e.flashState).toBe('untouched');

    const savedPath = process.env.PATH;
    process.env.PATH = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-empty-path-'));
    try {
      const bossac = findBoard('arduino-nano-33-ble');
      const e2 = await flashError(createFlashBackend(bossac).flash({ data: testImage(10), address: 0x10000 }, { port: '/dev/ttyACM0' }));
      expect(e2.message).toMatch(/bossac .*not found on PATH: install it with `sudo apt-get install bossa-cli`/);
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('reports a non-zero exit with the tail of the output', async () => {
    const script = 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo "progress $i"; done; echo "Error: no probe found" >&2; exit 3';
    const e = await flashError(createFlashBackend(withCommand(['sh', '-c', script, '{image}'])).flash({ data: testImage(10), address: 0 }, {}));
    expect(e.phase).toBe('write');
    expect(e.message).toMatch(/sh exited with status 3; last output: .*progress 20.*Error: no probe found/);
    expect(e.message).not.toContain('progress 5 ');
    expect(e.message).not.toContain('\n');
    expect(e.partial).toBe(true);
  });

  it('stops a tool that runs past the timeout', async () => {
    const e = await flashError(createFlashBackend(withCommand(['sh', '-c', 'echo started; sleep 10', '{image}'])).flash({ data: testImage(10), address: 0 }, { timeoutMs: 300 }));
    expect(e.message).toMatch(/sh did not finish within 0 s and was stopped; last output: started/);
  });

  it('asks for what a placeholder needs', async () => {
    const e = await createFlashBackend(nrf)
      .flash({ data: testImage(10), address: 0 }, {})
      .then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(TinyforgeError);
    expect(e).not.toBeInstanceOf(FlashError);
    expect((e as TinyforgeError).exitCode).toBe(EXIT_USER_ERROR);
    expect((e as Error).message).toMatch(/probe-rs download .*needs \{elf\}/);
  });
});

describe('createFlashBackend', () => {
  it('picks the backend from board.flashing.method and sends QEMU boards elsewhere', () => {
    expect(createFlashBackend(findBoard('nucleo-h743zi')).method).toBe('stm32-uart');
    expect(createFlashBackend(findBoard('esp32-devkitc')).method).toBe('esp-rom');
    expect(createFlashBackend(findBoard('esp32-s3-devkitc-1'))).toBeInstanceOf(EsptoolJsBackend);
    expect(createFlashBackend(findBoard('rpi-pico')).method).toBe('uf2');
    expect(createFlashBackend(findBoard('nrf52840-dk')).method).toBe('external');
    let err: unknown;
    try {
      createFlashBackend(findBoard('qemu-mps2-an386'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TinyforgeError);
    expect((err as TinyforgeError).exitCode).toBe(EXIT_USER_ERROR);
    expect((err as Error).message).toMatch(/emulated under QEMU.*--target qemu-mps2-an386/);
  });
});
