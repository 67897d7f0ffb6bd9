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
import { BuiltinOp } from '../../compiler/frontends/tflite/schema.ts';
import { firstDifference } from './shared.ts';
import { Act, GraphBuilder, loadSynthetic, Pad, perChannel, Prng, q } from './synthetic_models.ts';
import { conv2dOptions } from './tflite_builder.ts';

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

/** A one-conv model: input [1, h, w, inC], filter [outC, kH, kW, inC] from `weights`. */
export function convModel(
  name: string,
  o: { h: number; w: number; inC: number; outC: number; kH: number; kW: number; padding: number; stride: number; dilation?: number; act?: number },
  weights: (oc: number, i: number) => number,
): LoadedModel {
  const p = new Prng(name.length * 7 + o.outC);
  const g = new GraphBuilder();
  const k = o.kH * o.kW * o.inC;
  const x = g.tensor('x', [1, o.h, o.w, o.inC], q(0.02, -3));
  const w = g.int8Constant(
    'w',
    [o.outC, o.kH, o.kW, o.inC],
    Array.from({ length: o.outC * k }, (_, j) => weights(Math.floor(j / k), j % k)),
    perChannel(Array.from({ length: o.outC }, (_, c) => 0.002 + 0.0005 * c), 0),
  );
  const b = g.int32Constant('b', [o.outC], p.ints(o.outC, -3000, 3000));
  const d = o.dilation ?? 1;
  const span = (n: number, kk: number): number => (o.padding === Pad.SAME ? Math.ceil(n / o.stride) : Math.floor((n - (kk - 1) * d - 1) / o.stride) + 1);
  const y = g.tensor('y', [1, span(o.h, o.kH), span(o.w, o.kW), o.outC], q(0.05, 4));
  g.op(BuiltinOp.CONV_2D, [x, w, b], [y], conv2dOptions({ padding: o.padding, strideH: o.stride, strideW: o.stride, dilationH: d, dilationW: d, act: o.act ?? Act.NONE }));
  return loadSynthetic(name, g.build([x], [y]));
}
