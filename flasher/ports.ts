// Serial ports: list candidates and pick the one a board is plugged into.

import type { Board } from '../compiler/boards/board_schema.ts';
import { TinyforgeError } from '../compiler/errors.ts';

export interface PortInfo {
  path: string;
  vendorId?: string;
  productId?: string;
  manufacturer?: string;
  serialNumber?: string;
  /** Boards whose USB ids match this port. */
  boards: string[];
}

export type PortLister = () => Promise<Array<{ path: string; vendorId?: string; productId?: string; manufacturer?: string; serialNumber?: string }>>;

/** SerialPort.list(), with serialport's native binding loaded only now. */
export const systemPortLister: PortLister = async () => (await import('serialport')).SerialPort.list();

/**
 * The serial ports and the boards they match. SerialPort.list() shells out to udevadm on Linux;
 * when the listing fails (no udev, no binding) the result carries `error` and no ports, so that
 * "cannot list" is never mistaken for "none found".
 */
export async function listPorts(boards: readonly Board[], lister: PortLister = systemPortLister): Promise<{ ports: PortInfo[]; error?: string }> {
  let raw: Awaited<ReturnType<PortLister>>;
  try {
    raw = await lister();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'udevadm is not available (no udev on this machine; sudo apt-get install udev)' : (e as Error).message.split('\n')[0];
    return { ports: [], error: `cannot list serial ports: ${why}; pass --port explicitly` };
  }
  const ports = raw.map((p) => {
    const vid = p.vendorId?.toLowerCase();
    const pid = p.productId?.toLowerCase();
    const matching = boards.filter((b) => b.uart.usb.some((u) => u.vid === vid && u.pid === pid)).map((b) => b.id);
    return { ...p, vendorId: vid, productId: pid, boards: matching };
  });
  return { ports };
}

/** `--port` when given; else the only USB serial device matching the board's USB ids. */
export async function choosePort(board: Board, given: string | undefined, lister?: PortLister): Promise<string> {
  if (given) return given;
  const { ports, error } = await listPorts([board], lister);
  if (error) throw new TinyforgeError(`${board.id}: ${error}`);
  const matching = ports.filter((p) => p.boards.includes(board.id));
  if (matching.length === 1) return (matching[0] as PortInfo).path;
  const ids = board.uart.usb.map((u) => `${u.vid}:${u.pid}`).join(', ') || 'none listed';
  if (matching.length === 0) throw new TinyforgeError(`no serial port looks like ${board.id} (USB ids ${ids}); plug it in or pass --port (see tinyforge ports)`);
  throw new TinyforgeError(`several ports look like ${board.id}: ${matching.map((p) => p.path).join(', ')}; choose one with --port`);
}
