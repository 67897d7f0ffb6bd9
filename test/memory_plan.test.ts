import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../compiler/passes/lower.ts';
import { ARENA_ALIGNMENT, lifetimesOverlap, planMemory } from '../compiler/passes/memory_plan.ts';
import type { Graph } from '../compiler/ir/graph.ts';
import { compileModel, loadModel } from '../compiler/compile.ts';
import { modelPath, SHARED_MODELS, sharedModel } from './helpers/shared.ts';

describe('memory planner', () => {
  for (const name of SHARED_MODELS) {
    it(`${name}: tensors live at the same time never share bytes; arena >= lower bound`, () => {
      const compiled = compileModel(loadModel(modelPath(name)), { inPlace: false });
      const plan = compiled.plan;
      const arena = plan.buffers.filter((b) => b.storage.kind === 'arena');
      expect(arena.length).toBeGreaterThan(0);
      for (const a of arena) {
        const offA = a.storage.kind === 'arena' ? a.storage.offset : -1;
        expect(offA % ARENA_ALIGNMENT).toBe(0);
        expect(offA + a.bytes).toBeLessThanOrEqual(plan.arenaBytes);
        for (const b of arena) {
          if (a === b || !lifetimesOverlap(a, b)) continue;
          const offB = b.storage.kind === 'arena' ? b.storage.offset : -1;
          const disjoint = offA + a.bytes <= offB || offB + b.bytes <= offA;
          expect(disjoint, `tensors ${a.tensors} and ${b.tensors} overlap`).toBe(true);
        }
      }
      expect(plan.arenaBytes).toBeGreaterThanOrEqual(plan.lowerBound);
      // Within alignment padding of the bound on these chain-shaped graphs.
      expect(plan.arenaBytes).toBeLessThanOrEqual(plan.lowerBound + ARENA_ALIGNMENT * arena.length);
      // Every activation a layer touches has storage.
      for (const l of compiled.layers) for (const id of [...l.inputs, ...l.outputs]) expect(plan.storageOf.has(id), `tensor ${id}`).toBe(true);
    });
  }

  for (const name of SHARED_MODELS) {
    it(`${name}: with in-place layers, only a layer's dying input and its output ever share bytes`, () => {
      const { plan, layers } = sharedModel(name).compiled;
      const arena = plan.buffers.filter((b) => b.storage.kind === 'arena');
      const inPlacePairs = new Set(
        plan.inPlaceLayers.flatMap((i) => (layers[i]?.inputs ?? []).map((input) => `${input}>${layers[i]?.outputs[0]}@${i}`)),
      );
      for (const a of arena) {
        for (const b of arena) {
          if (a === b || !lifetimesOverlap(a, b)) continue;
          const offA = a.storage.kind === 'arena' ? a.storage.offset : -1;
          const offB = b.storage.kind === 'arena' ? b.storage.offset : -1;
          if (offA + a.bytes <= offB || offB + b.bytes <= offA) continue;
          // Overlap is legal only for an in-place layer's input (dying there) and output (born there).
          const step = a.lastUse;
          const legal = a.lastUse === b.firstUse && a.tensors.some((x) => b.tensors.some((y) => inPlacePairs.has(`${x}>${y}@${step}`)));
          const legalReverse = b.lastUse === a.firstUse && b.tensors.some((x) => a.tensors.some((y) => inPlacePairs.has(`${x}>${y}@${b.lastUse}`)));
          expect(legal || legalReverse, `tensors ${a.tensors} and ${b.tensors} overlap`).toBe(true);
        }
      }
    });
  }

  it('lets a reshape share its input buffer; inputs live in the arena unless asked otherwise, outputs never', () => {
    const compiled = compileModel(loadModel(modelPath('micro_speech')), { inputsInArena: false });
    const graph = compiled.model.graph;
    const reshape = compiled.layers.find((l) => l.kernel === 'reshape');
    expect(reshape).toBeDefined();
    const s = compiled.plan.storageOf;
    expect(s.get(reshape?.outputs[0] as number)).toEqual(s.get(reshape?.inputs[0] as number));
    expect(s.get(graph.inputs[0] as number)).toEqual({ kind: 'input', index: 0 });
    expect(s.get(graph.outputs[0] as number)).toEqual({ kind: 'output', index: 0 });
    const inArena = sharedModel('micro_speech').compiled;
    expect(inArena.plan.storageOf.get(graph.inputs[0] as number)?.kind).toBe('arena');
    expect(inArena.plan.storageOf.get(graph.outputs[0] as number)).toEqual({ kind: 'output', index: 0 });
  });

  it('does not merge a graph input and a graph output through a reshape', () => {
    const graph: Graph = {
      name: 'reshape_only',
      tensors: [
        { id: 0, name: 'in', shape: [1, 4], dtype: 'int8', quant: { scale: [1], zeroPoint: [0], axis: 0 } },
        { id: 1, name: 'out', shape: [2, 2], dtype: 'int8', quant: { scale: [1], zeroPoint: [0], axis: 0 } },
      ],
      ops: [{ kind: 'reshape', sourceIndex: 0, inputs: [0], outputs: [1], attrs: { newShape: [2, 2] } }],
      inputs: [0],
      outputs: [1],
    };
    const plan = planMemory(graph, lowerGraph(graph));
    expect(plan.storageOf.get(0)).toEqual({ kind: 'input', index: 0 });
    expect(plan.storageOf.get(1)).toEqual({ kind: 'output', index: 0 });
    expect(plan.arenaBytes).toBe(0);
  });
});
