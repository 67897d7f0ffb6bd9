// The WordPiece tokenizer tinyforge generates in C next to a text model; this TypeScript version
// is the reference the generated C must match token for token (docs/tokenizer.md states the
// rules). It works on UTF-8 bytes, as the C does, so both agree on any input, ASCII or not:
//
//   1. ASCII A-Z are lowercased; every other byte is kept.
//   2. ASCII whitespace separates words; each ASCII punctuation character is a word of its own.
//      Bytes >= 0x80 (UTF-8 sequences) are word characters.
//   3. Each word is split greedily, longest match first, into vocabulary pieces; pieces after the
//      first are looked up with a "##" prefix. A word with no full split, or longer than
//      MAX_WORD_BYTES, becomes one [UNK].
//   4. The ids are truncated to the sequence length and padded with [PAD] (id 0).
//
// Vocabulary file: one token per line, UTF-8, the line number (from 0) is the id; line 0 is
// [PAD] and line 1 is [UNK]; no duplicates, no empty lines, no whitespace inside a token.

import { readFileSync } from 'node:fs';
import { TinyforgeError } from '../errors.ts';

export const PAD = '[PAD]';
export const UNK = '[UNK]';
export const PAD_ID = 0;
export const UNK_ID = 1;
/** Longer words become [UNK] without a lookup (BERT's max_input_chars_per_word, in bytes). */
export const MAX_WORD_BYTES = 32;

export interface Vocabulary {
  /** Token strings by id. */
  tokens: readonly string[];
  /** Id of every token. */
  ids: ReadonlyMap<string, number>;
  /** Longest token in UTF-8 bytes (bounds the longest-match search). */
  maxTokenBytes: number;
}

const utf8 = new TextEncoder();

export function isSpaceByte(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

export function isPunctuationByte(b: number): boolean {
  return (b >= 0x21 && b <= 0x2f) || (b >= 0x3a && b <= 0x40) || (b >= 0x5b && b <= 0x60) || (b >= 0x7b && b <= 0x7e);
}

/** Steps 1 and 2: the words of `text`, as lowercased UTF-8 byte arrays. */
export function splitWords(text: string | Uint8Array): Uint8Array[] {
  const bytes = typeof text === 'string' ? utf8.encode(text) : text;
  const words: Uint8Array[] = [];
  let start = -1;
  const end = (i: number): void => {
    if (start >= 0) words.push(bytes.slice(start, i).map((b) => (b >= 0x41 && b <= 0x5a ? b + 32 : b)));
    start = -1;
  };
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (isSpaceByte(b)) end(i);
    else if (isPunctuationByte(b)) {
      end(i);
      words.push(Uint8Array.of(b));
    } else if (start < 0) start = i;
  }
  end(bytes.length);
  return words;
}

function decode(bytes: Uint8Array): string {
  // latin1-style mapping keeps arbitrary (even invalid UTF-8) bytes distinct as map keys.
  return String.fromCharCode(...bytes);
}

function keyOf(token: string): string {
  return decode(utf8.encode(token));
}

export function makeVocabulary(tokens: readonly string[]): Vocabulary {
  if (tokens[PAD_ID] !== PAD || tokens[UNK_ID] !== UNK) throw new TinyforgeError(`a vocabulary starts with ${PAD} (id 0) and ${UNK} (id 1)`);
  if (tokens.length > 65535) throw new TinyforgeError(`the vocabulary has ${tokens.length} tokens; at most 65535 are supported`);
  const ids = new Map<string, number>();
  let maxTokenBytes = 0;
  tokens.forEach((t, id) => {
    if (t.length === 0 || /\s/.test(t)) throw new TinyforgeError(`vocabulary token ${id} ${JSON.stringify(t)} is empty or contains whitespace`);
    const key = keyOf(t);
    if (ids.has(key)) throw new TinyforgeError(`vocabulary token ${JSON.stringify(t)} appears twice (ids ${ids.get(key)} and ${id})`);
    ids.set(key, id);
    maxTokenBytes = Math.max(maxTokenBytes, key.length);
  });
  return { tokens: [...tokens], ids, maxTokenBytes };
}

/** Reads a vocabulary file (format above); a one-line TinyforgeError on a bad one. */
export function readVocabulary(file: string): Vocabulary {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TinyforgeError(`${file}: cannot read the vocabulary: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.at(-1) === '') lines.pop();
  try {
    return makeVocabulary(lines);
  } catch (e) {
    throw new TinyforgeError(`${file}: ${(e as Error).message}`);
  }
}

export function formatVocabulary(v: Vocabulary): string {
  return `${v.tokens.join('\n')}\n`;
}

/** Step 3 for one word: its piece ids. */
export function wordPieces(word: Uint8Array, v: Vocabulary): number[] {
  if (word.length > MAX_WORD_BYTES) return [UNK_ID];
  const out: number[] = [];
  let start = 0;
  while (start < word.length) {
    let found = -1;
    let end = Math.min(word.length, start + v.maxTokenBytes);
    for (; end > start; end--) {
      const id = v.ids.get((start > 0 ? '##' : '') + decode(word.subarray(start, end)));
      if (id !== undefined) {
        found = id;
        break;
      }
    }
    if (found < 0) return [UNK_ID];
    out.push(found);
    start = end;
  }
  return out;
}

/** Token ids of `text` before truncation and padding. */
export function tokenIds(text: string | Uint8Array, v: Vocabulary): number[] {
  return splitWords(text).flatMap((w) => wordPieces(w, v));
}

export interface Tokenized {
  /** Exactly `seqLen` ids: the tokens, truncated, then [PAD]s. */
  ids: Int32Array;
  /** Tokens kept (<= seqLen). */
  count: number;
}

/** Steps 1-4: what the generated `<prefix>_tokenize` writes. */
export function tokenize(text: string | Uint8Array, v: Vocabulary, seqLen: number): Tokenized {
  const all = tokenIds(text, v);
  const ids = new Int32Array(seqLen).fill(PAD_ID);
  const count = Math.min(seqLen, all.length);
  ids.set(all.slice(0, count));
  return { ids, count };
}

/**
 * A vocabulary from training sentences: [PAD], [UNK], every word seen at least `minCount` times
 * (most frequent first), then every byte seen inside words, alone and as "##" continuation, so
 * that any ASCII word made of seen characters still splits into pieces instead of [UNK].
 */
export function buildVocabulary(sentences: readonly string[], opts: { minCount?: number } = {}): Vocabulary {
  const counts = new Map<string, number>();
  const chars = new Set<string>();
  for (const s of sentences) {
    for (const w of splitWords(s)) {
      const key = decode(w);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      for (const b of w) if (b < 0x80) chars.add(String.fromCharCode(b));
    }
  }
  const minCount = opts.minCount ?? 1;
  const words = [...counts].filter(([w, n]) => n >= minCount && /^[\x21-\x7e]+$/.test(w)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([w]) => w);
  const sortedChars = [...chars].sort();
  const tokens = [PAD, UNK, ...words];
  const seen = new Set(tokens);
  for (const t of [...sortedChars, ...sortedChars.filter((c) => !isPunctuationByte(c.charCodeAt(0))).map((c) => `##${c}`)]) {
    if (!seen.has(t)) {
      seen.add(t);
      tokens.push(t);
    }
  }
  return makeVocabulary(tokens);
}
