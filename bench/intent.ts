// `npm run bench:intent`: the wearable intent transformer at full size. Trains it with TF.js on
// the generated dataset (compiler/text/intent_dataset.ts), quantizes it to int8, exports the
// .tflite and compiles it with its tokenizer, then measures: float and int8 accuracy on the
// held-out-template sentences, and on the emulated Cortex-M4 (qemu-mps2-an386) and Cortex-M55
// (qemu-mps3-an547): instructions per inference of the model alone and flash / RAM of the
// benchmark image (tinyforge bench), and instructions per sentence (tokenizing + inference) from
// the agent's TEXT command over every held-out sentence (validate --text), which also checks
// that ids and scores equal the host reference. Writes bench/intent.json and bench/intent.md.
//
// Distillation and pruning (issue 18): a wider teacher (width 64, FFN 128) is trained the same
// way, a fresh student is distilled from it (softened teacher outputs + labels, the loss of
// float_train.ts), and the distilled student is pruned (FULLY_CONNECTED weights, 4x4 tiles, the
// tile-sparse kernel's layout), fine-tuned with its zeros held and the teacher still teaching,
// quantized, pruned again in int8 and compiled: its accuracy, flash and instructions on both
// boards, and validate --text on the M4 (every held-out sentence byte-identical to the host).

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { compile } from '../compiler/api/compile.ts';
import { validate } from '../compiler/api/validate.ts';
import { runBench } from '../compiler/bench/run_bench.ts';
import { compileModel, loadModel } from '../compiler/compile.ts';
import { writeTflite } from '../compiler/export/write_tflite.ts';
import { quantizedAccuracy, quantizeFloatGraph, type IoQuant } from '../compiler/quantize/index.ts';
import { intentDataset } from '../compiler/text/intent_dataset.ts';
import { intentTransformer, predictClasses, trainTextClassifier, type TextClassifier } from '../compiler/text/intent_transformer.ts';
import { pruneQuantizedText, pruneTextClassifier } from '../compiler/text/prune_text.ts';
import { buildVocabulary, formatVocabulary, tokenize } from '../compiler/text/tokenizer.ts';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const SHAPE = { seqLen: 16, dim: 32, ffn: 64 };
const EPOCHS = 6;
const TEACHER_SHAPE = { seqLen: SHAPE.seqLen, dim: 64, ffn: 128 };
const DISTILL = { temperature: 4, alpha: 0.5 };
const PRUNE = { sparsity: 0.5, block: 4 };
const PRUNE_EPOCHS = 3;
const BOARDS = [
  { id: 'qemu-mps2-an386', core: 'Cortex-M4' },
  { id: 'qemu-mps3-an547', core: 'Cortex-M55' },
];

await tf.setBackend('cpu');
const data = intentDataset();
const vocab = buildVocabulary(data.train.map((e) => e.text));
const encode = (xs: readonly { text: string }[]): Float32Array[] => xs.map((e) => Float32Array.from(tokenize(e.text, vocab, SHAPE.seqLen).ids));
const trainX = encode(data.train);
const testX = encode(data.test);
const testY = data.test.map((e) => e.label);
const trainY = data.train.map((e) => e.label);
const trainOpts = (name: string, epochs = EPOCHS) => ({
  epochs,
  learningRate: 0.003,
  batchSize: 32,
  seed: 1,
  onEpoch: (e: number, loss: number) => process.stderr.write(`${name} epoch ${e}: loss ${loss.toFixed(4)}\n`),
});
const calibration = trainX.slice(0, 300).map((x) => [x]);
const accuracyOf = (m: TextClassifier): { float: number; int8: number } => {
  const q = quantizeFloatGraph(m.graph, calibration);
  return {
    float: predictClasses(m.graph, testX).filter((c, i) => c === testY[i]).length / testY.length,
    int8: quantizedAccuracy(q.graph, q.inputs[0] as IoQuant, { x: testX, labels: testY }),
  };
};
const timed = <T>(f: () => T): [T, number] => {
  const t0 = Date.now();
  const r = f();
  return [r, (Date.now() - t0) / 1000];
};
const studentShape = { vocab: vocab.tokens.length, classes: data.intents.length, ...SHAPE };
const [model, trainSeconds] = timed(() => trainTextClassifier(intentTransformer(studentShape, 1), trainX, trainY, trainOpts('student')));
const floatAccuracy = predictClasses(model.graph, testX).filter((c, i) => c === testY[i]).length / testY.length;
const ptq = quantizeFloatGraph(model.graph, calibration);
const int8Accuracy = quantizedAccuracy(ptq.graph, ptq.inputs[0] as IoQuant, { x: testX, labels: testY });

// The wider teacher, and a fresh student (same seed as above) distilled from it.
const [teacher, teacherSeconds] = timed(() => trainTextClassifier(intentTransformer({ ...studentShape, ...TEACHER_SHAPE }, 2), trainX, trainY, trainOpts('teacher')));
const teacherAccuracy = accuracyOf(teacher);
const [distilled, distillSeconds] = timed(() => trainTextClassifier(intentTransformer(studentShape, 1), trainX, trainY, { ...trainOpts('distilled student'), distill: { teacher, ...DISTILL } }));
const distilledAccuracy = accuracyOf(distilled);

// The distilled student pruned, fine-tuned with the zeros held (still learning from the teacher).
const pruned = pruneTextClassifier(distilled, PRUNE);
const prunedFloatBeforeTuning = predictClasses(pruned.model.graph, testX).filter((c, i) => c === testY[i]).length / testY.length;
const tuned = trainTextClassifier(pruned.model, trainX, trainY, { ...trainOpts('pruned student', PRUNE_EPOCHS), masks: pruned.masks, distill: { teacher, ...DISTILL } });
const prunedPtq = quantizeFloatGraph(tuned.graph, calibration);
const prunedInt8 = pruneQuantizedText(prunedPtq.graph, PRUNE);
const prunedAccuracy = {
  float: predictClasses(tuned.graph, testX).filter((c, i) => c === testY[i]).length / testY.length,
  int8: quantizedAccuracy(prunedInt8.graph, prunedPtq.inputs[0] as IoQuant, { x: testX, labels: testY }),
};

const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-bench-intent-'));
const modelFile = path.join(dir, 'intent.tflite');
const vocabFile = path.join(dir, 'vocab.txt');
writeFileSync(modelFile, writeTflite(ptq.graph));
writeFileSync(vocabFile, formatVocabulary(vocab));
const sentencesFile = path.join(dir, 'sentences.txt');
writeFileSync(sentencesFile, `${data.test.map((e) => e.text).join('\n')}\n`);
const summary = await compile(modelFile, { vocab: vocabFile, prefix: 'intent' });
interface BoardRow {
  board: string;
  core: string;
  instructions: number;
  sentences_matching: number;
  sentence_instructions_mean: number;
  sentence_instructions_min: number;
  sentence_instructions_max: number;
  flash_bytes: number;
  weight_bytes: number;
  ram_bytes: number;
  arena_bytes: number;
  stack_bytes: number;
}
const boards: BoardRow[] = [];
for (const b of BOARDS) {
  const r = await runBench(compileModel(loadModel(modelFile), { prefix: 'intent' }), b.id);
  const v = await validate(modelFile, { board: b.id, vocab: vocabFile, text: sentencesFile });
  if (v.failed > 0) throw new Error(`${b.id}: ${v.failed} of ${v.total} sentences differ from the host reference`);
  const perSentence = v.cases.map((c) => c.instructions ?? 0);
  boards.push({
    board: b.id,
    core: b.core,
    instructions: r.instructions,
    sentences_matching: v.passed,
    sentence_instructions_mean: Math.round(perSentence.reduce((a, x) => a + x, 0) / perSentence.length),
    sentence_instructions_min: Math.min(...perSentence),
    sentence_instructions_max: Math.max(...perSentence),
    flash_bytes: r.flash_bytes,
    weight_bytes: r.weight_bytes,
    ram_bytes: r.ram_bytes,
    arena_bytes: r.arena_bytes,
    stack_bytes: r.stack_bytes,
  });
  process.stderr.write(`${b.id}: ${r.instructions} instructions per inference, ${v.passed}/${v.total} sentences byte-identical\n`);
}
// The pruned int8 student on the boards: flash and instructions, and every held-out sentence
// tokenized and classified on the M4, byte-identical to the host reference.
const prunedFile = path.join(dir, 'intent_pruned.tflite');
writeFileSync(prunedFile, writeTflite(prunedInt8.graph));
const prunedCompiled = compileModel(loadModel(prunedFile), { prefix: 'intent' });
const prunedKernels = prunedCompiled.calls.filter((c) => c.kind.startsWith('fully_connected')).map((c) => c.kind);
const prunedValidate = await validate(prunedFile, { board: 'qemu-mps2-an386', vocab: vocabFile, text: sentencesFile });
if (prunedValidate.failed > 0) throw new Error(`pruned student: ${prunedValidate.failed} of ${prunedValidate.total} sentences differ from the host reference`);
const prunedBoards = [];
for (const b of BOARDS) {
  const r = await runBench(compileModel(loadModel(prunedFile), { prefix: 'intent' }), b.id);
  prunedBoards.push({ board: b.id, core: b.core, instructions: r.instructions, flash_bytes: r.flash_bytes, weight_bytes: r.weight_bytes, ram_bytes: r.ram_bytes });
  process.stderr.write(`${b.id}, pruned: ${r.instructions} instructions per inference, flash ${r.flash_bytes}\n`);
}
const result = {
  generated: new Date().toISOString(),
  model: { ...SHAPE, vocab: vocab.tokens.length, classes: data.intents.length, ops: summary.ops, epochs: EPOCHS, trainSeconds },
  sentences: { train: data.train.length, heldOut: data.test.length },
  accuracy: { float: floatAccuracy, int8: int8Accuracy },
  tokenizer: summary.tokenizer,
  boards,
  distillation: {
    teacher: { ...TEACHER_SHAPE, epochs: EPOCHS, trainSeconds: teacherSeconds, accuracy: teacherAccuracy },
    ...DISTILL,
    student: { epochs: EPOCHS, trainSeconds: distillSeconds, accuracy: distilledAccuracy },
  },
  pruning: {
    of: 'distilled student',
    ...PRUNE,
    fineTuneEpochs: PRUNE_EPOCHS,
    floatBeforeFineTuning: prunedFloatBeforeTuning,
    accuracy: prunedAccuracy,
    int8Sparsity: prunedInt8.report.sparsity,
    fullyConnectedKernels: prunedKernels,
    sentences_matching_m4: prunedValidate.passed,
    boards: prunedBoards,
  },
};
writeFileSync(here('./intent.json'), `${JSON.stringify(result, null, 2)}\n`);
const fmt = (n: number): string => n.toLocaleString('en-US');
const pct = (n: number): string => `${(100 * n).toFixed(1)}%`;
const lines = [
  `Intent transformer: vocabulary ${vocab.tokens.length} WordPiece tokens, sequence ${SHAPE.seqLen}, width ${SHAPE.dim}, FFN ${SHAPE.ffn}, ${data.intents.length} intents, ${summary.ops} ops; ` +
    `trained ${EPOCHS} epochs on ${data.train.length} sentences, tested on ${data.test.length} sentences from held-out templates.`,
  '',
  `| accuracy float | accuracy int8 | tokenizer tables (flash bytes) |`,
  '|---:|---:|---:|',
  `| ${pct(floatAccuracy)} | ${pct(int8Accuracy)} | ${fmt(summary.tokenizer?.flashBytes ?? 0)} |`,
  '',
  `| board | instructions per sentence (tokenize + infer, mean [min-max]) | instructions per inference (model) | held-out sentences byte-identical | image flash bytes | weight bytes | image RAM bytes | arena bytes |`,
  '|---|---:|---:|---:|---:|---:|---:|---:|',
  ...boards.map(
    (b) =>
      `| ${b.board} (${b.core}) | ${fmt(b.sentence_instructions_mean)} [${fmt(b.sentence_instructions_min)}-${fmt(b.sentence_instructions_max)}] | ${fmt(b.instructions)} | ${b.sentences_matching}/${data.test.length} | ${fmt(b.flash_bytes)} | ${fmt(b.weight_bytes)} | ${fmt(b.ram_bytes)} | ${fmt(b.arena_bytes)} |`,
  ),
  '',
  'Instructions are counted under QEMU -icount (exact to one timer tick); per sentence from the agent\'s TEXT command (tokenizer and model on the device), per inference from tinyforge bench (model only). Flash and RAM are of the bench image (model, startup, C library), from the ELF; the tokenizer\'s tables add the bytes shown above.',
  '',
  `Distillation and pruning: a teacher of width ${TEACHER_SHAPE.dim} / FFN ${TEACHER_SHAPE.ffn} trained ${EPOCHS} epochs (${teacherSeconds.toFixed(0)} s); a fresh student of width ${SHAPE.dim} distilled from it for ${EPOCHS} epochs ` +
    `(temperature ${DISTILL.temperature}, alpha ${DISTILL.alpha}: half labels, half the teacher's softened outputs); the distilled student's FULLY_CONNECTED weights pruned to ${pct(PRUNE.sparsity)} in ${PRUNE.block}x${PRUNE.block} tiles ` +
    `and fine-tuned ${PRUNE_EPOCHS} epochs with the zeros held and the teacher still teaching (float accuracy right after pruning, before fine-tuning: ${pct(prunedFloatBeforeTuning)}). Accuracy on the ${data.test.length} held-out sentences:`,
  '',
  '| model | accuracy float | accuracy int8 |',
  '|---|---:|---:|',
  `| teacher (width ${TEACHER_SHAPE.dim}, FFN ${TEACHER_SHAPE.ffn}) | ${pct(teacherAccuracy.float)} | ${pct(teacherAccuracy.int8)} |`,
  `| student alone (width ${SHAPE.dim}, FFN ${SHAPE.ffn}; the model above) | ${pct(floatAccuracy)} | ${pct(int8Accuracy)} |`,
  `| student distilled from the teacher | ${pct(distilledAccuracy.float)} | ${pct(distilledAccuracy.int8)} |`,
  `| distilled student, pruned ${pct(PRUNE.sparsity)} in ${PRUNE.block}x${PRUNE.block} tiles, fine-tuned | ${pct(prunedAccuracy.float)} | ${pct(prunedAccuracy.int8)} |`,
  '',
  `The pruned int8 student (FULLY_CONNECTED sparsity ${pct(prunedInt8.report.sparsity)}, kernels: ${[...new Set(prunedKernels)].join(', ')}) on the boards; validate --text on the M4: ${prunedValidate.passed}/${prunedValidate.total} held-out sentences byte-identical to the host reference:`,
  '',
  '| board | instructions per inference (model), dense -> pruned | image flash bytes, dense -> pruned | weight bytes, dense -> pruned |',
  '|---|---:|---:|---:|',
  ...prunedBoards.map((p, i) => {
    const d = boards[i];
    return `| ${p.board} (${p.core}) | ${fmt(d?.instructions ?? 0)} -> ${fmt(p.instructions)} | ${fmt(d?.flash_bytes ?? 0)} -> ${fmt(p.flash_bytes)} | ${fmt(d?.weight_bytes ?? 0)} -> ${fmt(p.weight_bytes)} |`;
  }),
];
writeFileSync(here('./intent.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
