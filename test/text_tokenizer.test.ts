// The generated intent dataset and the WordPiece tokenizer: TypeScript rules, the vocabulary file
// format, and the generated C (host, ASan + UBSan) agreeing with the TypeScript reference on every
// dataset sentence and on edge cases (case, punctuation, UTF-8, long words, truncation).

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { intentDataset, WEARABLE_INTENTS } from '../compiler/text/intent_dataset.ts';
import { buildVocabulary, formatVocabulary, makeVocabulary, PAD_ID, readVocabulary, splitWords, tokenize, UNK_ID } from '../compiler/text/tokenizer.ts';
import { emitTokenizer, flashVocabulary } from '../compiler/text/tokenizer_c.ts';
import { writeFileSync } from 'node:fs';
import { hostTokenize } from './helpers/tokenizer_host.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-tokenizer-'));

describe('intent dataset', () => {
  it('is deterministic, covers a dozen intents, and keeps held-out phrasings out of training', () => {
    const a = intentDataset({ seed: 7 });
    const b = intentDataset({ seed: 7 });
    expect(a).toEqual(b);
    expect(intentDataset({ seed: 8 }).train).not.toEqual(a.train);
    expect(a.intents).toHaveLength(12);
    for (let k = 0; k < 12; k++) {
      expect(a.train.filter((e) => e.label === k).length).toBeGreaterThan(10);
      expect(a.test.filter((e) => e.label === k).length).toBeGreaterThan(0);
    }
    const train = new Set(a.train.map((e) => e.text));
    // Held-out templates are new phrasings: hardly any test sentence occurs in training.
    expect(a.test.filter((e) => train.has(e.text)).length).toBeLessThan(a.test.length * 0.05);
    expect(WEARABLE_INTENTS.every((i) => i.heldOut.every((t) => !i.train.includes(t)))).toBe(true);
  });
});

describe('WordPiece tokenizer (TypeScript reference)', () => {
  const v = makeVocabulary(['[PAD]', '[UNK]', 'set', 'a', 'timer', 'time', '##r', '##s', 's', '##e', 't', '##t', "'", 'call', 'mum', '##m']);
  const id = (t: string): number => v.tokens.indexOf(t);

  it('lowercases ASCII, splits on whitespace and makes each punctuation mark a word', () => {
    expect(splitWords("Set a TIMER, what's\tup?").map((w) => new TextDecoder().decode(w))).toEqual(['set', 'a', 'timer', ',', 'what', "'", 's', 'up', '?']);
  });

  it('splits greedily, longest match first, with ## continuations; a word without a split is [UNK]', () => {
    expect(tokenize('timers', v, 4).ids).toEqual(Int32Array.from([id('timer'), id('##s'), PAD_ID, PAD_ID]));
    expect(tokenize('setters', v, 4).ids).toEqual(Int32Array.from([id('set'), id('##t'), id('##e'), id('##r')]));
    expect(tokenize('xset call', v, 4).ids).toEqual(Int32Array.from([UNK_ID, id('call'), PAD_ID, PAD_ID]));
    // Truncation keeps the first seqLen tokens and reports them.
    expect(tokenize('set a timer call mum', v, 3)).toEqual({ ids: Int32Array.from([id('set'), id('a'), id('timer')]), count: 3 });
    expect(tokenize('', v, 2)).toEqual({ ids: Int32Array.from([PAD_ID, PAD_ID]), count: 0 });
  });

  it('builds a vocabulary from training sentences that round-trips through its file format', () => {
    const d = intentDataset();
    const vocab = buildVocabulary(d.train.map((e) => e.text));
    expect(vocab.tokens.slice(0, 2)).toEqual(['[PAD]', '[UNK]']);
    expect(vocab.tokens).toContain('timer');
    expect(vocab.tokens).toContain('##z');
    const file = path.join(workDir, 'vocab.txt');
    writeFileSync(file, formatVocabulary(vocab));
    expect(readVocabulary(file).tokens).toEqual(vocab.tokens);
    // Unseen ASCII words still split into known pieces rather than [UNK].
    expect(tokenize('zebra', vocab, 8).ids.slice(0, 5).every((i) => i !== UNK_ID && i !== PAD_ID)).toBe(true);
  });

  it('refuses malformed vocabularies with one line', () => {
    expect(() => makeVocabulary(['[UNK]', '[PAD]'])).toThrow(/starts with \[PAD\]/);
    expect(() => makeVocabulary(['[PAD]', '[UNK]', 'a', 'a'])).toThrow(/appears twice/);
    expect(() => makeVocabulary(['[PAD]', '[UNK]', 'a b'])).toThrow(/whitespace/);
    expect(() => readVocabulary(path.join(workDir, 'missing.txt'))).toThrow(/cannot read the vocabulary/);
  });
});

describe('generated C tokenizer', () => {
  it('lays the vocabulary out sorted bytewise with offsets and ids', () => {
    const f = flashVocabulary(makeVocabulary(['[PAD]', '[UNK]', 'b', 'ab', 'a', '##a']));
    const dec = new TextDecoder();
    const tokens = f.ids.map((_, k) => dec.decode(f.text.subarray(f.offsets[k], f.offsets[k + 1])));
    expect(tokens).toEqual(['##a', '[PAD]', '[UNK]', 'a', 'ab', 'b']);
    expect(f.ids).toEqual([5, 0, 1, 4, 3, 2]);
  });

  it('matches the TypeScript reference on every dataset sentence and on edge cases (host, ASan + UBSan)', () => {
    const d = intentDataset();
    const vocab = buildVocabulary(d.train.map((e) => e.text), { minCount: 2 });
    const seqLen = 12;
    const edge = [
      '',
      '   ',
      'SET A TIMER FOR FIVE MINUTES!!!',
      "what's the weather in london?",
      'call   mum\tnow',
      'café ☕ naïve 日本',
      'supercalifragilisticexpialidocious-and-then-some-more-words-long',
      'x'.repeat(33),
      'x'.repeat(32),
      'one two three four five six seven eight nine ten eleven twelve thirteen fourteen',
      '##s [UNK] [PAD] #',
      'zzzz qqqq 12345 6:30',
      '\x7f\x01 ctrl',
    ];
    const sentences = [...d.train, ...d.test].map((e) => e.text).concat(edge);
    const files = emitTokenizer('intent', vocab, { seqLen, scoreType: 'int8_t', scoreCount: d.intents.length });
    const c = hostTokenize(path.join(workDir, 'c'), 'intent', files, sentences);
    expect(c).toHaveLength(sentences.length);
    sentences.forEach((s, i) => {
      const ts = tokenize(s, vocab, seqLen);
      expect(c[i], JSON.stringify(s)).toEqual({ count: ts.count, ids: Array.from(ts.ids) });
    });
    // The edge cases exercise what they claim to: UNKs, truncation, continuation pieces.
    expect(c.some((r) => r.ids.includes(UNK_ID))).toBe(true);
    expect(c.some((r) => r.count === seqLen)).toBe(true);
    expect(files.flashBytes).toBeGreaterThan(0);
  }, 60_000);
});
