/// <reference types="w3c-web-serial" />
// A Web Serial `SerialPort` over our ByteTransport (serialport on a USB-serial adapter or a pty),
// for libraries written for the browser's Web Serial API: esptool-js takes one. Only what such a
// library uses is real: open (through the transport factory), the readable and writable byte
// streams, DTR/RTS, the USB ids, and an in-place baud-rate change (esptool-js's optional
// `setBaudRate`, so the port is not closed and reopened).

import { TimeoutError, TransportError, type ByteTransport, type ModemSignals, type SerialOpenOptions } from './serial_transport.ts';

export type OpenTransport = (opts: SerialOpenOptions) => Promise<ByteTransport>;

export interface WebSerialPortOptions {
  path: string;
  open: OpenTransport;
  /** USB ids of the port, when known (esptool-js picks its reset sequence from them). */
  usbVendorId?: number;
  usbProductId?: number;
}

/** How long one read waits before checking whether the port was closed. */
const READ_POLL_MS = 200;

export class WebSerialPortAdapter extends EventTarget implements SerialPort {
  onconnect: ((this: SerialPort, ev: Event) => void) | null = null;
  ondisconnect: ((this: SerialPort, ev: Event) => void) | null = null;
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  /** The transport while the port is open. */
  transport: ByteTransport | undefined;
  private closing = false;

  constructor(private readonly opts: WebSerialPortOptions) {
    super();
  }

  get connected(): boolean {
    return this.transport !== undefined;
  }

  async open(options: SerialOptions): Promise<void> {
    if (this.transport) throw new TransportError(`${this.opts.path} is already open`);
    const t = await this.opts.open({ path: this.opts.path, baudRate: options.baudRate, ...(options.parity === 'even' ? { parity: 'even' } : {}) });
    this.transport = t;
    this.closing = false;
    this.readable = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          if (this.closing) {
            controller.close();
            return;
          }
          try {
            const chunk = t.readAvailable ? await t.readAvailable(READ_POLL_MS) : await t.read(1, READ_POLL_MS);
            controller.enqueue(chunk);
            return;
          } catch (e) {
            if (e instanceof TimeoutError) continue;
            if (this.closing) {
              controller.close();
              return;
            }
            controller.error(e);
            return;
          }
        }
      },
      cancel: () => {
        // The reader gave up (esptool-js's disconnect); the transport is closed by close().
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => t.write(chunk),
    });
  }

  async setSignals(signals: SerialOutputSignals): Promise<void> {
    const t = this.requireOpen();
    const lines: ModemSignals = {};
    if (signals.dataTerminalReady !== undefined) lines.dtr = signals.dataTerminalReady;
    if (signals.requestToSend !== undefined) lines.rts = signals.requestToSend;
    if (lines.dtr !== undefined || lines.rts !== undefined) await t.setSignals(lines);
  }

  async getSignals(): Promise<SerialInputSignals> {
    return { dataCarrierDetect: false, clearToSend: false, ringIndicator: false, dataSetReady: false };
  }

  getInfo(): SerialPortInfo {
    return { usbVendorId: this.opts.usbVendorId, usbProductId: this.opts.usbProductId };
  }

  /** Not part of Web Serial: esptool-js uses it to change the host's baud rate without reopening. */
  async setBaudRate(baudRate: number): Promise<void> {
    await this.requireOpen().setBaudRate(baudRate);
  }

  async close(): Promise<void> {
    const t = this.transport;
    if (!t) return;
    this.closing = true;
    this.transport = undefined;
    this.readable = null;
    this.writable = null;
    await t.close();
  }

  async forget(): Promise<void> {
    await this.close();
  }

  private requireOpen(): ByteTransport {
    if (!this.transport) throw new TransportError(`${this.opts.path} is not open`);
    return this.transport;
  }
}
