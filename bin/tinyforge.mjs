#!/usr/bin/env node
// The tinyforge executable. The npm package ships the CLI compiled to JavaScript in dist/ and
// runs that. In a source checkout, dist/ may be missing (nobody ran `npm run build`) or older
// than the TypeScript next to it; then the sources run through tsx (a development dependency),
// so `node bin/tinyforge.mjs` always runs the code in the working tree.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const built = `${root}dist/compiler/cli/main.js`;
const SOURCE_DIRS = ['compiler', 'flasher'];

/** Newest modification time of the TypeScript sources, or 0 when there are none (an installed package). */
function newestSource() {
  let newest = 0;
  for (const dir of SOURCE_DIRS) {
    if (!existsSync(`${root}${dir}`)) continue;
    for (const file of readdirSync(`${root}${dir}`, { recursive: true })) {
      if (file.endsWith('.ts')) newest = Math.max(newest, statSync(`${root}${dir}/${file}`).mtimeMs);
    }
  }
  return newest;
}

function useBuild() {
  if (process.env.TINYFORGE_FROM_SOURCE === '1' || !existsSync(built)) return false;
  return statSync(built).mtimeMs >= newestSource();
}

if (useBuild()) {
  const { runCli } = await import(pathToFileURL(built).href);
  await runCli();
} else {
  const { register } = await import('tsx/esm/api').catch(() => {
    console.error(`error: ${built} is missing and tsx is not installed: run \`npm run build\` (or \`npm ci\` for the development dependencies)`);
    process.exit(3);
  });
  register();
  const { runCli } = await import('../compiler/cli/main.ts');
  await runCli();
}
