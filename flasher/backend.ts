// What every way of putting an image on a real board has in common: the image, progress and
// options going in, the result coming out, one error type for everything that goes wrong on the
// device side, and the choice of backend from a board file's `flashing` field.

import type { Board, BoardFlashing } from '../compiler/boards/board_schema.ts';
import { TinyforgeError, EXIT_DEVICE_ERROR, EXIT_USER_ERROR } from '../compiler/errors.ts';
import { SerialTransport, type ByteTransport, type SerialOpenOptions } from './transport/serial_transport.ts';
import { EsptoolJsBackend } from './backends/esptool_js.ts';
import { ExternalToolBackend } from './backends/external.ts';
import { Stm32UartBackend } from './backends/stm32_uart.ts';
import { Uf2Backend } from './backends/uf2.ts';

export interface FlashImage {
  /** Raw binary to write. */
  data: Uint8Array;
  /**
   * Where data[0] goes. For stm32-uart and uf2 this is the CPU address (e.g. 0x08000000,
   * 0x10000000); for esp-rom it is the offset in the SPI flash chip (e.g. appOffset, 0x10000).
   */
  address: number;
  /** ELF of the same program, for external tools that take one (`{elf}`). */
  elfPath?: string;
  /** `data` as a file on disk, if it already is one (`{image}`); otherwise a temporary file is written. */
  imagePath?: string;
}

export type FlashPhase = 'connect' | 'erase' | 'write' | 'verify' | 'run';

export interface FlashProgress {
  phase: FlashPhase;
  /** Bytes (of the image) done in this phase, or steps where a phase has no byte count. */
  done: number;
  total: number;
}

export interface FlashOptions {
  /** Serial port of the board (stm32-uart, esp-rom; `{port}` for external tools). */
  port?: string;
  /** Mount point of the UF2 drive, when it is not found by its volume label. */
  drive?: string;
  onProgress?: (p: FlashProgress) => void;
  log?: (line: string) => void;
  /** How long to wait for one reply from the device (external: for the whole tool run). */
  timeoutMs?: number;
  /** How many times one block or command is tried again after a NACK or a timeout. */
  retries?: number;
  signal?: AbortSignal;
}

export interface FlashResult {
  bytesWritten: number;
  /** True only when the flash contents were read back or hashed on the device and matched. */
  verified: boolean;
  method: string;
  seconds: number;
}

export interface FlashBackend {
  readonly method: string;
  flash(image: FlashImage, opts: FlashOptions): Promise<FlashResult>;
}

/** What the device's flash holds after a failure. */
export type FlashState = 'untouched' | 'partial' | 'complete';

const STATE_TEXT: Record<FlashState, string> = {
  untouched: 'flash memory was not changed',
  partial: 'the device may hold a partial or corrupt image: flash it again before running it',
  complete: 'the image in flash is complete and verified',
};

/**
 * Flashing failed on the device side (no answer, NACKs, verify mismatch, tool failure). Exit code 3.
 * The message names the phase and says whether the flash may hold a partial image.
 */
export class FlashError extends TinyforgeError {
  constructor(
    readonly phase: FlashPhase,
    detail: string,
    readonly flashState: FlashState,
    /** The first address concerned, when there is one (e.g. the first byte that failed verify). */
    readonly address?: number,
  ) {
    super(`flashing failed during ${phase}: ${oneLine(detail)}; ${STATE_TEXT[flashState]}`, EXIT_DEVICE_ERROR);
    this.name = 'FlashError';
  }

  /** True when the device may hold a partial or corrupt image. */
  get partial(): boolean {
    return this.flashState === 'partial';
  }
}

/** Opens the serial line a backend talks over; tests pass their own. */
export type TransportFactory = (opts: SerialOpenOptions) => Promise<ByteTransport>;

export const openSerial: TransportFactory = (opts) => SerialTransport.open(opts);

/** Backend-specific settings that do not belong in a board file; all optional. */
export interface BackendConfig {
  transportFactory?: TransportFactory;
  /** UF2: directories searched for `<volumeLabel>` (default /media/$USER, /run/media/$USER, /media, /Volumes). */
  uf2SearchRoots?: string[];
}

/** Picks the backend for `board.flashing.method`. */
export function createFlashBackend(board: Board, transportFactory?: TransportFactory, config: BackendConfig = {}): FlashBackend {
  const factory = transportFactory ?? config.transportFactory ?? openSerial;
  const flashing: BoardFlashing = board.flashing;
  switch (flashing.method) {
    case 'stm32-uart':
      return new Stm32UartBackend(board, flashing, { transportFactory: factory });
    case 'esp-rom':
      // esptool-js (stub loader, compressed writes, MD5 verify); EspRomBackend in
      // backends/esp_rom.ts speaks the ROM protocol itself and is kept as a reference for tests.
      return new EsptoolJsBackend(board, flashing, { transportFactory: factory });
    case 'uf2':
      return new Uf2Backend(board, flashing, config.uf2SearchRoots ? { searchRoots: config.uf2SearchRoots } : {});
    case 'external':
      return new ExternalToolBackend(board, flashing);
    case 'qemu':
      throw new TinyforgeError(
        `board ${board.id} is emulated under QEMU and has nothing to flash: run it with --target ${board.id} (the QEMU path loads the ELF directly)`,
        EXIT_USER_ERROR,
      );
  }
}

// ---- helpers shared by the backends ----

export function hex(n: number, width = 8): string {
  return `0x${(n >>> 0).toString(16).padStart(width, '0')}`;
}

export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' | ').trim();
}

/** Resolves after `ms`, or rejects with a FlashError when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal, phase: FlashPhase = 'connect', state: FlashState = 'untouched'): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(phase, state));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(phase, state));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortError(phase: FlashPhase, state: FlashState): FlashError {
  return new FlashError(phase, 'cancelled', state);
}

export function throwIfAborted(signal: AbortSignal | undefined, phase: FlashPhase, state: FlashState): void {
  if (signal?.aborted) throw abortError(phase, state);
}

/** A user error about the image or the options, found before touching the device. Exit code 2. */
export function imageError(message: string): TinyforgeError {
  return new TinyforgeError(message, EXIT_USER_ERROR);
}

export function requirePort(board: Board, opts: FlashOptions): string {
  if (!opts.port) {
    throw imageError(`board ${board.id} is flashed over a serial port: pass --port (e.g. /dev/ttyUSB0 or /dev/ttyACM0)`);
  }
  return opts.port;
}

export function checkImageNotEmpty(image: FlashImage): void {
  if (image.data.byteLength === 0) throw imageError('the image to flash is empty');
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
