// The head's integer SGD at its edges, without a model: the generated head C is linked to a stub
// frozen part whose embedding is its input, so the test picks the embeddings directly (extreme
// values -128 / 127 with extreme zero points, classes that cannot be separated, so every step
// updates) and settings at the compile-time limits (the largest learning rate, many epochs).
// Built under ASan/UBSan with -Wall -Wextra -Werror; every enrollment's saved image and every
// score must equal the TS reference's bytes.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { emitHeadHeader, emitHeadSource } from '../compiler/adapt/emit_head.ts';
import { checkHeadLearning, learningBounds, type HeadLearning } from '../compiler/adapt/head_learning.ts';
import { argmaxClass, HeadReference } from '../compiler/adapt/head_reference.ts';
import type { HeadSpec } from '../compiler/adapt/split_head.ts';
import { execTool, runCompiler } from '../compiler/targets/toolchain.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-adapt-sgd-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A frozen part whose embedding is its input (x_frozen_*), enough for the head's C to link. */
function stubFrozen(dim: number): { header: string; source: string } {
  return {
    header: [
      '#ifndef X_FROZEN_H',
      '#define X_FROZEN_H',
      '#include <stdint.h>',
      '#include <string.h>',
      '#define TF_ALIGNED(n) __attribute__((aligned(n)))',
      '#define X_FROZEN_MODEL_SHA256 "stub"',
      '#define X_FROZEN_ARENA_BYTES 0',
      '#define X_FROZEN_STATE_BYTES 0',
      'void *x_frozen_input(int index);',
      'void x_frozen_reset(void);',
      'int x_frozen_invoke(const int8_t *input0, int8_t *output0);',
      '#endif',
      '',
    ].join('\n'),
    source: [
      '#include "x_frozen.h"',
      `static int8_t x_in[${dim}];`,
      'void *x_frozen_input(int index) { return index == 0 ? x_in : 0; }',
      'void x_frozen_reset(void) {}',
      `int x_frozen_invoke(const int8_t *input0, int8_t *output0) { memcpy(output0, input0, ${dim}); return 0; }`,
      '',
    ].join('\n'),
  };
}

interface Case {
  name: string;
  classes: number;
  dim: number;
  zeroPoint: number;
  learning: HeadLearning;
  /** Enrollments (class, embedding), then every embedding is classified. */
  examples: [number, Int8Array][];
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Embeddings of only -128 and 127, classes drawn at random: nothing separates them, so SGD updates at every step. */
function extremes(seed: number, n: number, classes: number, dim: number): [number, Int8Array][] {
  const r = seeded(seed);
  return Array.from({ length: n }, () => [Math.floor(r() * classes), Int8Array.from({ length: dim }, () => (r() < 0.5 ? -128 : 127))]);
}

function hostMain(c: Case): string {
  const lines = ['#include <stdio.h>', '#include <stdint.h>', '#include "x.h"', ''];
  c.examples.forEach(([, e], i) => lines.push(`static const int8_t in${i}[${c.dim}] = {${Array.from(e).join(',')}};`));
  lines.push('static uint8_t img[X_HEAD_SAVE_BYTES];', 'static int32_t sc[X_HEAD_CLASSES];');
  lines.push('static void hex(const char *tag, const uint8_t *p, uint32_t n) { uint32_t i; printf("%s ", tag); for (i = 0; i < n; i++) printf("%02x", p[i]); printf("\\n"); }');
  lines.push('int main(void) {', '  uint32_t n;');
  c.examples.forEach(([cls], i) => lines.push(`  printf("E %d\\n", x_enroll(${cls}, in${i})); n = x_save(img); hex("S", img, n);`));
  c.examples.forEach((_, i) => lines.push(`  x_invoke(in${i}, sc); hex("C", (const uint8_t *)sc, sizeof sc);`));
  lines.push('  n = x_save(img); x_clear(); printf("L %d\\n", x_load(img, n)); x_invoke(in0, sc); hex("R", (const uint8_t *)sc, sizeof sc);', '  return 0;', '}');
  return lines.join('\n') + '\n';
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function expected(c: Case, spec: HeadSpec): { lines: string[]; updates: number; largestWeight: number } {
  const ref = new HeadReference(spec);
  const lines: string[] = [];
  let updates = 0;
  let largestWeight = 0;
  for (const [cls, e] of c.examples) {
    lines.push(`E ${ref.enroll(cls, e) === 'ok' ? 0 : -1}`, `S ${hexOf(ref.save())}`);
    updates += ref.lastUpdates;
    largestWeight = Math.max(largestWeight, ref.lastWorkingScale);
  }
  for (const [, e] of c.examples) lines.push(`C ${hexOf(new Uint8Array(ref.scores(e).buffer))}`);
  lines.push('L 0', `R ${hexOf(new Uint8Array(ref.scores(c.examples[0]![1]).buffer))}`);
  return { lines, updates, largestWeight };
}

const CASES: Case[] = [
  // The largest learning rate (2^0) with as many updates as the int32 working weights allow for 16 features.
  { name: 'learning rate 2^0, 255 epochs, zero point 127 (c = -255..0)', classes: 3, dim: 16, zeroPoint: 127, learning: { epochs: 255, replay: 8, lrShift: 0, margin: 65535 }, examples: extremes(1, 12, 3, 16) },
  { name: 'zero point -128 (c = 0..255), ring of 3', classes: 4, dim: 24, zeroPoint: -128, learning: { epochs: 40, replay: 3, lrShift: 2, margin: 4096 }, examples: extremes(2, 10, 4, 24) },
  { name: 'one class enrolled only (no other class to beat), then a second', classes: 2, dim: 8, zeroPoint: 0, learning: { epochs: 8, replay: 4, lrShift: 4, margin: 65535 }, examples: [...extremes(3, 3, 1, 8), ...extremes(4, 3, 2, 8)] },
];

describe('integer SGD at its limits: generated C (ASan/UBSan) against the TS reference', () => {
  it.each(CASES)('$name', async (c) => {
    const learning = checkHeadLearning(c.dim, c.learning);
    const spec: HeadSpec = { classes: c.classes, dim: c.dim, zeroPoint: c.zeroPoint, scale: 1, replacedUnits: c.classes, replacedWeightBytes: 0, replacedOp: 0, learning };
    const { lines, updates, largestWeight } = expected(c, spec);
    // The case does what it is for: SGD updates, grows the working weights past the prototypes'
    // 127 << 12 (the first case to about 2^27), and the ring wraps around.
    expect(updates).toBeGreaterThan(0);
    expect(largestWeight).toBeGreaterThan(127 * 2 ** 12);
    expect(c.examples.length).toBeGreaterThan(learning.replay);
    const dir = mkdtempSync(path.join(work, 'case-'));
    const opts = { prefix: 'x', sourceDescription: 'stub', modelSha256: 'stub', toolVersion: 'test' };
    const io = { inputCType: 'int8_t', inputBytes: c.dim };
    const stub = stubFrozen(c.dim);
    writeFileSync(path.join(dir, 'x_frozen.h'), stub.header);
    writeFileSync(path.join(dir, 'x.h'), emitHeadHeader(spec, io, opts));
    writeFileSync(path.join(dir, 'x.c'), stub.source + emitHeadSource(spec, io, opts));
    writeFileSync(path.join(dir, 'main.c'), hostMain(c));
    const exe = path.join(dir, 'sgd');
    await runCompiler('cc', ['-std=c99', '-O1', '-g', '-Wall', '-Wextra', '-Werror', '-fsanitize=address,undefined', '-fsanitize=signed-integer-overflow', '-fno-sanitize-recover=all', '-I', dir, path.join(dir, 'main.c'), path.join(dir, 'x.c'), '-o', exe], `adapt SGD stress (${c.name})`);
    const run = await execTool(exe, [], { timeoutMs: 30_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual(lines);
  }, 60_000);

  it('the first case sits near the int32 limit of the working weights', () => {
    const c = CASES[0]!;
    expect(learningBounds(c.dim, c.learning).weight).toBeGreaterThan(0.99 * 2 ** 31);
    expect(() => checkHeadLearning(c.dim, { ...c.learning, replay: c.learning.replay + 1 })).toThrow(/could overflow/);
  });

  it('a class-0-only head never updates and matches the prototypes', () => {
    const ref = new HeadReference({ classes: 2, dim: 4, zeroPoint: 0, learning: { epochs: 8, replay: 4, lrShift: 0, margin: 100 } });
    for (const [, e] of extremes(9, 6, 1, 4)) ref.enroll(0, e);
    expect(ref.lastUpdates).toBe(0);
    expect(argmaxClass(ref.scores(Int8Array.of(1, 2, 3, 4)), ref.counts)).toBe(0);
  });
});
