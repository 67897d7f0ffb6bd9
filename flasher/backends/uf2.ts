// Flashing boards whose bootloader shows up as a USB drive (RP2040 and others), via the UF2 format
// (github.com/microsoft/uf2). A UF2 file is a sequence of independent 512-byte blocks, each
// carrying its own target address, so the drive's firmware can flash blocks in whatever order the
// host's file system writes them.
//
// Block layout (all fields little-endian u32): magicStart0 0x0A324655 ("UF2\n"), magicStart1
// 0x9E5D5157, flags, targetAddr, payloadSize, blockNo, numBlocks, familyID (flag 0x2000) or file
// size, 476 data bytes of which the first payloadSize are used, magicEnd 0x0AB16F30.

import { promises as fs, constants as fsConstants } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Board, BoardFlashing } from '../../compiler/boards/board_schema.ts';
import { TinyforgeError, EXIT_USER_ERROR } from '../../compiler/errors.ts';
import {
  FlashError,
  checkImageNotEmpty,
  errorText,
  hex,
  imageError,
  throwIfAborted,
  type FlashBackend,
  type FlashImage,
  type FlashOptions,
  type FlashResult,
} from '../backend.ts';

export const UF2_MAGIC_START0 = 0x0a32_4655;
export const UF2_MAGIC_START1 = 0x9e5d_5157;
export const UF2_MAGIC_END = 0x0ab1_6f30;
export const UF2_FLAG_NOT_MAIN_FLASH = 0x0000_0001;
export const UF2_FLAG_FILE_CONTAINER = 0x0000_1000;
export const UF2_FLAG_FAMILY_ID = 0x0000_2000;
export const UF2_FLAG_MD5 = 0x0000_4000;
export const UF2_FLAG_EXTENSION_TAGS = 0x0000_8000;
export const UF2_BLOCK_SIZE = 512;
export const UF2_DATA_SIZE = 476;
/** Payload per block: 256 bytes, one flash page of the RP2040, which also needs this alignment. */
export const UF2_PAYLOAD = 256;

export interface Uf2Block {
  flags: number;
  targetAddr: number;
  payloadSize: number;
  blockNo: number;
  numBlocks: number;
  /** familyID when flags has 0x2000, else the file size (or 0). */
  familyIdOrSize: number;
  payload: Uint8Array;
}

export interface ParsedUf2 {
  blocks: Uf2Block[];
  /** The family id shared by all blocks, if they carry one. */
  familyId: number | undefined;
  /** Lowest target address. */
  address: number;
  /** The flash contents from `address` to the end of the last block (gaps are 0xFF). */
  data: Uint8Array;
}

/** Converts a binary to UF2: 256-byte payloads at consecutive addresses, family id in every block. */
export function toUf2(data: Uint8Array, address: number, familyId: number): Uint8Array {
  // Start on a 256-byte boundary; bytes before the image in the first page are 0xFF (erased).
  const start = address - (address % UF2_PAYLOAD);
  const lead = address - start;
  const numBlocks = Math.ceil((lead + data.byteLength) / UF2_PAYLOAD);
  const padded = new Uint8Array(numBlocks * UF2_PAYLOAD).fill(0xff);
  padded.set(data, lead);
  const out = new Uint8Array(numBlocks * UF2_BLOCK_SIZE);
  const v = new DataView(out.buffer);
  for (let i = 0; i < numBlocks; i++) {
    const o = i * UF2_BLOCK_SIZE;
    v.setUint32(o + 0, UF2_MAGIC_START0, true);
    v.setUint32(o + 4, UF2_MAGIC_START1, true);
    v.setUint32(o + 8, UF2_FLAG_FAMILY_ID, true);
    v.setUint32(o + 12, (start + i * UF2_PAYLOAD) >>> 0, true);
    v.setUint32(o + 16, UF2_PAYLOAD, true);
    v.setUint32(o + 20, i, true);
    v.setUint32(o + 24, numBlocks, true);
    v.setUint32(o + 28, familyId >>> 0, true);
    out.set(padded.subarray(i * UF2_PAYLOAD, (i + 1) * UF2_PAYLOAD), o + 32);
    // the rest of the 476-byte data area stays zero
    v.setUint32(o + UF2_BLOCK_SIZE - 4, UF2_MAGIC_END, true);
  }
  return out;
}

/** Reads a UF2 file back, checking every magic number and size; throws on anything malformed. */
export function parseUf2(file: Uint8Array): ParsedUf2 {
  if (file.byteLength === 0 || file.byteLength % UF2_BLOCK_SIZE !== 0) {
    throw new Error(`a UF2 file is a whole number of 512-byte blocks; this one has ${file.byteLength} bytes`);
  }
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const blocks: Uf2Block[] = [];
  for (let o = 0; o < file.byteLength; o += UF2_BLOCK_SIZE) {
    const n = o / UF2_BLOCK_SIZE;
    if (v.getUint32(o, true) !== UF2_MAGIC_START0 || v.getUint32(o + 4, true) !== UF2_MAGIC_START1 || v.getUint32(o + 508, true) !== UF2_MAGIC_END) {
      throw new Error(`UF2 block ${n}: bad magic number`);
    }
    const payloadSize = v.getUint32(o + 16, true);
    if (payloadSize > UF2_DATA_SIZE) throw new Error(`UF2 block ${n}: payload of ${payloadSize} bytes exceeds 476`);
    blocks.push({
      flags: v.getUint32(o + 8, true),
      targetAddr: v.getUint32(o + 12, true),
      payloadSize,
      blockNo: v.getUint32(o + 20, true),
      numBlocks: v.getUint32(o + 24, true),
      familyIdOrSize: v.getUint32(o + 28, true),
      payload: file.slice(o + 32, o + 32 + payloadSize),
    });
  }
  const flashBlocks = blocks.filter((b) => (b.flags & UF2_FLAG_NOT_MAIN_FLASH) === 0);
  const families = new Set(flashBlocks.filter((b) => b.flags & UF2_FLAG_FAMILY_ID).map((b) => b.familyIdOrSize));
  const familyId = families.size === 1 ? [...families][0] : undefined;
  if (flashBlocks.length === 0) return { blocks, familyId, address: 0, data: new Uint8Array(0) };
  const address = Math.min(...flashBlocks.map((b) => b.targetAddr));
  const end = Math.max(...flashBlocks.map((b) => b.targetAddr + b.payloadSize));
  const data = new Uint8Array(end - address).fill(0xff);
  for (const b of flashBlocks) data.set(b.payload, b.targetAddr - address);
  return { blocks, familyId, address, data };
}

type Uf2Flashing = Extract<BoardFlashing, { method: 'uf2' }>;

export interface Uf2Config {
  /** Directories in which `<volumeLabel>` is looked for. */
  searchRoots?: string[];
  /** Name of the file written on the drive. */
  fileName?: string;
}

export function defaultSearchRoots(): string[] {
  const user = process.env.USER ?? process.env.LOGNAME ?? safeUserName();
  const roots: string[] = [];
  if (user) roots.push(path.join('/media', user), path.join('/run/media', user));
  roots.push('/media', '/Volumes');
  return roots;
}

function safeUserName(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return undefined;
  }
}

export class Uf2Backend implements FlashBackend {
  readonly method = 'uf2';

  constructor(
    private readonly board: Board,
    private readonly flashing: Uf2Flashing,
    private readonly config: Uf2Config = {},
  ) {}

  /** The mounted drive: `explicit` if given (it must exist), else the first `<root>/<label>`. */
  async findDrive(explicit?: string): Promise<string> {
    if (explicit) {
      if (!(await isDirectory(explicit))) throw new TinyforgeError(`the UF2 drive ${explicit} (--drive) is not a mounted directory`, EXIT_USER_ERROR);
      return explicit;
    }
    const candidates = (this.config.searchRoots ?? defaultSearchRoots()).map((r) => path.join(r, this.flashing.volumeLabel));
    for (const c of candidates) if (await isDirectory(c)) return c;
    throw new FlashError(
      'connect',
      `no drive labelled ${this.flashing.volumeLabel} is mounted (looked in ${candidates.join(', ')}): hold the BOOTSEL button while plugging ${this.board.name} in, wait for the drive to appear (mount it if your desktop does not), or pass --drive <mount point>`,
      'untouched',
    );
  }

  async flash(image: FlashImage, opts: FlashOptions): Promise<FlashResult> {
    const started = Date.now();
    const log = opts.log ?? (() => {});
    const progress = opts.onProgress ?? (() => {});
    checkImageNotEmpty(image);
    const start = image.address >>> 0;
    const end = start + image.data.byteLength;
    const mem = this.board.memory.flash;
    if (start < this.flashing.baseAddress || start < mem.base || end > mem.base + mem.size) {
      throw imageError(`the image (${hex(start)}..${hex(end)}) does not fit the flash of ${this.board.id} (${hex(mem.base)}..${hex(mem.base + mem.size)})`);
    }

    progress({ phase: 'connect', done: 0, total: 1 });
    const drive = await this.findDrive(opts.drive);
    log(`UF2 drive: ${drive}`);
    if (!(await exists(path.join(drive, 'INFO_UF2.TXT')))) log(`warning: ${drive} has no INFO_UF2.TXT; is it really the board's bootloader drive?`);
    progress({ phase: 'connect', done: 1, total: 1 });

    const uf2 = toUf2(image.data, start, this.flashing.familyId);
    const name = this.config.fileName ?? 'tinyforge.uf2';
    const tmp = path.join(drive, `.${name}.${process.pid}.tmp`);
    const final = path.join(drive, name);
    log(`writing ${uf2.byteLength / UF2_BLOCK_SIZE} UF2 blocks (family ${hex(this.flashing.familyId)}) to ${final}`);

    // The bootloader flashes blocks as they arrive, whatever the file is called; writing under a
    // temporary name and renaming keeps a half-written file from looking finished to anything else.
    let handle: fs.FileHandle | undefined;
    let written = 0;
    try {
      handle = await fs.open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC, 0o644);
      const chunk = 64 * UF2_BLOCK_SIZE;
      for (let o = 0; o < uf2.byteLength; o += chunk) {
        throwIfAborted(opts.signal, 'write', written === 0 ? 'untouched' : 'partial');
        const part = uf2.subarray(o, Math.min(o + chunk, uf2.byteLength));
        let off = 0;
        while (off < part.byteLength) off += (await handle.write(part, off, part.byteLength - off)).bytesWritten;
        written += part.byteLength;
        progress({ phase: 'write', done: Math.round((written / uf2.byteLength) * image.data.byteLength), total: image.data.byteLength });
      }
      await handle.sync();
    } catch (e) {
      if (e instanceof FlashError) throw e;
      throw new FlashError('write', `writing ${tmp}: ${errorText(e)}`, written === 0 ? 'untouched' : 'partial');
    } finally {
      await handle?.close().catch(() => {});
    }

    // After the last block the board reboots and the drive goes away, sometimes before the rename.
    try {
      await fs.rename(tmp, final);
      await fsyncDir(drive);
    } catch (e) {
      log(`after writing all blocks: ${errorText(e)} (the board usually reboots and unmounts the drive as soon as it has the last block)`);
    }
    progress({ phase: 'run', done: 1, total: 1 });
    log('the board flashes the blocks and reboots into the new image by itself; UF2 gives no read-back, so this is unverified');
    return { bytesWritten: image.data.byteLength, verified: false, method: this.method, seconds: (Date.now() - started) / 1000 };
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let h: fs.FileHandle | undefined;
  try {
    h = await fs.open(dir, fsConstants.O_RDONLY);
    await h.sync();
  } catch {
    // not every file system (FAT over USB included) lets a directory be synced
  } finally {
    await h?.close().catch(() => {});
  }
}
