#!/usr/bin/env node
// `npm run bench:startup`: how long the CLI takes to start, against bare node in the same run.
// Runs `node -e ""`, `tinyforge --help` and `tinyforge compile` of hello_world interleaved (so a
// busy machine slows all three alike), 10 times each by default, and prints the medians and their
// ratios to bare node. Measures bin/tinyforge.mjs as it runs here: the compiled dist/ when it is
// up to date (`npm run build`), else the TypeScript through tsx.
//
//   node scripts/startup_bench.mjs [--runs 10] [--json] [--bin <path to tinyforge>]

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const runs = Number(flag('--runs', '10'));
const bin = path.resolve(flag('--bin', path.join(root, 'bin/tinyforge.mjs')));
const model = path.resolve(root, '../shared/models/hello_world_int8.tflite');
if (!existsSync(model)) {
  console.error(`error: ${model} not found: the startup benchmark compiles the shared hello_world model (../shared next to the repository)`);
  process.exit(2);
}
const out = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-startup-'));

const commands = {
  'node -e ""': [process.execPath, ['-e', '']],
  'tinyforge --help': [process.execPath, [bin, '--help']],
  'tinyforge compile hello_world': [process.execPath, [bin, 'compile', model, '--out', out, '--quiet']],
};

function timeOnce([file, argv]) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, argv, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${file} ${argv.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const times = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
// One untimed round warms the file cache, as a user's second start would be.
for (const c of Object.values(commands)) timeOnce(c);
for (let i = 0; i < runs; i++) for (const [name, c] of Object.entries(commands)) times[name].push(timeOnce(c));
rmSync(out, { recursive: true, force: true });

const bare = median(times['node -e ""']);
const rows = Object.entries(times).map(([name, xs]) => ({ command: name, medianMs: Math.round(median(xs) * 10) / 10, ratioToNode: Math.round((median(xs) / bare) * 100) / 100 }));
if (args.includes('--json')) {
  console.log(JSON.stringify({ runs, bin, results: rows }, null, 2));
} else {
  const w = Math.max(...rows.map((r) => r.command.length));
  console.log(`${'command'.padEnd(w)}  median ms  x node`);
  for (const r of rows) console.log(`${r.command.padEnd(w)}  ${r.medianMs.toFixed(1).padStart(9)}  ${r.ratioToNode.toFixed(2).padStart(6)}`);
  console.log(`\nmedian wall-clock time of ${runs} runs each, interleaved; x node = ratio to \`node -e ""\` measured in the same run`);
}
