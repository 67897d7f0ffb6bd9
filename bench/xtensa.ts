// `npm run bench:xtensa`: the shared models on the emulated Xtensa lx106 (qemu-xtensa-lx106):
// every golden case checked byte for byte, then exact instructions per inference (QEMU plugin),
// next to the emulated Cortex-M4's figures from bench/results.json. Writes bench/xtensa.{json,md}.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBench, type BenchResult } from '../compiler/bench/run_bench.ts';
import { compileModel, loadModel, writeCModule } from '../compiler/compile.ts';
import { runCasesOnQemuXtensa } from '../compiler/targets/qemu_xtensa.ts';
import { defaultWorkDir } from '../compiler/targets/target.ts';
import { loadGolden } from '../compiler/validate/golden.ts';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const shared = process.env.TINYFORGE_SHARED ?? here('../../shared/');
const MODELS = ['hello_world_int8', 'micro_speech', 'ad_autoencoder', 'kws_dscnn', 'ic_resnet8', 'vww_mobilenet'];
const m4 = new Map(
  (JSON.parse(readFileSync(here('./results.json'), 'utf8')) as { results: BenchResult[] }).results
    .filter((r) => r.board === 'qemu-mps2-an386')
    .map((r) => [r.model, r.instructions]),
);

const equal = (a: Uint8Array, b: Uint8Array | undefined): boolean => b !== undefined && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

const rows: Array<BenchResult & { golden_cases: number; golden_passing: number; m4_instructions: number | null }> = [];
for (const model of MODELS) {
  const compiled = compileModel(loadModel(`${shared}models/${model}.tflite`));
  const golden = loadGolden(`${shared}golden/${model}`);
  const mod = writeCModule(compiled, path.join(defaultWorkDir(), 'modules', `${compiled.prefix}-${compiled.model.sha256.slice(0, 16)}`));
  const actual = await runCasesOnQemuXtensa(mod, golden.cases.map((c) => c.inputs));
  const passing = golden.cases.filter((c, i) => c.expected.every((e, o) => equal(e, actual[i]?.[o]))).length;
  const r = await runBench(compiled, 'qemu-xtensa-lx106');
  rows.push({ ...r, golden_cases: golden.cases.length, golden_passing: passing, m4_instructions: m4.get(r.model) ?? null });
  process.stderr.write(`${model}: ${passing}/${golden.cases.length} golden cases, ${r.instructions} instructions\n`);
}
writeFileSync(here('./xtensa.json'), `${JSON.stringify({ generated: new Date().toISOString(), board: 'qemu-xtensa-lx106', results: rows }, null, 2)}\n`);

const fmt = (n: number): string => n.toLocaleString('en-US');
const lines = [
  '| model | golden cases bit-exact | MACs | M4 instructions | Xtensa lx106 instructions | lx106 instr/MAC | lx106 ÷ M4 | lx106 flash (code) | lx106 RAM (stack) |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.model} | ${r.golden_passing}/${r.golden_cases} | ${fmt(r.macs)} | ${r.m4_instructions === null ? '–' : fmt(r.m4_instructions)} | ${fmt(r.instructions)} | ${r.macs > 0 ? r.instructionsPerMac.toFixed(2) : '–'} | ${r.m4_instructions ? (r.instructions / r.m4_instructions).toFixed(2) : '–'} | ${fmt(r.flash_bytes)} (${fmt(r.code_bytes)}) | ${fmt(r.ram_bytes)} (${fmt(r.stack_bytes)}) |`,
  ),
];
writeFileSync(here('./xtensa.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
