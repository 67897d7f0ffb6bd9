// A simulated ESP32-family ROM serial loader (the device side of the protocol in esptool's
// "Serial Protocol" documentation), for testing the esp-rom backends without a board. It frames
// with SLIP, answers with 4 status bytes like the ROM, erases on FLASH_DEFL_BEGIN, inflates the
// zlib stream of FLASH_DEFL_DATA as it arrives and writes it to a simulated SPI flash, and answers
// SPI_FLASH_MD5 with 32 hex characters.
//
// It also runs the flasher stub the way the chip does: MEM_BEGIN / MEM_DATA / MEM_END load the
// stub into RAM and start it at its entry, the stub greets with the SLIP frame "OHAI", and from
// then on answers as esptool's stub does (2 status bytes, SYNC answered once, the MD5 as 16 raw
// bytes, CHANGE_BAUDRATE with the old rate as second word, FLASH_DEFL_BEGIN without the
// encryption word). Registers read back what was written; the SPI peripheral answers the flash
// ID command (0x9F) with a JEDEC id, as esptool-js reads it. A fault can reset the chip in the
// middle of a write: it drops back to the ROM, prints its boot banner and loses the download.
// Written independently of the host code: it shares no helpers with flasher/.

import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { TimeoutError, type ByteTransport } from '../../flasher/transport/serial_transport.ts';

export type SimChip = 'esp32' | 'esp32s3' | 'esp32c3';

const MAGIC: Record<SimChip, number> = { esp32: 0x00f01d83, esp32s3: 0x00000009, esp32c3: 0x1b31506f };
const CHIP_ID: Record<SimChip, number> = { esp32: 0, esp32s3: 9, esp32c3: 5 };
/** SPI0 (flash) peripheral: base address and offsets of USR2 (command) and W0 (data) registers. */
const SPI_REGS: Record<SimChip, { base: number; usr2: number; w0: number }> = {
  esp32: { base: 0x3ff42000, usr2: 0x24, w0: 0x80 },
  esp32s3: { base: 0x60002000, usr2: 0x20, w0: 0x58 },
  esp32c3: { base: 0x60002000, usr2: 0x20, w0: 0x58 },
};
/** SPI_CMD_REG's USR bit: set to start a user command, cleared by the hardware when done. */
const SPI_CMD_USR = 1 << 18;
const BOOT_BANNER = 'ets Jul 29 2019 12:21:46\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\nwaiting for download\r\n';

export interface EspCommandFault {
  command: number;
  /** Which occurrence of that command (1 = the first). */
  occurrence?: number;
}

export interface EspSimFaults {
  /** Never answer (no loader on the line, or the chip is not in download mode). */
  silent?: boolean;
  /** Store the data of this FLASH_DEFL_DATA sequence number with one wrong byte. */
  corruptBlock?: number;
  /** Fail one command once with error 0x07 (invalid CRC), without acting on it. */
  nackOnce?: EspCommandFault;
  /** Act on one command once but send no reply. */
  dropReplyOnce?: EspCommandFault;
  /**
   * The chip resets (power glitch, EN pulled) when it receives this FLASH_DEFL_DATA sequence
   * number for the first time: no reply, back to the ROM loader, boot banner on the line.
   */
  resetAtBlock?: number;
}

export interface EspSimOptions {
  chip?: SimChip;
  flashSize?: number;
  /** Initial flash contents (default 0x5A: an old image, not erased). */
  fill?: number;
  /** How many replies one SYNC gets (the ROM sends several). */
  syncReplies?: number;
  /** JEDEC id the flash answers to 0x9F (manufacturer, type, capacity: 0x16 = 4 MiB). */
  flashId?: number;
  faults?: EspSimFaults;
}

interface RamLoad {
  offset: number;
  size: number;
  blocks: number;
  blockSize: number;
  nextSeq: number;
}

interface Download {
  offset: number;
  eraseSize: number;
  blocks: number;
  blockSize: number;
  nextSeq: number;
  compressed: Buffer[];
  inflated: number;
}

export class EspRomSim {
  readonly chip: SimChip;
  readonly flash: Uint8Array;
  /** Commands received, in order. */
  readonly commands: number[] = [];
  baud = 115200;
  spiAttached = false;
  spiParams: number[] | undefined;
  /** Words of the last FLASH_DEFL_BEGIN. */
  beginParams: number[] | undefined;
  /** Argument of FLASH_DEFL_END, once received. */
  endFlag: number | undefined;
  blocksWritten = 0;
  duplicateBlocks = 0;
  errorsSent = 0;
  /** True once a loaded stub runs (until a reset). */
  stub = false;
  /** Times the stub was started, and chip resets (faults) so far. */
  stubStarts = 0;
  resets = 0;
  /** RAM written with MEM_DATA: address -> byte. */
  readonly ram = new Map<number, number>();
  private readonly regs = new Map<number, number>();
  private readonly flashId: number;
  private ramLoad: RamLoad | undefined;
  private resetFired = false;

  private readonly syncReplies: number;
  private readonly faults: EspSimFaults;
  private readonly counts = new Map<number, number>();
  private nackFired = false;
  private dropFired = false;
  private corruptPending = false;
  private download: Download | undefined;
  private aligned = false;
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly t: ByteTransport,
    opts: EspSimOptions = {},
  ) {
    this.chip = opts.chip ?? 'esp32';
    this.flash = new Uint8Array(opts.flashSize ?? 4 * 1024 * 1024).fill(opts.fill ?? 0x5a);
    this.syncReplies = opts.syncReplies ?? 4;
    this.flashId = opts.flashId ?? 0x164020;
    this.faults = opts.faults ?? {};
  }

  start(): this {
    this.loop = this.run().catch(() => {});
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  // ---- framing ----

  private async frame(): Promise<Uint8Array> {
    for (;;) {
      if (this.stopped) throw new Error('stopped');
      let seg: Uint8Array;
      try {
        seg = await this.t.readUntil(0xc0, 100, 1 << 20);
      } catch (e) {
        if (e instanceof TimeoutError) continue;
        throw e;
      }
      if (!this.aligned) {
        this.aligned = true;
        continue;
      }
      if (seg.length < 2) continue;
      const out: number[] = [];
      let ok = true;
      for (let i = 0; i < seg.length - 1; i++) {
        const b = seg[i]!;
        if (b === 0xdb) {
          const n = seg[++i];
          if (n === 0xdc) out.push(0xc0);
          else if (n === 0xdd) out.push(0xdb);
          else ok = false;
        } else out.push(b);
      }
      if (ok) return new Uint8Array(out);
    }
  }

  private reply(op: number, value: number, data: Uint8Array = new Uint8Array(0), error = 0): Promise<void> {
    const body = new Uint8Array(data.length + (this.stub ? 2 : 4));
    body.set(data);
    body[data.length] = error ? 1 : 0;
    body[data.length + 1] = error;
    const packet = new Uint8Array(8 + body.length);
    const v = new DataView(packet.buffer);
    packet[0] = 0x01;
    packet[1] = op;
    v.setUint16(2, body.length, true);
    v.setUint32(4, value >>> 0, true);
    packet.set(body, 8);
    if (error) this.errorsSent++;
    return this.send(packet);
  }

  /** One SLIP frame on the line. */
  private send(packet: Uint8Array): Promise<void> {
    const wire: number[] = [0xc0];
    for (const b of packet) {
      if (b === 0xc0) wire.push(0xdb, 0xdc);
      else if (b === 0xdb) wire.push(0xdb, 0xdd);
      else wire.push(b);
    }
    wire.push(0xc0);
    return this.t.write(new Uint8Array(wire));
  }

  private fail(op: number, code: number): Promise<void> {
    return this.reply(op, 0, new Uint8Array(0), code);
  }

  // ---- commands ----

  private async run(): Promise<void> {
    for (;;) {
      const f = await this.frame();
      if (this.faults.silent) continue;
      if (f.length < 8 || f[0] !== 0x00) continue;
      const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
      const op = f[1]!;
      const size = v.getUint16(2, true);
      const check = v.getUint32(4, true);
      const data = f.subarray(8);
      if (data.length !== size) {
        await this.fail(op, 0x05);
        continue;
      }
      this.counts.set(op, (this.counts.get(op) ?? 0) + 1);
      const n = this.counts.get(op)!;
      const nf = this.faults.nackOnce;
      if (nf && !this.nackFired && nf.command === op && (nf.occurrence ?? 1) === n) {
        this.nackFired = true;
        await this.fail(op, 0x07);
        continue;
      }
      const df = this.faults.dropReplyOnce;
      const drop = !!df && !this.dropFired && df.command === op && (df.occurrence ?? 1) === n;
      if (drop) this.dropFired = true;
      this.commands.push(op);
      const answer = await this.handle(op, data, check);
      if (!drop && answer) await answer();
    }
  }

  private words(data: Uint8Array): number[] {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const out: number[] = [];
    for (let i = 0; i + 4 <= data.length; i += 4) out.push(v.getUint32(i, true));
    return out;
  }

  /** Acts on a command and returns how to answer it. */
  private async handle(op: number, data: Uint8Array, check: number): Promise<(() => Promise<void>) | undefined> {
    switch (op) {
      case 0x08: {
        const ok = data.length === 36 && data[0] === 0x07 && data[1] === 0x07 && data[2] === 0x12 && data[3] === 0x20 && data.subarray(4).every((b) => b === 0x55);
        if (!ok) return () => this.fail(op, 0x05);
        // The ROM answers several times with a non-zero value; the stub once, with 0.
        if (this.stub) return () => this.reply(op, 0);
        return async () => {
          for (let i = 0; i < this.syncReplies; i++) await this.reply(op, 0x20120707);
        };
      }
      case 0x0a: {
        const [addr] = this.words(data);
        const value = addr === 0x40001000 ? MAGIC[this.chip] : (this.regs.get(addr!) ?? 0);
        return () => this.reply(op, value);
      }
      case 0x09: {
        // (address, value, mask, delay) quadruples; esptool-js may append a second one.
        if (data.length === 0 || data.length % 16 !== 0) return () => this.fail(op, 0x05);
        const w = this.words(data);
        for (let i = 0; i < w.length; i += 4) this.writeReg(w[i]!, w[i + 1]!, w[i + 2]!);
        return () => this.reply(op, 0);
      }
      case 0x05: {
        const [size, blocks, blockSize, offset] = this.words(data) as [number, number, number, number];
        if (data.length !== 16) return () => this.fail(op, 0x05);
        this.ramLoad = { offset, size, blocks, blockSize, nextSeq: 0 };
        return () => this.reply(op, 0);
      }
      case 0x07: {
        const load = this.ramLoad;
        if (!load || data.length < 16) return () => this.fail(op, 0x05);
        const [len, seq] = this.words(data.subarray(0, 16)) as [number, number];
        const payload = data.subarray(16);
        let sum = 0xef;
        for (const b of payload) sum ^= b;
        if (payload.length !== len || sum !== check) return () => this.fail(op, 0x07);
        if (seq !== load.nextSeq) return () => this.fail(op, 0x05);
        payload.forEach((b, i) => this.ram.set(load.offset + seq * load.blockSize + i, b));
        load.nextSeq++;
        return () => this.reply(op, 0);
      }
      case 0x06: {
        const [noEntry, entry] = this.words(data) as [number, number];
        if (data.length !== 8) return () => this.fail(op, 0x05);
        this.ramLoad = undefined;
        if (noEntry !== 0) return () => this.reply(op, 0);
        // The ROM jumps to code it holds in RAM: a stub, which says hello.
        if (!this.ram.has(entry)) return () => this.fail(op, 0x06);
        return async () => {
          await this.reply(op, 0);
          this.stub = true;
          this.stubStarts++;
          await this.send(new TextEncoder().encode('OHAI'));
        };
      }
      case 0x14: {
        if (this.chip === 'esp32') return () => this.fail(op, 0x05); // the ESP32 ROM does not have it
        const info = new Uint8Array(20);
        new DataView(info.buffer).setUint32(12, CHIP_ID[this.chip], true);
        return () => this.reply(op, 0, info);
      }
      case 0x0f: {
        const [newBaud, oldBaud] = this.words(data);
        // The ROM takes 0 as the second word, the stub the rate it runs at now.
        if (data.length !== 8 || oldBaud !== (this.stub ? this.baud : 0)) return () => this.fail(op, 0x05);
        // The ROM answers at the old rate and then switches its UART. A pty has no baud rate, and
        // serialport's update() flushes both queues (which could drop this reply before the other
        // end reads it), so the simulator only records the new rate.
        return async () => {
          await this.reply(op, 0);
          this.baud = newBaud!;
        };
      }
      case 0x0d:
        if (data.length !== 8) return () => this.fail(op, 0x05); // the ROM takes a second, zero word
        this.spiAttached = true;
        return () => this.reply(op, 0);
      case 0x0b:
        if (data.length !== 24) return () => this.fail(op, 0x05);
        this.spiParams = this.words(data);
        return () => this.reply(op, 0);
      case 0x10:
        return this.begin(op, data);
      case 0x11:
        return this.data(op, data, check);
      case 0x12: {
        this.endFlag = this.words(data)[0];
        this.download = undefined;
        return () => this.reply(op, 0);
      }
      case 0x13: {
        const [addr, size] = this.words(data);
        if (data.length !== 16 || addr! + size! > this.flash.length) return () => this.fail(op, 0x05);
        const md5 = createHash('md5').update(this.flash.subarray(addr!, addr! + size!));
        // The ROM sends 32 hex characters, the stub 16 raw bytes.
        if (this.stub) return () => this.reply(op, 0, new Uint8Array(md5.digest()));
        return () => this.reply(op, 0, new TextEncoder().encode(md5.digest('hex')));
      }
      default:
        return () => this.fail(op, 0x05);
    }
  }

  /** A register write; starting an SPI user command runs it (only RDID, 0x9F, is answered). */
  private writeReg(addr: number, value: number, mask: number): void {
    const old = this.regs.get(addr) ?? 0;
    this.regs.set(addr, ((old & ~mask) | (value & mask)) >>> 0);
    const spi = SPI_REGS[this.chip];
    if (addr === spi.base && value & SPI_CMD_USR) {
      const command = (this.regs.get(spi.base + spi.usr2) ?? 0) & 0xff;
      if (command === 0x9f) this.regs.set(spi.base + spi.w0, this.flashId);
      this.regs.set(spi.base, 0); // done at once
    }
  }

  /** The chip resets: the stub and any download are gone, the ROM prints its banner. */
  private async resetChip(): Promise<void> {
    this.resets++;
    this.stub = false;
    this.download = undefined;
    this.ramLoad = undefined;
    this.spiAttached = false;
    this.baud = 115200;
    await this.t.write(new TextEncoder().encode(BOOT_BANNER));
  }

  private begin(op: number, data: Uint8Array): (() => Promise<void>) | undefined {
    const expected = this.chip === 'esp32' || this.stub ? 16 : 20; // newer ROMs take an "encrypted" word, the stub does not
    if (data.length !== expected) return () => this.fail(op, 0x05);
    if (!this.spiAttached && !this.stub) return () => this.fail(op, 0x06); // the stub attaches the flash itself
    const w = this.words(data);
    const [eraseSize, blocks, blockSize, offset] = w as [number, number, number, number];
    if (offset % 4096 !== 0 || offset + eraseSize > this.flash.length) return () => this.fail(op, 0x05);
    this.beginParams = w;
    const end = Math.ceil((offset + eraseSize) / 4096) * 4096;
    this.flash.fill(0xff, offset, end); // the ROM erases the whole region up front
    this.download = { offset, eraseSize, blocks, blockSize, nextSeq: 0, compressed: [], inflated: 0 };
    return () => this.reply(op, 0);
  }

  private data(op: number, data: Uint8Array, check: number): (() => Promise<void>) | undefined {
    const d = this.download;
    if (!d || data.length < 16) return () => this.fail(op, 0x05);
    const [len, seq] = this.words(data.subarray(0, 16)) as [number, number];
    if (seq === this.faults.resetAtBlock && !this.resetFired) {
      this.resetFired = true;
      return () => this.resetChip();
    }
    const payload = data.subarray(16);
    if (payload.length !== len || len > d.blockSize) return () => this.fail(op, 0x05);
    let sum = 0xef;
    for (const b of payload) sum ^= b;
    if (sum !== check) return () => this.fail(op, 0x07);
    if (seq === d.nextSeq - 1) {
      // The host resent a block whose answer it did not get: it is already written.
      this.duplicateBlocks++;
      return () => this.reply(op, 0);
    }
    if (seq !== d.nextSeq || seq >= d.blocks) return () => this.fail(op, 0x05);
    d.compressed.push(Buffer.from(payload));
    let out: Buffer;
    try {
      out = zlib.inflateSync(Buffer.concat(d.compressed), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch {
      return () => this.fail(op, 0x0b);
    }
    if (out.length > d.eraseSize) return () => this.fail(op, 0x05);
    const fresh = out.subarray(d.inflated);
    if (seq === this.faults.corruptBlock) this.corruptPending = true;
    for (let i = 0; i < fresh.length; i++) this.flash[d.offset + d.inflated + i] = this.flash[d.offset + d.inflated + i]! & fresh[i]!;
    if (this.corruptPending && fresh.length > 0) {
      const at = d.offset + d.inflated + Math.floor(fresh.length / 2);
      this.flash[at] = this.flash[at]! ^ 0x10;
      this.corruptPending = false;
    }
    d.inflated = out.length;
    d.nextSeq++;
    this.blocksWritten++;
    return () => this.reply(op, 0);
  }
}
