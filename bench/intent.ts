// `npm run bench:intent`: the wearable intent transformer at full size. Trains it with TF.js on
// the generated dataset (compiler/text/intent_dataset.ts), quantizes it to int8, exports the
// .tflite and compiles it with its tokenizer, then measures: float and int8 accuracy on the
// held-out-template sentences, and on the emulated Cortex-M4 (qemu-mps2-an386) and Cortex-M55
// (qemu-mps3-an547): instructions per inference of the model alone and flash / RAM of the
// benchmark image (tinyforge bench), and instructions per sentence (tokenizing + inference) from
// the agent's TEXT command over every held-out sentence (validate --text), which also checks
// that ids and scores equal the host reference. Writes bench/intent.json and bench/intent.md.

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
import { intentTransformer, predictClasses, trainTextClassifier } from '../compiler/text/intent_transformer.ts';
import { buildVocabulary, formatVocabulary, tokenize } from '../compiler/text/tokenizer.ts';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const SHAPE = { seqLen: 16, dim: 32, ffn: 64 };
const EPOCHS = 6;
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
const started = Date.now();
const model = trainTextClassifier(intentTransformer({ vocab: vocab.tokens.length, classes: data.intents.length, ...SHAPE }, 1), trainX, data.train.map((e) => e.label), {
  epochs: EPOCHS,
  learningRate: 0.003,
  batchSize: 32,
  seed: 1,
  onEpoch: (e, loss) => process.stderr.write(`epoch ${e}: loss ${loss.toFixed(4)}\n`),
});
const trainSeconds = (Date.now() - started) / 1000;
const floatAccuracy = predictClasses(model.graph, testX).filter((c, i) => c === testY[i]).length / testY.length;
const ptq = quantizeFloatGraph(model.graph, trainX.slice(0, 300).map((x) => [x]));
const int8Accuracy = quantizedAccuracy(ptq.graph, ptq.inputs[0] as IoQuant, { x: testX, labels: testY });

const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-bench-intent-'));
const modelFile = path.join(dir, 'intent.tflite');
const vocabFile = path.join(dir, 'vocab.txt');
writeFileSync(modelFile, writeTflite(ptq.graph));
writeFileSync(vocabFile, formatVocabulary(vocab));
const sentencesFile = path.join(dir, 'sentences.txt');
writeFileSync(sentencesFile, `${data.test.map((e) => e.text).join('\n')}\n`);
const summary = await compile(modelFile, { vocab: vocabFile, prefix: 'intent' });
const boards = [];
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
const result = {
  generated: new Date().toISOString(),
  model: { ...SHAPE, vocab: vocab.tokens.length, classes: data.intents.length, ops: summary.ops, epochs: EPOCHS, trainSeconds },
  sentences: { train: data.train.length, heldOut: data.test.length },
  accuracy: { float: floatAccuracy, int8: int8Accuracy },
  tokenizer: summary.tokenizer,
  boards,
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
];
writeFileSync(here('./intent.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
