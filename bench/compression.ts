// `npm run bench:compression`: the synthetic TF.js models (a dense intent classifier on token
// counts, a 1-D conv keyword-style classifier on tones) trained here, quantized and pruned at 0%,
// 50% and 80% with fine-tuning, then measured: accuracy on held-out data (float and int8), weight
// bytes as laid out in flash, and instructions per inference on the emulated Cortex-M4.
// Then knowledge distillation: a wide teacher (4x the student's MACs) trained on the same data,
// and a student of the width the pruning rows use trained from the same initial weights for the
// same epochs twice, once on the labels alone (alpha 1) and once on the teacher's softened outputs
// mixed with the labels; both are quantized to int8 and measured like the rows above.
// Writes bench/compression.json and bench/compression.md. `--distillation-only` keeps the
// pruning rows of the last bench/compression.json and re-measures distillation.

import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { runBench } from '../compiler/bench/run_bench.ts';
import { compileModel } from '../compiler/compile.ts';
import { loadTfjsModel, writeArtifacts } from '../compiler/frontends/tfjs/index.ts';
import { intentData, intentModel, saveLayersArtifacts, toneData, toneModel, train, type Dataset } from '../compiler/frontends/tfjs/synthetic.ts';
import { compressFloatGraph, ptqLoadedModel, type CompressOptions } from '../compiler/quantize/index.ts';
import type { FloatGraph } from '../compiler/frontends/tfjs/float_graph.ts';

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
const distillationOnly = process.argv.includes('--distillation-only');
const previous = distillationOnly ? (JSON.parse(readFileSync(here('./compression.json'), 'utf8')) as { results: Row[] }).results : undefined;
const rows: Row[] = previous ?? [];
const dir = path.join(os.tmpdir(), `tinyforge-bench-compression-${process.pid}`);
for (const spec of distillationOnly ? [] : specs) {
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

// ---- distillation ----

interface DistillRow {
  task: string;
  teacher: string;
  student: string;
  teacher_float_accuracy: number;
  teacher_int8_accuracy: number;
  alone_float_accuracy: number;
  alone_int8_accuracy: number;
  distilled_float_accuracy: number;
  distilled_int8_accuracy: number;
  teacher_macs: number;
  student_macs: number;
  teacher_weight_bytes: number;
  student_weight_bytes: number;
  teacher_instructions: number;
  student_instructions: number;
}

const DISTILL = { epochs: 20, learningRate: 0.005, temperature: 4, alpha: 0.5 };
const distillSpecs = [
  { task: 'intent', teacher: 'dense 64-256-4', student: 'dense 64-64-4', wide: () => intentModel(64, 4, 256), narrow: () => intentModel(64, 4, 64), train: intentData(2000, 1, 64), test: intentData(1000, 99, 64) },
  { task: 'tones', teacher: 'conv1d 32 filters', student: 'conv1d 16 filters', wide: () => toneModel(64, 32), narrow: () => toneModel(64, 16), train: toneData(2000, 1), test: toneData(1000, 99) },
];
const distillRows: DistillRow[] = [];
for (const spec of distillSpecs) {
  const load = async (name: string, m: Parameters<typeof saveLayersArtifacts>[0]): Promise<FloatGraph> => (await loadTfjsModel(writeArtifacts(path.join(dir, `${spec.task}-${name}`), await saveLayersArtifacts(m)))).graph;
  const teacherModel = spec.wide();
  await train(teacherModel, spec.train, 15, 0.01, false);
  const teacher = await load('teacher', teacherModel);
  // The student's initial weights, shared by both runs.
  const student = await load('student', spec.narrow());
  const data = { calibration: spec.train.x.slice(0, 300), train: { x: spec.train.x, labels: spec.train.y }, test: { x: spec.test.x, labels: spec.test.y } };
  const measure = async (r: ReturnType<typeof compressFloatGraph>, name: string) => {
    const compiled = compileModel({ ...ptqLoadedModel(r.ptq, `${spec.task}-${name}.json`, name), graph: r.graph }, { prefix: 'model' });
    return { compiled, bench: await runBench(compiled, BOARD) };
  };
  const acc = (r: ReturnType<typeof compressFloatGraph>, stage: RegExp): number => r.accuracy.find((a) => stage.test(a.stage))?.accuracy as number;
  const t = compressFloatGraph(teacher, data, {});
  const alone = compressFloatGraph(student, data, { distill: { teacher, ...DISTILL, alpha: 1 } });
  const distilled = compressFloatGraph(student, data, { distill: { teacher, ...DISTILL } });
  const tb = await measure(t, 'teacher');
  const sb = await measure(distilled, 'student');
  distillRows.push({
    task: spec.task,
    teacher: spec.teacher,
    student: spec.student,
    teacher_float_accuracy: acc(t, /^float$/),
    teacher_int8_accuracy: acc(t, /^int8$/),
    alone_float_accuracy: acc(alone, /distilled/),
    alone_int8_accuracy: acc(alone, /^int8$/),
    distilled_float_accuracy: acc(distilled, /distilled/),
    distilled_int8_accuracy: acc(distilled, /^int8$/),
    teacher_macs: tb.compiled.summary.macs,
    student_macs: sb.compiled.summary.macs,
    teacher_weight_bytes: tb.bench.weight_bytes,
    student_weight_bytes: sb.bench.weight_bytes,
    teacher_instructions: tb.bench.instructions,
    student_instructions: sb.bench.instructions,
  });
  process.stderr.write(`distillation ${spec.task}: ${JSON.stringify(distillRows.at(-1))}\n`);
}

writeFileSync(here('./compression.json'), `${JSON.stringify({ generated: new Date().toISOString(), board: BOARD, finetuneEpochs: EPOCHS, results: rows, distillation: { settings: DISTILL, results: distillRows } }, null, 2)}\n`);
const fmt = (n: number): string => n.toLocaleString('en-US');
const pct = (n: number | null): string => (n === null ? '—' : `${(100 * n).toFixed(1)}%`);
const lines = [
  `| model | pruning | zero weights | accuracy float | accuracy int8 | pruned, before fine-tuning | weight bytes | instructions (M4) |`,
  '|---|---|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.model} | ${r.pruning} | ${pct(r.sparsity)} | ${pct(r.float_accuracy)} | ${pct(r.int8_accuracy)} | ${pct(r.pruned_accuracy_before_finetune)} | ${fmt(r.weight_bytes)} | ${fmt(r.instructions)} |`),
];
lines.push(
  '',
  `Distillation (${DISTILL.epochs} epochs, Adam ${DISTILL.learningRate}, T = ${DISTILL.temperature}, alpha = ${DISTILL.alpha}; the student alone: the same run with alpha = 1):`,
  '',
  '| task | teacher | student | MACs teacher / student | teacher float / int8 | student alone float / int8 | distilled student float / int8 | weight bytes teacher / student | instructions (M4) teacher / student |',
  '|---|---|---|---:|---:|---:|---:|---:|---:|',
  ...distillRows.map(
    (r) =>
      `| ${r.task} | ${r.teacher} | ${r.student} | ${fmt(r.teacher_macs)} / ${fmt(r.student_macs)} | ${pct(r.teacher_float_accuracy)} / ${pct(r.teacher_int8_accuracy)} | ${pct(r.alone_float_accuracy)} / ${pct(r.alone_int8_accuracy)} | ${pct(r.distilled_float_accuracy)} / ${pct(r.distilled_int8_accuracy)} | ${fmt(r.teacher_weight_bytes)} / ${fmt(r.student_weight_bytes)} | ${fmt(r.teacher_instructions)} / ${fmt(r.student_instructions)} |`,
  ),
);
writeFileSync(here('./compression.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
