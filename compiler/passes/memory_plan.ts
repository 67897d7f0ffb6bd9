// Static memory planning: every activation tensor gets a fixed offset in one arena, chosen from
// tensor lifetimes so that tensors alive at the same time never overlap.

import { DTYPE_BYTES, elementCount, type Graph, type Tensor } from '../ir/graph.ts';
import type { Layer } from '../ir/layers.ts';
import type { ArenaRegion, RegionArena } from '../ir/memory_regions.ts';

export const ARENA_ALIGNMENT = 16;

/** Where a tensor's bytes live at run time. */
export type Storage =
  /** `region`: the RAM region's arena (absent: the default arena, tf_arena). */
  | { kind: 'arena'; offset: number; region?: string }
  | { kind: 'input'; index: number }
  | { kind: 'output'; index: number }
  /** A state tensor's place in the persistent state buffer (never reused within or across invokes). */
  | { kind: 'state'; offset: number };

/** Tensors sharing one storage (a reshape's input and output), with the layer steps it must survive. */
export interface Buffer {
  tensors: number[];
  /** The layer whose scratch space this is, for kernel scratch buffers. */
  scratchFor?: number;
  bytes: number;
  /** First layer that writes it; -1 when it is a graph input. */
  firstUse: number;
  /** Last layer that reads it; layers.length when it is a graph output. */
  lastUse: number;
  /** Layer steps that read or write it (a scratch buffer counts as written and read). */
  accesses: number;
  storage: Storage;
}

export interface MemoryPlan {
  buffers: Buffer[];
  storageOf: Map<number, Storage>;
  /** Arena offset of each layer's scratch space (layers without scratch are absent). */
  scratchOffsetOf: Map<number, number>;
  /** All arena bytes, summed over the regions' arenas when the plan uses several. */
  arenaBytes: number;
  /** One entry per region given to the planner, fastest first (empty when none were given). */
  regions: RegionArena[];
  /** Bytes of the persistent state buffer (0 for a stateless model). */
  stateBytes: number;
  /** The most arena bytes live at any one step: no plan without in-place reuse can go below it. */
  lowerBound: number;
  /** Layers whose output was placed over their dying input. */
  inPlaceLayers: number[];
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

function tensorBytesOf(graph: Graph, id: number): number {
  const t = graph.tensors[id] as Tensor;
  return elementCount(t.shape) * DTYPE_BYTES[t.dtype];
}

/** Union-find over tensor ids, so reshape outputs can share their input's storage. */
class AliasSets {
  private parent = new Map<number, number>();
  find(x: number): number {
    let p = this.parent.get(x) ?? x;
    if (p !== x) {
      p = this.find(p);
      this.parent.set(x, p);
    }
    return p;
  }
  union(a: number, b: number): void {
    this.parent.set(this.find(a), this.find(b));
  }
}

function isActivation(graph: Graph, id: number): boolean {
  return id >= 0 && graph.tensors[id]?.data === undefined;
}

interface Placeable {
  bytes: number;
  firstUse: number;
  lastUse: number;
}

/** One buffer of a block, at a fixed offset from the block's base. */
interface Member {
  buffer: Buffer;
  rel: number;
}

/** Buffers placed together at fixed relative offsets (a chain of in-place layers), or one buffer. */
interface Block extends Placeable {
  members: Member[];
}

interface PlacedMember {
  start: number;
  end: number;
  firstUse: number;
  lastUse: number;
}

function fits(block: Block, base: number, placed: readonly PlacedMember[]): boolean {
  for (const m of block.members) {
    const start = base + m.rel;
    const end = start + m.buffer.bytes;
    for (const p of placed) {
      const together = p.firstUse <= m.buffer.lastUse && m.buffer.firstUse <= p.lastUse;
      if (together && start < p.end && p.start < end) return false;
    }
  }
  return true;
}

/**
 * First fit in the given order. Each member of a block only reserves its bytes during its own
 * lifetime, so a chain of in-place buffers costs what is live at each step, not its whole extent.
 */
function placeGreedy(order: readonly Block[]): { offsets: Map<Block, number>; arena: number } {
  const placed: PlacedMember[] = [];
  const offsets = new Map<Block, number>();
  let arena = 0;
  for (const block of order) {
    const candidates = new Set<number>([0]);
    for (const p of placed) {
      for (const m of block.members) candidates.add(Math.max(0, alignUp(p.end - m.rel, ARENA_ALIGNMENT)));
    }
    const base = [...candidates].sort((a, b) => a - b).find((b) => fits(block, b, placed)) ?? 0;
    offsets.set(block, base);
    for (const m of block.members) {
      const start = base + m.rel;
      placed.push({ start, end: start + m.buffer.bytes, firstUse: m.buffer.firstUse, lastUse: m.buffer.lastUse });
      arena = Math.max(arena, start + m.buffer.bytes);
    }
  }
  return { offsets, arena: alignUp(arena, ARENA_ALIGNMENT) };
}

/** The three placement orders tried; the smallest arena wins. */
const PLACEMENT_ORDERS: ReadonlyArray<(a: Block, b: Block) => number> = [
  (a, b) => b.bytes - a.bytes || a.firstUse - b.firstUse,
  (a, b) => b.lastUse - b.firstUse - (a.lastUse - a.firstUse) || b.bytes - a.bytes,
  (a, b) => a.firstUse - b.firstUse || b.bytes - a.bytes,
];

function placeBest(blocks: readonly Block[]): { offsets: Map<Block, number>; arena: number } {
  let best: { offsets: Map<Block, number>; arena: number } | undefined;
  for (const order of PLACEMENT_ORDERS) {
    const result = placeGreedy([...blocks].sort(order));
    if (!best || result.arena < best.arena) best = result;
  }
  return best ?? { offsets: new Map(), arena: 0 };
}

/** Bytes a block's buffers read and write per inference: each access of a buffer counts its size. */
export function accessedBytes(buffer: Pick<Buffer, 'bytes' | 'accesses'>): number {
  return buffer.bytes * buffer.accesses;
}

function blockAccessedBytes(block: Block): number {
  return block.members.reduce((s, m) => s + accessedBytes(m.buffer), 0);
}

/**
 * Splits the arena across RAM regions: blocks in order of bytes accessed per inference (hottest
 * first; a chain of in-place buffers moves as one) go to the fastest region whose arena, planned
 * again with the block added, still fits its capacity. The slowest region takes whatever fits
 * nowhere else (the board fit check then reports the overflow). Each region's arena is planned
 * on its own with the same first-fit orders as a single arena.
 */
function placeAcrossRegions(blocks: readonly Block[], regions: readonly ArenaRegion[]): RegionArena[] {
  // Regions without a placement all name tf_arena: only one of them can exist.
  if (regions.filter((r) => r.placement === undefined).length > 1) throw new Error('internal: more than one RAM region without a placement (they would share tf_arena)');
  if (new Set(regions.map((r) => r.name)).size !== regions.length) throw new Error('internal: RAM region names must be unique');
  const bySpeed = regions.map((r, i) => ({ r, i })).sort((a, b) => a.r.speed - b.r.speed || a.i - b.i).map((x) => x.r);
  const groups: Block[][] = bySpeed.map(() => []);
  const hot = [...blocks].sort((a, b) => blockAccessedBytes(b) - blockAccessedBytes(a) || b.bytes - a.bytes || a.firstUse - b.firstUse);
  for (const block of hot) {
    let target = bySpeed.length - 1;
    for (let r = 0; r < bySpeed.length - 1; r++) {
      if (block.bytes > (bySpeed[r] as ArenaRegion).capacity) continue;
      if (placeBest([...(groups[r] as Block[]), block]).arena <= (bySpeed[r] as ArenaRegion).capacity) {
        target = r;
        break;
      }
    }
    (groups[target] as Block[]).push(block);
  }
  return bySpeed.map((region, r) => {
    const group = groups[r] as Block[];
    const placed = placeBest(group);
    const name = region.placement === undefined ? undefined : region.name;
    for (const block of group) {
      const base = placed.offsets.get(block) ?? 0;
      for (const m of block.members) m.buffer.storage = name === undefined ? { kind: 'arena', offset: base + m.rel } : { kind: 'arena', offset: base + m.rel, region: name };
    }
    return {
      region: region.name,
      bytes: placed.arena,
      capacity: region.capacity,
      speed: region.speed,
      accessedBytes: group.reduce((s, b) => s + blockAccessedBytes(b), 0),
      buffers: group.reduce((s, b) => s + b.members.length, 0),
    };
  });
}

/**
 * A layer that may write its output over its dying input: `gap` is how many bytes before the
 * input's start the output must begin so that no byte is overwritten before its last read
 * (0 or less: the output may start where the input starts).
 */
export interface InPlaceCandidate {
  layer: number;
  input: number;
  output: number;
  gap: number;
}

function blockExtent(block: Block): void {
  const lo = Math.min(...block.members.map((m) => m.rel));
  for (const m of block.members) m.rel -= lo;
  block.bytes = Math.max(...block.members.map((m) => m.rel + m.buffer.bytes));
  block.firstUse = Math.min(...block.members.map((m) => m.buffer.firstUse));
  block.lastUse = Math.max(...block.members.map((m) => m.buffer.lastUse));
}

function buildBlocks(arenaBuffers: readonly Buffer[], bufferOf: (tensor: number) => Buffer | undefined, inPlace: readonly InPlaceCandidate[]): Block[] {
  const blockOf = new Map<Buffer, Block>();
  for (const b of arenaBuffers) blockOf.set(b, { members: [{ buffer: b, rel: 0 }], bytes: b.bytes, firstUse: b.firstUse, lastUse: b.lastUse });
  for (const c of [...inPlace].sort((a, b) => a.layer - b.layer)) {
    const input = bufferOf(c.input);
    const output = bufferOf(c.output);
    if (!input || !output || input === output) continue;
    const inBlock = blockOf.get(input);
    const outBlock = blockOf.get(output);
    if (!inBlock || !outBlock || outBlock.members.length !== 1) continue;
    // Legal only when everything already in the input's block is dead after this layer and the
    // output is born here.
    if (inBlock.members.some((m) => m.buffer.lastUse > c.layer) || output.firstUse !== c.layer) continue;
    const inRel = inBlock.members.find((m) => m.buffer === input)?.rel ?? 0;
    inBlock.members.push({ buffer: output, rel: inRel - alignUp(Math.max(0, c.gap), ARENA_ALIGNMENT) });
    blockExtent(inBlock);
    blockOf.set(output, inBlock);
  }
  return [...new Set(blockOf.values())];
}

export interface PlanOptions {
  /** `scratchBytes[i]`: kernel scratch space layer i needs while it runs (0 or absent: none). */
  scratchBytes?: readonly number[];
  inPlace?: readonly InPlaceCandidate[];
  /**
   * Keep graph inputs in the arena (the caller writes them there, or invoke copies them in), so
   * their bytes are reused once consumed, as TFLM's arena does. Otherwise they stay caller-owned.
   */
  inputsInArena?: boolean;
  /**
   * RAM regions to split the arena across (placeAcrossRegions). Absent or empty: one arena,
   * tf_arena, in the default RAM.
   */
  regions?: readonly ArenaRegion[];
}

export function planMemory(graph: Graph, layers: readonly Layer[], options: PlanOptions = {}): MemoryPlan {
  const scratchBytes = options.scratchBytes ?? [];
  const inPlace = options.inPlace ?? [];
  const inputsInArena = options.inputsInArena ?? false;
  const external = new Map<number, Storage>();
  if (!inputsInArena) graph.inputs.forEach((id, index) => external.set(id, { kind: 'input', index }));
  graph.outputs.forEach((id, index) => external.set(id, { kind: 'output', index }));
  let stateBytes = 0;
  graph.tensors.forEach((t) => {
    if (!t.state) return;
    external.set(t.id, { kind: 'state', offset: stateBytes });
    stateBytes = alignUp(stateBytes + tensorBytesOf(graph, t.id), ARENA_ALIGNMENT);
  });

  const aliases = new AliasSets();
  const externalOfSet = (root: number, ids: Iterable<number>): number[] => [...ids].filter((id) => aliases.find(id) === root && external.has(id));
  const allIds = new Set<number>();
  for (const l of layers) for (const id of [...l.inputs, ...l.outputs]) if (isActivation(graph, id)) allIds.add(id);
  for (const id of [...graph.inputs, ...graph.outputs]) allIds.add(id);
  for (const l of layers) {
    if (l.kernel !== 'reshape') continue;
    const [src, dst] = [l.inputs[0] as number, l.outputs[0] as number];
    if (!isActivation(graph, src)) continue;
    // State persists across invokes: a reshape of it stays a copy.
    if (graph.tensors[src]?.state || graph.tensors[dst]?.state) continue;
    // Two caller-owned buffers cannot be merged; the reshape then stays a copy.
    const merged = new Set([...externalOfSet(aliases.find(src), allIds), ...externalOfSet(aliases.find(dst), allIds)]);
    if (merged.size <= 1) aliases.union(src, dst);
  }

  const byRoot = new Map<number, Buffer>();
  for (const id of allIds) {
    const root = aliases.find(id);
    let b = byRoot.get(root);
    if (!b) {
      b = { tensors: [], bytes: 0, firstUse: Number.POSITIVE_INFINITY, lastUse: Number.NEGATIVE_INFINITY, accesses: 0, storage: { kind: 'arena', offset: 0 } };
      byRoot.set(root, b);
    }
    b.tensors.push(id);
    b.bytes = Math.max(b.bytes, tensorBytesOf(graph, id));
    const ext = external.get(id);
    if (ext) b.storage = ext;
    if (graph.inputs.includes(id)) b.firstUse = -1;
    if (ext?.kind === 'output') b.lastUse = layers.length;
  }
  layers.forEach((l, step) => {
    for (const id of l.outputs) {
      const b = byRoot.get(aliases.find(id));
      if (b) b.firstUse = Math.min(b.firstUse, step);
    }
    const touched = new Set<Buffer>();
    for (const id of [...l.inputs, ...l.outputs]) {
      const b = byRoot.get(aliases.find(id));
      if (b) {
        b.lastUse = Math.max(b.lastUse, step);
        touched.add(b);
      }
    }
    for (const b of touched) b.accesses++;
  });
  const buffers = [...byRoot.values()].map((b) => ({
    ...b,
    firstUse: Number.isFinite(b.firstUse) ? b.firstUse : 0,
    lastUse: Number.isFinite(b.lastUse) ? b.lastUse : 0,
  }));
  scratchBytes.forEach((bytes, step) => {
    if (bytes > 0) buffers.push({ tensors: [], scratchFor: step, bytes, firstUse: step, lastUse: step, accesses: 2, storage: { kind: 'arena', offset: 0 } });
  });
  const arenaBuffers = buffers.filter((b) => b.storage.kind === 'arena');

  let lowerBound = 0;
  for (let step = 0; step < layers.length; step++) {
    const live = arenaBuffers.filter((b) => b.firstUse <= step && step <= b.lastUse).reduce((s, b) => s + b.bytes, 0);
    lowerBound = Math.max(lowerBound, live);
  }

  const bufferOfTensor = (id: number): Buffer | undefined => buffers.find((b) => b.tensors.includes(id) && b.storage.kind === 'arena');
  const blocks = buildBlocks(arenaBuffers, bufferOfTensor, inPlace);

  const regions = options.regions ?? [];
  let arenaBytes: number;
  let regionArenas: RegionArena[] = [];
  if (regions.length === 0) {
    const best = placeBest(blocks);
    for (const block of blocks) {
      const base = best.offsets.get(block) ?? 0;
      for (const m of block.members) m.buffer.storage = { kind: 'arena', offset: base + m.rel };
    }
    arenaBytes = best.arena;
  } else {
    regionArenas = placeAcrossRegions(blocks, regions);
    arenaBytes = regionArenas.reduce((s, r) => s + r.bytes, 0);
  }

  const storageOf = new Map<number, Storage>();
  const scratchOffsetOf = new Map<number, number>();
  for (const b of buffers) {
    for (const id of b.tensors) storageOf.set(id, b.storage);
    if (b.scratchFor !== undefined && b.storage.kind === 'arena') scratchOffsetOf.set(b.scratchFor, b.storage.offset);
  }
  const inPlaceLayers = inPlace
    .filter((c) => {
      const a = storageOf.get(c.input);
      const b = storageOf.get(c.output);
      const bufA = bufferOfTensor(c.input);
      const bufB = bufferOfTensor(c.output);
      if (a?.kind !== 'arena' || b?.kind !== 'arena' || !bufA || !bufB || a.region !== b.region) return false;
      return a.offset < b.offset + bufB.bytes && b.offset < a.offset + bufA.bytes;
    })
    .map((c) => c.layer);
  return { buffers, storageOf, scratchOffsetOf, arenaBytes, regions: regionArenas, stateBytes, lowerBound, inPlaceLayers };
}

/** True when two buffers must both hold their data during at least one common step. */
export function lifetimesOverlap(a: Buffer, b: Buffer): boolean {
  return a.firstUse <= b.lastUse && b.firstUse <= a.lastUse;
}
