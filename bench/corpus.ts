// `npm run bench:corpus`: the corpus models that ../shared/anchors/tflm_cmsis_nn_corpus_m4.json
// measured with TFLite Micro + CMSIS-NN on the emulated Cortex-M4, measured the same way with
// tinyforge: instructions per inference under QEMU -icount shift=0 (one warm-up, mean of 5
// invokes, input = the golden case rand0's values), flash = text + data and RAM = data + bss +
// stack high-water from the ELF. Instructions are not cycles: QEMU models no pipeline.
// A second, profiled build (-DTF_PROFILE) splits one inference's instructions by op kind.
// Writes bench/corpus.json and bench/corpus.md.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { outputChecksum, runBench, type BenchResult } from '../compiler/bench/run_bench.ts';
import { compileModel, loadModel, type CompiledModel } from '../compiler/compile.ts';
import { loadGolden } from '../compiler/validate/golden.ts';

const BOARD = 'qemu-mps2-an386';
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const sharedDir = process.env.TINYFORGE_SHARED ?? here('../../shared/');
const anchorsFile = `${sharedDir}anchors/tflm_cmsis_nn_corpus_m4.json`;

interface AnchorFigures {
  m4: { instructions: number; arena_bytes: number; flash_bytes: number; ram_bytes: number; static_ram_bytes: number; stack_bytes: number };
  macs: number;
}
const anchors = JSON.parse(readFileSync(anchorsFile, 'utf8')) as { source: string; models: Record<string, AnchorFigures> };

interface OpShare {
  op: string;
  layers: number;
  /** Instructions of the profiled inference spent in layers of this op kind. */
  instructions: number;
  share: number;
}

interface Row {
  model: string;
  compiles: boolean;
  reason: string | null;
  macs: number;
  tflm: AnchorFigures['m4'];
  tinyforge?: Pick<BenchResult, 'instructions' | 'instructionsPerRun' | 'instructionsPerMac' | 'flash_bytes' | 'code_bytes' | 'weight_bytes' | 'qparam_bytes' | 'ram_bytes' | 'stack_bytes' | 'arena_bytes'>;
  instructions_ratio?: number;
  flash_ratio?: number;
  ram_ratio?: number;
  /** The benchmarked inference's outputs equal the golden case rand0's (checksum), or null without a golden. */
  rand0_matches_golden?: boolean | null;
  /** Per op kind, from the profiled build (its hooks add a few instructions per layer). */
  ops?: OpShare[];
  profiled_instructions?: number;
}

function opBreakdown(compiled: CompiledModel, layerInstructions: readonly number[]): OpShare[] {
  const byOp = new Map<string, { layers: number; instructions: number }>();
  compiled.summary.layers.forEach((l, i) => {
    const e = byOp.get(l.op) ?? { layers: 0, instructions: 0 };
    e.layers++;
    e.instructions += layerInstructions[i] ?? 0;
    byOp.set(l.op, e);
  });
  const total = layerInstructions.reduce((a, b) => a + b, 0);
  return [...byOp.entries()]
    .map(([op, e]) => ({ op, layers: e.layers, instructions: e.instructions, share: total > 0 ? e.instructions / total : 0 }))
    .sort((a, b) => b.instructions - a.instructions);
}

function rand0Matches(stem: string, r: BenchResult): boolean | null {
  const dir = `${sharedDir}corpus/golden/${stem}`;
  if (!existsSync(`${dir}/manifest.json`)) return null;
  const rand0 = loadGolden(dir).cases.find((c) => c.id === 'rand0');
  return rand0 ? outputChecksum(rand0.expected) === r.outputChecksum : null;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const rows: Row[] = [];
for (const [stem, anchor] of Object.entries(anchors.models)) {
  let compiled: CompiledModel;
  try {
    compiled = compileModel(loadModel(`${sharedDir}corpus/models/${stem}.tflite`));
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
    rows.push({ model: stem, compiles: false, reason, macs: anchor.macs, tflm: anchor.m4 });
    process.stderr.write(`${stem}: does not compile (${reason})\n`);
    continue;
  }
  const r = await runBench(compiled, BOARD);
  // One measured run is enough for the split: instruction counts do not vary between runs.
  const profiled = await runBench(compiled, BOARD, 1, true);
  const ops = opBreakdown(compiled, profiled.layerInstructions ?? []);
  const row: Row = {
    model: stem,
    compiles: true,
    reason: null,
    macs: compiled.summary.macs,
    tflm: anchor.m4,
    tinyforge: {
      instructions: r.instructions,
      instructionsPerRun: r.instructionsPerRun,
      instructionsPerMac: r.instructionsPerMac,
      flash_bytes: r.flash_bytes,
      code_bytes: r.code_bytes,
      weight_bytes: r.weight_bytes,
      qparam_bytes: r.qparam_bytes,
      ram_bytes: r.ram_bytes,
      stack_bytes: r.stack_bytes,
      arena_bytes: r.arena_bytes,
    },
    instructions_ratio: r.instructions / anchor.m4.instructions,
    flash_ratio: r.flash_bytes / anchor.m4.flash_bytes,
    ram_ratio: r.ram_bytes / anchor.m4.ram_bytes,
    rand0_matches_golden: rand0Matches(stem, r),
    ops,
    profiled_instructions: (profiled.layerInstructions ?? []).reduce((a, b) => a + b, 0),
  };
  rows.push(row);
  process.stderr.write(`${stem}: ${r.instructions} instructions (${(row.instructions_ratio as number).toFixed(3)} of TFLM+CMSIS-NN)\n`);
}

const measured = rows.filter((r) => r.compiles);
const ratios = (key: 'instructions_ratio' | 'flash_ratio' | 'ram_ratio'): number[] => measured.map((r) => r[key] as number);
const worst = measured.reduce<Row | undefined>((w, r) => (!w || (r.instructions_ratio as number) > (w.instructions_ratio as number) ? r : w), undefined);
const summary = {
  models_in_anchors: rows.length,
  measured: measured.length,
  not_compiling: rows.filter((r) => !r.compiles).map((r) => ({ model: r.model, reason: r.reason })),
  median_instructions_ratio: median(ratios('instructions_ratio')),
  worst_instructions_ratio: worst ? { model: worst.model, ratio: worst.instructions_ratio } : null,
  best_instructions_ratio: Math.min(...ratios('instructions_ratio')),
  median_flash_ratio: median(ratios('flash_ratio')),
  median_ram_ratio: median(ratios('ram_ratio')),
  rand0_checked: measured.filter((r) => r.rand0_matches_golden !== null).length,
  rand0_mismatches: measured.filter((r) => r.rand0_matches_golden === false).map((r) => r.model),
};
writeFileSync(
  here('./corpus.json'),
  `${JSON.stringify(
    {
      generated: new Date().toISOString(),
      board: BOARD,
      method:
        'instructions: guest instructions per inference counted by QEMU -icount shift=0 (not cycles), one warm-up then the mean of 5 invokes, inputs drawn with the golden rand0 rule; flash = text + data, RAM = data + bss + stack high-water, from the ELF; ops: one profiled inference (-DTF_PROFILE) split by op kind',
      tflm_reference: anchors.source,
      summary,
      models: rows,
    },
    null,
    2,
  )}\n`,
);

const fmt = (n: number): string => n.toLocaleString('en-US');
const x = (v: number | undefined): string => (v === undefined ? '–' : v.toFixed(2));
const lines = [
  'Corpus models on the emulated Cortex-M4 (QEMU mps2-an386): tinyforge next to TFLite Micro + CMSIS-NN (../shared/anchors/tflm_cmsis_nn_corpus_m4.json).',
  `TFLM+CMSIS-NN figures: ${anchors.source}`,
  'Instructions are guest instructions per inference counted with QEMU -icount (not cycles: QEMU models no pipeline); one warm-up, mean of 5 invokes, inputs from the golden case rand0 rule. Flash = text + data, RAM = data + bss + stack high-water, in bytes. Ratios are tinyforge ÷ TFLM+CMSIS-NN (below 1: tinyforge smaller).',
  '',
  '| model | MACs | instructions | TFLM instructions | ÷ | instr/MAC | flash | TFLM flash | ÷ | RAM | TFLM RAM | ÷ | rand0 = golden |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ...rows.map((r) =>
    r.tinyforge
      ? `| ${r.model} | ${fmt(r.macs)} | ${fmt(r.tinyforge.instructions)} | ${fmt(r.tflm.instructions)} | ${x(r.instructions_ratio)} | ${r.tinyforge.instructionsPerMac.toFixed(2)} | ${fmt(r.tinyforge.flash_bytes)} | ${fmt(r.tflm.flash_bytes)} | ${x(r.flash_ratio)} | ${fmt(r.tinyforge.ram_bytes)} | ${fmt(r.tflm.ram_bytes)} | ${x(r.ram_ratio)} | ${r.rand0_matches_golden === null ? 'no golden' : r.rand0_matches_golden ? 'yes' : 'NO'} |`
      : `| ${r.model} | ${fmt(r.macs)} | does not compile: ${r.reason ?? ''} | ${fmt(r.tflm.instructions)} | – | – | – | ${fmt(r.tflm.flash_bytes)} | – | – | ${fmt(r.tflm.ram_bytes)} | – | – |`,
  ),
  '',
  `Median instructions ratio ${x(summary.median_instructions_ratio)} over ${measured.length} models (best ${x(summary.best_instructions_ratio)}, worst ${worst ? `${x(worst.instructions_ratio)}, ${worst.model}` : '–'}); median flash ratio ${x(summary.median_flash_ratio)}, median RAM ratio ${x(summary.median_ram_ratio)}.`,
  '',
  '### Instructions per op kind (one profiled inference, summed over the layers of each kind)',
  '',
  'From a second build with per-layer timer marks (-DTF_PROFILE); each layer is read to one APB-timer tick (40 instructions), so layers that cost less show as 0.',
  '',
  '| model | op | layers | instructions | share |',
  '|---|---|---:|---:|---:|',
  ...measured.flatMap((r) => (r.ops ?? []).map((o) => `| ${r.model} | ${o.op} | ${o.layers} | ${fmt(o.instructions)} | ${(100 * o.share).toFixed(1)}% |`)),
];
writeFileSync(here('./corpus.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
