// The emitted C, compiled for the host with -Werror and ASan+UBSan, against TFLite Micro's outputs.

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeCModule } from '../compiler/compile.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { firstDifference, SHARED_MODELS, sharedModel } from './helpers/shared.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-host-test-'));

describe('host C (-O2 -Wall -Wextra -Werror, ASan + UBSan) matches TFLite Micro byte for byte', () => {
  for (const name of SHARED_MODELS) {
    it(name, async () => {
      const { compiled, golden } = sharedModel(name);
      const mod = writeCModule(compiled, path.join(workDir, 'modules', name));
      const actual = await runCasesOnHost(mod, golden.cases.map((c) => c.inputs), { sanitize: true, workDir });
      expect(actual).toHaveLength(golden.cases.length);
      golden.cases.forEach((c, i) => {
        expect(firstDifference(c.expected, actual[i] ?? []), `case ${c.id}`).toBeUndefined();
      });
    });
  }
});
