// The numbers behind `tinyforge report`: a plain, JSON-serialisable object computed from a compiled
// model, a board and (optionally) a per-layer cycle profile. The HTML renderer only formats it, so
// everything a report shows can be tested without a browser.

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Board } from '../boards/board_schema.ts';
import { estimateFootprint } from '../boards/fit.ts';
import type { CompiledModel, IoSummary } from '../compile.ts';
import { TinyforgeError } from '../errors.ts';
import { DTYPE_BYTES, type Graph, type Tensor } from '../ir/graph.ts';
import type { Layer } from '../ir/layers.ts';
import { TOOL_VERSION } from '../version.ts';
import type { CountUnit } from '../boards/counting.ts';

/**
 * Counts measured per layer by a profiling build on a device (validate --profile-out): core cycles
 * on real boards, instructions on QEMU boards (which model no cycles).
 */
export interface LayerProfile {
  unit: CountUnit;
  layers: Array<{ index: number; count: number }>;
}

const count = z.number().nonnegative().finite();
// Each layer carries its count under the unit's name; files without a unit are cycle profiles.
const profileSchema = z.discriminatedUnion('unit', [
  z.object({ unit: z.literal('cycles'), layers: z.array(z.object({ index: z.number().int().nonnegative(), cycles: count }).passthrough()) }).passthrough(),
  z.object({ unit: z.literal('instructions'), layers: z.array(z.object({ index: z.number().int().nonnegative(), instructions: count }).passthrough()) }).passthrough(),
]);

export interface ReportIo extends IoSummary {
  direction: 'input' | 'output';
  index: number;
}

export interface ReportLayer {
  index: number;
  op: string;
  kernel: string;
  /** Filter geometry and strides, e.g. "10x4 s2,2"; '' for layers without one. */
  filter: string;
  outputShape: number[];
  macs: number;
  weightBytes: number;
  /** The layer's constants as the generated C lays them out (widened, sparse, requantization tables). */
  flashBytes: number;
  /** Elements of the weight tensor (0 for layers without weights). */
  weightCount: number;
  zeroWeights: number;
  /** Fraction of weight elements that are zero; null for layers without weights. */
  sparsity: number | null;
  /** Arena bytes live while this layer runs (its inputs, outputs, scratch and everything kept for later). */
  liveArenaBytes: number;
  /** The output was placed over the layer's dying input. */
  inPlace: boolean;
  /** From the profile, when one was given and lists this layer. */
  /** Instructions or cycles (the profile's unit) from the profile, when one was given and lists this layer. */
  count: number | null;
}

export interface ReportTensorRef {
  id: number;
  name: string;
  shape: number[];
  dtype: string;
}

export interface ReportArenaBuffer {
  /** Position in the memory plan's buffer list. */
  planIndex: number;
  kind: 'activation' | 'scratch';
  /** The tensors sharing this storage (a reshape aliases its input); empty for scratch. */
  tensors: ReportTensorRef[];
  /** Layer whose scratch space this is. */
  scratchFor: number | null;
  /** Human-readable name: tensor names, or "scratch of layer n (kernel)". */
  label: string;
  /** Holds a graph input (live from before layer 0; firstUse is -1). */
  graphInput: boolean;
  /** Holds a graph output (live after the last layer; lastUse is the layer count). */
  graphOutput: boolean;
  /** The RAM region's arena it lives in (null: the default arena, or a plan with one arena). */
  region: string | null;
  offset: number;
  bytes: number;
  firstUse: number;
  lastUse: number;
}

export interface ReportArena {
  bytes: number;
  /** The most arena bytes live at one step; in-place layers may bring the arena below it. */
  lowerBound: number;
  /** Number of layer steps (x axis of the picture). */
  steps: number;
  /** Arena bytes live at each step. */
  liveBytes: number[];
  peak: { step: number; bytes: number };
  /** Highest byte any buffer reaches (the arena before rounding up to its alignment). */
  highWater: number;
  buffers: ReportArenaBuffer[];
}

export interface ReportBudget {
  used: number;
  budget: number;
  /** used / budget. */
  fraction: number;
  fits: boolean;
  parts: Array<{ name: string; bytes: number }>;
}

export interface ReportRegion {
  region: string;
  kind: string;
  speed: number;
  /** That region's arena and what the planner could use of the region. */
  bytes: number;
  capacity: number;
  buffers: number;
  /** Bytes its buffers read and write per inference (the placement key). */
  accessedBytes: number;
}

export interface ReportData {
  tool: { name: 'tinyforge'; version: string };
  model: { file: string; sha256: string; fileBytes: number; prefix: string };
  board: { id: string; name: string; core: string; clockHz: number };
  summary: {
    ops: number;
    opCounts: Record<string, number>;
    macs: number;
    weightBytes: number;
    flashBytes: number;
    arenaBytes: number;
    arenaLowerBound: number;
    /** Persistent state (resource variables, recurrent state), outside the arena. */
    stateBytes: number;
    /** Zero weight elements over all weight elements of the model. */
    sparsity: number;
  };
  inputs: ReportIo[];
  outputs: ReportIo[];
  layers: ReportLayer[];
  arena: ReportArena;
  memory: { flash: ReportBudget; ram: ReportBudget; fits: boolean };
  /** The arena split across the board's RAM regions, fastest first (empty: one arena). */
  regions: ReportRegion[];
  profile: { source: string; unit: CountUnit; total: number; layersCounted: number; perMac: number | null } | null;
}

export interface ReportOptions {
  profile?: LayerProfile;
  /** Where the profile came from, shown in the report. */
  profileSource?: string;
}

function zeroElements(t: Tensor | undefined): { count: number; zeros: number } {
  if (!t?.data) return { count: 0, zeros: 0 };
  const width = DTYPE_BYTES[t.dtype];
  const count = Math.floor(t.data.byteLength / width);
  let zeros = 0;
  for (let i = 0; i < count; i++) {
    let zero = true;
    for (let b = 0; b < width; b++) {
      if (t.data[i * width + b] !== 0) {
        zero = false;
        break;
      }
    }
    if (zero) zeros++;
  }
  return { count, zeros };
}

function filterText(l: Layer): string {
  switch (l.kernel) {
    case 'conv_s8':
    case 'depthwise_conv_s8': {
      const dil = l.dilationH !== 1 || l.dilationW !== 1 ? ` d${l.dilationH},${l.dilationW}` : '';
      const mult = l.kernel === 'depthwise_conv_s8' && l.depthMultiplier !== 1 ? ` x${l.depthMultiplier}` : '';
      return `${l.kH}x${l.kW} s${l.strideH},${l.strideW}${dil}${mult}`;
    }
    case 'avg_pool_s8':
    case 'max_pool_s8':
      return `${l.filterH}x${l.filterW} s${l.strideH},${l.strideW}`;
    case 'fully_connected_s8':
      return `${l.accumDepth}→${l.outDepth}`;
    case 'pad_s8':
      // Padding before and after each dimension of the 4-D (NHWC) view.
      return `before ${l.before.join(',')} after ${l.after.join(',')}`;
    case 'concatenation_s8':
      return `${l.inputs.length} inputs`;
    default:
      return '';
  }
}

function tensorRef(graph: Graph, id: number): ReportTensorRef {
  const t = graph.tensors[id] as Tensor;
  return { id, name: t.name, shape: [...t.shape], dtype: t.dtype };
}

function budget(used: number, size: number, parts: Array<{ name: string; bytes: number }>): ReportBudget {
  return { used, budget: size, fraction: size > 0 ? used / size : Number.POSITIVE_INFINITY, fits: used <= size, parts };
}

/**
 * Reads and checks a profile JSON file: `{"unit": "instructions", "layers": [{"index": 0,
 * "instructions": 1234}, ...]}` or `{"unit": "cycles", "layers": [{"index": 0, "cycles": 1234}]}`
 * (the unit may be left out for cycles).
 */
export function loadProfile(file: string): LayerProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code) throw new TinyforgeError(`profile ${file}: ${code === 'ENOENT' ? 'no such file' : code}`);
    throw new TinyforgeError(`profile ${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseProfile(raw, file);
}

export function parseProfile(raw: unknown, source = 'profile'): LayerProfile {
  const withUnit = typeof raw === 'object' && raw !== null && !('unit' in raw) ? { ...raw, unit: 'cycles' } : raw;
  const parsed = profileSchema.safeParse(withUnit);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TinyforgeError(
      `${source}: field '${issue?.path.join('.') || '(root)'}': ${issue?.message ?? 'invalid'} (expected {"unit": "instructions" or "cycles", "layers": [{"index": 0, "<unit>": 1234}, ...]})`,
    );
  }
  const p = parsed.data;
  return p.unit === 'cycles' ? { unit: 'cycles', layers: p.layers.map((l) => ({ index: l.index, count: l.cycles })) } : { unit: 'instructions', layers: p.layers.map((l) => ({ index: l.index, count: l.instructions })) };
}

export function buildReportData(compiled: CompiledModel, board: Board, options: ReportOptions = {}): ReportData {
  const graph = compiled.model.graph;
  const s = compiled.summary;
  const plan = compiled.plan;
  const steps = compiled.layers.length;
  const inPlaceLayers = new Set(plan.inPlaceLayers);

  const countOf = new Map<number, number>();
  if (options.profile) {
    for (const p of options.profile.layers) {
      if (p.index >= steps) {
        throw new TinyforgeError(`${options.profileSource ?? 'profile'}: layer ${p.index} does not exist (${s.model} has ${steps} layers, 0-${steps - 1})`);
      }
      if (countOf.has(p.index)) throw new TinyforgeError(`${options.profileSource ?? 'profile'}: layer ${p.index} is listed twice`);
      countOf.set(p.index, p.count);
    }
  }

  const arenaBuffers: ReportArenaBuffer[] = [];
  plan.buffers.forEach((b, planIndex) => {
    if (b.storage.kind !== 'arena') return;
    const scratch = b.scratchFor !== undefined;
    const tensors = b.tensors.map((id) => tensorRef(graph, id));
    const kernelOf = (i: number): string => s.layers[i]?.kernel ?? '?';
    arenaBuffers.push({
      planIndex,
      kind: scratch ? 'scratch' : 'activation',
      tensors,
      scratchFor: b.scratchFor ?? null,
      label: scratch ? `scratch of layer ${b.scratchFor} (${kernelOf(b.scratchFor as number)})` : tensors.map((t) => t.name).join(' = '),
      graphInput: b.tensors.some((id) => graph.inputs.includes(id)),
      graphOutput: b.tensors.some((id) => graph.outputs.includes(id)),
      region: b.storage.region ?? null,
      offset: b.storage.offset,
      bytes: b.bytes,
      firstUse: b.firstUse,
      lastUse: b.lastUse,
    });
  });

  const liveBytes = Array.from({ length: steps }, (_, step) =>
    arenaBuffers.filter((b) => b.firstUse <= step && step <= b.lastUse).reduce((sum, b) => sum + b.bytes, 0),
  );
  let peak = { step: 0, bytes: 0 };
  liveBytes.forEach((bytes, step) => {
    if (bytes > peak.bytes) peak = { step, bytes };
  });

  let totalWeights = 0;
  let totalZeros = 0;
  const layers: ReportLayer[] = compiled.layers.map((l, index) => {
    const ls = s.layers[index];
    const w = 'weights' in l ? zeroElements(graph.tensors[l.weights]) : { count: 0, zeros: 0 };
    totalWeights += w.count;
    totalZeros += w.zeros;
    return {
      index,
      op: ls?.op ?? l.kernel,
      kernel: ls?.kernel ?? l.kernel,
      filter: filterText(l),
      outputShape: ls ? [...ls.outputShape] : [],
      macs: l.macs,
      weightBytes: ls?.weightBytes ?? 0,
      flashBytes: ls?.flashBytes ?? 0,
      weightCount: w.count,
      zeroWeights: w.zeros,
      sparsity: w.count > 0 ? w.zeros / w.count : null,
      liveArenaBytes: liveBytes[index] ?? 0,
      inPlace: inPlaceLayers.has(index),
      count: countOf.get(index) ?? null,
    };
  });

  const fit = estimateFootprint(compiled);
  const ioBytes = (list: readonly IoSummary[]): number => list.reduce((sum, t) => sum + t.bytes, 0);
  // Per-channel requantization tables: int32 multipliers and int8 shifts. The rest of the constants
  // are the (packed) weights and biases.
  let requantTables = 0;
  for (const l of compiled.layers) if ('multipliers' in l) requantTables += l.multipliers.byteLength + l.shifts.length;
  requantTables = Math.min(requantTables, fit.flashBytes);
  const flash = budget(fit.flashBytes, board.memory.flash.size, [
    { name: 'weights and biases', bytes: fit.flashBytes - requantTables },
    { name: 'requantization tables', bytes: requantTables },
  ]);
  // Inputs planned inside the arena are counted there; the others are the caller's buffers.
  const callerInputs = s.inputs.filter((_, i) => plan.storageOf.get(graph.inputs[i] as number)?.kind !== 'arena');
  const ramParts = [
    { name: 'arena', bytes: plan.arenaBytes },
    ...(plan.stateBytes > 0 ? [{ name: 'state kept across invokes', bytes: plan.stateBytes }] : []),
    { name: callerInputs.length < s.inputs.length ? 'inputs outside the arena' : 'inputs', bytes: ioBytes(callerInputs) },
    { name: 'outputs', bytes: ioBytes(s.outputs) },
  ];
  const rest = fit.ramBytes - ramParts.reduce((sum, p) => sum + p.bytes, 0);
  if (rest > 0) ramParts.push({ name: 'other', bytes: rest });
  const ram = budget(fit.ramBytes, board.memory.ram.size, ramParts);

  const total = [...countOf.values()].reduce((a, b) => a + b, 0);
  return {
    tool: { name: 'tinyforge', version: TOOL_VERSION },
    model: { file: s.model, sha256: compiled.model.sha256, fileBytes: compiled.model.bytes.byteLength, prefix: s.prefix },
    board: { id: board.id, name: board.name, core: board.core, clockHz: board.clockHz },
    summary: {
      ops: s.ops,
      opCounts: { ...s.opCounts },
      macs: s.macs,
      weightBytes: s.weightBytes,
      flashBytes: s.flashBytes,
      arenaBytes: s.arenaBytes,
      arenaLowerBound: s.arenaLowerBound,
      stateBytes: s.stateBytes,
      sparsity: totalWeights > 0 ? totalZeros / totalWeights : 0,
    },
    inputs: s.inputs.map((t, index) => ({ ...t, shape: [...t.shape], direction: 'input', index })),
    outputs: s.outputs.map((t, index) => ({ ...t, shape: [...t.shape], direction: 'output', index })),
    layers,
    arena: {
      bytes: plan.arenaBytes,
      lowerBound: plan.lowerBound,
      steps,
      liveBytes,
      peak,
      highWater: arenaBuffers.reduce((m, b) => Math.max(m, b.offset + b.bytes), 0),
      buffers: arenaBuffers,
    },
    memory: { flash, ram, fits: flash.fits && ram.fits },
    regions: plan.regions.map((r) => ({ ...r, kind: board.memory.regions?.find((d) => d.name === r.region)?.kind ?? 'sram' })),
    profile: options.profile
      ? {
          source: options.profileSource ?? 'profile',
          unit: options.profile.unit,
          total,
          layersCounted: countOf.size,
          perMac: s.macs > 0 && countOf.size === steps ? total / s.macs : null,
        }
      : null,
  };
}
