// `tinyforge monitor`: what idf.py monitor and pio device monitor give, for tinyforge boards.
// Plain mode copies the board's UART to standard output until Ctrl-C (or --timeout); --agent asks
// the validation agent what it runs (HELLO: board, model, arena, counter) and its statistics.

import type { Board } from '../../boards/board_schema.ts';
import { countingOf, isEmulatedBoard } from '../../boards/counting.ts';
import { findBoard } from '../../boards/load_boards.ts';
import { EXIT_DEVICE_ERROR, TinyforgeError } from '../../errors.ts';
import { formatInt } from '../format.ts';
import { setJsonResult } from '../json_output.ts';
import { log } from '../log.ts';

export interface MonitorCommandOptions {
  board?: string;
  port?: string;
  baud?: string;
  agent?: boolean;
  timeout?: string;
  json?: boolean;
}

const DEFAULT_BAUD = 115200;

function positiveNumber(flag: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new TinyforgeError(`${flag} wants a positive ${integer ? 'whole ' : ''}number, not '${value}'`);
  return n;
}

async function portFor(board: Board | undefined, given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  if (board === undefined) throw new TinyforgeError('give the serial port with --port (see tinyforge ports), or the board with --board to find it by its USB ids');
  const { choosePort } = await import('../../../flasher/ports.ts');
  return choosePort(board, undefined);
}

export async function monitorCommand(opts: MonitorCommandOptions): Promise<void> {
  const board = opts.board === undefined ? undefined : findBoard(opts.board);
  if (board !== undefined && isEmulatedBoard(board) && opts.port === undefined) {
    throw new TinyforgeError(`${board.id} runs under QEMU: tinyforge validate --board ${board.id} boots it and talks to its UART; monitor reads serial ports (give --port for a pty)`);
  }
  const baud = positiveNumber('--baud', opts.baud, true) ?? board?.uart.baud ?? DEFAULT_BAUD;
  const timeoutMs = (positiveNumber('--timeout', opts.timeout, false) ?? Number.POSITIVE_INFINITY) * 1000;
  const port = await portFor(board, opts.port);
  if (opts.agent) return agentStatus(port, baud, board, opts.json === true);
  if (opts.json) throw new TinyforgeError('--json goes with --agent; plain monitor output is the board\'s own text');
  await copyToStdout(port, baud, timeoutMs);
}

/** Copies the port to standard output until Ctrl-C, the timeout, or the port closing. */
async function copyToStdout(path: string, baudRate: number, timeoutMs: number): Promise<void> {
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    port.open((err) => (err ? reject(new TinyforgeError(`cannot open serial port ${path}: ${err.message}`, EXIT_DEVICE_ERROR)) : resolve())),
  );
  log.info(`monitoring ${path} at ${baudRate} baud${Number.isFinite(timeoutMs) ? ` for ${timeoutMs / 1000} s` : ''}; Ctrl-C to stop`);
  let warnedBinary = false;
  await new Promise<void>((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      process.off('SIGINT', finish);
      if (port.isOpen) port.close(() => resolve());
      else resolve();
    };
    const timer = Number.isFinite(timeoutMs) ? setTimeout(finish, timeoutMs) : undefined;
    process.on('SIGINT', finish);
    port.on('close', finish);
    port.on('data', (chunk: Buffer) => {
      // The agent's frames are COBS-encoded between 0x00 delimiters: say what they are once.
      if (!warnedBinary && chunk.includes(0)) {
        warnedBinary = true;
        log.warn('binary frames on the line: this looks like the tinyforge agent; use tinyforge monitor --agent to talk to it');
      }
      process.stdout.write(chunk);
    });
  });
}

async function agentStatus(path: string, baudRate: number, board: Board | undefined, json: boolean): Promise<void> {
  const { SerialTransport } = await import('../../../flasher/transport/serial_transport.ts');
  const { AgentSession } = await import('../../../flasher/agent_session.ts');
  const transport = await SerialTransport.open({ path, baudRate });
  try {
    const session = new AgentSession(transport, { baudRate });
    const hello = await session.connect();
    const stats = await session.stats();
    // The counter's meaning comes from the board the agent says it is (or the one given).
    const known = board ?? tryBoard(hello.boardId);
    const counting = known ? countingOf(known, hello.counterName, hello.cyclesPerTick) : null;
    if (json) {
      setJsonResult({ port: path, hello, stats, counting });
      return;
    }
    const lines = [
      `agent on ${path}: board ${hello.boardId}, protocol ${hello.protocolVersion}, model sha256 ${hello.modelSha256.slice(0, 16)}...`,
      `  inputs ${hello.inputBytes.map(formatInt).join(', ')} bytes, outputs ${hello.outputBytes.map(formatInt).join(', ')} bytes, arena ${formatInt(hello.arenaBytes)} bytes`,
      `  counter ${hello.counterName}${counting ? `: ${counting.how}` : ''}`,
      `  ${formatInt(stats.invokeCount)} inferences since boot, stack high-water ${formatInt(stats.stackHighWaterBytes)} of ${formatInt(stats.stackSizeBytes)} bytes, ${formatInt(stats.rxErrors)} damaged frames received`,
    ];
    if (counting?.running && stats.invokeCount > 0) {
      const count = Math.round(stats.lastInvokeTicks * counting.perTick);
      const ms = counting.unit === 'cycles' && counting.clockHz !== null ? `, ${((count / counting.clockHz) * 1000).toFixed(2)} ms` : '';
      lines.push(`  last inference: ${formatInt(count)} ${counting.unit}${ms}`);
    }
    console.log(lines.join('\n'));
  } finally {
    await transport.close();
  }
}

function tryBoard(id: string): Board | undefined {
  try {
    return findBoard(id);
  } catch {
    return undefined;
  }
}
