// Static memory planning: every activation tensor gets a fixed offset in one arena, chosen from
// tensor lifetimes so that tensors alive at the same time never overlap.

import { DTYPE_BYTES, elementCount, type Graph, type Tensor } from '../ir/graph.ts';
import type { Layer } from '../ir/layers.ts';

export const ARENA_ALIGNMENT = 16;

/** Where a tensor's bytes live at run time. */
export type Storage = { kind: 'arena'; offset: number } | { kind: 'input'; index: number } | { kind: 'output'; index: number };

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
  storage: Storage;
}

export interface MemoryPlan {
  buffers: Buffer[];
  storageOf: Map<number, Storage>;
  /** Arena offset of each layer's scratch space (layers without scratch are absent). */
  scratchOffsetOf: Map<number, number>;
  arenaBytes: number;
  /** The most arena bytes live at any one step: no plan without in-place reuse can go below it. */
  lowerBound: number;
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

/** Places buffers largest first at the lowest offset free for their whole lifetime. */
function placeGreedy(order: readonly Buffer[]): number {
  const placed: Array<{ b: Buffer; offset: number }> = [];
  let arena = 0;
  for (const b of order) {
    const conflicts = placed
      .filter((p) => p.b.firstUse <= b.lastUse && b.firstUse <= p.b.lastUse)
      .sort((x, y) => x.offset - y.offset);
    let offset = 0;
    for (const c of conflicts) {
      if (offset + b.bytes <= c.offset) break;
      offset = Math.max(offset, alignUp(c.offset + c.b.bytes, ARENA_ALIGNMENT));
    }
    placed.push({ b, offset });
    arena = Math.max(arena, offset + b.bytes);
  }
  for (const p of placed) p.b.storage = { kind: 'arena', offset: p.offset };
  return alignUp(arena, ARENA_ALIGNMENT);
}

/** `scratchBytes[i]` is the kernel scratch space layer i needs while it runs (0 or absent: none). */
export function planMemory(graph: Graph, layers: readonly Layer[], scratchBytes: readonly number[] = []): MemoryPlan {
  const external = new Map<number, Storage>();
  graph.inputs.forEach((id, index) => external.set(id, { kind: 'input', index }));
  graph.outputs.forEach((id, index) => external.set(id, { kind: 'output', index }));

  const aliases = new AliasSets();
  const externalOfSet = (root: number, ids: Iterable<number>): number[] => [...ids].filter((id) => aliases.find(id) === root && external.has(id));
  const allIds = new Set<number>();
  for (const l of layers) for (const id of [...l.inputs, ...l.outputs]) if (isActivation(graph, id)) allIds.add(id);
  for (const id of [...graph.inputs, ...graph.outputs]) allIds.add(id);
  for (const l of layers) {
    if (l.kernel !== 'reshape') continue;
    const [src, dst] = [l.inputs[0] as number, l.outputs[0] as number];
    if (!isActivation(graph, src)) continue;
    // Two caller-owned buffers cannot be merged; the reshape then stays a copy.
    const merged = new Set([...externalOfSet(aliases.find(src), allIds), ...externalOfSet(aliases.find(dst), allIds)]);
    if (merged.size <= 1) aliases.union(src, dst);
  }

  const byRoot = new Map<number, Buffer>();
  for (const id of allIds) {
    const root = aliases.find(id);
    let b = byRoot.get(root);
    if (!b) {
      b = { tensors: [], bytes: 0, firstUse: Number.POSITIVE_INFINITY, lastUse: Number.NEGATIVE_INFINITY, storage: { kind: 'arena', offset: 0 } };
      byRoot.set(root, b);
    }
    b.tensors.push(id);
    b.bytes = Math.max(b.bytes, tensorBytesOf(graph, id));
    const ext = external.get(id);
    if (ext) b.storage = ext;
    if (ext?.kind === 'input') b.firstUse = -1;
    if (ext?.kind === 'output') b.lastUse = layers.length;
  }
  layers.forEach((l, step) => {
    for (const id of l.outputs) {
      const b = byRoot.get(aliases.find(id));
      if (b) b.firstUse = Math.min(b.firstUse, step);
    }
    for (const id of [...l.inputs, ...l.outputs]) {
      const b = byRoot.get(aliases.find(id));
      if (b) b.lastUse = Math.max(b.lastUse, step);
    }
  });
  const buffers = [...byRoot.values()].map((b) => ({
    ...b,
    firstUse: Number.isFinite(b.firstUse) ? b.firstUse : 0,
    lastUse: Number.isFinite(b.lastUse) ? b.lastUse : 0,
  }));
  scratchBytes.forEach((bytes, step) => {
    if (bytes > 0) buffers.push({ tensors: [], scratchFor: step, bytes, firstUse: step, lastUse: step, storage: { kind: 'arena', offset: 0 } });
  });
  const arenaBuffers = buffers.filter((b) => b.storage.kind === 'arena');

  let lowerBound = 0;
  for (let step = 0; step < layers.length; step++) {
    const live = arenaBuffers.filter((b) => b.firstUse <= step && step <= b.lastUse).reduce((s, b) => s + b.bytes, 0);
    lowerBound = Math.max(lowerBound, live);
  }

  // Try a few placement orders and keep the smallest arena.
  const orders: Array<(a: Buffer, b: Buffer) => number> = [
    (a, b) => b.bytes - a.bytes || a.firstUse - b.firstUse,
    (a, b) => b.lastUse - b.firstUse - (a.lastUse - a.firstUse) || b.bytes - a.bytes,
    (a, b) => a.firstUse - b.firstUse || b.bytes - a.bytes,
  ];
  let best: { arena: number; offsets: number[] } | undefined;
  for (const order of orders) {
    const arena = placeGreedy([...arenaBuffers].sort(order));
    if (!best || arena < best.arena) {
      best = { arena, offsets: arenaBuffers.map((b) => (b.storage.kind === 'arena' ? b.storage.offset : 0)) };
    }
  }
  arenaBuffers.forEach((b, i) => (b.storage = { kind: 'arena', offset: best?.offsets[i] ?? 0 }));

  const storageOf = new Map<number, Storage>();
  const scratchOffsetOf = new Map<number, number>();
  for (const b of buffers) {
    for (const id of b.tensors) storageOf.set(id, b.storage);
    if (b.scratchFor !== undefined && b.storage.kind === 'arena') scratchOffsetOf.set(b.scratchFor, b.storage.offset);
  }
  return { buffers, storageOf, scratchOffsetOf, arenaBytes: best?.arena ?? 0, lowerBound };
}

/** True when two buffers must both hold their data during at least one common step. */
export function lifetimesOverlap(a: Buffer, b: Buffer): boolean {
  return a.firstUse <= b.lastUse && b.firstUse <= a.lastUse;
}
