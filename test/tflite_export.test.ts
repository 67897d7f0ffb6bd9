// writeTflite: every shared model (and a pruned one) written back to .tflite reads back to an
// identical IR, and the re-read model compiles to the same C and reproduces TFLite Micro's outputs.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileModel, loadModel, type LoadedModel } from '../compiler/compile.ts';
import { emitSource } from '../compiler/emit-c/emit_module.ts';
import { writeTflite } from '../compiler/export/write_tflite.ts';
import { parseTflite, readTfliteStructure } from '../compiler/frontends/tflite/index.ts';
import type { Graph } from '../compiler/ir/graph.ts';
import { pruneMagnitude } from '../compiler/prune/magnitude.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { loadGolden } from '../compiler/validate/golden.ts';
import { firstDifference, goldenDir, modelPath, SHARED_MODELS } from './helpers/shared.ts';

function reloaded(graph: Graph): LoadedModel {
  const bytes = writeTflite(graph);
  const label = `${graph.name}.tflite`;
  return { path: label, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), graph: parseTflite(bytes, label) };
}

/** The graph with plain Uint8Array data: loadModel's tensors hold Buffer views of the file. */
function plain(g: Graph): Graph {
  return { ...g, tensors: g.tensors.map((t) => (t.data ? { ...t, data: new Uint8Array(t.data) } : t)) };
}

function cSource(m: LoadedModel): string {
  const c = compileModel(m, { prefix: 'm' });
  return emitSource(m.graph, c.calls, c.plan, { prefix: 'm', sourceDescription: 'x', modelSha256: '0', toolVersion: '0' });
}

describe('writeTflite round-trips through the TFLite frontend', () => {
  for (const name of SHARED_MODELS) {
    it(name, () => {
      const original = loadModel(modelPath(name));
      const again = reloaded(original.graph);
      expect(plain(again.graph)).toEqual(plain(original.graph));
      // Operator codes carry both fields; per-channel axes survive.
      const raw = readTfliteStructure(again.bytes, 'x.tflite');
      for (const code of raw.operatorCodes) {
        expect(code.deprecatedBuiltinCode).toBe(Math.min(code.extendedBuiltinCode, 127));
        expect(code.at.builtinCode).toBeDefined();
      }
      expect(cSource(again)).toBe(cSource(original));
      const golden = loadGolden(goldenDir(name));
      const compiled = compileModel(again);
      for (const c of golden.cases.slice(0, 4)) {
        expect(firstDifference(c.expected, runReference(again.graph, compiled.layers, c.inputs)), `case ${c.id}`).toBeUndefined();
      }
    }, 120_000);
  }

  it('a pruned model', () => {
    const original = loadModel(modelPath('ad_autoencoder'));
    const { graph } = pruneMagnitude(original.graph, { sparsity: 0.8, block: [4, 4] });
    const again = reloaded(graph);
    expect(plain(again.graph)).toEqual(plain(graph));
    expect(plain(again.graph)).not.toEqual(plain(original.graph));
    const compiled = compileModel(again);
    expect(compiled.calls.some((c) => c.kind === 'fully_connected_s8_sparse')).toBe(true);
    const golden = loadGolden(goldenDir('ad_autoencoder'));
    const layers = compileModel({ ...original, graph }).layers;
    for (const c of golden.cases.slice(0, 3)) {
      expect(firstDifference(runReference(graph, layers, c.inputs), runReference(again.graph, compiled.layers, c.inputs))).toBeUndefined();
    }
  });

  it('keeps shared buffers shared and per-channel quantization axes', () => {
    const g = loadModel(modelPath('kws_dscnn')).graph;
    const again = parseTflite(writeTflite(g), 'kws_dscnn.tflite');
    const perChannel = again.tensors.filter((t) => (t.quant?.scale.length ?? 0) > 1);
    expect(perChannel.length).toBeGreaterThan(0);
    expect(perChannel.map((t) => t.quant?.axis)).toEqual(g.tensors.filter((t) => (t.quant?.scale.length ?? 0) > 1).map((t) => t.quant?.axis));
    const shared = (x: Graph): number => new Set(x.tensors.map((t) => t.data).filter((d) => d !== undefined)).size;
    expect(shared(again)).toBe(shared(g));
  });
});
