// `npm run bench:distill`: does knowledge distillation make a small student better than training it
// alone? On data-limited variants of the synthetic tasks (300 labelled samples, 8 intents; 6 tone
// bands 2 cycles apart with heavy noise), a wide teacher and a student of about a quarter of its
// MACs. Per seed (training, validation and test data and every model's initial weights change with
// it) the teacher trains on the training split; the student trains from the same initial weights for
// the same epochs on the labels alone (alpha 1, the same code path) and distilled with every setting
// of the task's grid, classic (the teacher's outputs on the 300 samples) and by function matching
// (the teacher's outputs on fresh mixup inputs every step; --distill-mixup). Settings are chosen by
// mean accuracy on the validation split, never the test split; the reported accuracies are on the
// held-out test split: mean ± standard error over the seeds, the paired gain (distilled − alone, seed
// by seed) and a two-sided paired t-test. Int8 accuracy of every reported arm, and weight bytes and
// instructions on the emulated Cortex-M4 of the int8 teacher and student.
// `--task intent|tones` runs one task and replaces its row in bench/distill.json (two tasks can run
// in two processes); bench/distill.md is rewritten from the JSON (`--render`: only that, nothing
// trained). Where the generator's posterior is known (intent), the Bayes-optimal accuracy on the
// same test splits is the ceiling the table is read against.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { runBench } from '../compiler/bench/run_bench.ts';
import { compileModel } from '../compiler/compile.ts';
import { loadTfjsModel, writeArtifacts } from '../compiler/frontends/tfjs/index.ts';
import { intentBayesAccuracy, intentData, intentModel, saveLayersArtifacts, toneData, toneModel, train, type Dataset } from '../compiler/frontends/tfjs/synthetic.ts';
import { fineTune, type Distillation } from '../compiler/frontends/tfjs/float_train.ts';
import type { FloatGraph } from '../compiler/frontends/tfjs/float_graph.ts';
import { floatAccuracy } from '../compiler/quantize/accuracy.ts';
import { compressFloatGraph, ptqLoadedModel } from '../compiler/quantize/index.ts';
import { pairedTTest, summarize, type Summary } from './stats.ts';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const BOARD = 'qemu-mps2-an386';
const LEARNING_RATE = 0.005;
const TEACHER_LEARNING_RATE = 0.01;
const TONE_BANDS = [2, 4, 6, 8, 10, 12];
const TONE_NOISE = 2;

interface Setting {
  temperature: number;
  alpha: number;
  mixup: boolean;
}

type Model = Parameters<typeof saveLayersArtifacts>[0];

interface TaskSpec {
  key: string;
  task: string;
  teacher: string;
  student: string;
  seeds: number[];
  epochs: number;
  teacherEpochs: number;
  trainSamples: number;
  grid: Setting[];
  wide: (seed: number) => Model;
  narrow: (seed: number) => Model;
  data: (n: number, seed: number) => Dataset;
  /** The Bayes-optimal accuracy on a split, where the generator's posterior is known. */
  bayes?: (d: Dataset) => number;
  /**
   * Early stopping: the teacher and every student train up to their epochs and keep the epoch that
   * scored best on the validation split (the teacher then trains through fineTune, with the same
   * Adam rate and batch size as train()).
   */
  earlyStop?: boolean;
}

/** The intent task's models, data and grid, shared by its fixed-epoch and early-stopping rows. */
const INTENT: Omit<TaskSpec, 'key' | 'task'> = {
  teacher: 'dense 64-256-8',
  student: 'dense 64-64-8',
  seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  epochs: 60,
  teacherEpochs: 30,
  trainSamples: 300,
  grid: [
    { temperature: 4, alpha: 0.5, mixup: false },
    { temperature: 4, alpha: 0.1, mixup: false },
    { temperature: 4, alpha: 0.1, mixup: true },
    { temperature: 4, alpha: 0, mixup: true },
    { temperature: 1, alpha: 0, mixup: true },
  ],
  wide: (seed) => intentModel(64, 8, 256, 10 * seed),
  narrow: (seed) => intentModel(64, 8, 64, 10 * seed + 5),
  data: (n, seed) => intentData(n, seed, 64, 8),
  bayes: intentBayesAccuracy,
};

const SPECS: TaskSpec[] = [
  { key: 'intent', task: 'intent, 8 classes, 300 samples', ...INTENT },
  // Pre-registered on 2026-12-07 before any seed ran: the fixed-epoch intent row over-trains
  // (on validation, teacher and student alike score 2-4 points higher after 2-4 epochs than after
  // 30-60), so a teacher there is not the best model its data allows. Here every model keeps its
  // best validation epoch; the same seeds, grid and selection rule; reported whatever it gives.
  { key: 'intent-es', task: 'intent, 8 classes, 300 samples, epochs chosen on validation', ...INTENT, earlyStop: true },
  {
    // Conv1d training on the CPU backend is slow (about 2 s per student epoch on a shared core), so
    // the tone grid is the setting the first (5-seed) distillation bench chose on validation, T 4 /
    // alpha 0.1, with and without mixup.
    key: 'tones',
    task: `tones, ${TONE_BANDS.length} bands, noise ${TONE_NOISE}, 300 samples`,
    teacher: 'conv1d 32 filters',
    student: 'conv1d 14 filters',
    // Seeds 9-16 were pre-registered after seeds 1-8 gave p 0.17 (float): same settings and grid.
    seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
    epochs: 20,
    teacherEpochs: 20,
    trainSamples: 300,
    grid: [
      { temperature: 4, alpha: 0.1, mixup: false },
      { temperature: 4, alpha: 0.1, mixup: true },
    ],
    wide: (seed) => toneModel(64, 32, TONE_BANDS.length, 10 * seed),
    narrow: (seed) => toneModel(64, 14, TONE_BANDS.length, 10 * seed + 5),
    data: (n, seed) => toneData(n, seed, 64, TONE_BANDS, TONE_NOISE),
  },
];

interface ArmResult {
  /** 'alone', or the setting distilled with. */
  arm: string;
  setting: Setting | null;
  validation_mean: number;
  float: Summary;
  int8: Summary;
}

interface GainResult {
  /** Which distilled arm, against the student alone. */
  arm: string;
  float: Summary & { t: number; p: number };
  int8: Summary & { t: number; p: number };
  positive_seeds: number;
}

interface TaskResult {
  key: string;
  task: string;
  teacher: string;
  student: string;
  train_samples: number;
  epochs: number;
  teacher_epochs: number;
  seeds: number[];
  seconds: number;
  teacher_float: Summary;
  teacher_int8: Summary;
  /** Mean validation accuracy (float) of alone and of every setting tried. */
  validation: Array<{ arm: string; mean: number }>;
  /** The student alone, the best classic setting, the best mixup setting (each chosen on validation). */
  arms: ArmResult[];
  /** Best classic and best mixup arm minus the student alone, on the test split. */
  gains: GainResult[];
  teacher_macs: number;
  student_macs: number;
  teacher_weight_bytes: number;
  student_weight_bytes: number;
  teacher_instructions: number;
  student_instructions: number;
  /** Bayes-optimal accuracy on the seeds' test splits (tasks whose generator gives it). */
  bayes_optimal?: Summary;
  /** With early stopping: the mean epoch each model kept, over the seeds. */
  epochs_kept?: Array<{ model: string; mean: number }>;
}

const armName = (s: Setting): string => `${s.mixup ? 'mixup' : 'classic'}, T ${s.temperature}, alpha ${s.alpha}`;
const labelled = (d: Dataset) => ({ x: d.x, labels: d.y });
const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

/** One seed's accuracies (and, for the first seed a process runs, the int8 sizes): checkpointed to disk. */
interface SeedResult {
  seed: number;
  teacher: { float: number; int8: number };
  /** Float validation accuracy per arm name. */
  val: Record<string, number>;
  /** Float and int8 test accuracy per arm name. */
  test: Record<string, { float: number; int8: number }>;
  sizes?: Sizes;
  /** Wall-clock seconds this seed took. */
  seconds: number;
  /** With early stopping: the epoch each model kept (teacher, alone and every setting). */
  epochs_kept?: Record<string, number>;
}

type Sizes = Pick<TaskResult, 'teacher_macs' | 'student_macs' | 'teacher_weight_bytes' | 'student_weight_bytes' | 'teacher_instructions' | 'student_instructions'>;

async function runSeed(spec: TaskSpec, seed: number, dir: string, measureSizes: boolean): Promise<SeedResult> {
  const started = Date.now();
  const trainSet = spec.data(spec.trainSamples, seed);
  const validation = labelled(spec.data(1000, 500 + seed));
  const test = labelled(spec.data(1000, 1000 + seed));
  const calibration = trainSet.x.slice(0, 200);
  const load = async (name: string, m: Model): Promise<FloatGraph> => (await loadTfjsModel(writeArtifacts(path.join(dir, `${spec.key}-${name}-${seed}`), await saveLayersArtifacts(m)))).graph;
  const kept: Record<string, number> = {};
  const earlyStop = spec.earlyStop ? { keepBest: validation } : {};
  const tuned = (name: string, r: ReturnType<typeof fineTune>): FloatGraph => {
    if (r.best) kept[name] = r.best.epoch;
    return r.graph;
  };
  const teacherModel = spec.wide(seed);
  let teacher: FloatGraph;
  if (spec.earlyStop) {
    teacher = tuned('teacher', fineTune(await load('teacher', teacherModel), labelled(trainSet), { epochs: spec.teacherEpochs, learningRate: TEACHER_LEARNING_RATE, seed, ...earlyStop }));
  } else {
    await train(teacherModel, trainSet, spec.teacherEpochs, TEACHER_LEARNING_RATE, false);
    teacher = await load('teacher', teacherModel);
  }
  const student = await load('student', spec.narrow(seed));
  // Float accuracy on the test split and int8 accuracy (calibrated on training samples) in one pass.
  const int8 = (g: FloatGraph) => {
    const r = compressFloatGraph(g, { calibration, test }, {});
    const acc = (stage: RegExp): number => r.accuracy.find((a) => stage.test(a.stage))?.accuracy as number;
    return { r, float: acc(/^float$/), int8: acc(/^int8$/) };
  };
  const fit = (name: string, d: Distillation | undefined): FloatGraph => tuned(name, fineTune(student, { ...labelled(trainSet), ...(d ? { teacher: d } : {}) }, { epochs: spec.epochs, learningRate: LEARNING_RATE, seed, ...earlyStop }));
  const graphs = new Map<string, FloatGraph>([['alone', fit('alone', undefined)]]);
  for (const s of spec.grid) graphs.set(armName(s), fit(armName(s), { model: teacher, temperature: s.temperature, alpha: s.alpha, mixup: s.mixup }));
  const t = int8(teacher);
  const val = Object.fromEntries([...graphs].map(([k, g]) => [k, floatAccuracy(g, validation)]));
  const testAcc = Object.fromEntries([...graphs].map(([k, g]) => {
    const q = int8(g);
    return [k, { float: q.float, int8: q.int8 }];
  }));
  let sizes: Sizes | undefined;
  if (measureSizes) {
    const measure = async (g: FloatGraph, name: string) => {
      const r = int8(g).r;
      const compiled = compileModel({ ...ptqLoadedModel(r.ptq, `${spec.key}-${name}.json`, name), graph: r.graph }, { prefix: 'model' });
      return { compiled, bench: await runBench(compiled, BOARD) };
    };
    const tb = await measure(teacher, 'teacher');
    const sb = await measure(graphs.get('alone') as FloatGraph, 'student');
    sizes = {
      teacher_macs: tb.compiled.summary.macs,
      student_macs: sb.compiled.summary.macs,
      teacher_weight_bytes: tb.bench.weight_bytes,
      student_weight_bytes: sb.bench.weight_bytes,
      teacher_instructions: tb.bench.instructions,
      student_instructions: sb.bench.instructions,
    };
  }
  const show = (m: Record<string, number | { float: number }>) => Object.entries(m).map(([k, v]) => `${k}: ${(100 * (typeof v === 'number' ? v : v.float)).toFixed(1)}`).join(', ');
  process.stderr.write(`${spec.key} seed ${seed} (${((Date.now() - started) / 1000).toFixed(0)} s): teacher ${(100 * t.float).toFixed(1)}; validation ${show(val)}; test ${show(testAcc)}\n`);
  return { seed, teacher: { float: t.float, int8: t.int8 }, val, test: testAcc, ...(sizes ? { sizes } : {}), seconds: Math.round((Date.now() - started) / 1000), ...(spec.earlyStop ? { epochs_kept: kept } : {}) };
}

function aggregate(spec: TaskSpec, perSeed: readonly SeedResult[]): TaskResult {
  const names = ['alone', ...spec.grid.map(armName)];
  const validation = names.map((arm) => ({ arm, mean: mean(perSeed.map((p) => p.val[arm] as number)) }));
  const valOf = (arm: string): number => (validation.find((v) => v.arm === arm) as { mean: number }).mean;
  const best = (mixup: boolean): Setting | undefined => spec.grid.filter((s) => s.mixup === mixup).reduce<Setting | undefined>((a, s) => (a === undefined || valOf(armName(s)) > valOf(armName(a)) ? s : a), undefined);
  const chosen = [best(false), best(true)].filter((s): s is Setting => s !== undefined);
  const series = (arm: string, kind: 'float' | 'int8'): number[] => perSeed.map((p) => (p.test[arm] as { float: number; int8: number })[kind]);
  const arms: ArmResult[] = [
    { arm: 'alone', setting: null, validation_mean: valOf('alone'), float: summarize(series('alone', 'float')), int8: summarize(series('alone', 'int8')) },
    ...chosen.map((s) => ({ arm: armName(s), setting: s, validation_mean: valOf(armName(s)), float: summarize(series(armName(s), 'float')), int8: summarize(series(armName(s), 'int8')) })),
  ];
  const gains = chosen.map((s) => {
    const diff = (kind: 'float' | 'int8'): number[] => series(armName(s), kind).map((v, i) => v - (series('alone', kind)[i] as number));
    return { arm: armName(s), float: { ...summarize(diff('float')), ...pairedTTest(diff('float')) }, int8: { ...summarize(diff('int8')), ...pairedTTest(diff('int8')) }, positive_seeds: diff('float').filter((d) => d > 0).length };
  });
  const kept = perSeed[0]?.epochs_kept ? Object.keys(perSeed[0].epochs_kept).map((model) => ({ model, mean: mean(perSeed.map((p) => p.epochs_kept?.[model] as number)) })) : undefined;
  const sizes = perSeed.find((p) => p.sizes)?.sizes;
  if (!sizes) throw new Error(`${spec.key}: no seed measured the int8 sizes`);
  return {
    key: spec.key,
    task: spec.task,
    teacher: spec.teacher,
    student: spec.student,
    train_samples: spec.trainSamples,
    epochs: spec.epochs,
    teacher_epochs: spec.teacherEpochs,
    seeds: perSeed.map((p) => p.seed),
    seconds: perSeed.reduce((a, p) => a + p.seconds, 0),
    teacher_float: summarize(perSeed.map((p) => p.teacher.float)),
    teacher_int8: summarize(perSeed.map((p) => p.teacher.int8)),
    validation,
    arms,
    gains,
    ...sizes,
    ...(kept ? { epochs_kept: kept } : {}),
  };
}

function markdown(results: readonly TaskResult[]): string {
  const fmt = (n: number): string => n.toLocaleString('en-US');
  const pm = (s: Summary): string => `${(100 * s.mean).toFixed(1)} ± ${(100 * s.stderr).toFixed(1)}`;
  const signed = (s: Summary): string => `${s.mean >= 0 ? '+' : '−'}${Math.abs(100 * s.mean).toFixed(1)} ± ${(100 * s.stderr).toFixed(1)}`;
  const p = (v: number): string => (v < 0.001 ? '< 0.001' : v.toFixed(3));
  return [
    `Knowledge distillation on data-limited synthetic tasks (Adam ${LEARNING_RATE}; teacher trained with Adam ${TEACHER_LEARNING_RATE}). Accuracy in % on 1,000 held-out test samples per seed, mean ± standard error over the seeds. "Classic" matches the teacher's softened outputs on the labelled samples; "mixup" matches them on fresh mixup inputs every step (function matching, \`--distill-mixup\`). Each arm's T / alpha is the best of the task's grid by mean validation accuracy (a separate 1,000-sample split); the test split is used only for these numbers.`,
    '',
    '| task | teacher / student | seeds | epochs | MACs teacher / student | teacher float / int8 | arm | student float / int8 |',
    '|---|---|---:|---:|---:|---:|---|---:|',
    ...results.flatMap((r) =>
      r.arms.map((a, i) => `| ${i === 0 ? r.task : ''} | ${i === 0 ? `${r.teacher} / ${r.student}` : ''} | ${i === 0 ? r.seeds.length : ''} | ${i === 0 ? r.epochs : ''} | ${i === 0 ? `${fmt(r.teacher_macs)} / ${fmt(r.student_macs)}` : ''} | ${i === 0 ? `${pm(r.teacher_float)} / ${pm(r.teacher_int8)}` : ''} | ${a.arm === 'alone' ? 'alone (labels only)' : `distilled, ${a.arm}`} | ${pm(a.float)} / ${pm(a.int8)} |`),
    ),
    ...results.filter((r) => r.epochs_kept).map((r) => `\n${r.task}: every model trains up to its epochs (teacher ${r.teacher_epochs}, students ${r.epochs}) and keeps the epoch with the best validation accuracy; mean epoch kept: ${(r.epochs_kept ?? []).map((k) => `${k.model} ${k.mean.toFixed(1)}`).join(', ')}.`),
    // Rows on the same data share one ceiling line.
    ...[...new Set(results.filter((r) => r.bayes_optimal).map((r) => pm(r.bayes_optimal as Summary)))].map(
      (value) => `\nBayes-optimal accuracy on the same test splits (${results.filter((r) => r.bayes_optimal && pm(r.bayes_optimal) === value).map((r) => r.task).join('; ')}: the generator's own posterior, a ceiling no model passes on average): ${value}.`,
    ),
    '',
    'Gain over the student alone (points, distilled − alone paired by seed; two-sided paired t-test):',
    '',
    '| task | arm | gain float | p (float) | gain int8 | p (int8) | seeds with a float gain |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...results.flatMap((r) => r.gains.map((g) => `| ${r.task} | ${g.arm} | ${signed(g.float)} | ${p(g.float.p)} | ${signed(g.int8)} | ${p(g.int8.p)} | ${g.positive_seeds} of ${r.seeds.length} |`)),
    '',
    'Int8 teacher and student on the emulated Cortex-M4 (qemu-mps2-an386; seed 1, the same for every seed and arm):',
    '',
    '| task | weight bytes teacher / student | instructions per inference teacher / student | bench time (sum over seeds, wall clock, shared 2-core machine) |',
    '|---|---:|---:|---:|',
    ...results.map((r) => `| ${r.task} | ${fmt(r.teacher_weight_bytes)} / ${fmt(r.student_weight_bytes)} | ${fmt(r.teacher_instructions)} / ${fmt(r.student_instructions)} | ${Math.round(r.seconds / 60)} min |`),
    '',
    'Validation accuracy (float, mean over the seeds) of every setting:',
    '',
    '| task | setting | validation |',
    '|---|---|---:|',
    ...results.flatMap((r) => r.validation.map((v) => `| ${r.task} | ${v.arm} | ${(100 * v.mean).toFixed(1)} |`)),
  ].join('\n');
}

await tf.setBackend('cpu');
const arg = (flag: string): string | undefined => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : undefined);
const only = arg('--task');
const specs = SPECS.filter((s) => only === undefined || s.key === only);
if (specs.length === 0) throw new Error(`--task is one of ${SPECS.map((s) => s.key).join(', ')}, not '${only}'`);
const seedsArg = arg('--seeds')?.split(',').map(Number);
const dir = path.join(os.tmpdir(), `tinyforge-bench-distill-${process.pid}`);
// Per-seed checkpoints, keyed by the task's settings: seeds can run in several processes (--seeds),
// and an interrupted run resumes. The last process to finish a task aggregates it.
const checkpoints = path.join(os.tmpdir(), 'tinyforge-bench-distill-seeds');
mkdirSync(checkpoints, { recursive: true });
const checkpoint = (spec: TaskSpec, seed: number): string => {
  // The seed list is left out: a seed's result does not depend on which other seeds run, so adding
  // seeds keeps the checkpoints of those already done.
  const { wide, narrow, data, seeds: _seeds, ...settings } = spec;
  const key = createHash('sha256').update(JSON.stringify({ settings, wide: wide.toString(), narrow: narrow.toString(), data: data.toString(), LEARNING_RATE, TEACHER_LEARNING_RATE })).digest('hex').slice(0, 12);
  return path.join(checkpoints, `${spec.key}-${key}-seed${seed}.json`);
};
const fresh: TaskResult[] = [];
for (const spec of process.argv.includes('--render') ? [] : specs) {
  let measured = false;
  for (const seed of spec.seeds.filter((s) => seedsArg === undefined || seedsArg.includes(s))) {
    if (existsSync(checkpoint(spec, seed))) continue;
    const r = await runSeed(spec, seed, dir, !measured);
    measured = true;
    writeFileSync(checkpoint(spec, seed), JSON.stringify(r));
  }
  const done = spec.seeds.filter((s) => existsSync(checkpoint(spec, s)));
  // --partial: aggregate the seeds done so far (the table says how many).
  if (done.length < spec.seeds.length && !process.argv.includes('--partial')) {
    process.stderr.write(`${spec.key}: ${done.length} of ${spec.seeds.length} seeds done; the table is written when all are (or with --partial)\n`);
    continue;
  }
  fresh.push(aggregate(spec, done.map((s) => JSON.parse(readFileSync(checkpoint(spec, s), 'utf8')) as SeedResult)));
}
// --render rewrites the JSON and table from the last results without training anything.
if (fresh.length === 0 && !process.argv.includes('--render')) process.exit(0);
// Read the other tasks' rows only now: another process may have written them meanwhile.
const jsonPath = here('./distill.json');
const previous = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as { results: TaskResult[] }).results : [];
const withCeiling = (r: TaskResult): TaskResult => {
  const spec = SPECS.find((s) => s.key === r.key);
  return spec?.bayes ? { ...r, bayes_optimal: summarize(r.seeds.map((seed) => (spec.bayes as (d: Dataset) => number)(spec.data(1000, 1000 + seed)))) } : r;
};
const results = SPECS.map((s) => fresh.find((r) => r.key === s.key) ?? previous.find((r) => r.key === s.key))
  .filter((r): r is TaskResult => r !== undefined)
  .map(withCeiling);
writeFileSync(jsonPath, `${JSON.stringify({ generated: new Date().toISOString(), board: BOARD, learningRate: LEARNING_RATE, teacherLearningRate: TEACHER_LEARNING_RATE, results }, null, 2)}\n`);
const md = markdown(results);
writeFileSync(here('./distill.md'), `${md}\n`);
console.log(md);
