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
    const h = new HeadReference({ classes: 3, dim: 4, zeroPoint: -128 });
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
    const h = new HeadReference({ classes: 2, dim: 3, zeroPoint: 5 });
    h.enroll(1, Int8Array.of(10, -20, 30));
    const saved = h.save();
    expect(saved.byteLength).toBe(headSaveBytes({ classes: 2, dim: 3 }));
    const g = new HeadReference({ classes: 2, dim: 3, zeroPoint: 5 });
    expect(g.load(saved)).toBeUndefined();
    expect(Array.from(g.weights)).toEqual(Array.from(h.weights));
    expect(Array.from(g.bias)).toEqual(Array.from(h.bias));
    expect(g.load(saved.subarray(1))).toMatch(/size/);
    const badVersion = saved.slice();
    badVersion[4] = 2;
    expect(g.load(badVersion)).toMatch(/version/);
    expect(new HeadReference({ classes: 2, dim: 3, zeroPoint: 6 }).load(saved)).toMatch(/another head/);
  });

  it('summarises the head and refuses bad class counts', () => {
    expect(() => compileModel(kws, { adapt: { layer: 'last', classes: 0 } })).toThrow(TinyforgeError);
    expect(() => compileModel(kws, { adapt: { layer: 'last', classes: 256 } })).toThrow(/1 to 255/);
    expect(adapted.summary.head).toMatchObject({ classes: CLASSES, dim: 64, replacedUnits: 12, ramBytes: 4 * 5 + 4 * 5 * 64 + 5 * 64 + 4 * 5 + 64, saveBytes: 16 + 4 * 5 + 4 * 5 * 64 });
    expect(adapted.summary.outputs).toEqual([expect.objectContaining({ dtype: 'int32', bytes: 4 * CLASSES })]);
    expect(() => compileModel(loadModel(modelPath('hello_world_int8')), { adapt: { layer: 'last' } })).not.toThrow();
    // Recompiling for the M55's Helium layouts starts from the model before the split.
    const m55 = compiledForBoard(adapted, findBoard('qemu-mps3-an547'));
    expect(m55.isa).toBe('mve');
    expect(m55.head).toEqual(adapted.head);
    expect(m55.model.graph.ops.length).toBe(adapted.model.graph.ops.length);
  });
});

/** A host program that runs `steps` through the generated C and prints what it computed. */
function hostMain(steps: EnrollStep[]): string {
  const arr = (b: Uint8Array): string => `{${Array.from(b, (x) => (x << 24) >> 24).join(',')}}`;
  const lines = ['#include <stdio.h>', '#include <stdint.h>', '#include "kws.h"', ''];
  steps.forEach((s, i) => lines.push(`static const int8_t in${i}[${INPUT_BYTES}] = ${arr(s.input)};`));
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
    '  img[4] = 2; printf("V %d\\n", kws_load(img, n)); img[4] = 1; printf("Z %d\\n", kws_load(img, n - 1));',
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

describe('generated C on the host (ASan/UBSan) against the TS reference', () => {
  it('enroll, scores, predict, save, load and refusals are byte-identical', async () => {
    const dir = path.join(work, 'host');
    const mod = writeCModule(adapted, dir);
    expect(mod.files.map((f) => path.basename(f)).sort()).toEqual(['kws.c', 'kws.h', 'kws_frozen.h']);
    writeFileSync(path.join(dir, 'main.c'), hostMain(STEPS));
    const exe = path.join(dir, 'adapt');
    await runCompiler('cc', ['-std=c99', '-O1', '-g', '-Wall', '-Wextra', '-Werror', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-I', dir, path.join(dir, 'main.c'), path.join(dir, 'kws.c'), '-o', exe, '-lm'], 'adapt host test');
    const run = await execTool(exe, [], { timeoutMs: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = run.stdout.trim().split('\n');

    const ref = new HeadReference(adapted.head!);
    const expected: string[] = [];
    const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    let lastScores: Int32Array = new Int32Array(0);
    for (const s of STEPS) {
      const emb = referenceEmbedding(adapted, s.input);
      if (s.kind === 'enroll') expected.push(`E ${ref.enroll(s.cls, emb) === 'ok' ? 0 : -1}`);
      else {
        lastScores = ref.scores(emb);
        expected.push(`C ${hexOf(new Uint8Array(lastScores.buffer))}`, `P ${argmaxClass(lastScores, ref.counts)}`);
      }
    }
    expected.push(`S ${hexOf(ref.save())}`, 'X -1 -1', 'L 0', `R ${hexOf(new Uint8Array(lastScores.buffer))}`, 'V -1', 'Z -1');
    expect(out).toEqual(expected);
    // The classes really are told apart: an enrolled example (the only one of its class) is
    // classified as that class, not as whatever class wins everything.
    expect(out.filter((l) => l.startsWith('P ')).slice(0, 2)).toEqual(['P 1', 'P 4']);
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
    const steps = STEPS.map((s, i) => {
      const f = `spec-x${i}.bin`;
      writeFileSync(path.join(work, f), s.input);
      return s.kind === 'enroll' ? { enroll: s.cls, input: f } : { classify: f };
    });
    const specFile = path.join(work, 'enroll.json');
    writeFileSync(specFile, JSON.stringify({ classes: CLASSES, steps }));
    const r = await validate(kws, { board: 'qemu-mps2-an386', enroll: specFile });
    expect(r.via).toBe('agent');
    expect(r.total).toBe(STEPS.length + 1);
    expect(r.cases.filter((c) => !c.pass)).toEqual([]);
    expect(r.cases.at(-1)?.id).toBe('saved head');
    // Enrollment and classification are counted (instructions on QEMU).
    expect(r.cases.slice(0, -1).every((c) => (c.instructions ?? 0) > 0)).toBe(true);
    // The saved head compared at the end is the full image.
    expect(r.cases.at(-1)?.outputs[0]?.bytes).toBe(expectedEnrollment(adapted, { classes: CLASSES, steps: STEPS }).finalHead.byteLength);
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
