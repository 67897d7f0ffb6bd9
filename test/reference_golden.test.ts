// The TS reference kernels against TFLite Micro's outputs, every case of every shared model.

import { describe, expect, it } from 'vitest';
import { runReference } from '../compiler/reference/run_reference.ts';
import { firstDifference, SHARED_MODELS, sharedModel } from './helpers/shared.ts';

describe('TS reference matches TFLite Micro byte for byte', () => {
  for (const name of SHARED_MODELS) {
    it(name, () => {
      const { compiled, golden } = sharedModel(name);
      expect(golden.cases.length).toBeGreaterThan(0);
      for (const c of golden.cases) {
        const actual = runReference(compiled.model.graph, compiled.layers, c.inputs);
        expect(firstDifference(c.expected, actual), `case ${c.id}`).toBeUndefined();
      }
    });
  }
});
