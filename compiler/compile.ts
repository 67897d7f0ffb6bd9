// The compile pipeline: model file -> IR -> lowered layers -> memory plan -> C module.

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { emitHeadHeader, emitHeadSource, frozenPrefix } from './adapt/emit_head.ts';
import { headRamBytes, headSaveBytes } from './adapt/head_reference.ts';
import { splitAtLastFullyConnected, type AdaptOptions, type HeadSpec } from './adapt/split_head.ts';
import { callFlashBytes } from './boards/fit.ts';
import { cIdentifier, prefixProblem } from './emit-c/c_literals.ts';
import { emitHeader, emitSource, ioCType } from './emit-c/emit_module.ts';
import { ModelError, TinyforgeError } from './errors.ts';
import { ensureOutputDir, fileSystemError } from './output_paths.ts';
import { parseTflite } from './frontends/tflite/index.ts';
import { DTYPE_BYTES, elementCount, type Graph, type Tensor } from './ir/graph.ts';
import type { Layer } from './ir/layers.ts';
import { checkAccumulators } from './passes/check_accumulators.ts';
import { foldConstants } from './passes/fold_constants.ts';
import { lowerGraph, opDisplayName } from './passes/lower.ts';
import { inPlaceCandidates } from './passes/in_place.ts';
import type { ArenaRegion, RegionArena } from './ir/memory_regions.ts';
import { planMemory, type InPlaceCandidate, type MemoryPlan, type PlanOptions } from './passes/memory_plan.ts';
import { int4PackingFor, selectKernels, widenBudgetFor, type Isa, type KernelCall, type KernelMode, type OptimizeGoal } from './passes/select_kernels.ts';
import { TOOL_VERSION } from './version.ts';

export interface LoadedModel {
  path: string;
  bytes: Uint8Array;
  sha256: string;
  graph: Graph;
}

export function loadModel(file: string): LoadedModel {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelError(file, code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a model file' : `cannot read: ${code ?? String(e)}`);
  }
  const graph = foldConstants(parseTflite(bytes, file));
  return { path: file, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), graph };
}

/**
 * In-place chains pin buffers to each other, which can also cost memory. Try none, all, and
 * greedy additions and removals of in-place layers; keep the smallest arena.
 */
function planWithInPlace(graph: Graph, layers: Layer[], base: PlanOptions): MemoryPlan {
  const candidates = inPlaceCandidates(graph, layers);
  // The in-place set is chosen on one arena (cheap); a region split is then planned once with it.
  const { regions, ...single } = base;
  const sets = new Map<MemoryPlan, InPlaceCandidate[]>();
  const plan = (set: InPlaceCandidate[]): MemoryPlan => {
    const p = planMemory(graph, layers, { ...single, inPlace: set });
    sets.set(p, set);
    return p;
  };
  const plans: MemoryPlan[] = [plan([]), plan(candidates)];
  let added: InPlaceCandidate[] = [];
  let addedPlan = plans[0] as MemoryPlan;
  for (const c of candidates) {
    const trial = plan([...added, c]);
    if (trial.arenaBytes <= addedPlan.arenaBytes) [added, addedPlan] = [[...added, c], trial];
  }
  let kept = candidates;
  let keptPlan = plans[1] as MemoryPlan;
  for (const c of candidates) {
    const without = kept.filter((k) => k !== c);
    const trial = plan(without);
    if (trial.arenaBytes <= keptPlan.arenaBytes) [kept, keptPlan] = [without, trial];
  }
  plans.push(addedPlan, keptPlan);
  const best = plans.reduce((b, p) => (p.arenaBytes < b.arenaBytes ? p : b));
  return regions === undefined || regions.length === 0 ? best : planMemory(graph, layers, { ...base, inPlace: sets.get(best) ?? [] });
}

export interface IoSummary {
  name: string;
  dtype: string;
  shape: number[];
  bytes: number;
  scale: number | null;
  zeroPoint: number | null;
}

export interface LayerSummary {
  index: number;
  op: string;
  kernel: string;
  outputShape: number[];
  macs: number;
  /** Weights and biases as the model stores them. */
  weightBytes: number;
  /** The layer's constants as the generated C lays them out (sparse, widened, with requantization tables). */
  flashBytes: number;
}

export interface CompileSummary {
  model: string;
  prefix: string;
  ops: number;
  opCounts: Record<string, number>;
  macs: number;
  weightBytes: number;
  /** Sum of the layers' flashBytes. */
  flashBytes: number;
  arenaBytes: number;
  /** Persistent state (resource variables, recurrent state), outside the arena. */
  stateBytes: number;
  arenaLowerBound: number;
  /** The arena split across the board's RAM regions, fastest first (only when compiled with regions). */
  arenaRegions?: RegionArena[];
  /** Layers that write their output over their dying input (why the arena can beat the bound). */
  inPlaceLayers: number[];
  inputs: IoSummary[];
  outputs: IoSummary[];
  layers: LayerSummary[];
  /** With `adapt`: the learnable head that replaced the last FULLY_CONNECTED (its output is `outputs[0]`). */
  head?: HeadSummary;
}

export interface HeadSummary extends HeadSpec {
  /** RAM of the head's state: counts, int32 sums, int8 weights, int32 biases, the embedding; with SGD the replay ring and working weights. */
  ramBytes: number;
  /** Bytes of a saved head (`<prefix>_save`): what keeping it in flash costs. */
  saveBytes: number;
}

export interface CompiledModel {
  model: LoadedModel;
  /** The options it was compiled with (to recompile it for another board). */
  options: CompileOptions;
  /** The instruction set its kernel data layouts are prepared for. */
  isa: Isa;
  layers: Layer[];
  calls: KernelCall[];
  plan: MemoryPlan;
  prefix: string;
  summary: CompileSummary;
  /** With `adapt`: the head that follows the frozen graph (`model.graph` is then the frozen part). */
  head?: HeadSpec;
  /** With `adapt`: the model as loaded, before the split (what a recompile starts from). */
  unsplit?: LoadedModel;
}

function constantBytes(graph: Graph, id: number): number {
  const t = id >= 0 ? graph.tensors[id] : undefined;
  return t?.data?.byteLength ?? 0;
}

function layerWeightBytes(graph: Graph, l: Layer): number {
  if ('weights' in l) return constantBytes(graph, l.weights) + constantBytes(graph, l.bias);
  if (l.kernel === 'module') return (l.constants ?? []).reduce((s, id) => s + constantBytes(graph, id), 0);
  return 0;
}

function ioSummary(t: Tensor): IoSummary {
  return {
    name: t.name,
    dtype: t.dtype,
    shape: [...t.shape],
    bytes: elementCount(t.shape) * DTYPE_BYTES[t.dtype],
    scale: t.quant?.scale[0] ?? null,
    zeroPoint: t.quant?.zeroPoint[0] ?? null,
  };
}

export interface CompileOptions {
  prefix?: string;
  /** 'optimized' (default) picks specialised kernels; 'portable' keeps the reference-style ones. */
  kernels?: KernelMode;
  /** Let streaming layers write over their dying input (default true). */
  inPlace?: boolean;
  /** Plan graph inputs inside the arena so their bytes are reused (default true). */
  inputsInArena?: boolean;
  /**
   * Kernel data layouts for 'dsp' (Cortex-M4/M7/M33, the default) or 'mve' (Cortex-M55 Helium).
   * Both run on any target (each kernel keeps a portable C path); see isaForBoard.
   */
  isa?: Isa;
  /**
   * Sparse layouts for convolutions and fully connected layers with zero blocks, where the cost
   * model says they pay (default true); false keeps every layer dense, for comparisons.
   */
  sparse?: boolean;
  /**
   * Flash against speed on the DSP layouts: 'balanced' (default) widens the filters that gain most
   * to int16 within a budget of an eighth of the weights plus 16 KiB, 'speed' widens every GEMM
   * filter (more flash than TFLite Micro on weight-heavy models), 'size' none.
   */
  optimize?: OptimizeGoal;
  /**
   * Turn the last FULLY_CONNECTED into a head learned on the device (`<prefix>_enroll`); the
   * compiled graph is then the frozen part up to the embedding.
   */
  adapt?: AdaptOptions;
  /**
   * RAM regions to split the arena across, hottest buffers in the fastest region that fits
   * (boards/regions.ts arenaRegionsFor gives a board's). Absent: one arena in the default RAM.
   */
  regions?: readonly ArenaRegion[];
}

/** The kernel layouts that suit a board: 'mve' when its features include "mve", else 'dsp'. */
export function isaForBoard(board: { features: readonly string[] }): Isa {
  return board.features.includes('mve') ? 'mve' : 'dsp';
}

/**
 * `compiled` for building on `board`: recompiled with the board's ISA when it was compiled
 * without an explicit `isa` for a different one; an explicit choice is kept.
 */
export function compiledForBoard(compiled: CompiledModel, board: { features: readonly string[] }): CompiledModel {
  if (compiled.options.isa !== undefined) return compiled;
  const isa = isaForBoard(board);
  return isa === compiled.isa ? compiled : compileModel(compiled.unsplit ?? compiled.model, { ...compiled.options, prefix: compiled.prefix, isa });
}

export function compileModel(model: LoadedModel, options: CompileOptions | string = {}): CompiledModel {
  const opts: CompileOptions = typeof options === 'string' ? { prefix: options } : options;
  const prefix = opts.prefix;
  // The prefix names the files written into --out and every C symbol: checked like the config file's.
  const problem = prefix === undefined ? undefined : prefixProblem(prefix);
  if (problem !== undefined) throw new TinyforgeError(`--prefix '${prefix}' ${problem}`);
  const unsplit = model;
  const split = opts.adapt ? splitAtLastFullyConnected(model.graph, model.path, opts.adapt) : undefined;
  if (split) model = { ...model, graph: split.frozen };
  const graph = model.graph;
  const layers = lowerGraph(graph);
  checkAccumulators(graph, layers);
  const isa = opts.isa ?? 'dsp';
  const calls = selectKernels(graph, layers, opts.kernels ?? 'optimized', {
    isa,
    ...(opts.sparse === false ? { sparse: false } : {}),
    widenBudgetBytes: widenBudgetFor(opts.optimize ?? 'balanced', graph, layers),
    int4Packing: int4PackingFor(opts.optimize ?? 'balanced'),
  });
  const planOptions: PlanOptions = {
    scratchBytes: calls.map((c) => c.scratchBytes),
    inputsInArena: opts.inputsInArena ?? true,
    ...(opts.regions === undefined ? {} : { regions: opts.regions }),
  };
  const plan = (opts.inPlace ?? true) ? planWithInPlace(graph, layers, planOptions) : planMemory(graph, layers, planOptions);
  const opCounts: Record<string, number> = {};
  for (const op of graph.ops) opCounts[opDisplayName(op)] = (opCounts[opDisplayName(op)] ?? 0) + 1;
  const counted = new Set<number>();
  const layerSummaries = layers.map((l, index) => ({
    index,
    op: opDisplayName(graph.ops[index] as Graph['ops'][number]),
    kernel: l.kernel === 'module' ? l.displayKernel : calls[index]?.kind === 'generic' ? l.kernel : (calls[index]?.kind ?? l.kernel),
    outputShape: [...((graph.tensors[l.outputs[0] as number] as Tensor).shape)],
    macs: l.macs,
    weightBytes: layerWeightBytes(graph, l),
    flashBytes: callFlashBytes(calls[index] as KernelCall, graph, counted),
  }));
  const summary: CompileSummary = {
    model: path.basename(model.path),
    prefix: prefix ?? cIdentifier(graph.name),
    ops: graph.ops.length,
    opCounts,
    macs: layers.reduce((s, l) => s + l.macs, 0),
    weightBytes: layerSummaries.reduce((s, l) => s + l.weightBytes, 0),
    flashBytes: layerSummaries.reduce((s, l) => s + l.flashBytes, 0),
    arenaBytes: plan.arenaBytes,
    stateBytes: plan.stateBytes,
    arenaLowerBound: plan.lowerBound,
    ...(plan.regions.length > 0 ? { arenaRegions: plan.regions } : {}),
    inPlaceLayers: plan.inPlaceLayers,
    inputs: graph.inputs.map((id) => ioSummary(graph.tensors[id] as Tensor)),
    outputs: split
      ? [{ name: 'class_scores', dtype: 'int32', shape: [1, split.head.classes], bytes: 4 * split.head.classes, scale: null, zeroPoint: null }]
      : graph.outputs.map((id) => ioSummary(graph.tensors[id] as Tensor)),
    layers: layerSummaries,
    ...(split ? { head: { ...split.head, ramBytes: headRamBytes(split.head), saveBytes: headSaveBytes(split.head) } } : {}),
  };
  return { model, options: { ...opts }, isa, layers, calls, plan, prefix: summary.prefix, summary, ...(split ? { head: split.head, unsplit } : {}) };
}

export interface WrittenModule {
  dir: string;
  prefix: string;
  files: string[];
  inputBytes: number[];
  outputBytes: number[];
}

export function writeCModule(compiled: CompiledModel, outDir: string): WrittenModule {
  const opts = {
    prefix: compiled.prefix,
    sourceDescription: path.basename(compiled.model.path),
    modelSha256: compiled.model.sha256,
    toolVersion: TOOL_VERSION,
    ...(compiled.options.regions === undefined ? {} : { regions: compiled.options.regions }),
  };
  const graph = compiled.model.graph;
  ensureOutputDir(outDir, '--out');
  const header = path.join(outDir, `${compiled.prefix}.h`);
  const source = path.join(outDir, `${compiled.prefix}.c`);
  const texts: [string, string][] = [];
  if (compiled.head) {
    // The frozen part under <prefix>_frozen_*, then the head, in one source file.
    const frozen = { ...opts, prefix: frozenPrefix(compiled.prefix) };
    const input = graph.tensors[graph.inputs[0] as number] as Tensor;
    const io = { inputCType: ioCType(input), inputBytes: compiled.summary.inputs[0]?.bytes ?? 0 };
    texts.push(
      [header, emitHeadHeader(compiled.head, io, opts)],
      [source, emitSource(graph, compiled.calls, compiled.plan, frozen) + emitHeadSource(compiled.head, io, opts)],
      [path.join(outDir, `${frozen.prefix}.h`), emitHeader(graph, compiled.plan, frozen)],
    );
  } else {
    texts.push([header, emitHeader(graph, compiled.plan, opts)], [source, emitSource(graph, compiled.calls, compiled.plan, opts)]);
  }
  for (const [file, text] of texts) {
    try {
      writeFileSync(file, text);
    } catch (e) {
      throw fileSystemError('--out', file, e);
    }
  }
  const files = texts.map(([file]) => file);
  return {
    dir: outDir,
    prefix: compiled.prefix,
    files,
    inputBytes: compiled.summary.inputs.map((i) => i.bytes),
    outputBytes: compiled.summary.outputs.map((o) => o.bytes),
  };
}
