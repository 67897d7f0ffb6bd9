// Flashing ESP boards with esptool-js (flasher/backends/esptool_js.ts) through our serialport
// transport, against the ROM + flasher-stub simulator (test/sim/esp_rom_sim.ts) on a pty pair:
// the stub upload, compressed writes, MD5 verify, an ESP-IDF image set from flasher_args.json, a
// chip reset in the middle of a write, and the images refused before the device is touched.

import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Board } from '../compiler/boards/board_schema.ts';
import { findBoard } from '../compiler/boards/load_boards.ts';
import { EXIT_USER_ERROR, TinyforgeError } from '../compiler/errors.ts';
import { execTool } from '../compiler/targets/toolchain.ts';
import { FlashError, type FlashOptions, type FlashPhase } from '../flasher/backend.ts';
import { EsptoolJsBackend, type EspImagePart } from '../flasher/backends/esptool_js.ts';
import { loadFlasherArgs } from '../flasher/esp_idf_images.ts';
import { SerialTransport } from '../flasher/transport/serial_transport.ts';
import { openPtyPair } from './helpers/pty_pair.ts';
import { EspRomSim, type EspSimOptions } from './sim/esp_rom_sim.ts';

const BIN = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
const s3 = findBoard('esp32-s3-devkitc-1');
const s3Flashing = s3.flashing as Extract<Board['flashing'], { method: 'esp-rom' }>;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** The ROM answers SYNC 8 times (esptool reads the 7 after the first). */
async function espSim(opts: EspSimOptions = {}): Promise<{ port: string; sim: EspRomSim }> {
  const pair = await openPtyPair();
  const transport = await SerialTransport.open({ path: pair.device, baudRate: 115200 });
  const sim = new EspRomSim(transport, { chip: 'esp32s3', syncReplies: 8, ...opts }).start();
  cleanups.push(async () => {
    await sim.stop();
    await transport.close();
    pair.socat.kill();
  });
  return { port: pair.host, sim };
}

function bytes(n: number, seed: number, head: readonly number[]): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = i % 96 < 40 ? i & 0xff : x & 0xff;
  }
  out.set(head);
  return out;
}

/** An ESP-IDF build directory for the -S3: bootloader at 0, partition table at 0x8000, app at 0x10000. */
function idfBuild(appBytes = 70 * 1024): { file: string; parts: { bootloader: Uint8Array; 'partition-table': Uint8Array; app: Uint8Array } } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-idf-build-'));
  mkdirSync(path.join(dir, 'bootloader'));
  mkdirSync(path.join(dir, 'partition_table'));
  const parts = {
    bootloader: bytes(21 * 1024 + 5, 3, [0xe9, 0x03, 0x02, 0x20]),
    'partition-table': bytes(3072, 4, [0xaa, 0x50, 0x01, 0x02]),
    app: bytes(appBytes, 5, [0xe9, 0x05, 0x02, 0x20]),
  };
  writeFileSync(path.join(dir, 'bootloader', 'bootloader.bin'), parts.bootloader);
  writeFileSync(path.join(dir, 'partition_table', 'partition-table.bin'), parts['partition-table']);
  writeFileSync(path.join(dir, 'tinyforge_agent.bin'), parts.app);
  const args = {
    write_flash_args: ['--flash_mode', 'dio', '--flash_size', '8MB', '--flash_freq', '80m'],
    flash_settings: { flash_mode: 'dio', flash_size: '8MB', flash_freq: '80m' },
    flash_files: { '0x0': 'bootloader/bootloader.bin', '0x10000': 'tinyforge_agent.bin', '0x8000': 'partition_table/partition-table.bin' },
    bootloader: { offset: '0x0', file: 'bootloader/bootloader.bin', encrypted: 'false' },
    app: { offset: '0x10000', file: 'tinyforge_agent.bin', encrypted: 'false' },
    'partition-table': { offset: '0x8000', file: 'partition_table/partition-table.bin', encrypted: 'false' },
    extra_esptool_args: { after: 'hard_reset', before: 'default_reset', stub: true, chip: 'esp32s3' },
  };
  const file = path.join(dir, 'flasher_args.json');
  writeFileSync(file, JSON.stringify(args, null, 4));
  return { file, parts };
}

function recorder(): { opts: FlashOptions; phases: FlashPhase[]; logs: string[] } {
  const phases: FlashPhase[] = [];
  const logs: string[] = [];
  return {
    phases,
    logs,
    opts: {
      onProgress: (p) => {
        if (phases[phases.length - 1] !== p.phase) phases.push(p.phase);
      },
      log: (l) => logs.push(l),
    },
  };
}

const count = (xs: readonly number[], x: number): number => xs.filter((v) => v === x).length;
const at = (sim: EspRomSim, p: EspImagePart): Uint8Array => sim.flash.subarray(p.address, p.address + p.data.byteLength);

describe('esptool-js through the serialport transport, against the ROM + stub simulator', () => {
  it('flashes the image set of flasher_args.json: stub upload, compressed blocks, MD5 per image, hard reset', async () => {
    const { port, sim } = await espSim();
    const build = idfBuild();
    const set = loadFlasherArgs(build.file);
    expect(set.chip).toBe('esp32s3');
    expect(set.parts.map((p) => [p.name, p.address])).toEqual([['bootloader', 0], ['partition-table', 0x8000], ['app', 0x10000]]);
    const rec = recorder();
    const result = await new EsptoolJsBackend(s3, s3Flashing).flashImages(set.parts, { ...rec.opts, port });

    expect(result).toMatchObject({ verified: true, bytesWritten: set.parts.reduce((s, p) => s + p.data.byteLength, 0) });
    expect(result.method).toMatch(/esptool-js 0\.7\.0, stub/);
    for (const p of set.parts) expect(at(sim, p), p.name).toEqual(p.data);
    expect(sim.flash.subarray(0x7000, 0x8000).every((b) => b === 0x5a)).toBe(true); // between images: untouched
    expect(sim.stubStarts).toBe(1); // MEM_BEGIN/DATA/END, then "OHAI"
    expect(count(sim.commands, 0x05)).toBeGreaterThanOrEqual(1);
    expect(sim.baud).toBe(s3Flashing.flashBaud); // CHANGE_BAUDRATE sent to the stub (old rate as second word)
    expect(count(sim.commands, 0x10)).toBe(3); // one compressed download per image
    expect(count(sim.commands, 0x13)).toBe(3); // and one MD5 per image
    expect(sim.beginParams).toHaveLength(4); // the stub's FLASH_DEFL_BEGIN: no encryption word
    expect(sim.blocksWritten).toBeGreaterThanOrEqual(3);
    expect(rec.phases).toEqual(['connect', 'write', 'verify', 'run']);
    const log = rec.logs.join('\n');
    expect(log).toContain('Stub running');
    expect(log).toContain(`Flash md5: ${createHash('md5').update(build.parts.app).digest('hex')}`);
  }, 60_000);

  it('a chip reset in the middle of a write fails the write, says the flash may be partial, and a second flash recovers', async () => {
    const { port, sim } = await espSim({ faults: { resetAtBlock: 2 } });
    const app: EspImagePart = { name: 'app', address: 0x10000, data: bytes(120 * 1024, 9, [0xe9]) };
    const backend = new EsptoolJsBackend(s3, s3Flashing);
    let error: unknown;
    try {
      await backend.flashImages([app], { port });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FlashError);
    const e = error as FlashError;
    expect(e.phase, e.message).toBe('write');
    expect(e.partial).toBe(true);
    expect(e.address).toBe(0x10000);
    expect(e.message).toMatch(/image at 0x00010000: .*seq \d.*the device may hold a partial or corrupt image: flash it again/);
    expect(sim.resets).toBe(1);
    expect(sim.stub).toBe(false); // back in the ROM loader
    expect(at(sim, app)).not.toEqual(app.data);

    const again = await backend.flashImages([app], { port });
    expect(again.verified).toBe(true);
    expect(sim.stubStarts).toBe(2);
    expect(at(sim, app)).toEqual(app.data);
  }, 60_000);

  it('catches a corrupted block with the MD5 check', async () => {
    const { port } = await espSim({ faults: { corruptBlock: 1 } });
    const app: EspImagePart = { name: 'app', address: 0x10000, data: bytes(64 * 1024, 12, [0xe9]) };
    const e = await new EsptoolJsBackend(s3, s3Flashing).flashImages([app], { port }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(FlashError);
    expect((e as FlashError).phase).toBe('verify');
    expect((e as FlashError).message).toMatch(/MD5 of file does not match data in flash/);
    expect((e as FlashError).partial).toBe(true);
  }, 60_000);

  it('refuses a chip that is not the board’s before writing anything', async () => {
    const { port, sim } = await espSim({ chip: 'esp32c3' });
    const e = await new EsptoolJsBackend(s3, s3Flashing).flashImages([{ name: 'app', address: 0x10000, data: bytes(4096, 1, [0xe9]) }], { port }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(FlashError);
    expect((e as FlashError).message).toMatch(/is ESP32-C3, but board esp32-s3-devkitc-1 has ESP32-S3/);
    expect((e as FlashError).flashState).toBe('untouched');
    expect(sim.commands).not.toContain(0x10);
  }, 60_000);

  it('refuses images the chip could not boot, overlapping or too big, before opening the port', async () => {
    const backend = new EsptoolJsBackend(s3, s3Flashing);
    const noPort = { port: '/nonexistent/tinyforge-tty' };
    const refused = async (parts: EspImagePart[]): Promise<string> => {
      try {
        await backend.flashImages(parts, noPort);
      } catch (e) {
        expect(e).toBeInstanceOf(TinyforgeError);
        expect(e).not.toBeInstanceOf(FlashError);
        expect((e as TinyforgeError).exitCode).toBe(EXIT_USER_ERROR);
        return (e as Error).message;
      }
      throw new Error('not refused');
    };
    // an app without the 0xE9 magic: refused, not flashed with a warning
    expect(await refused([{ name: 'app', address: 0x10000, data: bytes(4096, 2, [0x7f, 0x45, 0x4c, 0x46]) }])).toMatch(
      /^app at 0x00010000 is not an ESP app image \(magic 0xE9\): it starts with 0x7f\. Refusing to flash it/,
    );
    // the single-image path (tinyforge flash --image) goes through the same check
    await expect(backend.flash({ data: bytes(4096, 2, [0x00]), address: 0x10000 }, noPort)).rejects.toThrow(/not an ESP app image \(magic 0xE9\)/);
    expect(await refused([{ name: 'bootloader', address: 0, data: bytes(4096, 2, [0xff]) }])).toMatch(/not an ESP bootloader image/);
    expect(await refused([{ name: 'partition-table', address: 0x8000, data: bytes(3072, 2, [0xe9]) }])).toMatch(/not an ESP-IDF partition table \(magic 0xAA 0x50\)/);
    expect(
      await refused([
        { name: 'partition-table', address: 0x8000, data: bytes(0x9000, 2, [0xaa, 0x50]) },
        { name: 'app', address: 0x10000, data: bytes(4096, 2, [0xe9]) },
      ]),
    ).toMatch(/partition-table .* overlaps app at 0x00010000/);
    expect(await refused([{ name: 'app', address: 0x10000, data: bytes(8 << 20, 2, [0xe9]) }])).toMatch(/run past the 8 MiB flash of esp32-s3-devkitc-1/);
    expect(await refused([{ name: 'app', address: 0x10800, data: bytes(64, 2, [0xe9]) }])).toMatch(/not a multiple of the 4 KiB sector/);
  });

  it('tinyforge flash --board esp32-s3-devkitc-1 --flasher-args writes the set through esptool-js (CLI, JSON)', async () => {
    const { port, sim } = await espSim();
    const build = idfBuild(30 * 1024);
    // execTool is asynchronous: the simulator keeps answering on this process's event loop.
    const r = await execTool(process.execPath, [BIN, 'flash', '--board', 'esp32-s3-devkitc-1', '--port', port, '--flasher-args', build.file, '--json'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const envelope = JSON.parse(r.stdout) as { ok: boolean; command: string; result: { board: string; verified: boolean; method: string; parts: Array<{ name: string; address: number; bytes: number }> } };
    expect(envelope).toMatchObject({ ok: true, command: 'flash' });
    const out = envelope.result;
    expect(out).toMatchObject({ board: 'esp32-s3-devkitc-1', verified: true });
    expect(out.method).toMatch(/esptool-js/);
    expect(out.parts.map((p) => p.name)).toEqual(['bootloader', 'partition-table', 'app']);
    expect(sim.flash.subarray(0x10000, 0x10000 + build.parts.app.length)).toEqual(build.parts.app);
    expect(sim.flash.subarray(0x8000, 0x8000 + 3072)).toEqual(build.parts['partition-table']);

    const wrongChip = JSON.parse(JSON.stringify({ flash_files: { '0x10000': 'tinyforge_agent.bin' }, extra_esptool_args: { chip: 'esp32c3' } })) as object;
    const wrong = path.join(path.dirname(build.file), 'c3_args.json');
    writeFileSync(wrong, JSON.stringify(wrongChip));
    const r2 = await execTool(process.execPath, [BIN, 'flash', '--board', 'esp32-s3-devkitc-1', '--port', port, '--flasher-args', wrong], { timeoutMs: 60_000 });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/was built for esp32c3, but board esp32-s3-devkitc-1 has esp32s3/);
  }, 120_000);
});
