// A byte pipe over `serialport` with the reads a protocol needs: exact-length reads and reads
// until a delimiter, each with a deadline. USB-serial adapters and QEMU's pty look the same here.

// serialport (a native binding) is loaded when a port is opened, not when this module is: the
// protocol code that imports the error classes below runs without it.
import type { SerialPort } from 'serialport';
import { TinyforgeError, EXIT_DEVICE_ERROR } from '../../compiler/errors.ts';

/** The device did not answer in time, or the line dropped. Exit code 3. */
export class TransportError extends TinyforgeError {
  constructor(message: string) {
    super(message, EXIT_DEVICE_ERROR);
    this.name = 'TransportError';
  }
}

export class TimeoutError extends TransportError {
  constructor(what: string, ms: number) {
    super(`${what}: no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

export interface SerialOpenOptions {
  path: string;
  baudRate: number;
  /** Even parity for the STM32 system bootloader (8E1). */
  parity?: 'none' | 'even';
}

export interface ModemSignals {
  dtr?: boolean;
  rts?: boolean;
}

/** What protocol code needs from a serial line; tests may provide their own. */
export interface ByteTransport {
  readonly description: string;
  write(data: Uint8Array): Promise<void>;
  /** Exactly n bytes, or TimeoutError. */
  read(n: number, timeoutMs: number): Promise<Uint8Array>;
  /** Bytes up to and including `delimiter`, or TimeoutError. */
  readUntil(delimiter: number, timeoutMs: number, maxBytes?: number): Promise<Uint8Array>;
  /** Everything received so far once there is at least one byte, or TimeoutError (stream adapters). */
  readAvailable?(timeoutMs: number): Promise<Uint8Array>;
  /** Drops everything received so far. */
  discardInput(): void;
  setSignals(signals: ModemSignals): Promise<void>;
  setBaudRate(baud: number): Promise<void>;
  close(): Promise<void>;
}

type Waiter = { check: () => boolean };

/** Buffers incoming bytes and wakes readers when their condition may hold. */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private length = 0;
  private waiters = new Set<Waiter>();
  private closedReason: string | undefined;

  get available(): number {
    return this.length;
  }

  push(data: Uint8Array): void {
    if (data.byteLength === 0) return;
    this.chunks.push(data);
    this.length += data.byteLength;
    this.wake();
  }

  close(reason: string): void {
    this.closedReason = reason;
    this.wake();
  }

  clear(): void {
    this.chunks = [];
    this.length = 0;
  }

  private wake(): void {
    for (const w of [...this.waiters]) if (w.check()) this.waiters.delete(w);
  }

  private flat(): Uint8Array {
    if (this.chunks.length !== 1) {
      const all = new Uint8Array(this.length);
      let off = 0;
      for (const c of this.chunks) {
        all.set(c, off);
        off += c.byteLength;
      }
      this.chunks = [all];
    }
    return this.chunks[0] ?? new Uint8Array(0);
  }

  private take(n: number): Uint8Array {
    const all = this.flat();
    const out = all.slice(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.byteLength > 0 ? [rest] : [];
    this.length = rest.byteLength;
    return out;
  }

  private wait<T>(what: string, timeoutMs: number, attempt: () => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        check: () => {
          let value: T | undefined;
          try {
            value = attempt();
          } catch (e) {
            clearTimeout(timer);
            reject(e);
            return true;
          }
          if (value !== undefined) {
            clearTimeout(timer);
            resolve(value);
            return true;
          }
          if (this.closedReason !== undefined) {
            clearTimeout(timer);
            reject(new TransportError(`${what}: ${this.closedReason}`));
            return true;
          }
          return false;
        },
      };
      if (waiter.check()) return;
      timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new TimeoutError(what, timeoutMs));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  read(n: number, timeoutMs: number, what = `reading ${n} bytes`): Promise<Uint8Array> {
    return this.wait(what, timeoutMs, () => (this.length >= n ? this.take(n) : undefined));
  }

  readAvailable(timeoutMs: number, what = 'reading'): Promise<Uint8Array> {
    return this.wait(what, timeoutMs, () => (this.length > 0 ? this.take(this.length) : undefined));
  }

  readUntil(delimiter: number, timeoutMs: number, maxBytes = 1 << 20, what = 'reading a frame'): Promise<Uint8Array> {
    return this.wait(what, timeoutMs, () => {
      const all = this.flat();
      const idx = all.indexOf(delimiter);
      if (idx >= 0) return this.take(idx + 1);
      if (all.byteLength > maxBytes) {
        this.take(all.byteLength);
        throw new TransportError(`${what}: more than ${maxBytes} bytes without a delimiter`);
      }
      return undefined;
    });
  }
}

/** A real (or pty) serial port. */
export class SerialTransport implements ByteTransport {
  private readonly queue = new ByteQueue();
  private constructor(
    private readonly port: SerialPort,
    readonly description: string,
  ) {
    port.on('data', (d: Buffer) => this.queue.push(new Uint8Array(d)));
    port.on('close', () => this.queue.close('the serial port closed'));
    port.on('error', (e: Error) => this.queue.close(`serial error: ${e.message}`));
  }

  static async open(opts: SerialOpenOptions): Promise<SerialTransport> {
    const { SerialPort } = await import('serialport');
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path: opts.path, baudRate: opts.baudRate, parity: opts.parity ?? 'none', autoOpen: false });
      port.open((err) => {
        if (err) {
          const hint = /EACCES|Permission denied/.test(err.message) ? ' (add yourself to the dialout group: sudo usermod -aG dialout $USER, then log in again)' : '';
          reject(new TransportError(`cannot open serial port ${opts.path}: ${err.message}${hint}`));
          return;
        }
        resolve(new SerialTransport(port, `serial:${opts.path}`));
      });
    });
  }

  write(data: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.port.write(Buffer.from(data), (err) => {
        if (err) reject(new TransportError(`writing to ${this.description}: ${err.message}`));
      });
      this.port.drain((err) => (err ? reject(new TransportError(`writing to ${this.description}: ${err.message}`)) : resolve()));
    });
  }

  read(n: number, timeoutMs: number): Promise<Uint8Array> {
    return this.queue.read(n, timeoutMs, `reading ${n} bytes from ${this.description}`);
  }

  readUntil(delimiter: number, timeoutMs: number, maxBytes?: number): Promise<Uint8Array> {
    return this.queue.readUntil(delimiter, timeoutMs, maxBytes, `reading from ${this.description}`);
  }

  readAvailable(timeoutMs: number): Promise<Uint8Array> {
    return this.queue.readAvailable(timeoutMs, `reading from ${this.description}`);
  }

  discardInput(): void {
    this.queue.clear();
  }

  /** Pseudo-terminals reject modem-control ioctls; that is expected and ignored. */
  setSignals(signals: ModemSignals): Promise<void> {
    return new Promise((resolve) => {
      this.port.set(signals, () => resolve());
    });
  }

  /** Pseudo-terminals ignore the baud rate; errors from them are ignored too. */
  setBaudRate(baud: number): Promise<void> {
    return new Promise((resolve) => {
      this.port.update({ baudRate: baud }, () => resolve());
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.port.isOpen) {
        resolve();
        return;
      }
      this.port.close(() => resolve());
    });
  }
}
