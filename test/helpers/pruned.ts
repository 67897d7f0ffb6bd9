// Helpers of the pruning suites: a pruned graph as a model of its own, and the bit-exact check of
// a compiled model on the host and the emulated boards against the TS reference.

import { createHash } from 'node:crypto';
import path from 'node:path';
import { expect } from 'vitest';
import { writeCModule, type CompiledModel, type LoadedModel } from '../../compiler/compile.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { runReference } from '../../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../../compiler/targets/host.ts';
import { runCasesOnQemuMps2, type Mps2BoardName } from '../../compiler/targets/qemu_mps2.ts';
import { randomInputs } from '../../compiler/validate/random_cases.ts';
import { firstDifference } from './shared.ts';

/** `base` with `graph` in place of its own; the hash (build cache key) covers the new weights. */
export function loadedWith(base: LoadedModel, graph: Graph, tag: string): LoadedModel {
  const h = createHash('sha256').update(base.sha256).update(tag);
  for (const t of graph.tensors) if (t.data) h.update(t.data);
  return { ...base, graph, sha256: h.digest('hex') };
}

export type Target = 'host' | Mps2BoardName;

/**
 * Runs `count` random cases (seeds from `seed`) through the TS reference on `graph` and through
 * the compiled C on each target (host: ASan + UBSan), and expects the same bytes everywhere.
 */
export async function expectBitExact(compiled: CompiledModel, graph: Graph, targets: readonly Target[], workDir: string, count = 4, seed = 100): Promise<void> {
  const cases = Array.from({ length: count }, (_, k) => randomInputs(compiled.summary.inputs, seed + k));
  const expected = cases.map((inputs) => runReference(graph, compiled.layers, inputs));
  const mod = writeCModule(compiled, path.join(workDir, 'modules', `${compiled.prefix}-${compiled.model.sha256.slice(0, 12)}`));
  for (const target of targets) {
    const actual = target === 'host' ? await runCasesOnHost(mod, cases, { sanitize: true, workDir }) : await runCasesOnQemuMps2(target, mod, cases, { workDir });
    expected.forEach((e, i) => expect(firstDifference(e, actual[i] ?? []), `${compiled.prefix} on ${target}, case ${i}`).toBeUndefined());
  }
}
