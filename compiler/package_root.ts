// Where the package's data lives: package.json, boards/, runtime-c-templates/. The sources run
// from compiler/ (through tsx) and the build from dist/compiler/, so the root is found by walking
// up from this file to tinyforge's package.json rather than by a fixed number of '..'.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'tinyforge') return dir;
    if (path.dirname(dir) === dir) throw new Error(`tinyforge: no package.json named tinyforge above ${start}`);
  }
}

/** The directory holding tinyforge's package.json. */
export const PACKAGE_ROOT: string = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

/** A path inside the package (path.join keeps a trailing '/', which directory constants use). */
export function packagePath(...parts: string[]): string {
  return path.join(PACKAGE_ROOT, ...parts);
}
