import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ToolError } from '../compiler/errors.ts';
import { buildForHost, runCasesOnHost } from '../compiler/targets/host.ts';
import {
  buildForQemuMps2An386,
  MPS2_BOARDS,
  qemuArgs,
  runCasesOnQemuMps2An386,
  sizeOf,
} from '../compiler/targets/qemu_mps2.ts';
import { generateRunnerSource, RUNNER_EXIT } from '../compiler/targets/runner_source.ts';
import type { CompiledModuleRef, RunOptions } from '../compiler/targets/target.ts';
import { execTool, findExecutable, requireTool } from '../compiler/targets/toolchain.ts';

const N = 7; // bytes per tensor: deliberately not a multiple of 4

const FAKE_H = `#ifndef FAKE_H
#define FAKE_H
#include <stdint.h>
void fake_reset(void);
int fake_invoke(const int8_t *in0, const int8_t *in1, int8_t *out0);
#endif
`;

/** A fake compiled model: `fake.c` with the given invoke body, `fake.h` as above. */
async function writeFakeModel(root: string, name: string, body: string): Promise<CompiledModuleRef> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'fake.h'), FAKE_H);
  await writeFile(
    path.join(dir, 'fake.c'),
    `#include "fake.h"
void fake_reset(void) {}
int fake_invoke(const int8_t *in0, const int8_t *in1, int8_t *out0) {
${body}
}
`,
  );
  return { dir, prefix: 'fake', inputBytes: [N, N], outputBytes: [N] };
}

const ADD_BODY = `  int i;
  for (i = 0; i < ${N}; ++i) {
    out0[i] = (int8_t)(uint8_t)((uint8_t)in0[i] + (uint8_t)in1[i]);
  }
  return 0;`;

const FAIL_BODY = `  (void)in0; (void)in1; (void)out0;
  return 1;`;

// Calls through a pointer to an address where nothing is mapped.
const FAULT_BODY = `  void (*volatile jump)(void) = (void (*)(void))0x30000001u;
  (void)in0; (void)in1; (void)out0;
  jump();
  return 0;`;

const HANG_BODY = `  volatile int spin = 1;
  (void)in0; (void)in1; (void)out0;
  while (spin) {
  }
  return 0;`;

const BROKEN_BODY = `  (void)in0; (void)in1; (void)out0;
  return tf_not_declared_anywhere;`;

/** Deterministic cases covering wrap-around (127 + 1, -128 + -1, ...). */
function makeCases(count: number, seed: number): Uint8Array[][] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  };
  const cases: Uint8Array[][] = [];
  for (let c = 0; c < count; c++) {
    const a = new Uint8Array(N);
    const b = new Uint8Array(N);
    for (let i = 0; i < N; i++) {
      a[i] = next();
      b[i] = next();
    }
    if (c === 0) {
      a.set([0x7f, 0x80, 0xff, 0x00, 0x7f, 0x80, 0x01]);
      b.set([0x01, 0xff, 0x01, 0x00, 0x7f, 0x80, 0xff]);
    }
    cases.push([a, b]);
  }
  return cases;
}

function expectedOutputs(cases: Uint8Array[][]): Uint8Array[][] {
  return cases.map(([a, b]) => [Uint8Array.from({ length: N }, (_, i) => (a![i]! + b![i]!) & 0xff)]);
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the promise to reject');
}

let root: string;
let opts: RunOptions;
let addModel: CompiledModuleRef;
let failModel: CompiledModuleRef;
let faultModel: CompiledModuleRef;
let hangModel: CompiledModuleRef;
let brokenModel: CompiledModuleRef;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'tinyforge-targets-test-'));
  opts = { workDir: path.join(root, 'work') };
  addModel = await writeFakeModel(root, 'add', ADD_BODY);
  failModel = await writeFakeModel(root, 'fail', FAIL_BODY);
  faultModel = await writeFakeModel(root, 'fault', FAULT_BODY);
  hangModel = await writeFakeModel(root, 'hang', HANG_BODY);
  brokenModel = await writeFakeModel(root, 'broken', BROKEN_BODY);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('toolchain', () => {
  it('finds tools on PATH and names the Debian package of a missing one', () => {
    expect(findExecutable('sh')).toMatch(/\/sh$/);
    expect(findExecutable('qemu-system-arm', '/nonexistent')).toBeUndefined();
    const qemu = (() => {
      try {
        requireTool('qemu-system-arm', '/nonexistent');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(qemu).toBeInstanceOf(ToolError);
    expect((qemu as Error).message).toContain('sudo apt-get install qemu-system-arm');
    expect(() => requireTool('arm-none-eabi-gcc', '')).toThrow(
      'sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi',
    );
  });
});

describe('runner source', () => {
  it('gives each tensor its own 16-byte aligned buffer and passes them in order', () => {
    const src = generateRunnerSource({ prefix: 'net', inputBytes: [3, 5], outputBytes: [2, 0] });
    expect(src).toContain('#include "net.h"');
    expect(src).toContain('static unsigned char tf_in1[5] __attribute__((aligned(16)));');
    expect(src).toContain('static unsigned char tf_out1[1] __attribute__((aligned(16)));');
    expect(src).toContain('net_invoke((void *)tf_in0, (void *)tf_in1, (void *)tf_out0, (void *)tf_out1)');
  });

  it('rejects prefixes that are not C identifiers; a control byte delimits cases even without input bytes', () => {
    expect(() => generateRunnerSource({ prefix: 'a-b', inputBytes: [1], outputBytes: [1] })).toThrow(/C identifier/);
    const src = generateRunnerSource({ prefix: 'm', inputBytes: [0], outputBytes: [1] });
    expect(src).toContain('if (tf_ctl) m_reset();');
  });
});

describe('host target (cc, sanitizers)', () => {
  const san = (): RunOptions => ({ ...opts, sanitize: true });

  it('produces the exact expected bytes for 0, 1 and several cases', async () => {
    for (const count of [0, 1, 5, 300]) {
      const cases = makeCases(count, count + 1);
      const out = await runCasesOnHost(addModel, cases, san());
      expect(out).toEqual(expectedOutputs(cases));
    }
  });

  it('caches builds on content and flags', async () => {
    const a = await buildForHost(addModel, san());
    const b = await buildForHost(addModel, san());
    expect(b.cached).toBe(true);
    expect(b.binary).toBe(a.binary);
    const plain = await buildForHost(addModel, opts);
    expect(plain.binary).not.toBe(a.binary);
  });

  it('rejects cases whose shape does not match the model', async () => {
    await expect(runCasesOnHost(addModel, [[new Uint8Array(N)]], opts)).rejects.toThrow(/1 inputs given/);
    await expect(runCasesOnHost(addModel, [[new Uint8Array(N), new Uint8Array(N + 1)]], opts)).rejects.toThrow(
      /input 1 has 8 bytes/,
    );
  });

  it('reports a non-zero invoke result as exit code 5', async () => {
    const err = await rejection(runCasesOnHost(failModel, makeCases(2, 9), san()));
    expect(err).toBeInstanceOf(ToolError);
    expect(err.message).toMatch(/exit code 5\b/);
    expect(err.message).toContain('after 0 of 2 cases');
  });

  it('reports a crash by its signal', async () => {
    const err = await rejection(runCasesOnHost(faultModel, makeCases(1, 3), opts));
    expect(err).toBeInstanceOf(ToolError);
    expect(err.message).toMatch(/killed by signal SIG(SEGV|BUS)/);
  });

  it('reports a C compile error with the compiler message', async () => {
    const err = await rejection(runCasesOnHost(brokenModel, makeCases(1, 3), san()));
    expect(err).toBeInstanceOf(ToolError);
    expect(err.message).toContain('tf_not_declared_anywhere');
    expect(err.message).toContain('undeclared');
  });

  it('kills a hung runner and says so', async () => {
    const err = await rejection(runCasesOnHost(hangModel, makeCases(1, 3), { ...opts, timeoutMs: 1500 }));
    expect(err).toBeInstanceOf(ToolError);
    expect(err.message).toContain('timed out after 1.5 s');
  });

  it('runner exits 4 on a truncated case (after writing the complete ones) and 0 on an empty file', async () => {
    const { binary } = await buildForHost(addModel, san());
    const dir = await mkdtemp(path.join(root, 'short-'));
    await writeFile(path.join(dir, 'tf_in.bin'), new Uint8Array(2 * N + 3));
    const short = await execTool(binary, [], { cwd: dir, timeoutMs: 30_000 });
    expect(short.code).toBe(RUNNER_EXIT.shortRead);
    expect((await readFile(path.join(dir, 'tf_out.bin'))).byteLength).toBe(N);
    await writeFile(path.join(dir, 'tf_in.bin'), new Uint8Array(0));
    const empty = await execTool(binary, [], { cwd: dir, timeoutMs: 30_000 });
    expect(empty.code).toBe(0);
  });
});

// The cross toolchain and QEMU are installed by .ci/run; a missing tool fails these tests rather than skipping them.
describe('QEMU mps2-an386 target (Cortex-M4, semihosting)', () => {
  it('has a board table with CPU flags per machine', () => {
    expect(MPS2_BOARDS['mps2-an386'].cpuFlags).toContain('-mcpu=cortex-m4');
    expect(MPS2_BOARDS['mps2-an385'].cpuFlags).toContain('-mcpu=cortex-m3');
    expect(MPS2_BOARDS['mps2-an500'].cpuFlags).toContain('-mcpu=cortex-m7');
    expect(qemuArgs('mps2-an386', '/x.elf')).toEqual([
      '-M', 'mps2-an386', '-nographic', '-monitor', 'none', '-serial', 'null',
      '-semihosting-config', 'enable=on,target=native', '-kernel', '/x.elf',
    ]);
  });

  it('produces the exact expected bytes for 0, 1 and several cases', async () => {
    for (const count of [0, 1, 5, 300]) {
      const cases = makeCases(count, count + 1);
      const out = await runCasesOnQemuMps2An386(addModel, cases, opts);
      expect(out).toEqual(expectedOutputs(cases));
    }
  });

  it('agrees with the sanitized host build', async () => {
    const cases = makeCases(50, 1234);
    const [host, arm] = await Promise.all([
      runCasesOnHost(addModel, cases, { ...opts, sanitize: true }),
      runCasesOnQemuMps2An386(addModel, cases, opts),
    ]);
    expect(arm).toEqual(host);
  });

  it('builds a cached ELF without stdio or heap, and sizes it', async () => {
    const first = await buildForQemuMps2An386(addModel, opts);
    const again = await buildForQemuMps2An386(addModel, opts);
    expect(again.cached).toBe(true);
    expect(again.binary).toBe(first.binary);
    expect(first.binary).toMatch(/\.elf$/);
    const size = await sizeOf(first.binary);
    expect(size.text).toBeGreaterThan(0);
    expect(size.text).toBeLessThan(16 * 1024);
    expect(size.bss).toBeGreaterThanOrEqual(3 * N);
    const nm = findExecutable('arm-none-eabi-nm');
    if (nm) {
      const r = await execTool(nm, [first.binary]);
      const symbols = new Set(r.stdout.split('\n').map((l) => l.trim().split(/\s+/).pop()));
      for (const s of ['malloc', '_malloc_r', 'printf', 'fopen', '_sbrk', 'Reset_Handler', 'tf_vector_table']) {
        expect(symbols.has(s), s).toBe(s === 'Reset_Handler' || s === 'tf_vector_table');
      }
      expect(r.stdout).toMatch(/^00000000 R tf_vector_table$/m);
      expect(r.stdout).toMatch(/^20400000 [A-Za-z] __StackTop$/m);
    }
  });

  it('reports a non-zero invoke result as exit code 5', async () => {
    const err = await rejection(runCasesOnQemuMps2An386(failModel, makeCases(3, 5), opts));
    expect(err).toBeInstanceOf(ToolError);
    expect(err.message).toMatch(/exit code 5\b/);
    expect(err.message).toContain('invoke');
  });

  it('reports a hard fault as a crash instead of hanging', async () => {
    const started = Date.now();
    const err = await rejection(runCasesOnQemuMps2An386(faultModel, makeCases(1, 5), { ...opts, timeoutMs: 60_000 }));
    expect(err).toBeInstanceOf(ToolError);
    expect(err.message).toMatch(/exit code 10[0-5] \(crash: /);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('kills QEMU on timeout', async () => {
    const err = await rejection(runCasesOnQemuMps2An386(hangModel, makeCases(1, 5), { ...opts, timeoutMs: 2000 }));
    expect(err).toBeInstanceOf(ToolError);
    expect(err.message).toContain('timed out after 2 s');
  });

  it('reports a C compile error with the compiler message', async () => {
    const err = await rejection(runCasesOnQemuMps2An386(brokenModel, makeCases(1, 5), opts));
    expect(err).toBeInstanceOf(ToolError);
    expect(err.message).toContain('arm-none-eabi-gcc');
    expect(err.message).toContain('tf_not_declared_anywhere');
  });
});
