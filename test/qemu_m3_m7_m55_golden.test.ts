// The same golden check as the Cortex-M4 suite on the emulated Cortex-M3 (mps2-an385: no DSP
// extension, so the kernels' portable paths run on Arm), Cortex-M7 (mps2-an500) and Cortex-M55
// (mps3-an547, another memory map).

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeCModule } from '../compiler/compile.ts';
import { runCasesOnQemuMps2, type Mps2BoardName } from '../compiler/targets/qemu_mps2.ts';
import { firstDifference, SHARED_MODELS, sharedModel } from './helpers/shared.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-qemu-m3-m7-m55-'));

for (const board of ['mps2-an385', 'mps2-an500', 'mps3-an547'] as const satisfies readonly Mps2BoardName[]) {
  describe(`emulated ${board} matches TFLite Micro byte for byte`, () => {
    for (const name of SHARED_MODELS) {
      it(name, async () => {
        const { compiled, golden } = sharedModel(name);
        const mod = writeCModule(compiled, path.join(workDir, 'modules', name));
        const actual = await runCasesOnQemuMps2(board, mod, golden.cases.map((c) => c.inputs), { workDir });
        expect(actual).toHaveLength(golden.cases.length);
        golden.cases.forEach((c, i) => {
          expect(firstDifference(c.expected, actual[i] ?? []), `case ${c.id}`).toBeUndefined();
        });
      });
    }
  });
}
