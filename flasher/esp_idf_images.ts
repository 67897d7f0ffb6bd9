// The image set of an ESP-IDF build: `idf.py build` writes build/flasher_args.json naming each
// binary (bootloader, partition table, app) and its flash offset, which is what `idf.py flash`
// hands to esptool. tinyforge reads the same file so that one command flashes the whole set.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TinyforgeError, EXIT_USER_ERROR } from '../compiler/errors.ts';
import type { EspImagePart } from './backends/esptool_js.ts';

const offset = z.string().regex(/^(0x[0-9a-fA-F]+|\d+)$/, 'an offset such as "0x10000"');
const entry = z.object({ offset, file: z.string().min(1) }).passthrough();

const flasherArgsSchema = z
  .object({
    flash_files: z.record(offset, z.string().min(1)),
    bootloader: entry.optional(),
    app: entry.optional(),
    'partition-table': entry.optional(),
    extra_esptool_args: z.object({ chip: z.string().optional() }).passthrough().optional(),
  })
  .passthrough();

export interface FlasherArgs {
  /** The chip the build is for (extra_esptool_args.chip), e.g. "esp32s3". */
  chip?: string;
  parts: EspImagePart[];
}

/** Reads flasher_args.json and the binaries it names (paths relative to the file's directory). */
export function loadFlasherArgs(file: string): FlasherArgs {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TinyforgeError(`${file}: ${(e as Error).message}`, EXIT_USER_ERROR);
  }
  const parsed = flasherArgsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TinyforgeError(`${file}: field '${issue?.path.join('.') || '(root)'}': ${issue?.message ?? 'invalid'} (expected ESP-IDF's build/flasher_args.json)`, EXIT_USER_ERROR);
  }
  const args = parsed.data;
  const dir = path.dirname(file);
  const named = new Map<string, string>();
  for (const key of ['bootloader', 'partition-table', 'app'] as const) {
    const e = args[key];
    if (e) named.set(path.normalize(e.file), key);
  }
  const parts = Object.entries(args.flash_files).map(([off, rel]): EspImagePart => {
    const address = Number(off);
    const binary = path.resolve(dir, rel);
    let data: Uint8Array;
    try {
      data = new Uint8Array(readFileSync(binary));
    } catch (e) {
      throw new TinyforgeError(`${file}: cannot read ${rel} (for ${off}): ${(e as Error).message}; run idf.py build first`, EXIT_USER_ERROR);
    }
    return { address, data, name: named.get(path.normalize(rel)) ?? rel };
  });
  parts.sort((a, b) => a.address - b.address);
  const chip = args.extra_esptool_args?.chip;
  return { ...(chip !== undefined ? { chip } : {}), parts };
}
