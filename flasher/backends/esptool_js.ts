// Flashing ESP32-family boards with esptool-js (Espressif's maintained JavaScript port of esptool)
// over our serialport transport: reset into the ROM loader, upload and start esptool's flasher
// stub, switch to the board's flash baud rate, write every image of the set compressed (the
// bootloader, the partition table and the app at their offsets), check each with the flash's MD5,
// and hard-reset into the new firmware.
//
// esptool-js is written for the browser's Web Serial API; flasher/transport/web_serial_port.ts
// gives it a SerialPort over our ByteTransport. Before anything touches the device, every image is
// checked: an app or bootloader image must start with the ESP image magic 0xE9 and a partition
// table with 0xAA 0x50, and none may overlap another or run past the flash.

import { createHash } from 'node:crypto';
import { ESPLoader, Transport, type IEspLoaderTerminal } from 'esptool-js';
import type { Board, BoardFlashing } from '../../compiler/boards/board_schema.ts';
import { WebSerialPortAdapter } from '../transport/web_serial_port.ts';
import {
  FlashError,
  errorText,
  hex,
  imageError,
  openSerial,
  requirePort,
  type FlashBackend,
  type FlashImage,
  type FlashOptions,
  type FlashPhase,
  type FlashResult,
  type FlashState,
  type TransportFactory,
} from '../backend.ts';

type EspFlashing = Extract<BoardFlashing, { method: 'esp-rom' }>;

export const ESP_IMAGE_MAGIC = 0xe9;
export const PARTITION_TABLE_MAGIC = [0xaa, 0x50] as const;
export const PARTITION_TABLE_OFFSET = 0x8000;
export const ROM_BAUD = 115200;
const SECTOR = 0x1000;

/** Where the second-stage bootloader goes: 0x1000 on the ESP32, 0 on the -S3 and -C3. */
export const BOOTLOADER_OFFSET: Record<EspFlashing['chip'], number> = { esp32: 0x1000, esp32s3: 0x0, esp32c3: 0x0 };
/** esptool-js's CHIP_NAME of each chip a board file names. */
export const CHIP_NAME: Record<EspFlashing['chip'], string> = { esp32: 'ESP32', esp32s3: 'ESP32-S3', esp32c3: 'ESP32-C3' };

/** One image of the set, e.g. from ESP-IDF's flasher_args.json. */
export interface EspImagePart {
  /** Offset in the SPI flash. */
  address: number;
  data: Uint8Array;
  /** What it is, for messages: "bootloader", "partition-table", "app" or a file name. */
  name: string;
}

export interface EsptoolJsConfig {
  transportFactory?: TransportFactory;
  /** 'default_reset' pulses DTR/RTS into the ROM loader; 'no_reset' expects it to be there already. */
  before?: 'default_reset' | 'no_reset';
  /** USB ids of the port (esptool-js picks the USB-Serial-JTAG reset sequence from them). */
  usbVendorId?: number;
  usbProductId?: number;
}

/** What each part must start with, by what it is; undefined when any content is fine. */
function expectedMagic(part: EspImagePart, chip: EspFlashing['chip'], appOffset: number): { bytes: readonly number[]; what: string } | undefined {
  if (part.name === 'partition-table' || part.address === PARTITION_TABLE_OFFSET) return { bytes: PARTITION_TABLE_MAGIC, what: 'an ESP-IDF partition table (magic 0xAA 0x50)' };
  if (part.name === 'bootloader' || part.address === BOOTLOADER_OFFSET[chip]) return { bytes: [ESP_IMAGE_MAGIC], what: 'an ESP bootloader image (magic 0xE9)' };
  if (part.name === 'app' || part.address === appOffset) return { bytes: [ESP_IMAGE_MAGIC], what: 'an ESP app image (magic 0xE9)' };
  return undefined;
}

/** Refuses, before touching the device, an image set the chip could not boot or the flash not hold. */
export function checkImageSet(board: Board, flashing: EspFlashing, parts: readonly EspImagePart[], chipSize: number): void {
  if (parts.length === 0) throw imageError('nothing to flash: the image set is empty');
  for (const p of parts) {
    if (p.data.byteLength === 0) throw imageError(`${p.name}: the image is empty`);
    if (p.address % SECTOR !== 0) throw imageError(`${p.name}: flash offset ${hex(p.address)} is not a multiple of the 4 KiB sector`);
    if (p.address + p.data.byteLength > chipSize) {
      throw imageError(`${p.name}: ${p.data.byteLength} bytes at ${hex(p.address)} run past the ${chipSize / (1 << 20)} MiB flash of ${board.id}`);
    }
    const magic = expectedMagic(p, flashing.chip, flashing.appOffset);
    if (magic && !magic.bytes.every((b, i) => p.data[i] === b)) {
      const found = Array.from(p.data.subarray(0, magic.bytes.length), (b) => hex(b, 2)).join(' ');
      throw imageError(`${p.name} at ${hex(p.address)} is not ${magic.what}: it starts with ${found}. Refusing to flash it: the chip would not boot it (flash the .bin files from the ESP-IDF build, e.g. with --flasher-args build/flasher_args.json)`);
    }
  }
  const sorted = [...parts].sort((a, b) => a.address - b.address);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as EspImagePart;
    const cur = sorted[i] as EspImagePart;
    if (prev.address + prev.data.byteLength > cur.address) {
      throw imageError(`${prev.name} (${hex(prev.address)}..${hex(prev.address + prev.data.byteLength)}) overlaps ${cur.name} at ${hex(cur.address)}`);
    }
  }
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class EsptoolJsBackend implements FlashBackend {
  readonly method = 'esp-rom';
  private readonly transportFactory: TransportFactory;

  constructor(
    private readonly board: Board,
    private readonly flashing: EspFlashing,
    private readonly config: EsptoolJsConfig = {},
  ) {
    this.transportFactory = config.transportFactory ?? openSerial;
  }

  /** Total SPI flash size: the app region ends the board's flash, rounded up to a power of two. */
  get chipSize(): number {
    return nextPow2(this.flashing.appOffset + this.board.memory.flash.size);
  }

  flash(image: FlashImage, opts: FlashOptions): Promise<FlashResult> {
    const name = image.address === this.flashing.appOffset ? 'app' : (image.imagePath ?? 'image');
    return this.flashImages([{ address: image.address, data: image.data, name }], opts);
  }

  async flashImages(parts: readonly EspImagePart[], opts: FlashOptions): Promise<FlashResult> {
    const started = Date.now();
    const log = opts.log ?? (() => {});
    const progress = opts.onProgress ?? (() => {});
    checkImageSet(this.board, this.flashing, parts, this.chipSize);
    const path = requirePort(this.board, opts);
    const total = parts.reduce((s, p) => s + p.data.byteLength, 0);

    const port = new WebSerialPortAdapter({
      path,
      open: this.transportFactory,
      ...(this.config.usbVendorId !== undefined ? { usbVendorId: this.config.usbVendorId } : {}),
      ...(this.config.usbProductId !== undefined ? { usbProductId: this.config.usbProductId } : {}),
    });
    const transport = new Transport(port, false);
    // esptool-js prints some trace lines with console.log whatever its tracing flag says (they would
    // land in the middle of --json output): route them to the log, where they belong.
    transport.trace = (message: string): void => {
      if (!/readLoop exited|Serial port done/.test(message)) log(message);
    };
    let line = '';
    const terminal: IEspLoaderTerminal = {
      clean: () => {},
      writeLine: (s) => {
        log(`${line}${s}`.trim());
        line = '';
      },
      write: (s) => {
        line += s;
      },
    };
    const loader = new ESPLoader({ transport, baudrate: this.flashing.flashBaud, romBaudrate: ROM_BAUD, terminal, debugLogging: false });

    let phase: FlashPhase = 'connect';
    let state: FlashState = 'untouched';
    let failedAt: number | undefined;
    const abort = (): void => {
      // esptool-js has no cancellation: closing the port makes its next read or write fail.
      void port.close();
    };
    opts.signal?.addEventListener('abort', abort, { once: true });
    try {
      if (opts.signal?.aborted) throw new FlashError(phase, 'cancelled', state);
      progress({ phase, done: 0, total: 1 });
      try {
        await loader.main(this.config.before ?? 'default_reset');
      } catch (e) {
        throw new FlashError(
          'connect',
          `no ESP ROM loader answered on ${path} (${errorText(e)}): hold BOOT (IO0) while pressing RESET/EN to enter the ROM loader, and check the port`,
          'untouched',
        );
      }
      const found = loader.chip.CHIP_NAME;
      const want = CHIP_NAME[this.flashing.chip];
      if (found !== want) {
        throw new FlashError('connect', `the chip on ${path} is ${found}, but board ${this.board.id} has ${want}: pick the board that matches (--board) or the right port`, 'untouched');
      }
      log(`connected to ${found} with esptool-js, flasher stub ${loader.IS_STUB ? 'running' : 'not running'}, ${loader.transport.baudrate} baud`);
      progress({ phase, done: 1, total: 1 });

      phase = 'write';
      const before = parts.map((_, i) => parts.slice(0, i).reduce((s, p) => s + p.data.byteLength, 0));
      await loader.writeFlash({
        fileArray: parts.map((p) => ({ data: p.data, address: p.address })),
        flashMode: 'keep',
        flashFreq: 'keep',
        flashSize: 'keep',
        eraseAll: false,
        compress: true,
        reportProgress: (index, written, compressedTotal) => {
          // FLASH_DEFL_BEGIN (which erases) has been answered once a file reports progress.
          state = 'partial';
          failedAt = parts[index]?.address;
          const part = parts[index];
          const done = (before[index] ?? 0) + (part ? Math.round((part.data.byteLength * written) / Math.max(1, compressedTotal)) : 0);
          phase = written >= compressedTotal ? 'verify' : 'write';
          progress({ phase: 'write', done, total });
        },
        // esptool-js pads each image to 4 bytes, hashes what it writes with this and compares the
        // flash's MD5 of the same range.
        calculateMD5Hash: md5,
      });
      state = 'complete';
      phase = 'verify';
      progress({ phase, done: total, total });
      log(`${parts.length} image(s) written and verified by MD5: ${parts.map((p) => `${p.name} at ${hex(p.address)}`).join(', ')}`);

      phase = 'run';
      progress({ phase, done: 0, total: 1 });
      await loader.after('hard_reset', false);
      progress({ phase, done: 1, total: 1 });
      return { bytesWritten: total, verified: true, method: `${this.method} (esptool-js ${ESPTOOL_JS_VERSION}, stub)`, seconds: (Date.now() - started) / 1000 };
    } catch (e) {
      if (e instanceof FlashError) throw e;
      if (opts.signal?.aborted) throw new FlashError(phase, 'cancelled', state);
      const text = errorText(e);
      if (/MD5/.test(text)) throw new FlashError('verify', `${text} (image at ${hex(failedAt ?? 0)})`, 'partial', failedAt);
      throw new FlashError(phase, `${failedAt !== undefined ? `image at ${hex(failedAt)}: ` : ''}${text}`, state, failedAt);
    } finally {
      opts.signal?.removeEventListener('abort', abort);
      try {
        await transport.disconnect();
      } catch {
        await port.close();
      }
    }
  }
}

function md5(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

/** The esptool-js release this backend is written against (package.json pins it). */
export const ESPTOOL_JS_VERSION = '0.7.0';
