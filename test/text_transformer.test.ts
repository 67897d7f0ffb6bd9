// The intent transformer end to end, small enough for the default run: train a narrow model on
// the generated dataset with TF.js, quantize it to int8, compile it, and check that the generated
// C (tokenizer + model, host, ASan + UBSan) gives the host reference's token ids and scores byte
// for byte on every held-out sentence. `npm run bench:intent` trains the full-size model and
// measures it on the emulated boards.

import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileModel, loadModel, writeCModule } from '../compiler/compile.ts';
import { writeTflite } from '../compiler/export/write_tflite.ts';
import type { ModuleOp } from '../compiler/ir/graph.ts';
import { ptqLoadedModel, quantizedAccuracy, quantizeFloatGraph, type PtqResult } from '../compiler/quantize/index.ts';
import { textReference } from '../compiler/text/classify.ts';
import { intentDataset } from '../compiler/text/intent_dataset.ts';
import { intentTransformer, predictClasses, trainTextClassifier } from '../compiler/text/intent_transformer.ts';
import { buildVocabulary, formatVocabulary, tokenize, type Vocabulary } from '../compiler/text/tokenizer.ts';
import { emitTokenizer, textModelShape } from '../compiler/text/tokenizer_c.ts';
import { hostTokenize } from './helpers/tokenizer_host.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-intent-'));
const SEQ_LEN = 16;
const data = intentDataset();
let vocab: Vocabulary;
let ptq: PtqResult;
let floatAccuracy = 0;
let testX: Float32Array[] = [];
const testY = data.test.map((e) => e.label);

beforeAll(async () => {
  await tf.setBackend('cpu');
  vocab = buildVocabulary(data.train.map((e) => e.text));
  const encode = (texts: readonly { text: string }[]): Float32Array[] => texts.map((e) => Float32Array.from(tokenize(e.text, vocab, SEQ_LEN).ids));
  const trainX = encode(data.train);
  testX = encode(data.test);
  const model = intentTransformer({ vocab: vocab.tokens.length, seqLen: SEQ_LEN, dim: 16, ffn: 32, classes: data.intents.length }, 1);
  const trained = trainTextClassifier(model, trainX, data.train.map((e) => e.label), { epochs: 3, learningRate: 0.005, batchSize: 32, seed: 1 });
  floatAccuracy = predictClasses(trained.graph, testX).filter((c, i) => c === testY[i]).length / testY.length;
  ptq = quantizeFloatGraph(trained.graph, trainX.slice(0, 200).map((x) => [x]));
}, 240_000);

describe('intent transformer', () => {
  it('quantizes to int8 through the op modules a transformer needs, with int32 token ids in', () => {
    const modules = new Set(ptq.graph.ops.filter((o): o is ModuleOp => o.kind === 'module').map((o) => o.module));
    for (const m of ['GATHER', 'BATCH_MATMUL', 'MEAN', 'SQUARED_DIFFERENCE', 'RSQRT', 'SUB']) expect(modules).toContain(m);
    expect(ptq.inputs[0]?.dtype).toBe('int32');
    expect(ptq.graph.tensors[ptq.graph.outputs[0] as number]?.dtype).toBe('int8');
  });

  it('learns the held-out phrasings, and int8 keeps its float accuracy', () => {
    const int8 = quantizedAccuracy(ptq.graph, ptq.inputs[0] as NonNullable<PtqResult['inputs'][0]>, { x: testX, labels: testY });
    // Chance is 1/12; a short training of this narrow model gets well past it.
    expect(floatAccuracy).toBeGreaterThan(0.5);
    expect(Math.abs(int8 - floatAccuracy)).toBeLessThanOrEqual(0.03);
  });

  it('classify_text in C matches the host reference byte for byte on every held-out sentence (ASan + UBSan)', () => {
    const compiled = compileModel(ptqLoadedModel(ptq, 'intent.tflite', 'test'), { prefix: 'intent' });
    const dir = path.join(workDir, 'c');
    const mod = writeCModule(compiled, dir);
    const files = emitTokenizer('intent', vocab, textModelShape(ptq.graph, vocab));
    const sentences = [...data.test.map((e) => e.text), 'SET A TIMER!!', 'café ☕ call mum', '', 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen'];
    const c = hostTokenize(dir, 'intent', files, sentences, { header: readFileSync(mod.files[0] as string, 'utf8'), source: readFileSync(mod.files[1] as string, 'utf8') });
    const reference = textReference(ptq.graph, vocab);
    expect(c).toHaveLength(sentences.length);
    sentences.forEach((s, i) => {
      const r = reference(s);
      expect(c[i], JSON.stringify(s)).toEqual({ count: r.count, ids: Array.from(r.ids), scores: Array.from(new Int8Array(r.scores.buffer, r.scores.byteOffset, r.scores.length)) });
    });
  }, 120_000);

  it('exports to .tflite and compiles from the file with --vocab (tokenizer files, one-line refusals)', () => {
    const model = path.join(workDir, 'intent.tflite');
    writeFileSync(model, writeTflite(ptq.graph));
    const vocabFile = path.join(workDir, 'vocab.txt');
    writeFileSync(vocabFile, formatVocabulary(vocab));
    // The file reads back to a model computing the same bytes.
    const fromFile = textReference(loadModel(model).graph, vocab);
    const direct = textReference(ptq.graph, vocab);
    for (const e of data.test.slice(0, 20)) expect(fromFile(e.text).scores).toEqual(direct(e.text).scores);

    const bin = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
    const run = (...args: string[]): { code: number; stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    const out = path.join(workDir, 'cli');
    const ok = run('compile', model, '--vocab', vocabFile, '--prefix', 'intent', '-o', out, '--json');
    expect(ok.code, ok.stderr).toBe(0);
    const summary = JSON.parse(ok.stdout) as { result: { tokenizer: { vocabSize: number; seqLen: number; flashBytes: number }; files: string[] } };
    expect(summary.result.tokenizer).toMatchObject({ vocabSize: vocab.tokens.length, seqLen: SEQ_LEN });
    expect(existsSync(path.join(out, 'intent_tokenizer.c')) && existsSync(path.join(out, 'intent_tokenizer.h'))).toBe(true);

    // A vocabulary larger than the embedding table would make GATHER fail on the device.
    const big = path.join(workDir, 'big.txt');
    writeFileSync(big, formatVocabulary({ ...vocab, tokens: [...vocab.tokens, ...Array.from({ length: 400 }, (_, i) => `extra${i}`)] }));
    const refused = run('compile', model, '--vocab', big, '-o', path.join(workDir, 'refused'));
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/embedding table has \d+ rows/);
    expect(existsSync(path.join(workDir, 'refused'))).toBe(false);
  }, 120_000);

  it('validate --text on the emulated Cortex-M4: every held-out sentence tokenized and classified on the device, byte-identical to the host', () => {
    const model = path.join(workDir, 'intent_m4.tflite');
    writeFileSync(model, writeTflite(ptq.graph));
    const vocabFile = path.join(workDir, 'vocab_m4.txt');
    writeFileSync(vocabFile, formatVocabulary(vocab));
    const sentencesFile = path.join(workDir, 'sentences.txt');
    const sentences = [...data.test.map((e) => e.text), 'SET A TIMER, PLEASE!', 'café ☕ call mum'];
    writeFileSync(sentencesFile, `${sentences.join('\n')}\n`);
    const bin = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [bin, 'validate', model, '-b', 'qemu-mps2-an386', '--vocab', vocabFile, '--text', sentencesFile, '--json'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { ok: boolean; result: { total: number; passed: number; cases: { id: string; pass: boolean; instructions: number | null; outputs: { bytes: number }[] }[] } };
    expect(json.ok).toBe(true);
    expect(json.result.total).toBe(sentences.length);
    expect(json.result.passed).toBe(sentences.length);
    // Output 0 is the token ids, output 1 the scores; instructions cover tokenizing and inference.
    expect(json.result.cases[0]?.outputs.map((o) => o.bytes)).toEqual([4 * SEQ_LEN, data.intents.length]);
    expect(json.result.cases.every((c) => (c.instructions ?? 0) > 10_000)).toBe(true);
  }, 240_000);
});
