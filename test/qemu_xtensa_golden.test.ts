// The emitted C cross-compiled for the Xtensa lx106 (call0 ABI, no MAC16 / high multiply / FPU:
// 64-bit products and float go through our libgcc helpers) and run in qemu-system-xtensa -M sim,
// against TFLite Micro's outputs. The lx106 faults on misaligned 16/32-bit loads and stores, which
// Cortex-M allows, so this also proves the kernels never make one on these models.
//
// Default: the six shared models and a corpus sample (int8 I/O, float I/O through the soft-float
// helpers, resource variables with their first-invoke golden and 20-step sequences).
// TINYFORGE_CORPUS=all: every compiling corpus model with a golden folder.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCModule } from '../compiler/compile.ts';
import { runCasesOnQemuXtensa } from '../compiler/targets/qemu_xtensa.ts';
import { loadGolden, type GoldenSet } from '../compiler/validate/golden.ts';
import { attemptCompile, CORPUS_DIR, CORPUS_GOLDEN_DIR, corpusModelsWithGolden } from './helpers/corpus.ts';
import { firstDifference, SHARED_MODELS, sharedModel } from './helpers/shared.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-xtensa-test-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const CORPUS_SAMPLE = [
  'mltk__keyword_spotting_on_off_v3',
  'mlperftiny__str_ww_ref_model',
  // resource variables: first-invoke golden plus 20-step sequences
  'mww__v1_alexa_v2',
  // float inputs and outputs: QUANTIZE / DEQUANTIZE through the soft-float helpers
  'armkws__ds_cnn_s_quantized',
  'mlperftiny__model_ToyCar_quant_fullint',
] as const;

describe('emulated Xtensa lx106 (qemu-xtensa-lx106) matches TFLite Micro byte for byte: shared models', () => {
  for (const name of SHARED_MODELS) {
    it(name, async () => {
      const { compiled, golden } = sharedModel(name);
      const mod = writeCModule(compiled, path.join(workDir, 'modules', name));
      const actual = await runCasesOnQemuXtensa(mod, golden.cases.map((c) => c.inputs), { workDir });
      expect(actual).toHaveLength(golden.cases.length);
      golden.cases.forEach((c, i) => {
        expect(firstDifference(c.expected, actual[i] ?? []), `case ${c.id}`).toBeUndefined();
      });
    });
  }
});

const stems = process.env.TINYFORGE_CORPUS === 'all' ? corpusModelsWithGolden() : [...CORPUS_SAMPLE];

describe('emulated Xtensa lx106 matches TFLite Micro byte for byte: corpus models', () => {
  for (const stem of stems) {
    it(stem, async (ctx) => {
      const a = attemptCompile(stem);
      if (a.dsp === undefined) {
        // The default sample must compile; the full run lists the others as skipped.
        expect(CORPUS_SAMPLE as readonly string[], `${stem} does not compile: ${a.reason}`).not.toContain(stem);
        ctx.skip(`does not compile: ${a.reason}`);
        return;
      }
      const first = loadGolden(`${CORPUS_GOLDEN_DIR}${stem}`);
      const seqDir = `${CORPUS_DIR}seqgolden/${stem}`;
      const golden: GoldenSet = existsSync(`${seqDir}/manifest.json`) ? { ...first, cases: [...first.cases, ...loadGolden(seqDir).cases] } : first;
      const mod = writeCModule(a.dsp, path.join(workDir, 'corpus', stem));
      const actual = await runCasesOnQemuXtensa(mod, golden.cases.map((c) => c.inputs), {
        workDir,
        keepState: golden.cases.map((c) => c.keepState === true),
        timeoutMs: 900_000,
      });
      golden.cases.forEach((c, i) => {
        expect(firstDifference(c.expected, actual[i] ?? []), `case ${c.id}`).toBeUndefined();
      });
    }, 1_800_000);
  }
});
