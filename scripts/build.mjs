#!/usr/bin/env node
// `npm run build`: compiles compiler/ and flasher/ to JavaScript with type declarations and
// source maps (tsconfig.build.json). tsc writes into a fresh directory that then replaces dist/,
// so a CLI started meanwhile (bin/tinyforge.mjs runs dist/ when it is up to date) sees the old
// build or the new one, never half of each; a failed compile leaves dist/ as it was.

import { spawnSync } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const staging = `${root}dist.build-${process.pid}`;
const r = spawnSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`, '--outDir', staging], { stdio: 'inherit' });
if (r.status !== 0) {
  rmSync(staging, { recursive: true, force: true });
  process.exit(r.status ?? 1);
}
const old = `${root}dist.old-${process.pid}`;
try {
  renameSync(`${root}dist`, old);
} catch {
  // no previous build
}
renameSync(staging, `${root}dist`);
rmSync(old, { recursive: true, force: true });
