// Flashing ESP32-family chips through their ROM serial loader (Espressif's "Serial Protocol" in the
// esptool documentation), without uploading esptool's RAM stub.
//
// Frames are SLIP: 0xC0 at both ends, 0xC0 and 0xDB inside escaped as 0xDB 0xDC and 0xDB 0xDD.
// A request is: direction 0x00, command, u16 data length, u32 checksum, data (little endian). A
// reply is: direction 0x01, the same command, u16 length, u32 value (READ_REG's result), data whose
// last 4 bytes are status (0 = ok), error code and two reserved bytes (the ROM loaders of the
// ESP32, -S3 and -C3 all use 4; esptool's stub uses 2). The checksum is only used by the _DATA
// commands: 0xEF XORed with every byte of the block being written.
//
// Sequence: reset into the loader with DTR/RTS, SYNC until answered, identify the chip (magic word
// at 0x40001000, or GET_SECURITY_INFO's chip id), CHANGE_BAUDRATE to the board's flashBaud,
// SPI_ATTACH and SPI_SET_PARAMS, FLASH_DEFL_BEGIN (the ROM erases here), FLASH_DEFL_DATA with
// 1 KiB pieces of one zlib stream, SPI_FLASH_MD5 of the written region compared with our MD5 of
// the image, FLASH_DEFL_END, and a hard reset through RTS (EN) to run the new image.

import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import type { Board, BoardFlashing } from '../../compiler/boards/board_schema.ts';
import { TimeoutError, type ByteTransport } from '../transport/serial_transport.ts';
import {
  FlashError,
  checkImageNotEmpty,
  errorText,
  hex,
  imageError,
  openSerial,
  requirePort,
  sleep,
  throwIfAborted,
  type FlashBackend,
  type FlashImage,
  type FlashOptions,
  type FlashPhase,
  type FlashResult,
  type FlashState,
  type TransportFactory,
} from '../backend.ts';

export const OP = {
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10,
  FLASH_DEFL_DATA: 0x11,
  FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13,
  GET_SECURITY_INFO: 0x14,
} as const;

export const ROM_ERRORS: Record<number, string> = {
  0x05: 'received message is invalid',
  0x06: 'failed to act on received message',
  0x07: 'invalid CRC in message',
  0x08: 'flash write error',
  0x09: 'flash read error',
  0x0a: 'flash read length error',
  0x0b: 'deflate error',
};

/** Address of the word that tells chip families apart. */
export const CHIP_MAGIC_ADDR = 0x4000_1000;
/** Size of one FLASH_DEFL_DATA piece for the ROM loader. */
export const ROM_WRITE_SIZE = 0x400;
export const ROM_STATUS_BYTES = 4;
export const ROM_BAUD = 115200;
export const CHECKSUM_SEED = 0xef;

type EspFlashing = Extract<BoardFlashing, { method: 'esp-rom' }>;
export type EspChip = EspFlashing['chip'];

export interface ChipInfo {
  name: string;
  magic: number[];
  chipId: number;
  /** ROM FLASH_DEFL_BEGIN takes a fifth word (encrypted write flag) on newer chips. */
  beginTakesEncryptFlag: boolean;
}

export const CHIPS: Record<EspChip, ChipInfo> = {
  esp32: { name: 'ESP32', magic: [0x00f0_1d83], chipId: 0, beginTakesEncryptFlag: false },
  esp32s3: { name: 'ESP32-S3', magic: [0x0000_0009], chipId: 9, beginTakesEncryptFlag: true },
  esp32c3: { name: 'ESP32-C3', magic: [0x6921_506f, 0x1b31_506f, 0x4881_606f, 0x4361_606f], chipId: 5, beginTakesEncryptFlag: true },
};

/** Other chips, only to name what was found when it is not the board's. */
const OTHER_MAGIC: Record<number, string> = { 0xfff0_c101: 'ESP8266', 0x0000_07c6: 'ESP32-S2' };
const OTHER_CHIP_ID: Record<number, string> = { 2: 'ESP32-S2', 12: 'ESP32-C2', 13: 'ESP32-C6', 16: 'ESP32-H2', 18: 'ESP32-P4' };

export function chipFromMagic(magic: number): EspChip | undefined {
  for (const [chip, info] of Object.entries(CHIPS) as [EspChip, ChipInfo][]) if (info.magic.includes(magic >>> 0)) return chip;
  return undefined;
}

export function chipFromId(id: number): EspChip | undefined {
  for (const [chip, info] of Object.entries(CHIPS) as [EspChip, ChipInfo][]) if (info.chipId === id && chip !== 'esp32') return chip;
  return undefined;
}

// ---- SLIP and packets ----

export function slipEncode(payload: Uint8Array): Uint8Array {
  const out: number[] = [0xc0];
  for (const b of payload) {
    if (b === 0xc0) out.push(0xdb, 0xdc);
    else if (b === 0xdb) out.push(0xdb, 0xdd);
    else out.push(b);
  }
  out.push(0xc0);
  return new Uint8Array(out);
}

/** Undoes the escaping of the bytes between two 0xC0; undefined for a malformed escape. */
export function slipDecode(body: Uint8Array): Uint8Array | undefined {
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (b !== 0xdb) {
      out.push(b);
      continue;
    }
    const next = body[++i];
    if (next === 0xdc) out.push(0xc0);
    else if (next === 0xdd) out.push(0xdb);
    else return undefined;
  }
  return new Uint8Array(out);
}

export function checksum(data: Uint8Array): number {
  let c = CHECKSUM_SEED;
  for (const b of data) c ^= b;
  return c;
}

export function words(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => v.setUint32(i * 4, x >>> 0, true));
  return out;
}

export function encodeRequest(op: number, data: Uint8Array, check = 0): Uint8Array {
  const packet = new Uint8Array(8 + data.length);
  const v = new DataView(packet.buffer);
  packet[0] = 0x00;
  packet[1] = op;
  v.setUint16(2, data.length, true);
  v.setUint32(4, check >>> 0, true);
  packet.set(data, 8);
  return slipEncode(packet);
}

/**
 * Reads SLIP frames from a byte stream. Every 0xC0 may end one frame and start the next; the
 * segments between them that do not decode to what the caller wants (boot messages, empty
 * segments, stale replies) are skipped.
 */
export class SlipReader {
  private aligned = false;
  constructor(private readonly t: ByteTransport) {}

  /** Forget the position in the stream (after discarding input). */
  reset(): void {
    this.aligned = false;
  }

  async next(deadline: number, what: string): Promise<Uint8Array> {
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new TimeoutError(what, Math.max(0, remaining));
      let seg: Uint8Array;
      try {
        seg = await this.t.readUntil(0xc0, remaining, 1 << 20);
      } catch (e) {
        if (e instanceof TimeoutError) throw new TimeoutError(what, remaining);
        throw e;
      }
      if (!this.aligned) {
        this.aligned = true; // everything before the first 0xC0 is noise
        continue;
      }
      if (seg.length <= 1) continue;
      const frame = slipDecode(seg.subarray(0, seg.length - 1));
      if (frame) return frame;
    }
  }
}

export class RomCommandError extends Error {
  constructor(
    readonly op: number,
    readonly code: number,
  ) {
    super(`command ${hex(op, 2)} failed with ROM error ${hex(code, 2)} (${ROM_ERRORS[code] ?? 'unknown error'})`);
    this.name = 'RomCommandError';
  }
}

export interface Reply {
  value: number;
  /** The data before the status bytes. */
  data: Uint8Array;
}

/** The ROM loader's request/reply layer over a byte transport. */
export class EspRomLink {
  readonly reader: SlipReader;
  constructor(private readonly t: ByteTransport) {
    this.reader = new SlipReader(t);
  }

  discard(): void {
    this.t.discardInput();
    this.reader.reset();
  }

  async command(op: number, data: Uint8Array, timeoutMs: number, check = 0): Promise<Reply> {
    await this.t.write(encodeRequest(op, data, check));
    const deadline = Date.now() + timeoutMs;
    const what = `reply to command ${hex(op, 2)}`;
    for (;;) {
      const f = await this.reader.next(deadline, what);
      if (f.length < 8 || f[0] !== 0x01 || f[1] !== op) continue;
      const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
      const size = v.getUint16(2, true);
      if (f.length < 8 + size) continue;
      const body = f.subarray(8, 8 + size);
      const statusLen = body.length >= ROM_STATUS_BYTES ? ROM_STATUS_BYTES : 2;
      if (body.length < statusLen) continue;
      const status = body[body.length - statusLen];
      const err = body[body.length - statusLen + 1] ?? 0;
      if (status !== 0) throw new RomCommandError(op, err);
      return { value: v.getUint32(4, true), data: body.subarray(0, body.length - statusLen) };
    }
  }
}

// ---- backend ----

export type EspResetMode = 'classic' | 'usb-jtag' | 'none';

export interface EspRomConfig {
  transportFactory?: TransportFactory;
  /**
   * Reset sequences tried in turn, one per connection attempt. 'classic' is for USB-UART bridges
   * wired as on the DevKit boards (DTR -> IO0, RTS -> EN through two transistors); 'usb-jtag' is
   * for the built-in USB-Serial-JTAG of the -S3 and -C3; 'none' leaves the chip as it is.
   */
  resetModes?: EspResetMode[];
  /** SYNC commands per connection attempt. */
  syncsPerAttempt?: number;
  syncTimeoutMs?: number;
  /** Total SPI flash size sent in SPI_SET_PARAMS (default: appOffset + flash size, rounded up to a power of two). */
  flashChipSize?: number;
}

interface Lines {
  dtr?: boolean;
  rts?: boolean;
}

export class EspRomBackend implements FlashBackend {
  readonly method = 'esp-rom';
  private readonly transportFactory: TransportFactory;

  constructor(
    private readonly board: Board,
    private readonly flashing: EspFlashing,
    private readonly config: EspRomConfig = {},
  ) {
    this.transportFactory = config.transportFactory ?? openSerial;
  }

  async flash(image: FlashImage, opts: FlashOptions): Promise<FlashResult> {
    const started = Date.now();
    const log = opts.log ?? (() => {});
    const progress = opts.onProgress ?? (() => {});
    const timeoutMs = opts.timeoutMs ?? 3000;
    const retries = opts.retries ?? 3;
    const signal = opts.signal;
    const chip = CHIPS[this.flashing.chip];

    checkImageNotEmpty(image);
    const offset = image.address >>> 0;
    const size = image.data.byteLength;
    const chipSize = this.config.flashChipSize ?? nextPow2(this.flashing.appOffset + this.board.memory.flash.size);
    if (offset % 0x1000 !== 0) throw imageError(`the ESP flash offset ${hex(offset)} is not a multiple of the 4 KiB sector (the app goes at appOffset ${hex(this.flashing.appOffset)})`);
    if (offset + size > chipSize) {
      throw imageError(`the image (${size} bytes at flash offset ${hex(offset)}) does not fit the ${chipSize / (1 << 20)} MiB flash of ${this.board.id}; the address is an offset in SPI flash, such as appOffset ${hex(this.flashing.appOffset)}`);
    }
    if (offset === this.flashing.appOffset && image.data[0] !== 0xe9) log(`warning: the image does not start with the ESP app image magic 0xe9; the second-stage bootloader will not start it`);
    const path = requirePort(this.board, opts);

    let t: ByteTransport;
    try {
      t = await this.transportFactory({ path, baudRate: ROM_BAUD });
    } catch (e) {
      throw new FlashError('connect', errorText(e), 'untouched');
    }
    const link = new EspRomLink(t);
    let phase: FlashPhase = 'connect';
    let state: FlashState = 'untouched';
    const cmd = (op: number, data: Uint8Array, ms = timeoutMs, check = 0): Promise<Reply> => link.command(op, data, ms, check);
    try {
      // connect
      progress({ phase, done: 0, total: 1 });
      await this.connect(t, link, path, log, signal);
      const found = await this.identify(link, timeoutMs, log);
      if (found.chip !== this.flashing.chip) {
        throw new FlashError(
          'connect',
          `the chip on ${path} is ${found.name}, but board ${this.board.id} has ${chip.name}: pick the board that matches (--board) or the right port`,
          'untouched',
        );
      }
      log(`chip is ${chip.name}`);
      if (this.flashing.flashBaud !== ROM_BAUD) {
        await cmd(OP.CHANGE_BAUDRATE, words(this.flashing.flashBaud, 0));
        await t.setBaudRate(this.flashing.flashBaud);
        await sleep(50, signal);
        link.discard();
        log(`switched to ${this.flashing.flashBaud} baud`);
      }
      await cmd(OP.SPI_ATTACH, words(0, 0));
      await cmd(OP.SPI_SET_PARAMS, words(0, chipSize, 64 * 1024, 4 * 1024, 256, 0xffff));
      progress({ phase, done: 1, total: 1 });

      // erase (the ROM erases the whole region when it gets FLASH_DEFL_BEGIN)
      phase = 'erase';
      const compressed = deflateSync(image.data, { level: 9 });
      const blocks = Math.ceil(compressed.length / ROM_WRITE_SIZE);
      const eraseSize = Math.ceil(size / ROM_WRITE_SIZE) * ROM_WRITE_SIZE;
      log(`compressed ${size} bytes to ${compressed.length} (${blocks} blocks of ${ROM_WRITE_SIZE})`);
      progress({ phase, done: 0, total: 1 });
      const begin = chip.beginTakesEncryptFlag ? words(eraseSize, blocks, ROM_WRITE_SIZE, offset, 0) : words(eraseSize, blocks, ROM_WRITE_SIZE, offset);
      state = 'partial';
      await cmd(OP.FLASH_DEFL_BEGIN, begin, scaled(timeoutMs, 30_000, eraseSize));
      progress({ phase, done: 1, total: 1 });

      // write
      phase = 'write';
      const perBlockInflated = (ROM_WRITE_SIZE * size) / compressed.length;
      for (let seq = 0; seq < blocks; seq++) {
        throwIfAborted(signal, phase, state);
        const piece = compressed.subarray(seq * ROM_WRITE_SIZE, (seq + 1) * ROM_WRITE_SIZE);
        const data = new Uint8Array(16 + piece.length);
        data.set(words(piece.length, seq, 0, 0));
        data.set(piece, 16);
        const ms = scaled(timeoutMs, 40_000, perBlockInflated);
        for (let attempt = 0; ; attempt++) {
          try {
            await cmd(OP.FLASH_DEFL_DATA, data, ms, checksum(piece));
            break;
          } catch (e) {
            const retriable = e instanceof TimeoutError || (e instanceof RomCommandError && e.code === 0x07);
            if (!retriable || attempt >= retries) {
              throw new FlashError(phase, `block ${seq + 1}/${blocks}: ${errorText(e)}${retriable ? ` (after ${attempt + 1} tries)` : ''}`, state);
            }
            log(`block ${seq + 1}/${blocks}: ${errorText(e)}; retrying (${attempt + 1}/${retries})`);
            await sleep(20, signal, phase, state);
            link.discard();
          }
        }
        const sent = Math.min(compressed.length, (seq + 1) * ROM_WRITE_SIZE);
        progress({ phase, done: Math.min(size, Math.round((size * sent) / compressed.length)), total: size });
      }

      // verify
      phase = 'verify';
      progress({ phase, done: 0, total: size });
      const reply = await cmd(OP.SPI_FLASH_MD5, words(offset, size, 0, 0), scaled(timeoutMs, 8_000, size));
      const deviceMd5 = md5Text(reply.data);
      const localMd5 = createHash('md5').update(image.data).digest('hex');
      if (deviceMd5 !== localMd5) {
        throw new FlashError('verify', `MD5 mismatch for ${size} bytes at flash offset ${hex(offset)}: the device computed ${deviceMd5}, the image is ${localMd5}`, state, offset);
      }
      state = 'complete';
      log(`MD5 ${localMd5} verified`);
      progress({ phase, done: size, total: size });

      // run
      phase = 'run';
      progress({ phase, done: 0, total: 1 });
      try {
        await cmd(OP.FLASH_DEFL_END, words(1), Math.min(timeoutMs, 1000));
      } catch (e) {
        log(`FLASH_DEFL_END: ${errorText(e)} (ignored: the hard reset follows)`);
      }
      await this.lines(t, [{ dtr: false, rts: true }, 100, { rts: false }], signal);
      log('hard reset via RTS');
      progress({ phase, done: 1, total: 1 });
      return { bytesWritten: size, verified: true, method: this.method, seconds: (Date.now() - started) / 1000 };
    } catch (e) {
      if (e instanceof FlashError) throw e;
      throw new FlashError(phase, errorText(e), state);
    } finally {
      await t.close();
    }
  }

  private async lines(t: ByteTransport, steps: (Lines | number)[], signal?: AbortSignal): Promise<void> {
    for (const s of steps) {
      if (typeof s === 'number') await sleep(s, signal);
      else await t.setSignals(s); // ignored by ptys
    }
  }

  /** Asserted DTR pulls IO0 low, asserted RTS pulls EN low (reset), on the usual auto-reset circuit. */
  private async reset(t: ByteTransport, mode: EspResetMode, signal?: AbortSignal): Promise<void> {
    if (mode === 'classic') {
      await this.lines(t, [{ dtr: false, rts: true }, 100, { dtr: true, rts: false }, 50, { dtr: false }], signal);
    } else if (mode === 'usb-jtag') {
      await this.lines(t, [{ dtr: false, rts: false }, 100, { dtr: true, rts: false }, 100, { dtr: false, rts: true }, 100, { dtr: false, rts: false }], signal);
    }
  }

  private async connect(t: ByteTransport, link: EspRomLink, path: string, log: (l: string) => void, signal?: AbortSignal): Promise<void> {
    const modes = this.config.resetModes ?? ['classic', 'usb-jtag', 'classic'];
    const syncs = this.config.syncsPerAttempt ?? 5;
    const syncMs = this.config.syncTimeoutMs ?? 100;
    const syncFrame = new Uint8Array(36).fill(0x55);
    syncFrame.set([0x07, 0x07, 0x12, 0x20]);
    for (const mode of modes) {
      await this.reset(t, mode, signal);
      link.discard();
      for (let i = 0; i < syncs; i++) {
        throwIfAborted(signal, 'connect', 'untouched');
        try {
          await link.command(OP.SYNC, syncFrame, syncMs);
          // The loader answers one SYNC with several replies: let them arrive and drop them.
          await sleep(50, signal);
          link.discard();
          log(`synced with the ESP ROM loader on ${path} (reset: ${mode})`);
          return;
        } catch (e) {
          if (!(e instanceof TimeoutError) && !(e instanceof RomCommandError)) throw e;
        }
      }
    }
    throw new FlashError(
      'connect',
      `no answer to SYNC on ${path} after ${modes.length} resets (${modes.join(', ')}): hold BOOT (IO0) while pressing RESET/EN to enter the ROM loader, and check the port`,
      'untouched',
    );
  }

  private async identify(link: EspRomLink, timeoutMs: number, log: (l: string) => void): Promise<{ chip: EspChip | undefined; name: string }> {
    let magic: number | undefined;
    try {
      magic = (await link.command(OP.READ_REG, words(CHIP_MAGIC_ADDR), timeoutMs)).value >>> 0;
      const chip = chipFromMagic(magic);
      if (chip) return { chip, name: CHIPS[chip].name };
    } catch (e) {
      if (!(e instanceof RomCommandError)) throw e; // secure download mode refuses READ_REG
    }
    try {
      const info = await link.command(OP.GET_SECURITY_INFO, new Uint8Array(0), timeoutMs);
      if (info.data.length >= 16) {
        const id = new DataView(info.data.buffer, info.data.byteOffset, info.data.byteLength).getUint32(12, true);
        const chip = chipFromId(id);
        if (chip) return { chip, name: CHIPS[chip].name };
        return { chip: undefined, name: OTHER_CHIP_ID[id] ?? `an unknown chip (chip id ${id})` };
      }
    } catch (e) {
      if (!(e instanceof RomCommandError)) throw e;
      log(`GET_SECURITY_INFO: ${errorText(e)}`);
    }
    if (magic !== undefined) return { chip: undefined, name: OTHER_MAGIC[magic] ?? `an unknown chip (magic ${hex(magic)})` };
    return { chip: undefined, name: 'an unidentified chip' };
  }
}

/** The ROM sends the MD5 as 32 hex characters; a stub would send 16 raw bytes. */
function md5Text(data: Uint8Array): string {
  if (data.length === 16) return Buffer.from(data).toString('hex');
  return Buffer.from(data.subarray(0, 32)).toString('ascii').toLowerCase();
}

/** A timeout that grows with the work the device does: `perMiB` ms for each MiB, never below `base`. */
function scaled(base: number, perMiB: number, bytes: number): number {
  return Math.max(base, Math.ceil((perMiB * bytes) / (1 << 20)));
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
