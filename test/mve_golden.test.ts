// The Helium (MVE) kernel layouts (`isa: 'mve'`) against TFLite Micro and the TS reference:
//   1. every shared model compiled for MVE matches ../shared/golden byte for byte on the host
//      (the portable C path of the MVE layouts, -Werror, ASan + UBSan) and on the emulated
//      Cortex-M55 of mps3-an547 (the vector path);
//   2. synthetic layers reach the kernels' other branches (channel tails, rows not a multiple of
//      4 or 16, positive shifts, padding, dilation, strides, batches) on both paths, against the
//      TS reference;
//   3. the vector requantization (VQRDMULH, the negative-value fix-up and VRSHL) equals TFLite's
//      MultiplyByQuantizedMultiplier on edge values, run as a small C program on both paths.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBoard } from '../compiler/boards/load_boards.ts';
import { compileModel, compiledForBoard, isaForBoard, writeCModule, type CompiledModel, type LoadedModel } from '../compiler/compile.ts';
import { BuiltinOp } from '../compiler/frontends/tflite/schema.ts';
import { multiplyByQuantizedMultiplier } from '../compiler/quant/fixed_point.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { ARM_COMMON_CFLAGS, ARM_GCC, ARM_LINK_FLAGS, ARM_SECTION_FLAGS } from '../compiler/targets/qemu_mps2.ts';
import { generateRunnerSource } from '../compiler/targets/runner_source.ts';
import {
  cachedBuild,
  collectRun,
  contentHash,
  encodeCases,
  modelSourceFiles,
  RUNTIME_TEMPLATES_DIR,
  withRunDir,
  type CompiledModuleRef,
} from '../compiler/targets/target.ts';
import { execTool, requireTool, runCompiler, toolVersion } from '../compiler/targets/toolchain.ts';
import { firstDifference, modelPath, SHARED_MODELS, sharedModel } from './helpers/shared.ts';
import { Act, GraphBuilder, loadSynthetic, Pad, perChannel, Prng, q } from './helpers/synthetic_models.ts';
import { addOptions, conv2dOptions, depthwiseOptions, fullyConnectedOptions } from './helpers/tflite_builder.ts';
import { loadModel } from '../compiler/compile.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-mve-test-'));
const AN547 = findBoard('qemu-mps3-an547');
const CORTEX_M_DIR = path.join(RUNTIME_TEMPLATES_DIR, 'cortex-m');

/** Builds the semihosting test-vector runner of `mod` for the Cortex-M55 of mps3-an547 and runs every case in one QEMU process. */
async function runCasesOnAn547(mod: CompiledModuleRef, cases: Uint8Array[][]): Promise<Uint8Array[][]> {
  const gcc = requireTool(ARM_GCC);
  const cflags = [...ARM_COMMON_CFLAGS, ...AN547.toolchain.cflags, ...ARM_SECTION_FLAGS];
  const runnerSource = generateRunnerSource(mod);
  const templates = [path.join(CORTEX_M_DIR, 'io_semihost.c'), path.join(CORTEX_M_DIR, 'startup_cortex_m.c'), path.join(CORTEX_M_DIR, 'mps3_an547.ld')];
  const hash = await contentHash([AN547.id, gcc, await toolVersion(gcc), mod.prefix, ...cflags, runnerSource], [...(await modelSourceFiles(mod)), ...templates]);
  const build = await cachedBuild(workDir, `an547-${mod.prefix}`, hash, 'tf_runner.elf', async (dir) => {
    const runnerC = path.join(dir, 'tf_runner.c');
    await writeFile(runnerC, runnerSource);
    await runCompiler(
      gcc,
      [
        ...cflags,
        '-I', path.resolve(mod.dir),
        '-I', RUNTIME_TEMPLATES_DIR,
        path.resolve(mod.dir, `${mod.prefix}.c`),
        runnerC,
        ...templates.slice(0, 2),
        '-T', templates[2] as string,
        ...ARM_LINK_FLAGS,
        '-o', path.join(dir, 'tf_runner.elf'),
      ],
      `mps3-an547 build of ${mod.prefix}`,
      { cwd: dir, timeoutMs: 600_000 },
    );
  });
  const qemu = requireTool('qemu-system-arm');
  const timeoutMs = 300_000;
  return withRunDir(workDir, encodeCases(mod, cases), async (dir) => {
    const args = ['-M', AN547.emulator?.machine ?? 'mps3-an547', '-nographic', '-monitor', 'none', '-serial', 'null', '-semihosting-config', 'enable=on,target=native', '-kernel', build.binary];
    const r = await execTool(qemu, args, { cwd: dir, timeoutMs });
    return collectRun(`QEMU mps3-an547 run of ${mod.prefix}`, mod, cases.length, path.join(dir, 'tf_out.bin'), r, timeoutMs);
  });
}

function compileMve(model: LoadedModel): CompiledModel {
  return compileModel(model, { isa: 'mve' });
}

const mveModels = new Map<string, CompiledModel>();
function sharedMve(name: (typeof SHARED_MODELS)[number]): CompiledModel {
  let c = mveModels.get(name);
  if (!c) {
    c = compileMve(sharedModel(name).compiled.model);
    mveModels.set(name, c);
  }
  return c;
}

describe('isa option', () => {
  it("selects the Helium layouts for boards with the 'mve' feature and keeps an explicit choice", () => {
    expect(isaForBoard(AN547)).toBe('mve');
    expect(isaForBoard(findBoard('qemu-mps2-an386'))).toBe('dsp');
    const dsp = compileModel(loadModel(modelPath('kws_dscnn')));
    expect(dsp.isa).toBe('dsp');
    const forM55 = compiledForBoard(dsp, AN547);
    expect(forM55.isa).toBe('mve');
    expect(forM55.calls.map((c) => c.kind)).toContain('conv_gemm_s8_mve');
    expect(forM55.calls.map((c) => c.kind)).toContain('depthwise_conv_s8_mve');
    expect(compiledForBoard(forM55, findBoard('qemu-mps2-an386'))).toBe(forM55);
    const explicitDsp = compileModel(dsp.model, { isa: 'dsp' });
    expect(compiledForBoard(explicitDsp, AN547)).toBe(explicitDsp);
  });

  it('packs every conv, depthwise and fully connected layer of the shared models in an MVE layout', () => {
    for (const name of SHARED_MODELS) {
      const c = sharedMve(name);
      for (const call of c.calls) {
        if (call.layer.kernel === 'conv_s8' || call.layer.kernel === 'depthwise_conv_s8' || call.layer.kernel === 'fully_connected_s8') {
          expect(call.kind, `${name}: ${call.layer.kernel}`).toMatch(/_mve$/);
        }
        if (call.layer.kernel === 'add_s8') expect(call.kind === 'generic' && call.variant).toBe('mve');
      }
    }
  });
});

describe('shared models compiled for MVE match TFLite Micro byte for byte', () => {
  for (const name of SHARED_MODELS) {
    it(`${name}: host C (portable path of the MVE layouts) under ASan + UBSan`, async () => {
      const { golden } = sharedModel(name);
      const mod = writeCModule(sharedMve(name), path.join(workDir, 'host', name));
      const actual = await runCasesOnHost(mod, golden.cases.map((c) => c.inputs), { sanitize: true, workDir });
      expect(actual).toHaveLength(golden.cases.length);
      golden.cases.forEach((c, i) => expect(firstDifference(c.expected, actual[i] ?? []), `case ${c.id}`).toBeUndefined());
    });

    it(`${name}: emulated Cortex-M55 (mps3-an547, Helium path)`, async () => {
      const { golden } = sharedModel(name);
      const mod = writeCModule(sharedMve(name), path.join(workDir, 'an547', name));
      const actual = await runCasesOnAn547(mod, golden.cases.map((c) => c.inputs));
      expect(actual).toHaveLength(golden.cases.length);
      golden.cases.forEach((c, i) => expect(firstDifference(c.expected, actual[i] ?? []), `case ${c.id}`).toBeUndefined());
    });
  }
});
