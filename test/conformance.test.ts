// Every op-level conformance variant in ../shared/conformance that tinyforge compiles must match
// TFLite Micro byte for byte: all of them on the TypeScript reference, a sample (or, with
// TINYFORGE_CONFORMANCE=all, all) as host C under ASan/UBSan and on the emulated Cortex-M4.
// Variants tinyforge refuses must be refused with a one-line error, and at least MIN_PASSING must
// compile: the floor only rises as ops land.

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileModel, loadModel, writeCModule, type CompiledModel } from '../compiler/compile.ts';
import { TinyforgeError } from '../compiler/errors.ts';
import { ReferenceState, runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { runCasesOnQemuMps2 } from '../compiler/targets/qemu_mps2.ts';
import { conformanceCases, conformanceSequences, conformanceVariants, type ConformanceVariant } from './helpers/conformance.ts';
import { firstDifference } from './helpers/shared.ts';

/** Variants that compile today; raise it when an op lands. */
const MIN_PASSING = 307;
const ALL = process.env.TINYFORGE_CONFORMANCE === 'all';
const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-conformance-'));

const variants = conformanceVariants();
const compiled = new Map<string, CompiledModel>();
const refused = new Map<string, string>();
for (const v of variants) {
  try {
    compiled.set(v.id, compileModel(loadModel(v.model)));
  } catch (e) {
    if (!(e instanceof TinyforgeError)) throw new Error(`${v.id}: internal error while compiling: ${(e as Error).stack ?? String(e)}`);
    refused.set(v.id, e.message);
  }
}

/** One variant per op in the default run (the first int8 and the first int16 one), all with TINYFORGE_CONFORMANCE=all. */
function sample(list: ConformanceVariant[], perOp: number): ConformanceVariant[] {
  if (ALL) return list;
  const seen = new Map<string, number>();
  return list.filter((v) => {
    const key = `${v.op}:${v.variant.startsWith('int16') ? 16 : 8}`;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    return n < perOp;
  });
}

const passing = variants.filter((v) => compiled.has(v.id) && conformanceCases(v).length > 0);
const sequences = variants.filter((v) => compiled.has(v.id) && conformanceSequences(v).length > 0);

/** All steps of all sequences of a variant, flattened, with keepState marking steps after the first. */
function flattenSequences(v: ConformanceVariant): { inputs: Uint8Array[][]; expected: Uint8Array[][]; ids: string[]; keepState: boolean[] } {
  const steps = conformanceSequences(v).flatMap((s) => s.steps.map((step, t) => ({ step, keep: t > 0 })));
  return { inputs: steps.map((s) => s.step.inputs), expected: steps.map((s) => s.step.expected), ids: steps.map((s) => s.step.id), keepState: steps.map((s) => s.keep) };
}

describe('conformance: op-level TFLite Micro goldens', () => {
  it(`at least ${MIN_PASSING} variants compile; the rest are refused with one-line errors`, () => {
    const summary = [...refused].map(([id, why]) => `${id}: ${why}`).join('\n');
    expect(compiled.size, `refused:\n${summary}`).toBeGreaterThanOrEqual(MIN_PASSING);
    for (const why of refused.values()) expect(why).not.toContain('\n');
  });

  describe('TypeScript reference', () => {
    for (const v of passing) {
      it(v.id, () => {
        const c = compiled.get(v.id) as CompiledModel;
        for (const k of conformanceCases(v)) {
          const actual = runReference(c.model.graph, c.layers, k.inputs);
          expect(firstDifference(k.expected, actual), `case ${k.id}`).toBeUndefined();
        }
      });
    }
  });

  describe('sequences (state carried across invokes)', () => {
    for (const v of sequences) {
      it(`${v.id} on the TypeScript reference`, () => {
        const c = compiled.get(v.id) as CompiledModel;
        for (const seq of conformanceSequences(v)) {
          const state = new ReferenceState(c.model.graph);
          for (const step of seq.steps) expect(firstDifference(step.expected, runReference(c.model.graph, c.layers, step.inputs, state)), step.id).toBeUndefined();
        }
      });
      for (const target of ['host', 'mps2-an386'] as const) {
        it(`${v.id} on ${target === 'host' ? 'host C (ASan + UBSan)' : 'the emulated Cortex-M4'}`, async () => {
          const c = compiled.get(v.id) as CompiledModel;
          const { inputs, expected, ids, keepState } = flattenSequences(v);
          const mod = writeCModule(c, path.join(workDir, `seq-${target}`, v.op, v.variant));
          const actual = target === 'host' ? await runCasesOnHost(mod, inputs, { sanitize: true, workDir, keepState }) : await runCasesOnQemuMps2(target, mod, inputs, { workDir, keepState });
          expected.forEach((e, i) => expect(firstDifference(e, actual[i] ?? []), ids[i]).toBeUndefined());
        });
      }
    }
  });

  describe('host C, ASan + UBSan', () => {
    for (const v of sample(passing, 1)) {
      it(v.id, async () => {
        const c = compiled.get(v.id) as CompiledModel;
        const cases = conformanceCases(v);
        const mod = writeCModule(c, path.join(workDir, 'host', v.op, v.variant));
        const actual = await runCasesOnHost(mod, cases.map((k) => k.inputs), { sanitize: true, workDir });
        cases.forEach((k, i) => expect(firstDifference(k.expected, actual[i] ?? []), `case ${k.id}`).toBeUndefined());
      });
    }
  });

  describe('emulated Cortex-M4 (mps2-an386)', () => {
    for (const v of ALL ? passing : sample(passing, 1).filter((_, i) => i % 4 === 0)) {
      it(v.id, async () => {
        const c = compiled.get(v.id) as CompiledModel;
        const cases = conformanceCases(v);
        const mod = writeCModule(c, path.join(workDir, 'm4', v.op, v.variant));
        const actual = await runCasesOnQemuMps2('mps2-an386', mod, cases.map((k) => k.inputs), { workDir });
        cases.forEach((k, i) => expect(firstDifference(k.expected, actual[i] ?? []), `case ${k.id}`).toBeUndefined());
      });
    }
  });
});
