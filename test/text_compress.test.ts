// Distillation and pruning of the intent transformer wire through, on tiny widths and one or two
// epochs so the default run stays fast: the text training API's distillation with alpha 1 is
// label-only training weight for weight (and alpha < 1 is not), a mismatched teacher is refused,
// pruning reaches the requested sparsity on every FULLY_CONNECTED layer and fine-tuning keeps the
// zeros, and the pruned int8 model compiles and its C (tokenizer + model, host, ASan + UBSan)
// equals the host reference byte for byte. `npm run bench:intent` measures the full-size models.

import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule } from '../compiler/compile.ts';
import type { FloatGraph } from '../compiler/frontends/tfjs/float_graph.ts';
import type { Tensor } from '../compiler/ir/graph.ts';
import { int8Constant } from '../compiler/reference/run_reference.ts';
import { ptqLoadedModel, quantizeFloatGraph } from '../compiler/quantize/index.ts';
import { textReference } from '../compiler/text/classify.ts';
import { intentDataset } from '../compiler/text/intent_dataset.ts';
import { intentTransformer, trainTextClassifier, type TextClassifier } from '../compiler/text/intent_transformer.ts';
import { pruneQuantizedText, pruneTextClassifier } from '../compiler/text/prune_text.ts';
import { buildVocabulary, tokenize, type Vocabulary } from '../compiler/text/tokenizer.ts';
import { emitTokenizer, textModelShape } from '../compiler/text/tokenizer_c.ts';
import { hostTokenize } from './helpers/tokenizer_host.ts';

const SEQ_LEN = 12;
const data = intentDataset();
// Every other training sentence: enough to train the tiny models a little, in seconds.
const train = data.train.filter((_, i) => i % 2 === 0);
const labels = train.map((e) => e.label);
let vocab: Vocabulary;
let trainX: Float32Array[];
let teacher: TextClassifier;
let student: TextClassifier;
let workDir: string;

const shape = (dim: number, ffn: number) => ({ vocab: vocab.tokens.length, seqLen: SEQ_LEN, dim, ffn, classes: data.intents.length });
const weightsOf = (g: FloatGraph): number[] => g.tensors.flatMap((t) => (t.data ? Array.from(t.data as Float32Array) : []));
const fullyConnectedWeights = (g: FloatGraph): number[] => g.ops.filter((o) => o.kind === 'fully_connected').map((o) => o.inputs[1] as number);

beforeAll(async () => {
  await tf.setBackend('cpu');
  workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-text-compress-'));
  vocab = buildVocabulary(data.train.map((e) => e.text));
  trainX = train.map((e) => Float32Array.from(tokenize(e.text, vocab, SEQ_LEN).ids));
  teacher = trainTextClassifier(intentTransformer(shape(16, 32), 2), trainX, labels, { epochs: 1, learningRate: 0.01, seed: 1 });
  student = intentTransformer(shape(8, 16), 1);
  // Trains models: minutes on a loaded 2-core machine (timed out at 120 s there once).
}, 300_000);
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('intent transformer distillation', () => {
  it('alpha 1 is label-only training weight for weight; alpha 0.5 learns from the wider teacher', () => {
    const opts = { epochs: 1, learningRate: 0.01, seed: 3 };
    const plain = weightsOf(trainTextClassifier(student, trainX, labels, opts).graph);
    const alphaOne = weightsOf(trainTextClassifier(student, trainX, labels, { ...opts, distill: { teacher, temperature: 4, alpha: 1 } }).graph);
    expect(alphaOne).toHaveLength(plain.length);
    alphaOne.forEach((v, i) => expect(v).toBeCloseTo(plain[i] as number, 5));
    const mixed = weightsOf(trainTextClassifier(student, trainX, labels, { ...opts, distill: { teacher, temperature: 4, alpha: 0.5 } }).graph);
    const moved = mixed.filter((v, i) => Math.abs(v - (plain[i] as number)) > 1e-4).length;
    expect(moved).toBeGreaterThan(mixed.length / 10);
    // The embedding table and layer norms train too (they are not FULLY_CONNECTED constants).
    const table = student.graph.tensors.find((t) => t.name === 'embedding/table')?.id as number;
    const before = student.graph.tensors[table]?.data as Float32Array;
    const after = trainTextClassifier(student, trainX, labels, { ...opts, distill: { teacher, temperature: 4, alpha: 0.5 } }).graph.tensors[table]?.data as Float32Array;
    expect(Array.from(after)).not.toEqual(Array.from(before));
  }, 60_000);

  it('refuses a teacher that predicts different classes, in one line', () => {
    const other = intentTransformer({ ...shape(16, 32), classes: data.intents.length + 1 }, 2);
    expect(() => trainTextClassifier(student, trainX, labels, { epochs: 1, distill: { teacher: other, temperature: 2, alpha: 0.5 } })).toThrow(/^the teacher .*13 classes.* must read and predict what the student does .*12 classes\)$/);
  });
});

describe('intent transformer pruning', () => {
  it('prunes every FULLY_CONNECTED layer to the target in 4x4 tiles, fine-tuning keeps the zeros, and the pruned int8 model is byte-identical in host C', () => {
    const pruned = pruneTextClassifier(student, { sparsity: 0.5, block: 4 });
    const fc = fullyConnectedWeights(student.graph);
    // Q, K, V, attention output, FFN hidden and output, classifier.
    expect(fc).toHaveLength(7);
    expect(pruned.report.layers.map((l) => l.tensor).sort()).toEqual([...fc].sort());
    for (const l of pruned.report.layers) {
      expect(l.sparsity).toBeGreaterThanOrEqual(0.5);
      expect(l.zerosAfter / l.weights).toBeGreaterThanOrEqual(0.5);
    }
    // Embeddings are not pruned.
    const table = student.graph.tensors.find((t) => t.name === 'embedding/table')?.id as number;
    expect(pruned.model.graph.tensors[table]?.data).toEqual(student.graph.tensors[table]?.data);

    const tuned = trainTextClassifier(pruned.model, trainX, labels, { epochs: 1, learningRate: 0.01, seed: 1, masks: pruned.masks });
    for (const [id, mask] of pruned.masks) {
      const w = tuned.graph.tensors[id]?.data as Float32Array;
      const before = student.graph.tensors[id]?.data as Float32Array;
      // -0 is a zero weight too (a masked weight times its 0 mask).
      expect(Array.from(mask).filter((m, i) => m === 0 && w[i] !== 0)).toEqual([]);
      // The kept weights did train.
      expect(Array.from(w).some((v, i) => mask[i] === 1 && v !== before[i])).toBe(true);
    }

    const ptq = quantizeFloatGraph(tuned.graph, trainX.slice(0, 100).map((x) => [x]));
    const final = pruneQuantizedText(ptq.graph, { sparsity: 0.5, block: 4 });
    for (const l of final.report.layers) {
      expect(l.sparsity).toBeGreaterThanOrEqual(0.5);
      // Every float-pruned weight quantized to zero: the int8 pruner found them in place.
      const q = int8Constant(ptq.graph.tensors[l.tensor] as Tensor);
      expect(Array.from(pruned.masks.get(l.tensor) as Float32Array).filter((m, i) => m === 0 && q[i] !== 0)).toEqual([]);
    }

    const compiled = compileModel(ptqLoadedModel({ ...ptq, graph: final.graph }, 'intent_pruned.tflite', 'test'), { prefix: 'intent' });
    // Zero 4x4 tiles: every FULLY_CONNECTED layer runs the tile-sparse kernel, which the C must get right.
    expect(compiled.calls.filter((c) => c.kind.startsWith('fully_connected')).map((c) => c.kind)).toEqual(Array(7).fill('fully_connected_s8_sparse'));
    const dir = path.join(workDir, 'c');
    const mod = writeCModule(compiled, dir);
    const files = emitTokenizer('intent', vocab, textModelShape(final.graph, vocab));
    const sentences = [...data.test.filter((_, i) => i % 24 === 0).map((e) => e.text), 'SET A TIMER!!', ''];
    const c = hostTokenize(dir, 'intent', files, sentences, { header: readFileSync(mod.files[0] as string, 'utf8'), source: readFileSync(mod.files[1] as string, 'utf8') });
    const reference = textReference(final.graph, vocab);
    expect(c).toHaveLength(sentences.length);
    sentences.forEach((s, i) => {
      const r = reference(s);
      expect(c[i], JSON.stringify(s)).toEqual({ count: r.count, ids: Array.from(r.ids), scores: Array.from(new Int8Array(r.scores.buffer, r.scores.byteOffset, r.scores.length)) });
    });
  }, 120_000);
});
