// The emitted C cross-compiled for Cortex-M4 and run in qemu-system-arm -M mps2-an386,
// against TFLite Micro's outputs.

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeCModule } from '../compiler/compile.ts';
import { runCasesOnQemuMps2An386 } from '../compiler/targets/qemu_mps2.ts';
import { firstDifference, SHARED_MODELS, sharedModel } from './helpers/shared.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-qemu-test-'));

describe('emulated Cortex-M4 (mps2-an386) matches TFLite Micro byte for byte', () => {
  for (const name of SHARED_MODELS) {
    it(name, async () => {
      const { compiled, golden } = sharedModel(name);
      const mod = writeCModule(compiled, path.join(workDir, 'modules', name));
      const actual = await runCasesOnQemuMps2An386(mod, golden.cases.map((c) => c.inputs), { workDir });
      expect(actual).toHaveLength(golden.cases.length);
      golden.cases.forEach((c, i) => {
        expect(firstDifference(c.expected, actual[i] ?? []), `case ${c.id}`).toBeUndefined();
      });
    });
  }
});
