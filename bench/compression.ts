// `npm run bench:compression`: the synthetic TF.js models (a dense intent classifier on token
// counts, a 1-D conv keyword-style classifier on tones) trained here, quantized and pruned at 0%,
// 50% and 80% with fine-tuning, then measured: accuracy on held-out data (float and int8), weight
// bytes as laid out in flash, and instructions per inference on the emulated Cortex-M4.
// Writes bench/compression.json and bench/compression.md. Knowledge distillation has its own bench,
// bench/distill.ts (`npm run bench:distill`).

import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { runBench } from '../compiler/bench/run_bench.ts';
import { compileModel } from '../compiler/compile.ts';
import { loadTfjsModel, writeArtifacts } from '../compiler/frontends/tfjs/index.ts';
import { intentData, intentModel, saveLayersArtifacts, toneData, toneModel, train, type Dataset } from '../compiler/frontends/tfjs/synthetic.ts';
import { compressFloatGraph, ptqLoadedModel, type CompressOptions } from '../compiler/quantize/index.ts';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const BOARD = 'qemu-mps2-an386';
const EPOCHS = 5;

interface Row {
  model: string;
  pruning: string;
  sparsity: number;
  float_accuracy: number;
  int8_accuracy: number;
  pruned_accuracy_before_finetune: number | null;
  weight_bytes: number;
  instructions: number;
  flash_bytes: number;
}

await tf.setBackend('cpu');
const specs: Array<{ name: string; model: () => Parameters<typeof saveLayersArtifacts>[0]; train: Dataset; test: Dataset; block: number }> = [
  { name: 'intent (dense 64-64-4)', model: () => intentModel(64, 4, 64), train: intentData(2000, 1, 64), test: intentData(1000, 99, 64), block: 4 },
  { name: 'tones (conv1d 32 filters)', model: () => toneModel(64, 32), train: toneData(2000, 1), test: toneData(1000, 99), block: 4 },
];
const rows: Row[] = [];
const dir = path.join(os.tmpdir(), `tinyforge-bench-compression-${process.pid}`);
for (const spec of specs) {
  const m = spec.model();
  await train(m, spec.train, 15, 0.01, false);
  const fg = (await loadTfjsModel(writeArtifacts(path.join(dir, spec.name.split(' ')[0] as string), await saveLayersArtifacts(m)))).graph;
  const data = { calibration: spec.train.x.slice(0, 300), train: { x: spec.train.x, labels: spec.train.y }, test: { x: spec.test.x, labels: spec.test.y } };
  const settings: Array<[string, CompressOptions]> = [
    ['none', {}],
    ['50%, 4x4 blocks', { prune: 0.5, block: spec.block, finetune: { epochs: EPOCHS, learningRate: 0.002 } }],
    ['80%, 4x4 blocks', { prune: 0.8, block: spec.block, finetune: { epochs: EPOCHS, learningRate: 0.002 } }],
    ['80%, single weights', { prune: 0.8, block: 1, finetune: { epochs: EPOCHS, learningRate: 0.002 } }],
  ];
  for (const [label, opts] of settings) {
    const r = compressFloatGraph(fg, data, opts);
    const acc = (stage: RegExp): number | undefined => r.accuracy.find((a) => stage.test(a.stage))?.accuracy;
    const compiled = compileModel({ ...ptqLoadedModel(r.ptq, `${spec.name}.json`, spec.name), graph: r.graph }, { prefix: 'model' });
    const b = await runBench(compiled, BOARD);
    rows.push({
      model: spec.name,
      pruning: label,
      sparsity: r.prune?.sparsity ?? 0,
      float_accuracy: acc(/fine-tuned/) ?? (acc(/^float$/) as number),
      int8_accuracy: acc(/^int8(, final)?$/) as number,
      pruned_accuracy_before_finetune: acc(/^float, pruned$/) ?? null,
      weight_bytes: b.weight_bytes,
      instructions: b.instructions,
      flash_bytes: b.flash_bytes,
    });
    process.stderr.write(`${spec.name} ${label}: ${b.instructions} instructions, ${b.weight_bytes} weight bytes\n`);
  }
}

writeFileSync(here('./compression.json'), `${JSON.stringify({ generated: new Date().toISOString(), board: BOARD, finetuneEpochs: EPOCHS, results: rows }, null, 2)}\n`);
const fmt = (n: number): string => n.toLocaleString('en-US');
const pct = (n: number | null): string => (n === null ? '—' : `${(100 * n).toFixed(1)}%`);
const lines = [
  `| model | pruning | zero weights | accuracy float | accuracy int8 | pruned, before fine-tuning | weight bytes | instructions (M4) |`,
  '|---|---|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.model} | ${r.pruning} | ${pct(r.sparsity)} | ${pct(r.float_accuracy)} | ${pct(r.int8_accuracy)} | ${pct(r.pruned_accuracy_before_finetune)} | ${fmt(r.weight_bytes)} | ${fmt(r.instructions)} |`),
  '',
  // Distillation's seeds take hours on two cores, so its rows (wide teacher, quarter-MAC student, both tasks) are a bench of their own.
  'Distillation (a wide teacher and a student of a quarter of its MACs on the intent and tone tasks, over seeds): `npm run bench:distill`, [distill.md](distill.md); the text intent transformer: `npm run bench:distill-text`, [distill_text.md](distill_text.md).',
];
writeFileSync(here('./compression.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
