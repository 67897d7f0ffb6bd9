// Flashing through the STM32 system-memory bootloader over a UART (ST application note AN3155).
//
// Line format is 8 data bits, even parity, 1 stop bit. The host sends 0x7F once so the bootloader
// can measure the baud rate; it answers ACK (0x79). Every command is one byte followed by its
// bitwise complement, and every step of a command is answered with ACK or NACK (0x1F). Addresses
// are 4 bytes, most significant first, followed by the XOR of those 4 bytes. Byte counts are sent
// as N-1. The bootloader has no way to resynchronise in the middle of a command, so a retry always
// starts a command from its first byte.
//
// What we do: sync, GET (version and supported commands), GET ID (product id), erase the sectors
// the image covers (EXTENDED ERASE 0x44 or ERASE 0x43, whichever GET lists), WRITE MEMORY in
// 256-byte blocks, read every block back with READ MEMORY and compare, then GO to the board's
// start address (the bootloader loads SP and PC from the vector table there).

import type { Board, BoardFlashing } from '../../compiler/boards/board_schema.ts';
import { TimeoutError, TransportError, type ByteTransport } from '../transport/serial_transport.ts';
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

export const ACK = 0x79;
export const NACK = 0x1f;
export const SYNC = 0x7f;

export const CMD = {
  GET: 0x00,
  GET_VERSION: 0x01,
  GET_ID: 0x02,
  READ_MEMORY: 0x11,
  GO: 0x21,
  WRITE_MEMORY: 0x31,
  ERASE: 0x43,
  EXTENDED_ERASE: 0x44,
} as const;

/** Largest block WRITE MEMORY and READ MEMORY move at once. */
export const BLOCK_SIZE = 256;

type Stm32Flashing = Extract<BoardFlashing, { method: 'stm32-uart' }>;

/** One change of the modem lines, then a pause. `true` means the line is asserted. */
export interface SignalStep {
  dtr?: boolean;
  rts?: boolean;
  waitMs: number;
}

/**
 * Default way into the bootloader for USB-UART adapters wired for auto-boot: RTS drives BOOT0
 * (asserted = BOOT0 high) and DTR drives NRST (asserted = reset held). We hold BOOT0, pulse reset,
 * release reset with BOOT0 still held and give the ROM time to start. On boards whose serial port
 * has no such wiring (e.g. the ST-LINK virtual COM port of Nucleo boards) the lines do nothing and
 * BOOT0 must be set with its jumper or button before flashing; pseudo-terminals reject the
 * ioctls, which SerialTransport ignores.
 */
export const DEFAULT_BOOT_ENTRY: SignalStep[] = [
  { rts: true, dtr: true, waitMs: 50 },
  { rts: true, dtr: false, waitMs: 100 },
];
/** After GO: release BOOT0 so that the next reset boots the application from flash. */
export const DEFAULT_BOOT_EXIT: SignalStep[] = [{ rts: false, dtr: false, waitMs: 0 }];

export interface Stm32UartConfig {
  transportFactory?: TransportFactory;
  /** Modem-line sequence that puts the chip into its bootloader, or 'none'. */
  bootEntry?: SignalStep[] | 'none';
  bootExit?: SignalStep[] | 'none';
  /** How many times 0x7F is sent before giving up. */
  syncAttempts?: number;
  syncTimeoutMs?: number;
  /** How long one erase may take (a mass erase of 2 MB takes tens of seconds). */
  eraseTimeoutMs?: number;
}

// ---- sector and page maps, by product id (GET ID) ----

interface FlashLayout {
  name: string;
  /** Sizes of the erase units in address order from 0x08000000, numbered from 0. */
  units: number[];
}

const K = 1024;
const rep = (n: number, size: number): number[] => new Array<number>(n).fill(size);
const F4_FIRST_SECTORS = [...rep(4, 16 * K), 64 * K];

/**
 * Erase units of the chips we know. Unknown chips get a mass erase (see `planErase`): erasing by
 * number with a wrong map could leave old code in a sector we write or erase one we should not.
 */
export const LAYOUTS: Record<number, FlashLayout> = {
  0x410: { name: 'STM32F10x medium density', units: rep(128, 1 * K) },
  0x412: { name: 'STM32F10x low density', units: rep(32, 1 * K) },
  0x414: { name: 'STM32F10x high density', units: rep(256, 2 * K) },
  0x413: { name: 'STM32F405/407/415/417', units: [...F4_FIRST_SECTORS, ...rep(7, 128 * K)] },
  0x419: { name: 'STM32F42x/43x', units: [...F4_FIRST_SECTORS, ...rep(7, 128 * K), ...F4_FIRST_SECTORS, ...rep(7, 128 * K)] },
  0x421: { name: 'STM32F446', units: [...F4_FIRST_SECTORS, ...rep(3, 128 * K)] },
  0x423: { name: 'STM32F401xB/C', units: [...F4_FIRST_SECTORS, ...rep(1, 128 * K)] },
  0x431: { name: 'STM32F411', units: [...F4_FIRST_SECTORS, ...rep(3, 128 * K)] },
  0x433: { name: 'STM32F401xD/E', units: [...F4_FIRST_SECTORS, ...rep(3, 128 * K)] },
  // Bank 1 only: how the bootloader numbers bank-2 sectors differs between families.
  0x450: { name: 'STM32H74x/75x', units: rep(8, 128 * K) },
};

export const FLASH_BASE = 0x0800_0000;

export type ErasePlan = { kind: 'units'; units: number[] } | { kind: 'mass'; reason: string };

/** Which erase units [start, end) touches, or a mass erase with the reason. */
export function planErase(pid: number, start: number, end: number, eraseCommand: number): ErasePlan {
  const layout = LAYOUTS[pid];
  if (!layout) return { kind: 'mass', reason: `product id ${hex(pid, 3)} is not in tinyforge's sector maps` };
  const units: number[] = [];
  let unitStart = FLASH_BASE;
  for (let i = 0; i < layout.units.length; i++) {
    const unitEnd = unitStart + (layout.units[i] ?? 0);
    if (unitStart < end && unitEnd > start) units.push(i);
    unitStart = unitEnd;
  }
  if (start < FLASH_BASE || end > unitStart) {
    return { kind: 'mass', reason: `${hex(start)}..${hex(end)} is outside the ${layout.name} sector map` };
  }
  if (eraseCommand === CMD.ERASE && units.some((u) => u > 254)) {
    return { kind: 'mass', reason: 'the legacy ERASE command cannot name pages above 254' };
  }
  return { kind: 'units', units };
}

// ---- protocol ----

export class NackError extends Error {
  constructor(what: string) {
    super(`${what}: the bootloader answered NACK`);
    this.name = 'NackError';
  }
}

function xorAll(bytes: ArrayLike<number>, seed = 0): number {
  let x = seed;
  for (let i = 0; i < bytes.length; i++) x ^= bytes[i] ?? 0;
  return x & 0xff;
}

function addressBytes(address: number): Uint8Array {
  const a = new Uint8Array(5);
  new DataView(a.buffer).setUint32(0, address >>> 0, false);
  a[4] = xorAll(a.subarray(0, 4));
  return a;
}

/** The AN3155 command layer over a byte transport. */
export class Stm32Bootloader {
  constructor(
    private readonly t: ByteTransport,
    /** Timeout for an ordinary reply. */
    private readonly timeoutMs: number,
  ) {}

  private async expectAck(what: string, timeoutMs = this.timeoutMs): Promise<void> {
    const b = (await this.t.read(1, timeoutMs))[0];
    if (b === ACK) return;
    if (b === NACK) throw new NackError(what);
    throw new TransportError(`${what}: expected ACK (0x79) or NACK (0x1f), got ${hex(b ?? 0, 2)}`);
  }

  private async command(code: number, what: string): Promise<void> {
    await this.t.write(new Uint8Array([code, code ^ 0xff]));
    await this.expectAck(`${what} (command ${hex(code, 2)})`);
  }

  /**
   * Sends 0x7F until the bootloader answers. A NACK also counts: a bootloader that was already
   * synchronised reads 0x7F as a command byte and rejects it, so it is there and listening.
   */
  async sync(attempts: number, timeoutMs: number, signal?: AbortSignal): Promise<'ack' | 'nack'> {
    for (let i = 0; i < attempts; i++) {
      throwIfAborted(signal, 'connect', 'untouched');
      this.t.discardInput();
      await this.t.write(new Uint8Array([SYNC]));
      try {
        const b = (await this.t.read(1, timeoutMs))[0];
        if (b === ACK) return 'ack';
        if (b === NACK) return 'nack';
      } catch (e) {
        if (!(e instanceof TimeoutError)) throw e;
      }
    }
    throw new TimeoutError(`no answer to sync (0x7f) after ${attempts} tries`, timeoutMs);
  }

  /** GET: bootloader version and the command codes it accepts. */
  async get(): Promise<{ version: number; commands: number[] }> {
    await this.command(CMD.GET, 'GET');
    const n = (await this.t.read(1, this.timeoutMs))[0] ?? 0;
    const body = await this.t.read(n + 1, this.timeoutMs);
    await this.expectAck('GET (end)');
    return { version: body[0] ?? 0, commands: [...body.subarray(1)] };
  }

  /** GET ID: the product id (e.g. 0x421 for the STM32F446). */
  async getId(): Promise<number> {
    await this.command(CMD.GET_ID, 'GET ID');
    const n = (await this.t.read(1, this.timeoutMs))[0] ?? 0;
    const id = await this.t.read(n + 1, this.timeoutMs);
    await this.expectAck('GET ID (end)');
    let pid = 0;
    for (const b of id) pid = (pid << 8) | b;
    return pid >>> 0;
  }

  async readMemory(address: number, length: number): Promise<Uint8Array> {
    if (length < 1 || length > BLOCK_SIZE) throw new RangeError(`READ MEMORY of ${length} bytes`);
    await this.command(CMD.READ_MEMORY, 'READ MEMORY');
    await this.t.write(addressBytes(address));
    await this.expectAck(`READ MEMORY address ${hex(address)}`);
    await this.t.write(new Uint8Array([length - 1, (length - 1) ^ 0xff]));
    await this.expectAck(`READ MEMORY length ${length}`);
    return this.t.read(length, this.timeoutMs);
  }

  /** Writes up to 256 bytes; the length must be a multiple of 4. */
  async writeMemory(address: number, data: Uint8Array): Promise<void> {
    if (data.length < 1 || data.length > BLOCK_SIZE || data.length % 4 !== 0) throw new RangeError(`WRITE MEMORY of ${data.length} bytes`);
    await this.command(CMD.WRITE_MEMORY, 'WRITE MEMORY');
    await this.t.write(addressBytes(address));
    await this.expectAck(`WRITE MEMORY address ${hex(address)}`);
    const packet = new Uint8Array(data.length + 2);
    packet[0] = data.length - 1;
    packet.set(data, 1);
    packet[packet.length - 1] = xorAll(packet.subarray(0, packet.length - 1));
    await this.t.write(packet);
    await this.expectAck(`WRITE MEMORY data at ${hex(address)}`);
  }

  /** EXTENDED ERASE of the given units (16-bit numbers), or a mass erase (0xFFFF). */
  async extendedErase(units: number[] | 'mass', timeoutMs: number): Promise<void> {
    await this.command(CMD.EXTENDED_ERASE, 'EXTENDED ERASE');
    let payload: Uint8Array;
    if (units === 'mass') {
      payload = new Uint8Array([0xff, 0xff, 0x00]);
    } else {
      payload = new Uint8Array(2 + units.length * 2 + 1);
      const v = new DataView(payload.buffer);
      v.setUint16(0, units.length - 1, false);
      units.forEach((u, i) => v.setUint16(2 + i * 2, u, false));
      payload[payload.length - 1] = xorAll(payload.subarray(0, payload.length - 1));
    }
    await this.t.write(payload);
    await this.expectAck('EXTENDED ERASE', timeoutMs);
  }

  /** Legacy ERASE of the given pages (8-bit numbers), or a global erase (0xFF). */
  async erase(units: number[] | 'mass', timeoutMs: number): Promise<void> {
    await this.command(CMD.ERASE, 'ERASE');
    let payload: Uint8Array;
    if (units === 'mass') {
      payload = new Uint8Array([0xff, 0x00]);
    } else {
      payload = new Uint8Array(1 + units.length + 1);
      payload[0] = units.length - 1;
      payload.set(units, 1);
      payload[payload.length - 1] = xorAll(payload.subarray(0, payload.length - 1));
    }
    await this.t.write(payload);
    await this.expectAck('ERASE', timeoutMs);
  }

  async go(address: number): Promise<void> {
    await this.command(CMD.GO, 'GO');
    await this.t.write(addressBytes(address));
    await this.expectAck(`GO ${hex(address)}`);
  }
}

// ---- backend ----

export class Stm32UartBackend implements FlashBackend {
  readonly method = 'stm32-uart';
  private readonly transportFactory: TransportFactory;

  constructor(
    private readonly board: Board,
    private readonly flashing: Stm32Flashing,
    private readonly config: Stm32UartConfig = {},
  ) {
    this.transportFactory = config.transportFactory ?? openSerial;
  }

  async flash(image: FlashImage, opts: FlashOptions): Promise<FlashResult> {
    const started = Date.now();
    const log = opts.log ?? (() => {});
    const progress = opts.onProgress ?? (() => {});
    const timeoutMs = opts.timeoutMs ?? 1000;
    const retries = opts.retries ?? 3;
    const signal = opts.signal;

    checkImageNotEmpty(image);
    const start = image.address >>> 0;
    const end = start + image.data.byteLength;
    const mem = this.board.memory.flash;
    if (start < mem.base || end > mem.base + mem.size) {
      throw imageError(
        `the image (${hex(start)}..${hex(end)}, ${image.data.byteLength} bytes) does not fit the flash of ${this.board.id} (${hex(mem.base)}..${hex(mem.base + mem.size)})`,
      );
    }
    if (start % 4 !== 0) throw imageError(`the image address ${hex(start)} is not a multiple of 4, which WRITE MEMORY needs`);
    const path = requirePort(this.board, opts);

    // The last block is padded to a multiple of 4 with 0xFF (the erased value).
    const padded = new Uint8Array(Math.ceil(image.data.byteLength / 4) * 4).fill(0xff);
    padded.set(image.data);

    let t: ByteTransport;
    try {
      t = await this.transportFactory({ path, baudRate: this.flashing.baud, parity: 'even' });
    } catch (e) {
      throw new FlashError('connect', errorText(e), 'untouched');
    }
    let state: FlashState = 'untouched';
    let phase: FlashPhase = 'connect';
    try {
      const bl = new Stm32Bootloader(t, timeoutMs);

      // connect
      progress({ phase, done: 0, total: 1 });
      const entry = this.config.bootEntry ?? DEFAULT_BOOT_ENTRY;
      if (entry !== 'none') await this.signals(t, entry, signal);
      const syncAttempts = this.config.syncAttempts ?? 10;
      try {
        const how = await bl.sync(syncAttempts, this.config.syncTimeoutMs ?? 200, signal);
        log(how === 'ack' ? `synced with the STM32 bootloader on ${path}` : `the STM32 bootloader on ${path} was already synced`);
      } catch (e) {
        if (!(e instanceof TimeoutError)) throw e;
        throw new FlashError(
          'connect',
          `no answer to sync (0x7f) on ${path} after ${syncAttempts} tries: is the chip in its system bootloader (BOOT0 high, then reset), is this the right port, and is nothing else using it?`,
          'untouched',
        );
      }
      const info = await this.retry('connect', state, 'GET', retries, t, log, signal, () => bl.get());
      const commands = new Set(info.commands);
      log(`bootloader version ${(info.version >> 4).toString()}.${(info.version & 0xf).toString()}, commands ${info.commands.map((c) => hex(c, 2)).join(' ')}`);
      const eraseCommand = commands.has(CMD.EXTENDED_ERASE) ? CMD.EXTENDED_ERASE : commands.has(CMD.ERASE) ? CMD.ERASE : undefined;
      for (const [code, name] of [
        [CMD.WRITE_MEMORY, 'WRITE MEMORY'],
        [CMD.READ_MEMORY, 'READ MEMORY'],
        [CMD.GO, 'GO'],
      ] as const) {
        if (!commands.has(code)) throw new FlashError('connect', `the bootloader does not offer ${name} (${hex(code, 2)})`, 'untouched');
      }
      if (eraseCommand === undefined) throw new FlashError('connect', 'the bootloader offers neither ERASE (0x43) nor EXTENDED ERASE (0x44)', 'untouched');
      const pid = await this.retry('connect', state, 'GET ID', retries, t, log, signal, () => bl.getId());
      log(`product id ${hex(pid, 3)} (${LAYOUTS[pid]?.name ?? 'unknown to tinyforge'})`);
      progress({ phase, done: 1, total: 1 });

      // erase
      phase = 'erase';
      progress({ phase, done: 0, total: 1 });
      const plan = planErase(pid, start, start + padded.length, eraseCommand);
      if (plan.kind === 'mass') log(`mass erase: ${plan.reason}`);
      else log(`erasing ${eraseCommand === CMD.EXTENDED_ERASE ? 'sectors' : 'pages'} ${plan.units.join(', ')}`);
      const eraseTimeout = this.config.eraseTimeoutMs ?? (plan.kind === 'mass' ? 60_000 : 5_000 + 2_000 * plan.units.length);
      const units = plan.kind === 'mass' ? ('mass' as const) : plan.units;
      state = 'partial'; // from the first erase byte on, the old image is gone
      try {
        if (eraseCommand === CMD.EXTENDED_ERASE) await bl.extendedErase(units, eraseTimeout);
        else await bl.erase(units, eraseTimeout);
      } catch (e) {
        if (e instanceof NackError) {
          throw new FlashError('erase', `${e.message}: the flash may be write-protected or read-protected (RDP); STM32CubeProgrammer can remove the protection, which mass-erases the chip`, state);
        }
        throw e;
      }
      progress({ phase, done: 1, total: 1 });

      // write
      phase = 'write';
      for (let off = 0; off < padded.length; off += BLOCK_SIZE) {
        throwIfAborted(signal, phase, state);
        const block = padded.subarray(off, Math.min(off + BLOCK_SIZE, padded.length));
        const address = start + off;
        await this.retry(phase, state, `WRITE MEMORY at ${hex(address)}`, retries, t, log, signal, () => bl.writeMemory(address, block), address);
        progress({ phase, done: Math.min(off + block.length, image.data.byteLength), total: image.data.byteLength });
      }

      // verify
      phase = 'verify';
      for (let off = 0; off < image.data.byteLength; off += BLOCK_SIZE) {
        throwIfAborted(signal, phase, state);
        const length = Math.min(BLOCK_SIZE, image.data.byteLength - off);
        const address = start + off;
        const got = await this.retry(phase, state, `READ MEMORY at ${hex(address)}`, retries, t, log, signal, () => bl.readMemory(address, length), address);
        for (let i = 0; i < length; i++) {
          if (got[i] !== image.data[off + i]) {
            const bad = address + i;
            throw new FlashError(
              'verify',
              `read-back mismatch at ${hex(bad)}: flash holds ${hex(got[i] ?? 0, 2)}, the image has ${hex(image.data[off + i] ?? 0, 2)}`,
              'partial',
              bad,
            );
          }
        }
        progress({ phase, done: off + length, total: image.data.byteLength });
      }
      state = 'complete';

      // run
      phase = 'run';
      progress({ phase, done: 0, total: 1 });
      const goAddress = this.flashing.startAddress;
      // A NACK is retried; a lost ACK is not, because the application may already be running and
      // would read a repeated GO as input.
      for (let attempt = 0; ; attempt++) {
        try {
          await bl.go(goAddress);
          break;
        } catch (e) {
          if (e instanceof NackError && attempt < retries) {
            log(`${e.message}; retrying (${attempt + 1}/${retries})`);
            t.discardInput();
            continue;
          }
          if (e instanceof TimeoutError) {
            throw new FlashError('run', `no ACK for GO ${hex(goAddress)}: the application may or may not be running; reset the board (BOOT0 low) to start it`, state);
          }
          throw e;
        }
      }
      const exit = this.config.bootExit ?? DEFAULT_BOOT_EXIT;
      if (exit !== 'none') await this.signals(t, exit, signal);
      log(`started the application at ${hex(goAddress)}`);
      progress({ phase, done: 1, total: 1 });

      return { bytesWritten: image.data.byteLength, verified: true, method: this.method, seconds: (Date.now() - started) / 1000 };
    } catch (e) {
      if (e instanceof FlashError) throw e;
      throw new FlashError(phase, errorText(e), state);
    } finally {
      await t.close();
    }
  }

  private async signals(t: ByteTransport, steps: SignalStep[], signal?: AbortSignal): Promise<void> {
    for (const s of steps) {
      const lines: { dtr?: boolean; rts?: boolean } = {};
      if (s.dtr !== undefined) lines.dtr = s.dtr;
      if (s.rts !== undefined) lines.rts = s.rts;
      await t.setSignals(lines); // ignored by ptys and ports without modem lines
      if (s.waitMs > 0) await sleep(s.waitMs, signal);
    }
  }

  /**
   * Runs one whole command, again after a NACK or a timeout, up to `retries` more times. Before a
   * retry, late bytes are given a moment to arrive and dropped, so the next command starts clean.
   */
  private async retry<T>(
    phase: FlashPhase,
    state: FlashState,
    what: string,
    retries: number,
    t: ByteTransport,
    log: (line: string) => void,
    signal: AbortSignal | undefined,
    op: () => Promise<T>,
    address?: number,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (e) {
        const retriable = e instanceof NackError || e instanceof TimeoutError;
        if (!retriable) throw e;
        if (attempt >= retries) {
          const rdp = e instanceof NackError ? ' (a bootloader NACKs everything but GET, GET VERSION and GET ID while read protection is active)' : '';
          throw new FlashError(phase, `${what} failed ${attempt + 1} times; last: ${errorText(e)}${rdp}`, state, address);
        }
        log(`${what}: ${errorText(e)}; retrying (${attempt + 1}/${retries})`);
        await sleep(20, signal, phase, state);
        t.discardInput();
      }
    }
  }
}
