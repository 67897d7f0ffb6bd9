// `npm run bench`: every benchmark model on the emulated Cortex-M4, M7 and M55, compared with
// TFLite Micro + CMSIS-NN measured the same way. Writes bench/results.json and bench/results.md.

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runBench, type BenchResult } from '../compiler/bench/run_bench.ts';
import { compileModel, loadModel } from '../compiler/compile.ts';

interface TflmFigures {
  macs: number;
  m4_instructions: number;
  m7_instructions: number;
  m55_instructions: number;
  m4_ram: number;
  m4_flash: number;
  m4_reference_kernels_instructions: number;
}

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const tflm = JSON.parse(readFileSync(here('./tflm_reference.json'), 'utf8')) as { models: Record<string, TflmFigures> };
const modelsDir = process.env.TINYFORGE_MODELS ?? here('../../shared/models/');
const BOARDS: Array<[string, 'm4' | 'm7' | 'm55']> = [
  ['qemu-mps2-an386', 'm4'],
  ['qemu-mps2-an500', 'm7'],
  ['qemu-mps3-an547', 'm55'],
];

const rows: Array<BenchResult & { core: string; tflm_instructions: number; instructions_ratio: number; ram_ratio: number; flash_ratio: number }> = [];
for (const model of Object.keys(tflm.models)) {
  const ref = tflm.models[model] as TflmFigures;
  const compiled = compileModel(loadModel(`${modelsDir}${model}.tflite`));
  for (const [board, core] of BOARDS) {
    const r = await runBench(compiled, board);
    const tflmInstr = ref[`${core}_instructions`];
    rows.push({ ...r, core, tflm_instructions: tflmInstr, instructions_ratio: r.instructions / tflmInstr, ram_ratio: r.ram_bytes / ref.m4_ram, flash_ratio: r.flash_bytes / ref.m4_flash });
    process.stderr.write(`${model} ${board}: ${r.instructions} instructions (${(r.instructions / tflmInstr).toFixed(3)} of TFLM+CMSIS-NN)\n`);
  }
}
writeFileSync(here('./results.json'), `${JSON.stringify({ generated: new Date().toISOString(), results: rows }, null, 2)}\n`);

const fmt = (n: number): string => n.toLocaleString('en-US');
const lines = [
  '| model | core | instructions | ÷ TFLM+CMSIS-NN | instr/MAC | flash (code) | ÷ TFLM flash | RAM (stack) | ÷ TFLM RAM | arena / bound |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.model} | ${r.core.toUpperCase()} | ${fmt(r.instructions)} | ${r.instructions_ratio.toFixed(2)} | ${r.instructionsPerMac.toFixed(2)} | ${fmt(r.flash_bytes)} (${fmt(r.code_bytes)}) | ${r.flash_ratio.toFixed(2)} | ${fmt(r.ram_bytes)} (${fmt(r.stack_bytes)}) | ${r.ram_ratio.toFixed(2)} | ${fmt(r.arena_bytes)} / ${fmt(r.arena_lower_bound)} |`,
  ),
];
writeFileSync(here('./results.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
