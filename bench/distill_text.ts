// `npm run bench:distill-text`: distillation on the wearable intent transformer measured over
// seeds (issue 16). bench/intent.ts distills a width-32 student from a width-64 / FFN-128 teacher
// on ONE seed; here the same settings (T 4, alpha 0.5, the same epochs and optimizer) are run on
// pre-registered seeds (1..5, then 6..15), nothing chosen on the test split. Per seed s: the teacher (initial
// weights seed 2s, so seed 1 is bench/intent.ts's teacher) is trained; the student is trained from
// the SAME initial weights (seed s) for the same epochs twice through the same distillation code
// path, once with alpha 1 (labels only: "alone") and once with alpha 0.5 (distilled); the batch
// order is shuffled with seed s for all three. Float and int8 (post-training quantization, as
// bench/intent.ts) accuracy on the 288 held-out-template sentences; mean ± standard error over
// the seeds, the paired gain (distilled − alone) and a two-sided paired t-test (bench/stats.ts).
// MACs of the int8 teacher and student come from the compiler's summary, parameters from the
// float graphs. `--seeds 1,3,5` runs a subset (per-seed results are checkpointed in the temp
// directory, so two processes can share the seeds); the process that finds every seed done
// writes bench/distill_text.json and bench/distill_text.md.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { compileModel, loadModel } from '../compiler/compile.ts';
import { writeTflite } from '../compiler/export/write_tflite.ts';
import type { FloatGraph } from '../compiler/frontends/tfjs/float_graph.ts';
import { quantizedAccuracy, quantizeFloatGraph, type IoQuant } from '../compiler/quantize/index.ts';
import { intentDataset } from '../compiler/text/intent_dataset.ts';
import { intentTransformer, predictClasses, trainTextClassifier, type TextClassifier } from '../compiler/text/intent_transformer.ts';
import { buildVocabulary, tokenize } from '../compiler/text/tokenizer.ts';
import { pairedTTest, summarize, type Summary } from './stats.ts';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
// The settings of bench/intent.ts, pre-registered: not tuned here.
const SHAPE = { seqLen: 16, dim: 32, ffn: 64 };
const TEACHER_SHAPE = { seqLen: SHAPE.seqLen, dim: 64, ffn: 128 };
const EPOCHS = 6;
const LEARNING_RATE = 0.003;
const BATCH_SIZE = 32;
const DISTILL = { temperature: 4, alpha: 0.5 };
// Seeds 6-15 were pre-registered on 2026-12-07, after seeds 1-5 gave p 0.19 (float), before any of
// them ran: the same settings, and the test is the paired t-test over all 15 seeds, reported as it comes.
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

interface Accuracy {
  float: number;
  int8: number;
}
interface Size {
  macs: number;
  parameters: number;
}
interface SeedResult {
  seed: number;
  teacher: Accuracy;
  alone: Accuracy;
  distilled: Accuracy;
  seconds: { teacher: number; alone: number; distilled: number };
  sizes: { teacher: Size; student: Size };
}

await tf.setBackend('cpu');
const data = intentDataset();
const vocab = buildVocabulary(data.train.map((e) => e.text));
const encode = (xs: readonly { text: string }[]): Float32Array[] => xs.map((e) => Float32Array.from(tokenize(e.text, vocab, SHAPE.seqLen).ids));
const trainX = encode(data.train);
const trainY = data.train.map((e) => e.label);
const testX = encode(data.test);
const testY = data.test.map((e) => e.label);
const calibration = trainX.slice(0, 300).map((x) => [x]);
const studentShape = { vocab: vocab.tokens.length, classes: data.intents.length, ...SHAPE };
const teacherShape = { ...studentShape, ...TEACHER_SHAPE };

const accuracyOf = (m: TextClassifier): Accuracy => {
  const q = quantizeFloatGraph(m.graph, calibration);
  return {
    float: predictClasses(m.graph, testX).filter((c, i) => c === testY[i]).length / testY.length,
    int8: quantizedAccuracy(q.graph, q.inputs[0] as IoQuant, { x: testX, labels: testY }),
  };
};
const timed = <T>(f: () => T): [T, number] => {
  const t0 = Date.now();
  const r = f();
  return [r, Math.round((Date.now() - t0) / 1000)];
};
const trainOpts = (name: string, seed: number) => ({
  epochs: EPOCHS,
  learningRate: LEARNING_RATE,
  batchSize: BATCH_SIZE,
  seed,
  onEpoch: (e: number, loss: number) => process.stderr.write(`seed ${seed} ${name} epoch ${e}: loss ${loss.toFixed(4)}\n`),
});
/** Elements of every constant tensor (weights, biases, embeddings, layer-norm scales). */
const parameters = (g: FloatGraph): number => g.tensors.reduce((a, t) => a + (t.data?.length ?? 0), 0);
const macsOf = (m: TextClassifier, dir: string, name: string): number => {
  const file = path.join(dir, `${name}.tflite`);
  writeFileSync(file, writeTflite(quantizeFloatGraph(m.graph, calibration).graph));
  return compileModel(loadModel(file), { prefix: name }).summary.macs;
};

function runSeed(seed: number): SeedResult {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-bench-distill-text-'));
  const [teacher, teacherSeconds] = timed(() => trainTextClassifier(intentTransformer(teacherShape, 2 * seed), trainX, trainY, trainOpts('teacher', seed)));
  // Both students start from these weights: intentTransformer is deterministic in its seed.
  const student = (alpha: number, name: string) =>
    timed(() => trainTextClassifier(intentTransformer(studentShape, seed), trainX, trainY, { ...trainOpts(name, seed), distill: { teacher, temperature: DISTILL.temperature, alpha } }));
  const [alone, aloneSeconds] = student(1, 'student alone (alpha 1)');
  const [distilled, distilledSeconds] = student(DISTILL.alpha, 'student distilled');
  const r: SeedResult = {
    seed,
    teacher: accuracyOf(teacher),
    alone: accuracyOf(alone),
    distilled: accuracyOf(distilled),
    seconds: { teacher: teacherSeconds, alone: aloneSeconds, distilled: distilledSeconds },
    sizes: {
      teacher: { macs: macsOf(teacher, dir, 'teacher'), parameters: parameters(teacher.graph) },
      student: { macs: macsOf(alone, dir, 'student'), parameters: parameters(alone.graph) },
    },
  };
  const pct = (a: Accuracy): string => `${(100 * a.float).toFixed(1)} / ${(100 * a.int8).toFixed(1)}`;
  process.stderr.write(`seed ${seed}: teacher ${pct(r.teacher)}, alone ${pct(r.alone)}, distilled ${pct(r.distilled)} (float / int8 %)\n`);
  return r;
}

interface Gain extends Summary {
  t: number;
  p: number;
  positive_seeds: number;
}
function aggregate(perSeed: SeedResult[]) {
  const arm = (k: 'teacher' | 'alone' | 'distilled') => ({ float: summarize(perSeed.map((r) => r[k].float)), int8: summarize(perSeed.map((r) => r[k].int8)) });
  const gain = (k: keyof Accuracy): Gain => {
    const d = perSeed.map((r) => r.distilled[k] - r.alone[k]);
    return { ...summarize(d), ...pairedTTest(d), positive_seeds: d.filter((x) => x > 0).length };
  };
  const first = perSeed[0] as SeedResult;
  return {
    generated: new Date().toISOString(),
    settings: { student: SHAPE, teacher: TEACHER_SHAPE, epochs: EPOCHS, learningRate: LEARNING_RATE, batchSize: BATCH_SIZE, ...DISTILL, seeds: SEEDS },
    sentences: { train: data.train.length, heldOut: data.test.length },
    sizes: first.sizes,
    teacher: arm('teacher'),
    alone: arm('alone'),
    distilled: arm('distilled'),
    gain: { float: gain('float'), int8: gain('int8') },
    seconds: perSeed.reduce((a, r) => a + r.seconds.teacher + r.seconds.alone + r.seconds.distilled, 0),
    per_seed: perSeed,
  };
}

function markdown(r: ReturnType<typeof aggregate>): string {
  const pm = (s: Summary): string => `${(100 * s.mean).toFixed(1)} ± ${(100 * s.stderr).toFixed(1)}`;
  const signed = (s: Summary): string => `${s.mean >= 0 ? '+' : '−'}${Math.abs(100 * s.mean).toFixed(1)} ± ${(100 * s.stderr).toFixed(1)}`;
  const p = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
  const fmt = (n: number): string => n.toLocaleString('en-US');
  const pct = (x: number): string => (100 * x).toFixed(1);
  const { teacher: t, student: s } = r.sizes;
  return [
    `Distillation on the intent transformer over ${SEEDS.length} pre-registered seeds (${SEEDS.join(', ')}), the settings of \`npm run bench:intent\`: teacher width ${TEACHER_SHAPE.dim} / FFN ${TEACHER_SHAPE.ffn}, student width ${SHAPE.dim} / FFN ${SHAPE.ffn}, ` +
      `${EPOCHS} epochs, Adam ${LEARNING_RATE}, batch ${BATCH_SIZE}, temperature ${DISTILL.temperature}, alpha ${DISTILL.alpha}. Per seed s the teacher starts from initial weights seed 2s; the student starts from the same weights (seed s) alone (alpha 1, labels only, the same code path) and distilled; batches are shuffled with seed s. ` +
      `Accuracy in % on the ${r.sentences.heldOut} sentences from held-out templates (trained on ${r.sentences.train}), mean ± standard error over the seeds; int8 is post-training quantization calibrated on 300 training sentences. The gain is distilled − alone, paired seed by seed, with a two-sided paired t-test.`,
    '',
    '| model | MACs (int8) | parameters | accuracy float | accuracy int8 |',
    '|---|---:|---:|---:|---:|',
    `| teacher (width ${TEACHER_SHAPE.dim}, FFN ${TEACHER_SHAPE.ffn}) | ${fmt(t.macs)} | ${fmt(t.parameters)} | ${pm(r.teacher.float)} | ${pm(r.teacher.int8)} |`,
    `| student alone (width ${SHAPE.dim}, FFN ${SHAPE.ffn}) | ${fmt(s.macs)} | ${fmt(s.parameters)} | ${pm(r.alone.float)} | ${pm(r.alone.int8)} |`,
    `| student distilled | ${fmt(s.macs)} | ${fmt(s.parameters)} | ${pm(r.distilled.float)} | ${pm(r.distilled.int8)} |`,
    '',
    `The student has ${(t.macs / s.macs).toFixed(1)}x fewer MACs and ${(t.parameters / s.parameters).toFixed(1)}x fewer parameters than the teacher.`,
    '',
    '| gain (distilled − alone) | mean ± s.e. (points) | t | p (two-sided) | seeds with a gain |',
    '|---|---:|---:|---:|---:|',
    `| float | ${signed(r.gain.float)} | ${r.gain.float.t.toFixed(2)} | ${p(r.gain.float.p)} | ${r.gain.float.positive_seeds} of ${SEEDS.length} |`,
    `| int8 | ${signed(r.gain.int8)} | ${r.gain.int8.t.toFixed(2)} | ${p(r.gain.int8.p)} | ${r.gain.int8.positive_seeds} of ${SEEDS.length} |`,
    '',
    'Per seed (float / int8, %):',
    '',
    '| seed | teacher | student alone | student distilled | training seconds (teacher, alone, distilled) |',
    '|---:|---:|---:|---:|---|',
    ...r.per_seed.map((x) => `| ${x.seed} | ${pct(x.teacher.float)} / ${pct(x.teacher.int8)} | ${pct(x.alone.float)} / ${pct(x.alone.int8)} | ${pct(x.distilled.float)} / ${pct(x.distilled.int8)} | ${x.seconds.teacher}, ${x.seconds.alone}, ${x.seconds.distilled} |`),
    '',
    `Training time summed over the seeds: ${fmt(r.seconds)} s (wall clock on a shared, loaded 2-core machine).`,
  ].join('\n');
}

const arg = (flag: string): string | undefined => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : undefined);
const seedsArg = arg('--seeds')?.split(',').map(Number);
const unknown = seedsArg?.filter((s) => !SEEDS.includes(s)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(`--seeds takes seeds among ${SEEDS.join(',')}, not ${unknown.join(',')}\n`);
  process.exit(2);
}
// Checkpoints keyed by the settings, so a changed setting never reuses an old seed's result.
const checkpoints = path.join(os.tmpdir(), 'tinyforge-bench-distill-text-seeds');
mkdirSync(checkpoints, { recursive: true });
const key = createHash('sha256').update(JSON.stringify({ SHAPE, TEACHER_SHAPE, EPOCHS, LEARNING_RATE, BATCH_SIZE, DISTILL })).digest('hex').slice(0, 12);
const checkpoint = (seed: number): string => path.join(checkpoints, `${key}-seed${seed}.json`);
for (const seed of SEEDS.filter((s) => seedsArg === undefined || seedsArg.includes(s))) {
  if (existsSync(checkpoint(seed))) continue;
  writeFileSync(checkpoint(seed), JSON.stringify(runSeed(seed)));
}
const done = SEEDS.filter((s) => existsSync(checkpoint(s)));
if (done.length < SEEDS.length) {
  process.stderr.write(`${done.length} of ${SEEDS.length} seeds done; the table is written when all are\n`);
  process.exit(0);
}
const result = aggregate(done.map((s) => JSON.parse(readFileSync(checkpoint(s), 'utf8')) as SeedResult));
writeFileSync(here('./distill_text.json'), `${JSON.stringify(result, null, 2)}\n`);
const md = markdown(result);
writeFileSync(here('./distill_text.md'), `${md}\n`);
console.log(md);
