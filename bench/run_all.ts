// `npm run bench`: every benchmark model on the emulated Cortex-M4, M7 and M55, compared with
// TFLite Micro + CMSIS-NN measured the same way on the same core. Writes bench/results.json and
// bench/results.md.
//
// Each ratio divides by TFLM's figure for that core only (bench/tflm_reference.json, per core);
// where a core has no TFLM figure the ratio is left out (null, "-"), never taken from another core.
//
//   npm run bench                    # run QEMU, write results.json and results.md
//   npm run bench -- --table-only    # recompute the ratios and results.md from results.json

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from '../compiler/bench/run_bench.ts';

type Core = 'm4' | 'm7' | 'm55';

interface TflmCore {
  instructions: number;
  flash_bytes: number;
  ram_bytes: number;
}

interface TflmModel {
  macs: number;
  cores: Partial<Record<Core, TflmCore>>;
}

export interface BenchRow extends BenchResult {
  core: Core;
  /** TFLM + CMSIS-NN on this core; null when not measured. */
  tflm_instructions: number | null;
  tflm_flash_bytes: number | null;
  tflm_ram_bytes: number | null;
  instructions_ratio: number | null;
  flash_ratio: number | null;
  ram_ratio: number | null;
}

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const BOARDS: Array<[string, Core]> = [
  ['qemu-mps2-an386', 'm4'],
  ['qemu-mps2-an500', 'm7'],
  ['qemu-mps3-an547', 'm55'],
];

/** tinyforge's figures next to TFLM's for the same core, with ratios only where TFLM has a figure. */
export function compareWithTflm(r: BenchResult, core: Core, tflm: TflmModel | undefined): BenchRow {
  const ref = tflm?.cores[core];
  const ratio = (ours: number, theirs: number | undefined): number | null => (theirs === undefined ? null : ours / theirs);
  return {
    ...r,
    core,
    tflm_instructions: ref?.instructions ?? null,
    tflm_flash_bytes: ref?.flash_bytes ?? null,
    tflm_ram_bytes: ref?.ram_bytes ?? null,
    instructions_ratio: ratio(r.instructions, ref?.instructions),
    flash_ratio: ratio(r.flash_bytes, ref?.flash_bytes),
    ram_ratio: ratio(r.ram_bytes, ref?.ram_bytes),
  };
}

const fmt = (n: number): string => n.toLocaleString('en-US');
const fixed = (n: number | null): string => (n === null ? '-' : n.toFixed(2));

export function resultsTable(rows: readonly BenchRow[]): string[] {
  return [
    '| model | core | instructions | ÷ TFLM+CMSIS-NN instructions | instr/MAC | flash bytes (code) | ÷ TFLM flash | RAM bytes (stack) | ÷ TFLM RAM | arena / bound bytes |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.core.toUpperCase()} | ${fmt(r.instructions)} | ${fixed(r.instructions_ratio)} | ${r.instructionsPerMac.toFixed(2)} | ${fmt(r.flash_bytes)} (${fmt(r.code_bytes)}) | ${fixed(r.flash_ratio)} | ${fmt(r.ram_bytes)} (${fmt(r.stack_bytes)}) | ${fixed(r.ram_ratio)} | ${fmt(r.arena_bytes)} / ${fmt(r.arena_lower_bound)} |`,
    ),
  ];
}

async function main(): Promise<void> {
  const tflm = JSON.parse(readFileSync(here('./tflm_reference.json'), 'utf8')) as { models: Record<string, TflmModel> };
  let rows: BenchRow[];
  let generated: string;
  if (process.argv.includes('--table-only')) {
    const previous = JSON.parse(readFileSync(here('./results.json'), 'utf8')) as { generated: string; results: Array<BenchResult & { core: Core }> };
    generated = previous.generated;
    rows = previous.results.map((r) => {
      const base = Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('tflm_') && !k.endsWith('_ratio') && k !== 'core')) as unknown as BenchResult;
      return compareWithTflm(base, r.core, tflm.models[r.model]);
    });
  } else {
    const { runBench } = await import('../compiler/bench/run_bench.ts');
    const { compileModel, loadModel } = await import('../compiler/compile.ts');
    const modelsDir = process.env.TINYFORGE_MODELS ?? here('../../shared/models/');
    generated = new Date().toISOString();
    rows = [];
    for (const model of Object.keys(tflm.models)) {
      const compiled = compileModel(loadModel(`${modelsDir}${model}.tflite`));
      for (const [board, core] of BOARDS) {
        const row = compareWithTflm(await runBench(compiled, board), core, tflm.models[model]);
        rows.push(row);
        process.stderr.write(`${model} ${board}: ${row.instructions} instructions (${fixed(row.instructions_ratio)} of TFLM+CMSIS-NN on ${core.toUpperCase()})\n`);
      }
    }
  }
  writeFileSync(here('./results.json'), `${JSON.stringify({ generated, results: rows }, null, 2)}\n`);
  const lines = resultsTable(rows);
  writeFileSync(here('./results.md'), `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
