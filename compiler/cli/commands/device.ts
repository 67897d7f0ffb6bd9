// Commands that talk to boards: build firmware, flash it, list ports, validate on a device.

import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Board } from '../../boards/board_schema.ts';
import { checkFitsBoard } from '../../boards/fit.ts';
import { findBoard, loadBoards } from '../../boards/load_boards.ts';
import { compileModel, isaForBoard, loadModel, type CompiledModel } from '../../compile.ts';
import { EXIT_MISMATCH, TinyforgeError } from '../../errors.ts';
import { generateBoardProject } from '../../projects/generate_project.ts';
import type { GoldenCase } from '../../validate/golden.ts';
import { createFlashBackend, type FlashProgress } from '../../../flasher/backend.ts';
import { EsptoolJsBackend } from '../../../flasher/backends/esptool_js.ts';
import { loadFlasherArgs } from '../../../flasher/esp_idf_images.ts';
import { buildQemuFirmware, isEmulated, openDevice, validateOnDevice } from '../../../flasher/device_validation.ts';
import { choosePort, listPorts } from '../../../flasher/ports.ts';
import { readFile } from 'node:fs/promises';
import { formatInt, printJson, table } from '../format.ts';
import { layerProfile, printProfile, writeProfileJson } from './profile.ts';

export async function buildCommand(modelPath: string, opts: { board: string; out: string; json?: boolean }): Promise<void> {
  const board = findBoard(opts.board);
  const compiled = compileModel(loadModel(modelPath), { isa: isaForBoard(board) });
  checkFitsBoard(compiled, board);
  mkdirSync(opts.out, { recursive: true });
  if (isEmulated(board)) {
    const fw = await buildQemuFirmware(compiled, board);
    const files = [fw.elf, fw.bin, fw.map].map((f) => {
      const dest = path.join(opts.out, path.basename(f));
      copyFileSync(f, dest);
      return dest;
    });
    if (opts.json) {
      printJson({ board: board.id, kind: 'firmware', files, size: fw.size });
      return;
    }
    console.log(`built ${compiled.summary.model} + validation agent for ${board.id}: ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
    console.log(`flash ${formatInt(fw.size.text + fw.size.data)} bytes (text ${formatInt(fw.size.text)}, data ${formatInt(fw.size.data)}), RAM ${formatInt(fw.size.data + fw.size.bss)} bytes + stack`);
    console.log(`run it: tinyforge validate ${modelPath} --board ${board.id} --random 8`);
    return;
  }
  const project = await generateBoardProject(compiled, board, opts.out);
  if (opts.json) {
    printJson({ board: board.id, kind: project.kind, files: project.files, buildInstructions: project.buildInstructions });
    return;
  }
  console.log(`wrote a ${project.kind} project for ${board.id} to ${opts.out} (${project.files.length} files)`);
  console.log(project.buildInstructions);
}

export async function flashCommand(opts: { board: string; port?: string; image?: string; address?: string; drive?: string; elf?: string; flasherArgs?: string; json?: boolean }): Promise<void> {
  const board = findBoard(opts.board);
  if (isEmulated(board)) {
    throw new TinyforgeError(`${board.id} runs under QEMU, which loads the firmware when it starts: use tinyforge validate --board ${board.id}`);
  }
  if (opts.flasherArgs !== undefined) {
    await flashImageSet(board, opts.flasherArgs, opts);
    return;
  }
  if (!opts.image) throw new TinyforgeError('give the image to flash with --image <file.bin> (build it from the project tinyforge build wrote), or --flasher-args build/flasher_args.json for an ESP-IDF build');
  const port = board.flashing.method === 'uf2' || board.flashing.method === 'external' ? opts.port : await choosePort(board, opts.port);
  const data = new Uint8Array(await readFile(opts.image));
  const address = opts.address !== undefined ? Number(opts.address) : board.flashing.method === 'esp-rom' ? board.flashing.appOffset : board.memory.flash.base;
  if (!Number.isSafeInteger(address) || address < 0) throw new TinyforgeError(`--address ${opts.address}: not an address (use decimal or 0x hex)`);
  const result = await createFlashBackend(board).flash(
    { data, address, imagePath: opts.image, ...(opts.elf ? { elfPath: opts.elf } : {}) },
    { port, drive: opts.drive, ...progressPrinter(opts.json) },
  );
  if (opts.json) printJson({ board: board.id, port, ...result });
  else console.log(`\nflashed ${formatInt(result.bytesWritten)} bytes to ${board.id} with ${result.method}${result.verified ? ', verified' : ''} in ${result.seconds.toFixed(1)} s`);
}

function progressPrinter(json: boolean | undefined): { onProgress: (p: FlashProgress) => void; log: (line: string) => void } {
  let lastPhase = '';
  return {
    onProgress: (p) => {
      if (json || !process.stderr.isTTY) return;
      if (p.phase !== lastPhase) process.stderr.write(`\n${p.phase}: `);
      lastPhase = p.phase;
      process.stderr.write(`\r${p.phase}: ${Math.round((100 * p.done) / Math.max(1, p.total))}%   `);
    },
    log: (line) => {
      if (!json) process.stderr.write(`${line}\n`);
    },
  };
}

/** `flash --flasher-args`: the bootloader, partition table and app of an ESP-IDF build, in one session. */
async function flashImageSet(board: Board, file: string, opts: { port?: string; json?: boolean }): Promise<void> {
  if (board.flashing.method !== 'esp-rom') throw new TinyforgeError(`--flasher-args is ESP-IDF's image set: board ${board.id} is flashed with ${board.flashing.method}`);
  const set = loadFlasherArgs(file);
  if (set.chip !== undefined && set.chip !== board.flashing.chip) {
    throw new TinyforgeError(`${file} was built for ${set.chip}, but board ${board.id} has ${board.flashing.chip}: build the project for ${board.flashing.chip} (idf.py set-target ${board.flashing.chip})`);
  }
  const port = await choosePort(board, opts.port);
  const result = await new EsptoolJsBackend(board, board.flashing).flashImages(set.parts, { port, ...progressPrinter(opts.json) });
  const parts = set.parts.map((p) => ({ name: p.name, address: p.address, bytes: p.data.byteLength }));
  if (opts.json) printJson({ board: board.id, port, parts, ...result });
  else console.log(`\nflashed ${parts.map((p) => `${p.name} (${formatInt(p.bytes)} bytes at 0x${p.address.toString(16)})`).join(', ')} to ${board.id} with ${result.method}, verified, in ${result.seconds.toFixed(1)} s`);
}

export async function portsCommand(opts: { json?: boolean }): Promise<void> {
  const { ports, warning } = await listPorts(loadBoards());
  if (opts.json) {
    printJson({ ports, warning });
    return;
  }
  if (warning) console.error(`warning: ${warning}`);
  if (ports.length === 0) {
    console.log('no serial ports found');
    return;
  }
  console.log(table(['port', 'USB id', 'manufacturer', 'boards'], ports.map((p) => [p.path, p.vendorId ? `${p.vendorId}:${p.productId}` : '-', p.manufacturer ?? '-', p.boards.join(', ') || '-'])));
}

export interface BoardValidateOptions {
  board: Board;
  port?: string;
  flash: boolean;
  image?: string;
  json?: boolean;
  /** Per-layer counter ticks of the last case (QEMU firmware is built with -DTF_PROFILE). */
  profile?: boolean;
  profileOut?: string;
}

/** `tinyforge validate --board`: through the on-device agent over the board's UART. Returns the exit code. */
export async function validateOnBoardCommand(compiled: CompiledModel, cases: GoldenCase[], oracle: string, opts: BoardValidateOptions): Promise<number> {
  const board = opts.board;
  checkFitsBoard(compiled, board);
  const firmware = isEmulated(board) ? await buildQemuFirmware(compiled, board, { profile: opts.profile }) : undefined;
  if (!isEmulated(board) && opts.flash && !opts.image) {
    throw new TinyforgeError(`${board.id}: give --image <file> to flash (built from tinyforge build's project), or --no-flash if the board already runs it`);
  }
  const device = await openDevice(board, firmware, { port: opts.port, flashImage: opts.flash && opts.image ? { path: opts.image } : undefined });
  let report;
  try {
    report = await validateOnDevice(compiled, board, device, cases, undefined, { profile: opts.profile });
  } finally {
    await device.close();
  }
  const profile = opts.profile ? layerProfile(compiled, report.layerTicks ?? [], report.hello.cyclesPerTick, board) : undefined;
  if (opts.profileOut && profile) writeProfileJson(opts.profileOut, profile);
  if (opts.json) {
    printJson({ model: compiled.summary.model, oracle, ...report, ...(profile ? { profile } : {}) });
  } else {
    console.log(
      table(
        ['case', 'result', 'differing', 'first diff', 'expected / actual', 'cycles', 'ms'],
        report.cases.map((r) => {
          const bad = r.outputs.find((o) => o.differing > 0);
          return [r.id, r.pass ? 'match' : 'MISMATCH', r.outputs.reduce((s, o) => s + o.differing, 0), bad ? `out ${bad.output}[${bad.firstIndex}]` : '-', bad ? `${bad.expected} / ${bad.actual}` : '-', r.cycles, (Math.round(r.milliseconds * 100) / 100).toFixed(2)];
        }),
      ),
    );
    console.log(
      `\n${compiled.summary.model} on ${board.id} via ${report.transport}: ${report.passed}/${report.cases.length} cases match ${oracle} byte for byte; ` +
        `arena ${formatInt(report.hello.arenaBytes)} bytes, stack high-water ${formatInt(report.stats.stackHighWaterBytes)} of ${formatInt(report.stats.stackSizeBytes)} bytes, ` +
        `cycles counted by ${report.hello.counterName} at ${board.clockHz / 1e6} MHz`,
    );
    if (profile) {
      console.log('');
      printProfile(profile, board, report.hello.counterName);
    }
  }
  return report.failed === 0 ? 0 : EXIT_MISMATCH;
}
