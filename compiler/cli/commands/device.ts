// Commands that talk to boards or build for them: build firmware, flash it, list ports.

import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { checkFitsBoard } from '../../boards/fit.ts';
import { findBoard, loadBoards } from '../../boards/load_boards.ts';
import { arenaRegionsFor } from '../../boards/regions.ts';
import type { Board } from '../../boards/board_schema.ts';
import { compileModel, isaForBoard, loadModel } from '../../compile.ts';
import { EXIT_DEVICE_ERROR, TinyforgeError } from '../../errors.ts';
import { isEmulatedBoard } from '../../boards/counting.ts';
import { ensureOutputDir, fileSystemError, readInputFile } from '../../output_paths.ts';
import type { FlashProgress } from '../../../flasher/backend.ts';
import { formatInt, table } from '../format.ts';
import { setJsonResult } from '../json_output.ts';

export async function buildCommand(modelPath: string, opts: { board: string; out: string; arenaIn?: string; json?: boolean }): Promise<void> {
  const board = findBoard(opts.board);
  const regions = arenaRegionsFor(board, opts.arenaIn);
  const compiled = compileModel(loadModel(modelPath), { isa: isaForBoard(board), ...(regions === undefined ? {} : { regions }) });
  checkFitsBoard(compiled, board);
  ensureOutputDir(opts.out, '--out');
  if (isEmulatedBoard(board)) {
    const { buildQemuFirmware } = await import('../../../flasher/device_validation.ts');
    const fw = await buildQemuFirmware(compiled, board);
    const files = [fw.elf, fw.bin, fw.map].map((f) => {
      const dest = path.join(opts.out, path.basename(f));
      try {
        copyFileSync(f, dest);
      } catch (e) {
        throw fileSystemError('--out', dest, e);
      }
      return dest;
    });
    // Flash is what the image occupies in ROM, RAM what is statically allocated; the stack comes on top.
    const size = { textBytes: fw.size.text, dataBytes: fw.size.data, bssBytes: fw.size.bss, flashBytes: fw.size.text + fw.size.data, staticRamBytes: fw.size.data + fw.size.bss };
    if (opts.json) {
      setJsonResult({ board: board.id, kind: 'firmware', files, size, buildInstructions: null });
      return;
    }
    console.log(`built ${compiled.summary.model} + validation agent for ${board.id}: ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
    console.log(`flash ${formatInt(size.flashBytes)} bytes (text ${formatInt(size.textBytes)}, data ${formatInt(size.dataBytes)}), static RAM ${formatInt(size.staticRamBytes)} bytes (data + bss) + stack`);
    console.log(`run it: tinyforge validate ${modelPath} --board ${board.id} --random 8`);
    return;
  }
  const { generateBoardProject } = await import('../../projects/generate_project.ts');
  const project = await generateBoardProject(compiled, board, opts.out);
  if (opts.json) {
    setJsonResult({ board: board.id, kind: project.kind, files: project.files, size: null, buildInstructions: project.buildInstructions });
    return;
  }
  console.log(`wrote a ${project.kind} project for ${board.id} to ${opts.out} (${project.files.length} files)`);
  console.log(project.buildInstructions);
}

export async function flashCommand(opts: { board: string; port?: string; image?: string; address?: string; drive?: string; elf?: string; flasherArgs?: string; json?: boolean }): Promise<void> {
  const board = findBoard(opts.board);
  if (isEmulatedBoard(board)) {
    throw new TinyforgeError(`${board.id} runs under QEMU, which loads the firmware when it starts: use tinyforge validate --board ${board.id}`);
  }
  if (opts.flasherArgs !== undefined) {
    await flashImageSet(board, opts.flasherArgs, opts);
    return;
  }
  if (!opts.image) throw new TinyforgeError('give the image to flash with --image <file.bin> (build it from the project tinyforge build wrote), or --flasher-args build/flasher_args.json for an ESP-IDF build');
  const { createFlashBackend } = await import('../../../flasher/backend.ts');
  const { choosePort } = await import('../../../flasher/ports.ts');
  const port = board.flashing.method === 'uf2' || board.flashing.method === 'external' ? opts.port : await choosePort(board, opts.port);
  const data = readInputFile(opts.image, '--image');
  const address = opts.address !== undefined ? Number(opts.address) : board.flashing.method === 'esp-rom' ? board.flashing.appOffset : board.memory.flash.base;
  if (!Number.isSafeInteger(address) || address < 0) throw new TinyforgeError(`--address ${opts.address}: not an address (use decimal or 0x hex)`);
  const result = await createFlashBackend(board).flash(
    { data, address, imagePath: opts.image, ...(opts.elf ? { elfPath: opts.elf } : {}) },
    { port, drive: opts.drive, ...progressPrinter(opts.json) },
  );
  if (opts.json) setJsonResult({ board: board.id, port: port ?? null, ...result });
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
  const { loadFlasherArgs } = await import('../../../flasher/esp_idf_images.ts');
  const set = loadFlasherArgs(file);
  if (set.chip !== undefined && set.chip !== board.flashing.chip) {
    throw new TinyforgeError(`${file} was built for ${set.chip}, but board ${board.id} has ${board.flashing.chip}: build the project for ${board.flashing.chip} (idf.py set-target ${board.flashing.chip})`);
  }
  const { choosePort } = await import('../../../flasher/ports.ts');
  const { EsptoolJsBackend } = await import('../../../flasher/backends/esptool_js.ts');
  const port = await choosePort(board, opts.port);
  const result = await new EsptoolJsBackend(board, board.flashing).flashImages(set.parts, { port, ...progressPrinter(opts.json) });
  const parts = set.parts.map((p) => ({ name: p.name, address: p.address, bytes: p.data.byteLength }));
  if (opts.json) setJsonResult({ board: board.id, port, parts, ...result });
  else console.log(`\nflashed ${parts.map((p) => `${p.name} (${formatInt(p.bytes)} bytes at 0x${p.address.toString(16)})`).join(', ')} to ${board.id} with ${result.method}, verified, in ${result.seconds.toFixed(1)} s`);
}

/** Lists serial ports; when the listing itself fails that is an error (exit 3), never "no ports". */
export async function portsCommand(opts: { json?: boolean }): Promise<void> {
  const { listPorts } = await import('../../../flasher/ports.ts');
  const { ports, error } = await listPorts(loadBoards());
  const result = { listed: error === undefined, ports };
  if (opts.json) setJsonResult(result);
  if (error !== undefined) throw new TinyforgeError(error, EXIT_DEVICE_ERROR);
  if (opts.json) return;
  if (ports.length === 0) {
    console.log('no serial ports found (the system listing worked and had none)');
    return;
  }
  console.log(table(['port', 'USB id', 'manufacturer', 'boards'], ports.map((p) => [p.path, p.vendorId ? `${p.vendorId}:${p.productId}` : '-', p.manufacturer ?? '-', p.boards.join(', ') || '-'])));
}
