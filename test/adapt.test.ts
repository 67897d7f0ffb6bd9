// compile --adapt last: the learnable head. The TS reference's arithmetic (head_reference.ts), the
// generated C against it on the host under ASan/UBSan (enroll, scores, save, load), the agent's
// ENROLL / READ_HEAD commands against docs/protocol.md on the host pty agent, and enrollment over
// serial on the emulated Cortex-M4 checked step by step by validate --enroll.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { expectedEnrollment, referenceEmbedding, type EnrollStep } from '../compiler/adapt/enroll_plan.ts';
import { checkHeadLearning, DEFAULT_HEAD_LEARNING, PROTOTYPES_ONLY, type HeadLearning } from '../compiler/adapt/head_learning.ts';
import { argmaxClass, headSaveBytes, HeadReference, INT32_MIN, roundDiv } from '../compiler/adapt/head_reference.ts';
import { validate } from '../compiler/api/validate.ts';
import { findBoard } from '../compiler/boards/load_boards.ts';
import { compiledForBoard, compileModel, loadModel, writeCModule, type CompiledModel } from '../compiler/compile.ts';
import { TinyforgeError } from '../compiler/errors.ts';
import { AGENT_C_SOURCES, AGENT_INCLUDE_DIR, agentModelSpec, generateAgentModelSource } from '../compiler/targets/agent_model_source.ts';
import { RUNTIME_TEMPLATES_DIR } from '../compiler/targets/target.ts';
import { execTool, runCompiler } from '../compiler/targets/toolchain.ts';
import { AgentErrorReply, AgentSession } from '../flasher/agent_session.ts';
import { crc32 } from '../flasher/protocol/crc32.ts';
import { ErrorCode } from '../flasher/protocol/messages.ts';
import { SerialTransport } from '../flasher/transport/serial_transport.ts';
import { openPtyPair } from './helpers/pty_pair.ts';
import { modelPath } from './helpers/shared.ts';

const CLASSES = 5;
/** A small SGD head: 3 epochs over a ring of 4 slots (wraps after 4 enrollments). */
const SMALL_SGD: HeadLearning = { epochs: 3, replay: 4, lrShift: 4, margin: 16 };
const work = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-adapt-test-'));
const kws = loadModel(modelPath('kws_dscnn'));
const adapted: CompiledModel = compileModel(kws, { prefix: 'kws', adapt: { layer: 'last', classes: CLASSES } });
const INPUT_BYTES = adapted.summary.inputs[0]!.bytes;

/** Deterministic pseudo-random int8 inputs; `bias` shifts them so classes differ. */
function input(seed: number, bias = 0): Uint8Array {
  let s = seed * 2654435761;
  return Uint8Array.from({ length: INPUT_BYTES }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (((s >>> 16) & 0xff) + bias) & 0xff;
  });
}

const live = new Set<ChildProcess>();
afterAll(() => {
  for (const p of live) p.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('head arithmetic (TS reference)', () => {
  it('roundDiv rounds half away from zero', () => {
    expect([roundDiv(5, 2), roundDiv(-5, 2), roundDiv(4, 3), roundDiv(-4, 3), roundDiv(0, 7), roundDiv(7, 7)]).toEqual([3, -3, 1, -1, 0, 1]);
  });

  it('picks the nearest class mean and leaves empty classes out', () => {
    const h = new HeadReference({ classes: 3, dim: 4, zeroPoint: -128, learning: PROTOTYPES_ONLY });
    const e = (v: number[]): Int8Array => Int8Array.from(v);
    h.enroll(0, e([-128, -128, 100, 100]));
    h.enroll(0, e([-120, -128, 90, 110]));
    h.enroll(2, e([100, 100, -128, -128]));
    expect(Array.from(h.counts)).toEqual([2, 0, 1]);
    // The largest |mean| (228 for class 2's first features) maps to 127.
    expect(Math.max(...Array.from(h.weights).map(Math.abs))).toBe(127);
    const near0 = h.scores(e([-125, -128, 95, 105]));
    const near2 = h.scores(e([90, 110, -128, -120]));
    expect(near0[1]).toBe(INT32_MIN);
    expect(argmaxClass(near0, h.counts)).toBe(0);
    expect(argmaxClass(near2, h.counts)).toBe(2);
    expect(h.enroll(3, e([0, 0, 0, 0]))).toBe('bad-class');
  });

  it('save and load round-trip; a damaged or foreign image is refused', () => {
    const h = new HeadReference({ classes: 2, dim: 3, zeroPoint: 5, learning: SMALL_SGD });
    h.enroll(1, Int8Array.of(10, -20, 30));
    const saved = h.save();
    expect(saved.byteLength).toBe(headSaveBytes({ classes: 2, dim: 3, learning: SMALL_SGD }));
    const g = new HeadReference({ classes: 2, dim: 3, zeroPoint: 5, learning: SMALL_SGD });
    expect(g.load(saved)).toBeUndefined();
    expect(Array.from(g.weights)).toEqual(Array.from(h.weights));
    expect(Array.from(g.bias)).toEqual(Array.from(h.bias));
    expect(g.load(saved.subarray(1))).toMatchObject({ error: 'size', code: -1, reason: expect.stringMatching(/size/) });
    const badVersion = saved.slice();
    badVersion[4] = 3;
    expect(g.load(badVersion)).toMatchObject({ error: 'version', code: -3 });
    expect(new HeadReference({ classes: 2, dim: 3, zeroPoint: 6, learning: SMALL_SGD }).load(saved)).toMatchObject({ error: 'head', code: -4, reason: expect.stringMatching(/another head/) });
    // Version 1 (prototypes only, before the replay ring) and other SGD settings are refused by name.
    const v1 = saved.slice();
    v1[4] = 1;
    expect(g.load(v1)?.reason).toMatch(/format version 1, expected 2/);
    expect(new HeadReference({ classes: 2, dim: 3, zeroPoint: 5, learning: { ...SMALL_SGD, epochs: 4 } }).load(saved)).toMatchObject({ error: 'settings', code: -5, reason: expect.stringMatching(/other settings/) });
    // A ring no enrollment sequence could leave: an unused slot with data, a class past its count.
    const dirty = saved.slice();
    dirty[dirty.length - 1] = 7;
    expect(g.load(dirty)).toMatchObject({ error: 'replay', code: -7, reason: expect.stringMatching(/unused but not empty/) });
    const replayAt = 24 + 4 * 2 + 4 * 2 * 3;
    const overCount = saved.slice();
    overCount[replayAt] = 0;
    expect(g.load(overCount)).toMatchObject({ error: 'replay', reason: expect.stringMatching(/more examples of class 0/) });
    const tooMany = saved.slice();
    new DataView(tooMany.buffer).setUint32(24, 65536, true);
    expect(g.load(tooMany)).toMatchObject({ error: 'count', code: -6 });
    const notHead = saved.slice();
    notHead[0] = 0x7f;
    expect(g.load(notHead)).toMatchObject({ error: 'magic', code: -2 });
  });

  it('the replay ring keeps the last R examples, oldest overwritten first', () => {
    const h = new HeadReference({ classes: 3, dim: 2, zeroPoint: 0, learning: SMALL_SGD });
    for (let n = 0; n < 6; n++) expect(h.enroll(n % 3, Int8Array.of(n, -n))).toBe('ok');
    // Examples 4 and 5 went into slots 0 and 1 (6 mod 4 = 2 is the oldest now).
    expect(Array.from(h.replayClass)).toEqual([1, 2, 2, 0]);
    expect(Array.from(h.replayEmbedding)).toEqual([4, -4, 5, -5, 2, -2, 3, -3]);
    expect(h.enroll(3, Int8Array.of(1, 1))).toBe('bad-class');
    expect(Array.from(h.replayClass)).toEqual([1, 2, 2, 0]);
    h.clear();
    expect(Array.from(h.replayEmbedding).every((v) => v === 0)).toBe(true);
  });

  it('SGD on the hinge loss fixes a training example the nearest class mean gets wrong', () => {
    // Class 0 is wide (-100 and 60, mean -20), class 1 narrow (100 and 110, mean 105): 60 is nearer class 1's mean.
    const examples: [number, number][] = [[0, -100], [0, 60], [1, 100], [1, 110]];
    const train = (learning: HeadLearning): HeadReference => {
      const h = new HeadReference({ classes: 2, dim: 1, zeroPoint: 0, learning });
      for (const [cls, x] of examples) h.enroll(cls, Int8Array.of(x));
      return h;
    };
    const predict = (h: HeadReference, x: number): number => argmaxClass(h.scores(Int8Array.of(x)), h.counts);
    const proto = train(PROTOTYPES_ONLY);
    expect(predict(proto, 60)).toBe(1);
    const sgd = train({ ...DEFAULT_HEAD_LEARNING, replay: 4 });
    expect(sgd.lastUpdates).toBeGreaterThan(0);
    expect(examples.map(([, x]) => predict(sgd, x))).toEqual(examples.map(([cls]) => cls));
    // Well separated classes need no update: SGD leaves the prototype head exactly as it was.
    const easy = (learning: HeadLearning): HeadReference => {
      const h = new HeadReference({ classes: 2, dim: 2, zeroPoint: 0, learning });
      h.enroll(0, Int8Array.of(-100, 0));
      h.enroll(1, Int8Array.of(100, 0));
      return h;
    };
    const [a, b] = [easy(PROTOTYPES_ONLY), easy({ ...SMALL_SGD, margin: 1 })];
    expect(b.lastUpdates).toBe(0);
    expect([Array.from(b.weights), Array.from(b.bias)]).toEqual([Array.from(a.weights), Array.from(a.bias)]);
  });

  it('refuses SGD settings that could overflow, or that make no sense, with one line', () => {
    expect(() => checkHeadLearning(40000, { ...DEFAULT_HEAD_LEARNING, epochs: 255, replay: 65535 })).toThrow(/could overflow the head's integer SGD/);
    expect(() => checkHeadLearning(64, { ...DEFAULT_HEAD_LEARNING, replay: 0 })).toThrow(/--adapt-replay at least 1/);
    expect(() => checkHeadLearning(64, { ...PROTOTYPES_ONLY, replay: 8 })).toThrow(/only matters with --adapt-epochs > 0/);
    expect(() => checkHeadLearning(64, { ...DEFAULT_HEAD_LEARNING, epochs: 256 })).toThrow(/--adapt-epochs wants a whole number from 0 to 255/);
    // The defaults are safe for the longest embedding the head takes.
    expect(checkHeadLearning(40000, DEFAULT_HEAD_LEARNING)).toEqual(DEFAULT_HEAD_LEARNING);
    expect(() => compileModel(kws, { adapt: { layer: 'last', learning: { epochs: 255, replay: 65535 } } })).toThrow(TinyforgeError);
  });

  it('summarises the head and refuses bad class counts', () => {
    expect(() => compileModel(kws, { adapt: { layer: 'last', classes: 0 } })).toThrow(TinyforgeError);
    expect(() => compileModel(kws, { adapt: { layer: 'last', classes: 256 } })).toThrow(/1 to 255/);
    expect(adapted.summary.head).toMatchObject({ classes: CLASSES, dim: 64, replacedUnits: 12, learning: DEFAULT_HEAD_LEARNING });
    const R = DEFAULT_HEAD_LEARNING.replay;
    // Prototype state, replay ring (classes + embeddings), int32 working weights and int64 biases.
    expect(adapted.summary.head?.ramBytes).toBe(4 * 5 + 4 * 5 * 64 + 5 * 64 + 4 * 5 + 64 + R + R * 64 + 4 * 5 * 64 + 8 * 5);
    expect(adapted.summary.head?.saveBytes).toBe(24 + 4 * 5 + 4 * 5 * 64 + R + R * 64);
    expect(adapted.summary.outputs).toEqual([expect.objectContaining({ dtype: 'int32', bytes: 4 * CLASSES })]);
    expect(() => compileModel(loadModel(modelPath('hello_world_int8')), { adapt: { layer: 'last' } })).not.toThrow();
    // Recompiling for the M55's Helium layouts starts from the model before the split.
    const m55 = compiledForBoard(adapted, findBoard('qemu-mps3-an547'));
    expect(m55.isa).toBe('mve');
    expect(m55.head).toEqual(adapted.head);
    expect(m55.model.graph.ops.length).toBe(adapted.model.graph.ops.length);
  });
});

/**
 * A host program that runs `steps` through the generated C and prints what it computed, then the
 * refusals, a save / clear / load round trip, and enrolling into a class that is full (loaded from
 * `full`, a saved image whose class 0 holds the most examples a class can).
 */
function hostMain(steps: EnrollStep[], full: Uint8Array): string {
  const arr = (b: Uint8Array): string => `{${Array.from(b, (x) => (x << 24) >> 24).join(',')}}`;
  const lines = ['#include <stdio.h>', '#include <stdint.h>', '#include "kws.h"', ''];
  steps.forEach((s, i) => lines.push(`static const int8_t in${i}[${INPUT_BYTES}] = ${arr(s.input)};`));
  lines.push(`static uint8_t full[KWS_HEAD_SAVE_BYTES] = {${Array.from(full).join(',')}};`);
  lines.push('static uint8_t img[KWS_HEAD_SAVE_BYTES];', 'static int32_t sc[KWS_HEAD_CLASSES];');
  lines.push('static void hex(const char *tag, const uint8_t *p, uint32_t n) { uint32_t i; printf("%s ", tag); for (i = 0; i < n; i++) printf("%02x", p[i]); printf("\\n"); }');
  lines.push('int main(void) {', '  uint32_t n; int k;');
  steps.forEach((s, i) => {
    if (s.kind === 'enroll') lines.push(`  printf("E %d\\n", kws_enroll(${s.cls}, in${i}));`);
    else lines.push(`  kws_invoke(in${i}, sc); hex("C", (const uint8_t *)sc, sizeof sc); printf("P %d\\n", kws_predict(sc));`);
  });
  const last = steps.map((s) => s.kind).lastIndexOf('classify');
  lines.push(
    '  n = kws_save(img); hex("S", img, n);',
    `  printf("X %d %d\\n", kws_enroll(${CLASSES}, in0), kws_enroll(-1, in0));`,
    '  kws_clear(); for (k = 0; k < KWS_HEAD_CLASSES; k++) if (kws_class_count(k) != 0u) return 3;',
    `  printf("L %d\\n", kws_load(img, n)); kws_invoke(in${last}, sc); hex("R", (const uint8_t *)sc, sizeof sc);`,
    '  img[4] = 1; printf("V %d\\n", kws_load(img, n)); img[4] = 2; printf("Z %d\\n", kws_load(img, n - 1));',
    '  img[18] ^= 1u; printf("M %d\\n", kws_load(img, n)); img[18] ^= 1u;',
    `  printf("F %d\\n", kws_load(full, n)); printf("G %d\\n", kws_enroll(0, in0)); n = kws_save(img); hex("H", img, n);`,
    '  return 0;',
    '}',
  );
  return lines.join('\n') + '\n';
}

const STEPS: EnrollStep[] = [
  { kind: 'enroll', id: 'e0', cls: 0, input: input(1, 0) },
  { kind: 'enroll', id: 'e1', cls: 1, input: input(2, 60) },
  { kind: 'enroll', id: 'e2', cls: 0, input: input(3, 0) },
  { kind: 'classify', id: 'c0', input: input(2, 60) },
  { kind: 'enroll', id: 'e3', cls: 4, input: input(5, 120) },
  { kind: 'enroll', id: 'e4', cls: 1, input: input(6, 60) },
  { kind: 'classify', id: 'c1', input: input(5, 120) },
  { kind: 'classify', id: 'c2', input: input(8, 0) },
];

/** STEPS, then a seeded random tail of enrollments (some into a class the head does not have) and classifications. */
function randomSteps(seed: number, n: number): EnrollStep[] {
  let s = seed;
  const next = (m: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % m;
  };
  const tail = Array.from({ length: n }, (_, i): EnrollStep => {
    const cls = next(CLASSES + 1);
    const x = input(100 * seed + i, 50 * cls + next(20));
    return next(3) === 0 ? { kind: 'classify', id: `r${i}`, input: x } : { kind: 'enroll', id: `r${i}`, cls, input: x };
  });
  return [...STEPS, ...tail];
}

const statusCode = { ok: 0, 'bad-class': -1, 'class-full': -2 } as const;

describe('generated C on the host (ASan/UBSan) against the TS reference', () => {
  // Prototypes only, and SGD with a 4-slot ring that wraps around several times.
  const cases: [string, HeadLearning, number][] = [
    ['prototypes only (--adapt-epochs 0)', PROTOTYPES_ONLY, 11],
    ['integer SGD, 3 epochs over a 4-example ring', SMALL_SGD, 12],
  ];
  it.each(cases)('%s: enroll, scores, predict, save, load and refusals are byte-identical', async (name, learning, seed) => {
    const compiled = compileModel(kws, { prefix: 'kws', adapt: { layer: 'last', classes: CLASSES, learning } });
    const steps = randomSteps(seed, 16);
    const ref = new HeadReference(compiled.head!);
    const expected: string[] = [];
    const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    let updates = 0;
    for (const s of steps) {
      const emb = referenceEmbedding(compiled, s.input);
      if (s.kind === 'enroll') {
        expected.push(`E ${statusCode[ref.enroll(s.cls, emb)]}`);
        updates += ref.lastUpdates;
      } else {
        const scores = ref.scores(emb);
        expected.push(`C ${hexOf(new Uint8Array(scores.buffer))}`, `P ${argmaxClass(scores, ref.counts)}`);
      }
    }
    const saved = ref.save();
    // Class 0 full: its count set to the most a class can hold (a ring that saw it stays valid).
    const full = saved.slice();
    new DataView(full.buffer).setUint32(24, 65535, true);
    const g = new HeadReference(compiled.head!);
    expect(g.load(full)).toBeUndefined();
    const fullStatus = g.enroll(0, referenceEmbedding(compiled, steps[0]!.input));
    expect(fullStatus).toBe('class-full');
    // After loading, the head scores the last classified input as the head after every step does.
    const lastInput = steps[steps.map((s) => s.kind).lastIndexOf('classify')]!.input;
    const reloaded = new Uint8Array(ref.scores(referenceEmbedding(compiled, lastInput)).buffer);
    // The C refusals carry the reference's codes: another version, a short image, other SGD settings.
    const refusal = (edit: (img: Uint8Array) => Uint8Array): number | undefined => new HeadReference(compiled.head!).load(edit(saved.slice()))?.code;
    const badVersion = refusal((img) => ((img[4] = 1), img));
    const short = refusal((img) => img.subarray(0, img.length - 1));
    const otherSettings = refusal((img) => ((img[18] = (img[18] as number) ^ 1), img));
    expect([badVersion, short, otherSettings]).toEqual([-3, -1, -5]);
    expected.push(`S ${hexOf(saved)}`, 'X -1 -1', 'L 0', `R ${hexOf(reloaded)}`, `V ${badVersion}`, `Z ${short}`, `M ${otherSettings}`, 'F 0', `G ${statusCode[fullStatus]}`, `H ${hexOf(g.save())}`);
    // The sequence exercises what it claims: bad classes, and with SGD updates and a wrapped ring.
    expect(expected.filter((l) => l === 'E -1').length).toBeGreaterThan(0);
    if (learning.epochs > 0) {
      expect(updates).toBeGreaterThan(0);
      expect(steps.filter((s) => s.kind === 'enroll').length).toBeGreaterThan(2 * learning.replay);
    } else expect(updates).toBe(0);

    const dir = path.join(work, `host-${seed}`);
    const mod = writeCModule(compiled, dir);
    expect(mod.files.map((f) => path.basename(f)).sort()).toEqual(['kws.c', 'kws.h', 'kws_frozen.h']);
    writeFileSync(path.join(dir, 'main.c'), hostMain(steps, full));
    const exe = path.join(dir, 'adapt');
    await runCompiler('cc', ['-std=c99', '-O1', '-g', '-Wall', '-Wextra', '-Werror', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-I', dir, path.join(dir, 'main.c'), path.join(dir, 'kws.c'), '-o', exe, '-lm'], `adapt host test (${name})`);
    const run = await execTool(exe, [], { timeoutMs: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual(expected);
    // The classes really are told apart: an enrolled example (the only one of its class) is
    // classified as that class, not as whatever class wins everything.
    expect(expected.filter((l) => l.startsWith('P ')).slice(0, 2)).toEqual(['P 1', 'P 4']);
  }, 120_000);
});

describe('agent ENROLL and READ_HEAD (docs/protocol.md) on the host pty agent', () => {
  let adaptedAgent = '';
  let plainAgent = '';
  beforeAll(async () => {
    const build = async (compiled: CompiledModel, name: string): Promise<string> => {
      const dir = path.join(work, name);
      const mod = writeCModule(compiled, dir);
      const modelC = path.join(dir, 'tf_agent_model.c');
      writeFileSync(modelC, generateAgentModelSource(agentModelSpec(compiled, 'host-pty')));
      const exe = path.join(dir, 'tf_agent');
      const sources = [...AGENT_C_SOURCES.map((f) => path.join(RUNTIME_TEMPLATES_DIR, f)), modelC, path.join(dir, `${mod.prefix}.c`), path.join(RUNTIME_TEMPLATES_DIR, 'host', 'hal_host_pty.c')];
      await runCompiler('cc', ['-std=c99', '-O1', '-g', '-Wall', '-Wextra', '-Werror', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-I', path.join(RUNTIME_TEMPLATES_DIR, AGENT_INCLUDE_DIR), '-I', dir, ...sources, '-o', exe, '-lm'], name);
      return exe;
    };
    [adaptedAgent, plainAgent] = await Promise.all([build(adapted, 'agent-adapt'), build(compileModel(loadModel(modelPath('hello_world_int8')), { prefix: 'hw' }), 'agent-plain')]);
  }, 180_000);

  async function withAgent<T>(binary: string, fn: (s: AgentSession) => Promise<T>): Promise<T> {
    const pair = await openPtyPair();
    live.add(pair.socat);
    const proc = spawn(binary, [], { env: { ...process.env, TF_AGENT_TTY: pair.device }, stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(proc);
    const serial = await SerialTransport.open({ path: pair.host, baudRate: 115200 });
    try {
      const session = new AgentSession(serial, { timeoutMs: 2000, connectTimeoutMs: 5000, invokeTimeoutMs: 20_000 });
      await session.connect();
      return await fn(session);
    } finally {
      await serial.close();
      proc.kill('SIGTERM');
      pair.socat.kill('SIGTERM');
      live.delete(proc);
      live.delete(pair.socat);
    }
  }

  it('ENROLL replies with the count, size and CRC-32 of the reference head; READ_HEAD returns it', async () => {
    await withAgent(adaptedAgent, async (session) => {
      const ref = new HeadReference(adapted.head!);
      for (const [i, cls] of [0, 3, 0].entries()) {
        const x = input(20 + i, 40 * cls);
        const r = await session.enroll(cls, x);
        ref.enroll(cls, referenceEmbedding(adapted, x));
        const saved = ref.save();
        expect(r).toMatchObject({ cls, count: ref.counts[cls], headBytes: saved.byteLength, headCrc32: crc32(saved) });
      }
      expect(Buffer.from(await session.readHead(ref.save().byteLength)).equals(Buffer.from(ref.save()))).toBe(true);
      // A class outside the head: OUT_OF_RANGE with the class count as detail.
      const bad = await session.enroll(CLASSES, input(30)).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(AgentErrorReply);
      expect(bad).toMatchObject({ code: ErrorCode.OUT_OF_RANGE, detail: CLASSES });
      // Reading past the image: OUT_OF_RANGE with its size.
      const past = await session.readHead(ref.save().byteLength + 1).catch((e: unknown) => e);
      expect(past).toMatchObject({ code: ErrorCode.OUT_OF_RANGE, detail: ref.save().byteLength });
      // Inference still works after enrolling, with the learned head's scores.
      const x = input(40, 120);
      const inf = await session.infer([x]);
      expect(Buffer.from(inf.outputs[0]!).equals(Buffer.from(new Uint8Array(ref.scores(referenceEmbedding(adapted, x)).buffer)))).toBe(true);
    });
  }, 60_000);

  it('an agent without a head answers ENROLL and READ_HEAD with UNKNOWN_COMMAND', async () => {
    await withAgent(plainAgent, async (session) => {
      expect(await session.enroll(0, new Uint8Array(session.hello.inputBytes[0]!)).catch((e: unknown) => e)).toMatchObject({ code: ErrorCode.UNKNOWN_COMMAND });
      expect(await session.readHead(8).catch((e: unknown) => e)).toMatchObject({ code: ErrorCode.UNKNOWN_COMMAND });
    });
  }, 60_000);
});

describe('validate --enroll on the emulated Cortex-M4 over serial', () => {
  it('every enrollment step, classification and the saved head match the host reference', async () => {
    // Enrollments into the head's classes only (the device would refuse the others by design).
    const deviceSteps = randomSteps(12, 16).filter((s) => s.kind === 'classify' || s.cls < CLASSES);
    const steps = deviceSteps.map((s, i) => {
      const f = `spec-x${i}.bin`;
      writeFileSync(path.join(work, f), s.input);
      return s.kind === 'enroll' ? { enroll: s.cls, input: f } : { classify: f };
    });
    const specFile = path.join(work, 'enroll.json');
    writeFileSync(specFile, JSON.stringify({ classes: CLASSES, steps }));
    // The head validated is the default one, which runs integer SGD inside ENROLL, and these steps
    // make it update: the CRC of every ENROLL reply covers the SGD's result.
    expect(adapted.head?.learning).toEqual(DEFAULT_HEAD_LEARNING);
    const ref = new HeadReference(adapted.head!);
    let updates = 0;
    for (const s of deviceSteps) if (s.kind === 'enroll') updates += (ref.enroll(s.cls, referenceEmbedding(adapted, s.input)), ref.lastUpdates);
    expect(updates).toBeGreaterThan(0);
    const r = await validate(kws, { board: 'qemu-mps2-an386', enroll: specFile });
    expect(r.via).toBe('agent');
    expect(r.total).toBe(deviceSteps.length + 1);
    expect(r.cases.filter((c) => !c.pass)).toEqual([]);
    expect(r.cases.at(-1)?.id).toBe('saved head');
    // Enrollment and classification are counted (instructions on QEMU).
    expect(r.cases.slice(0, -1).every((c) => (c.instructions ?? 0) > 0)).toBe(true);
    // The saved head compared at the end is the full image.
    expect(r.cases.at(-1)?.outputs[0]?.bytes).toBe(expectedEnrollment(adapted, { classes: CLASSES, steps: deviceSteps }).finalHead.byteLength);
  }, 180_000);

  it('a spec with "epochs": 0 validates the prototype-only head the same way', async () => {
    const r = await validate(kws, { board: 'qemu-mps2-an386', enroll: { classes: CLASSES, epochs: 0, steps: STEPS.slice(0, 4) } });
    expect(r.cases.filter((c) => !c.pass)).toEqual([]);
    expect(r.cases.at(-1)?.outputs[0]?.bytes).toBe(24 + 4 * CLASSES + 4 * CLASSES * 64);
  }, 180_000);

  it('--adapt-epochs / --adapt-replay override the spec\'s "epochs" / "replay"', async () => {
    const learning = { epochs: 2, replay: 4 };
    const r = await validate(kws, { board: 'qemu-mps2-an386', enroll: { classes: CLASSES, epochs: 0, steps: STEPS.slice(0, 4) }, adaptEpochs: learning.epochs, adaptReplay: learning.replay });
    expect(r.cases.filter((c) => !c.pass)).toEqual([]);
    const head = compileModel(kws, { adapt: { layer: 'last', classes: CLASSES, learning } }).head!;
    expect(r.cases.at(-1)?.outputs[0]?.bytes).toBe(headSaveBytes(head));
    expect(headSaveBytes(head)).toBe(24 + 4 * CLASSES + 4 * CLASSES * 64 + learning.replay * (1 + 64));
    await expect(validate(kws, { board: 'qemu-mps2-an386', adaptEpochs: 2 })).rejects.toThrow(/--adapt-epochs goes with --enroll/);
  }, 180_000);

  it('refuses --enroll without a board, and a spec class outside the head', async () => {
    await expect(validate(kws, { enroll: { steps: STEPS } })).rejects.toThrow(/--board/);
    await expect(validate(kws, { board: 'qemu-mps2-an386', enroll: { classes: 2, steps: STEPS } })).rejects.toThrow(/classes 0\.\.1/);
  });
});

describe('worked example, small: a tone classifier learns a band it was never trained on', () => {
  it('five enrolled examples of the new band make the head answer it (TS reference, which the device matches)', async () => {
    const tf = await import('@tensorflow/tfjs-core');
    const { loadTfjsModel, writeArtifacts } = await import('../compiler/frontends/tfjs/index.ts');
    const { saveLayersArtifacts, toneData, toneModel, train } = await import('../compiler/frontends/tfjs/synthetic.ts');
    const { compressFloatGraph, ptqLoadedModel, quantizeInput } = await import('../compiler/quantize/index.ts');
    await tf.setBackend('cpu');
    const known = [2, 6, 14];
    const m = toneModel(64, 8);
    const trainSet = toneData(300, 1, 64, known);
    await train(m, trainSet, 4, 0.01, false);
    const fg = (await loadTfjsModel(writeArtifacts(path.join(work, 'tones'), await saveLayersArtifacts(m)))).graph;
    const q = compressFloatGraph(fg, { calibration: trainSet.x.slice(0, 100) }, {});
    const tones = compileModel({ ...ptqLoadedModel(q.ptq, 'tones.json', 'tones'), graph: q.graph }, { prefix: 'tones', adapt: { layer: 'last', classes: 4 } });
    const quant = (x: Float32Array): Uint8Array => quantizeInput(x, q.ptq.inputs[0]!);
    const bands = [...known, 10];
    const test = toneData(120, 99, 64, bands);
    const pool = toneData(200, 7, 64, bands);
    const ref = new HeadReference(tones.head!);
    const accuracy = (cls?: number): number => {
      const idx = test.y.map((y, i) => [y, i] as const).filter(([y]) => cls === undefined || y === cls);
      const right = idx.filter(([y, i]) => argmaxClass(ref.scores(referenceEmbedding(tones, quant(test.x[i]!))), ref.counts) === y).length;
      return right / idx.length;
    };
    const enroll = (cls: number): void => {
      pool.x.filter((_, i) => pool.y[i] === cls).slice(0, 5).forEach((x) => expect(ref.enroll(cls, referenceEmbedding(tones, quant(x)))).toBe('ok'));
    };
    [0, 1, 2].forEach(enroll);
    const before = { all: accuracy(), added: accuracy(3) };
    enroll(3);
    const after = { all: accuracy(), added: accuracy(3) };
    expect(before.added).toBe(0);
    expect(after.added).toBeGreaterThan(0.5);
    expect(after.all).toBeGreaterThan(before.all);
  }, 180_000);
});
