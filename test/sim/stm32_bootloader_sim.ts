// A simulated STM32 system bootloader (the device side of ST's AN3155 USART protocol), for
// testing the stm32-uart backend without a board. It owns a flash array that behaves like NOR
// flash (erase sets 0xFF, programming can only clear bits), so a skipped erase shows up as wrong
// data. Written independently of the host code: it shares no helpers with flasher/.

import { TimeoutError, type ByteTransport } from '../../flasher/transport/serial_transport.ts';

const ACK = 0x79;
const NACK = 0x1f;

export interface CommandFault {
  /** Command code (0x31 WRITE MEMORY, 0x11 READ MEMORY, ...). */
  command: number;
  /** Which occurrence of that command (1 = the first). */
  occurrence?: number;
}

export interface Stm32SimFaults {
  /** Never answer anything (no bootloader on the line). */
  silent?: boolean;
  /** The write that covers this address stores a wrong byte there. */
  corruptWriteAt?: number;
  /** Answer NACK once, at the step where the command would be carried out (nothing is done). */
  nackOnce?: CommandFault;
  /** Carry the command out once but swallow its final answer. */
  dropReplyOnce?: CommandFault;
}

export interface Stm32SimOptions {
  /** Product id returned by GET ID; default 0x421 (STM32F446). */
  pid?: number;
  flashBase?: number;
  /** Sizes of the erase units (sectors or pages) from flashBase; default the STM32F446's. */
  units?: number[];
  /** Which erase command GET lists: 0x44 (default) or 0x43. */
  eraseCommand?: 0x43 | 0x44;
  /** Bootloader version byte; default 0x31 (3.1). */
  version?: number;
  /** Initial flash contents (default 0x3C everywhere, i.e. an old program, not erased). */
  fill?: number;
  faults?: Stm32SimFaults;
}

const KB = 1024;
export const F446_UNITS = [16 * KB, 16 * KB, 16 * KB, 16 * KB, 64 * KB, 128 * KB, 128 * KB, 128 * KB];

export class Stm32BootloaderSim {
  readonly flash: Uint8Array;
  readonly flashBase: number;
  readonly pid: number;
  readonly eraseCommand: number;
  /** Address given to GO, once it was received. */
  goAddress: number | undefined;
  /** Every command code accepted, in order. */
  readonly commands: number[] = [];
  readonly erasedUnits: number[] = [];
  massErases = 0;
  nacksSent = 0;
  syncs = 0;
  /** Reads and writes seen, as [address, length]. */
  readonly writes: [number, number][] = [];
  readonly reads: [number, number][] = [];

  private readonly units: number[];
  private readonly unitStarts: number[];
  private readonly version: number;
  private readonly faults: Stm32SimFaults;
  private readonly counts = new Map<number, number>();
  private nackFired = false;
  private dropFired = false;
  private synced = false;
  private running = false; // after GO: the "application" ignores the line
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly t: ByteTransport,
    opts: Stm32SimOptions = {},
  ) {
    this.pid = opts.pid ?? 0x421;
    this.flashBase = opts.flashBase ?? 0x0800_0000;
    this.units = opts.units ?? F446_UNITS;
    this.eraseCommand = opts.eraseCommand ?? 0x44;
    this.version = opts.version ?? 0x31;
    this.faults = opts.faults ?? {};
    this.unitStarts = [];
    let a = this.flashBase;
    for (const u of this.units) {
      this.unitStarts.push(a);
      a += u;
    }
    this.flash = new Uint8Array(a - this.flashBase).fill(opts.fill ?? 0x3c);
  }

  start(): this {
    this.loop = this.run().catch(() => {});
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** `length` bytes of flash from `address`. */
  read(address: number, length: number): Uint8Array {
    return this.flash.slice(address - this.flashBase, address - this.flashBase + length);
  }

  private async byte(): Promise<number> {
    for (;;) {
      if (this.stopped) throw new Error('stopped');
      try {
        return (await this.t.read(1, 100))[0]!;
      } catch (e) {
        if (!(e instanceof TimeoutError)) throw e;
      }
    }
  }

  private async bytes(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = await this.byte();
    return out;
  }

  private send(...bytes: (number | Uint8Array)[]): Promise<void> {
    const flat: number[] = [];
    for (const b of bytes) {
      if (typeof b === 'number') flat.push(b);
      else flat.push(...b);
    }
    return this.t.write(new Uint8Array(flat));
  }

  private nack(): Promise<void> {
    this.nacksSent++;
    return this.t.write(new Uint8Array([NACK]));
  }

  private async run(): Promise<void> {
    for (;;) {
      const b = await this.byte();
      if (this.faults.silent || this.running) continue;
      if (!this.synced) {
        if (b === 0x7f) {
          this.synced = true;
          this.syncs++;
          await this.send(ACK);
        }
        continue;
      }
      const complement = await this.byte();
      if ((b ^ complement) !== 0xff) {
        await this.nack();
        continue;
      }
      await this.dispatch(b);
    }
  }

  /** What the fault knobs say about this occurrence of `code`. */
  private fault(code: number): 'nack' | 'drop' | undefined {
    const n = this.counts.get(code) ?? 0;
    const f = this.faults;
    if (f.nackOnce && !this.nackFired && f.nackOnce.command === code && (f.nackOnce.occurrence ?? 1) === n) {
      this.nackFired = true;
      return 'nack';
    }
    if (f.dropReplyOnce && !this.dropFired && f.dropReplyOnce.command === code && (f.dropReplyOnce.occurrence ?? 1) === n) {
      this.dropFired = true;
      return 'drop';
    }
    return undefined;
  }

  private inFlash(address: number, length: number): boolean {
    return address >= this.flashBase && address + length <= this.flashBase + this.flash.length;
  }

  private async address(): Promise<number | undefined> {
    const a = await this.bytes(5);
    if ((a[0]! ^ a[1]! ^ a[2]! ^ a[3]!) !== a[4]) return undefined;
    return ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
  }

  private commandList(): number[] {
    return [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, this.eraseCommand, 0x63, 0x73, 0x82, 0x92];
  }

  private async dispatch(code: number): Promise<void> {
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
    switch (code) {
      case 0x00: {
        const f = this.fault(code);
        if (f === 'nack') return this.nack();
        this.commands.push(code);
        if (f === 'drop') return;
        const list = this.commandList();
        return this.send(ACK, list.length, this.version, new Uint8Array(list), ACK);
      }
      case 0x01: {
        this.commands.push(code);
        return this.send(ACK, this.version, 0x00, 0x00, ACK);
      }
      case 0x02: {
        const f = this.fault(code);
        if (f === 'nack') return this.nack();
        this.commands.push(code);
        if (f === 'drop') return;
        return this.send(ACK, 0x01, (this.pid >> 8) & 0xff, this.pid & 0xff, ACK);
      }
      case 0x11:
        return this.readMemory();
      case 0x21:
        return this.go();
      case 0x31:
        return this.writeMemory();
      case 0x43:
      case 0x44:
        if (code !== this.eraseCommand) return this.nack();
        return code === 0x44 ? this.extendedErase() : this.legacyErase();
      default:
        return this.nack();
    }
  }

  private async readMemory(): Promise<void> {
    await this.send(ACK);
    const address = await this.address();
    if (address === undefined) return this.nack();
    await this.send(ACK);
    const [n, nc] = await this.bytes(2);
    const length = n! + 1;
    if ((n! ^ nc!) !== 0xff || !this.inFlash(address, length)) return this.nack();
    const f = this.fault(0x11);
    if (f === 'nack') return this.nack();
    this.commands.push(0x11);
    this.reads.push([address, length]);
    if (f === 'drop') return;
    return this.send(ACK, this.read(address, length));
  }

  private async writeMemory(): Promise<void> {
    await this.send(ACK);
    const address = await this.address();
    if (address === undefined) return this.nack();
    await this.send(ACK);
    const n = await this.byte();
    const data = await this.bytes(n + 1);
    const check = await this.byte();
    let x = n;
    for (const d of data) x ^= d;
    if (x !== check || data.length % 4 !== 0 || address % 4 !== 0 || !this.inFlash(address, data.length)) return this.nack();
    const f = this.fault(0x31);
    if (f === 'nack') return this.nack();
    this.commands.push(0x31);
    this.writes.push([address, data.length]);
    for (let i = 0; i < data.length; i++) {
      const o = address - this.flashBase + i;
      this.flash[o] = this.flash[o]! & data[i]!; // programming only clears bits
      if (address + i === this.faults.corruptWriteAt) this.flash[o] = data[i]! ^ 0x01;
    }
    if (f === 'drop') return;
    return this.send(ACK);
  }

  private eraseUnit(u: number): void {
    const start = this.unitStarts[u]! - this.flashBase;
    this.flash.fill(0xff, start, start + this.units[u]!);
    this.erasedUnits.push(u);
  }

  private async extendedErase(): Promise<void> {
    await this.send(ACK);
    const head = await this.bytes(2);
    const n = (head[0]! << 8) | head[1]!;
    if (n >= 0xfff0) {
      const check = await this.byte();
      if (check !== (head[0]! ^ head[1]!) || n < 0xfffd) return this.nack();
      return this.finishErase('mass', []);
    }
    const list = await this.bytes(2 * (n + 1));
    const check = await this.byte();
    let x = head[0]! ^ head[1]!;
    for (const b of list) x ^= b;
    const units: number[] = [];
    for (let i = 0; i < list.length; i += 2) units.push((list[i]! << 8) | list[i + 1]!);
    if (x !== check || units.some((u) => u >= this.units.length)) return this.nack();
    return this.finishErase('units', units);
  }

  private async legacyErase(): Promise<void> {
    await this.send(ACK);
    const n = await this.byte();
    if (n === 0xff) {
      const check = await this.byte();
      if (check !== 0x00) return this.nack();
      return this.finishErase('mass', []);
    }
    const units = [...(await this.bytes(n + 1))];
    const check = await this.byte();
    let x = n;
    for (const u of units) x ^= u;
    if (x !== check || units.some((u) => u >= this.units.length)) return this.nack();
    return this.finishErase('units', units);
  }

  private async finishErase(kind: 'mass' | 'units', units: number[]): Promise<void> {
    const f = this.fault(this.eraseCommand);
    if (f === 'nack') return this.nack();
    this.commands.push(this.eraseCommand);
    if (kind === 'mass') {
      this.flash.fill(0xff);
      this.massErases++;
    } else {
      for (const u of units) this.eraseUnit(u);
    }
    if (f === 'drop') return;
    return this.send(ACK);
  }

  private async go(): Promise<void> {
    await this.send(ACK);
    const address = await this.address();
    if (address === undefined || !this.inFlash(address, 8)) return this.nack();
    const f = this.fault(0x21);
    if (f === 'nack') return this.nack();
    this.commands.push(0x21);
    this.goAddress = address;
    this.running = true;
    if (f === 'drop') return;
    return this.send(ACK);
  }
}
