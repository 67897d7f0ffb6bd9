// Tile-sparse layout of fully connected weights and the cost model that decides whether a layer
// uses it instead of the dense interleaved layout (fully_connected_s8_fast).
//
// Layout: the weights are cut into tiles of 4 rows x 4 columns (rows 4g..4g+3, columns
// 4s..4s+3; rows past out_depth are zero). Tiles that are all zero are dropped; the others are
// stored, per row group and in ascending step order, as 16 bytes [row in group][4] (the dense
// kernel's interleaving), with a uint16 step index per tile and a uint16 tile count per group.

/** Instructions of the DSP inner loops per 4-byte step of a 4-row group (fully_connected_s8_fast.c / _sparse.c). */
export const DENSE_INSTR_PER_STEP = 22;
export const SPARSE_INSTR_PER_TILE = 25;
/** Per row-group overhead of the sparse kernel beyond the dense one (count load, pointer updates). */
export const SPARSE_INSTR_PER_GROUP = 4;

export interface TileSparseLayout {
  /** Kept tiles per row group. */
  counts: Uint16Array;
  /** Column step of each kept tile. */
  steps: Uint16Array;
  /** [tiles][4][4] */
  tiles: Int8Array;
}

export interface SparseCost {
  groups: number;
  steps: number;
  keptTiles: number;
  denseFilterBytes: number;
  sparseFilterBytes: number;
  denseInstructions: number;
  sparseInstructions: number;
}

/** The tile-sparse layout of a [rows][k] weight matrix (k % 4 == 0), or undefined when it cannot index it. */
export function tileSparseLayout(rows: number, k: number, weightAt: (row: number, i: number) => number): TileSparseLayout | undefined {
  if (k % 4 !== 0 || k / 4 > 0x10000) return undefined;
  const groups = Math.ceil(rows / 4);
  const nSteps = k / 4;
  const counts = new Uint16Array(groups);
  const steps: number[] = [];
  const tiles: number[] = [];
  for (let g = 0; g < groups; g++) {
    for (let s = 0; s < nSteps; s++) {
      const tile = new Array<number>(16).fill(0);
      let any = false;
      for (let r = 0; r < 4; r++) {
        const row = g * 4 + r;
        if (row >= rows) continue;
        for (let j = 0; j < 4; j++) {
          const v = weightAt(row, s * 4 + j);
          tile[r * 4 + j] = v;
          if (v !== 0) any = true;
        }
      }
      if (!any) continue;
      (counts[g] as number)++;
      if (counts[g] === 0) return undefined; // more than 65535 tiles in a group
      steps.push(s);
      tiles.push(...tile);
    }
  }
  return { counts, steps: Uint16Array.from(steps), tiles: Int8Array.from(tiles) };
}

/** Filter bytes and inner-loop instructions of the dense 4-row FC layout (fully_connected_s8_fast.c), which both sparse FC layouts compete with. */
function denseFcCost(rows: number, k: number, batches: number): { groups: number; steps: number; denseFilterBytes: number; denseInstructions: number } {
  const groups = Math.ceil(rows / 4);
  const steps = Math.ceil(k / 4);
  return { groups, steps, denseFilterBytes: groups * 16 * steps, denseInstructions: batches * groups * steps * DENSE_INSTR_PER_STEP };
}

export function sparseCost(rows: number, k: number, batches: number, layout: TileSparseLayout): SparseCost {
  const dense = denseFcCost(rows, k, batches);
  const keptTiles = layout.steps.length;
  return {
    ...dense,
    keptTiles,
    sparseFilterBytes: keptTiles * 16 + keptTiles * 2 + dense.groups * 2,
    sparseInstructions: batches * (keptTiles * SPARSE_INSTR_PER_TILE + dense.groups * SPARSE_INSTR_PER_GROUP),
  };
}

/** The sparse layout is used only when it saves flash and does not cost instructions. */
export function sparsePays(cost: SparseCost): boolean {
  return cost.sparseFilterBytes < cost.denseFilterBytes && cost.sparseInstructions <= cost.denseInstructions;
}

// ---- Element-sparse (CSR) layout, for unstructured pruning ----
//
// Per row: the number of entries (uint16); per entry the column distance from the previous
// entry (from column 0 for a row's first entry) as uint8 and the int8 weight. A gap of more than
// 255 columns is bridged by entries of weight 0 (delta 255).

/** Instructions per entry of the CSR inner loop and per row beyond the dense kernel (estimates for -O2 on a Cortex-M4). */
export const CSR_INSTR_PER_ENTRY = 7;
export const CSR_INSTR_PER_ROW = 6;

export interface CsrLayout {
  counts: Uint16Array;
  deltas: Uint8Array;
  values: Int8Array;
}

export function csrLayout(rows: number, k: number, weightAt: (row: number, i: number) => number): CsrLayout | undefined {
  const counts = new Uint16Array(rows);
  const deltas: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < rows; r++) {
    let prev = 0;
    let n = 0;
    for (let i = 0; i < k; i++) {
      const v = weightAt(r, i);
      if (v === 0) continue;
      while (i - prev > 255) {
        deltas.push(255);
        values.push(0);
        prev += 255;
        n++;
      }
      deltas.push(i - prev);
      values.push(v);
      prev = i;
      n++;
    }
    if (n > 0xffff) return undefined;
    counts[r] = n;
  }
  return { counts, deltas: Uint8Array.from(deltas), values: Int8Array.from(values) };
}

export interface CsrCost {
  entries: number;
  denseFilterBytes: number;
  csrFilterBytes: number;
  denseInstructions: number;
  csrInstructions: number;
}

export function csrCost(rows: number, k: number, batches: number, layout: CsrLayout): CsrCost {
  const { denseFilterBytes, denseInstructions } = denseFcCost(rows, k, batches);
  const entries = layout.values.length;
  return {
    entries,
    denseFilterBytes,
    csrFilterBytes: 2 * rows + 2 * entries,
    denseInstructions,
    csrInstructions: batches * (entries * CSR_INSTR_PER_ENTRY + rows * CSR_INSTR_PER_ROW),
  };
}

export function csrPays(cost: CsrCost): boolean {
  return cost.csrFilterBytes < cost.denseFilterBytes && cost.csrInstructions <= cost.denseInstructions;
}

// ---- Block-sparse convolution filters (conv_gemm_s8_sparse.c) ----
//
// The GEMM view of a convolution filter is [outC][K = kH * kW * inC]. The dense kernel
// (conv_gemm_s8.c) runs it as row pairs x 4-element steps against two pixels' columns, so the
// unit it can skip is a [2 rows x 4] block. Row pairs are grouped (one pair, or two for 4x4
// tiles) to share one list of kept steps; a step is kept for the group when any of its weights
// is non-zero, and each pair of the group stores its block at every kept step (zeros included).
// Index: one byte per list entry, (step distance from the previous entry << 1) | last.

/** Instructions of the DSP loops per 4-element step of a row pair (conv_gemm_s8.c) and per kept block (conv_gemm_s8_sparse.c), int8 / int16 filters. */
export const CONV_DENSE_INSTR_PER_STEP = 17;
export const CONV_DENSE_WIDE_INSTR_PER_STEP = 13;
export const CONV_SPARSE_INSTR_PER_BLOCK = 18;
export const CONV_SPARSE_WIDE_INSTR_PER_BLOCK = 15;
/** Per row pair: accumulator set-up and stores (dense), plus the group bookkeeping (sparse). */
export const CONV_DENSE_INSTR_PER_PAIR = 16;
export const CONV_SPARSE_INSTR_PER_PAIR = 21;
export const CONV_SPARSE_INSTR_PER_GROUP = 2;
/** The longest step distance one index byte encodes; longer gaps get an all-zero block. */
const MAX_STEP_GAP = 127;

export interface ConvSparseLayout {
  /** Row pairs per index list: 1 ([2 x 4] blocks) or 2 (4x4 tiles). */
  groupPairs: 1 | 2;
  /** Per group, its entries: (step gap << 1) | last. */
  index: Uint8Array;
  /** int8 [blocks][2 rows][4], the dense kernel's row-pair interleaving; pairs in order. */
  blocks: Int8Array;
}

export interface ConvSparseCost {
  pairs: number;
  steps: number;
  /** Blocks stored (zero-filled ones of a group and gap bridges included). */
  blocks: number;
  denseFilterBytes: number;
  /** int8 blocks plus the index. */
  sparseFilterBytes: number;
  indexBytes: number;
  /** Per inference, int8 filters and int16 (widened) filters. */
  denseInstructions: number;
  sparseInstructions: number;
  denseWideInstructions: number;
  sparseWideInstructions: number;
}

/**
 * The block-sparse layout of a [rows][k] GEMM filter whose row pairs share index lists in groups
 * of `groupPairs`. Rows past `rows` and columns past `k` are zero.
 */
export function convSparseLayout(rows: number, k: number, groupPairs: 1 | 2, weightAt: (row: number, i: number) => number): ConvSparseLayout {
  const pairs = Math.ceil(rows / 2);
  const steps = Math.ceil(k / 4);
  const w = (r: number, i: number): number => (r < rows && i < k ? weightAt(r, i) : 0);
  const index: number[] = [];
  const blocks: number[] = [];
  for (let p0 = 0; p0 < pairs; p0 += groupPairs) {
    const groupRows = Math.min(groupPairs, pairs - p0) * 2;
    const kept: number[] = [];
    for (let s = 0; s < steps; s++) {
      let any = false;
      for (let r = 0; r < groupRows && !any; r++) for (let j = 0; j < 4 && !any; j++) any = w(p0 * 2 + r, s * 4 + j) !== 0;
      if (!any) continue;
      // Bridge gaps the index byte cannot express with blocks that happen to be zero.
      for (let prev = kept.at(-1) ?? 0; s - prev > MAX_STEP_GAP; prev += MAX_STEP_GAP) kept.push(prev + MAX_STEP_GAP);
      kept.push(s);
    }
    // Every list needs an entry: the kernel's loop ends on the last one.
    if (kept.length === 0) kept.push(0);
    kept.forEach((s, i) => index.push(((s - (i === 0 ? 0 : (kept[i - 1] as number))) << 1) | (i === kept.length - 1 ? 1 : 0)));
    for (let p = p0; p < Math.min(p0 + groupPairs, pairs); p++) {
      for (const s of kept) for (let r = 0; r < 2; r++) for (let j = 0; j < 4; j++) blocks.push(w(p * 2 + r, s * 4 + j));
    }
  }
  return { groupPairs, index: Uint8Array.from(index), blocks: Int8Array.from(blocks) };
}

/** Costs of the dense and the sparse layout of one convolution with `pixels` output pixels. */
export function convSparseCost(rows: number, k: number, pixels: number, layout: ConvSparseLayout): ConvSparseCost {
  const pairs = Math.ceil(rows / 2);
  const steps = Math.ceil(k / 4);
  const groups = Math.ceil(pairs / layout.groupPairs);
  const blocks = layout.blocks.length / 8;
  const pixelPairs = Math.ceil(pixels / 2);
  const dense = (perStep: number): number => pixelPairs * pairs * (steps * perStep + CONV_DENSE_INSTR_PER_PAIR);
  const sparse = (perBlock: number): number => pixelPairs * (blocks * perBlock + pairs * CONV_SPARSE_INSTR_PER_PAIR + groups * CONV_SPARSE_INSTR_PER_GROUP);
  return {
    pairs,
    steps,
    blocks,
    denseFilterBytes: pairs * steps * 8,
    sparseFilterBytes: blocks * 8 + layout.index.length,
    indexBytes: layout.index.length,
    denseInstructions: dense(CONV_DENSE_INSTR_PER_STEP),
    sparseInstructions: sparse(CONV_SPARSE_INSTR_PER_BLOCK),
    denseWideInstructions: dense(CONV_DENSE_WIDE_INSTR_PER_STEP),
    sparseWideInstructions: sparse(CONV_SPARSE_WIDE_INSTR_PER_BLOCK),
  };
}

/**
 * The sparse layout is used only when it saves flash and costs no instructions, with int8 filters
 * and with both widened to int16 (the widening budget may pick either afterwards).
 */
export function convSparsePays(cost: ConvSparseCost): boolean {
  return cost.sparseFilterBytes < cost.denseFilterBytes && cost.sparseInstructions <= cost.denseInstructions && cost.sparseWideInstructions <= cost.denseWideInstructions;
}

/** The better-paying of the one-pair and two-pair groupings: fewer flash bytes, then fewer instructions. */
export function bestConvSparseLayout(rows: number, k: number, pixels: number, weightAt: (row: number, i: number) => number): { layout: ConvSparseLayout; cost: ConvSparseCost } | undefined {
  let best: { layout: ConvSparseLayout; cost: ConvSparseCost } | undefined;
  for (const groupPairs of [1, 2] as const) {
    const layout = convSparseLayout(rows, k, groupPairs, weightAt);
    const cost = convSparseCost(rows, k, pixels, layout);
    if (!convSparsePays(cost)) continue;
    if (!best || cost.sparseFilterBytes < best.cost.sparseFilterBytes || (cost.sparseFilterBytes === best.cost.sparseFilterBytes && cost.sparseInstructions < best.cost.sparseInstructions)) {
      best = { layout, cost };
    }
  }
  return best;
}

// ---- Block-sparse convolution filters on Helium (conv_gemm_s8_mve_sparse.c) ----
//
// The Helium GEMM (conv_gemm_s8_mve.c) walks each filter row of [outC][k16] in 16-byte steps,
// one VMLADAVA per row, step and pixel, two pixels and four rows at a time. The sparse kernel
// keeps a list of the steps that are not all zero, per row (listRows 1: [1 x 16] blocks, what
// unstructured zeros leave behind) or per group of four rows (listRows 4: [4 x 16] blocks, what
// 4x4 tiles give, at the dense loop's speed per kept step). Index: per list a count byte, then
// per kept step its distance in steps from the previous one (from step 0 for the first).

/** Instructions per pixel pair (conv_gemm_s8_mve.c / tf_mve.h, conv_gemm_s8_mve_sparse.c). */
export const MVE_DENSE_INSTR_PER_STEP = 16; // 4 rows x 16 bytes: 6 loads, 8 VMLADAVA, loop
export const MVE_DENSE_INSTR_PER_GROUP = 12;
export const MVE_SPARSE_ROW_INSTR_PER_STEP = 9; // 1 row x 16 bytes: index, 2 adds, 3 loads, 2 VMLADAVA, LE
export const MVE_SPARSE_ROW_INSTR_PER_ROW = 10;
export const MVE_SPARSE_GROUP_INSTR_PER_STEP = 19; // 4 rows x 16 bytes: index, 2 adds, 6 loads, 8 VMLADAVA, loop
export const MVE_SPARSE_GROUP_INSTR_PER_GROUP = 17;
/** A gathered kernel row (tf_gather_row_mve, measured on the M55): set-up, call and fills, plus per 16 bytes copied. */
export const MVE_GATHER_INSTR_PER_KERNEL_ROW = 50;
export const MVE_GATHER_INSTR_PER_STEP = 3;
/** Kept steps per list and distances fit a byte. */
const MVE_MAX_STEPS = 255;

export interface MveSparseLayout {
  /** Rows per index list: 1 or 4. */
  listRows: 1 | 4;
  /** Per list: count, then the distances of its kept steps. */
  index: Uint8Array;
  /** int8 [kept steps][listRows][16], list after list. */
  filter: Int8Array;
  /** Kept steps over all lists. */
  kept: number;
}

export interface MveSparseCost {
  rows: number;
  steps: number;
  listRows: 1 | 4;
  kept: number;
  denseFilterBytes: number;
  /** Kept steps plus the index. */
  sparseFilterBytes: number;
  indexBytes: number;
  /** Per inference. */
  denseInstructions: number;
  sparseInstructions: number;
}

/** The layout of a [rows][k] GEMM filter with lists of `listRows` rows, or undefined when k16 / 16 > 255. */
export function mveSparseLayout(rows: number, k: number, listRows: 1 | 4, weightAt: (row: number, i: number) => number): MveSparseLayout | undefined {
  const steps = Math.ceil(k / 16);
  if (steps > MVE_MAX_STEPS) return undefined;
  const lists = Math.ceil(rows / listRows);
  const w = (r: number, i: number): number => (r < rows && i < k ? weightAt(r, i) : 0);
  const index: number[] = [];
  const filter: number[] = [];
  let kept = 0;
  for (let l = 0; l < lists; l++) {
    const r0 = l * listRows;
    const keptSteps: number[] = [];
    for (let s = 0; s < steps; s++) {
      let any = false;
      for (let r = r0; r < r0 + listRows && !any; r++) for (let j = 0; j < 16 && !any; j++) any = w(r, s * 16 + j) !== 0;
      if (any) keptSteps.push(s);
    }
    index.push(keptSteps.length);
    keptSteps.forEach((s, i) => index.push(s - (i === 0 ? 0 : (keptSteps[i - 1] as number))));
    for (const s of keptSteps) for (let r = r0; r < r0 + listRows; r++) for (let j = 0; j < 16; j++) filter.push(w(r, s * 16 + j));
    kept += keptSteps.length;
  }
  return { listRows, index: Uint8Array.from(index), filter: Int8Array.from(filter), kept };
}

/**
 * Costs of the dense Helium layout and of `layout` for a convolution with `pixels` output pixels;
 * `extraPerPixel`: instructions the sparse kernel spends per pixel beyond the dense one (gathering
 * a receptive field the dense kernel reads in place).
 */
export function mveSparseCost(rows: number, k: number, pixels: number, layout: MveSparseLayout, extraPerPixel = 0): MveSparseCost {
  const steps = Math.ceil(k / 16);
  const groups = Math.ceil(rows / 4);
  const pixelPairs = Math.ceil(pixels / 2);
  const perPair =
    layout.listRows === 1
      ? layout.kept * MVE_SPARSE_ROW_INSTR_PER_STEP + rows * MVE_SPARSE_ROW_INSTR_PER_ROW
      : layout.kept * MVE_SPARSE_GROUP_INSTR_PER_STEP + groups * MVE_SPARSE_GROUP_INSTR_PER_GROUP;
  return {
    rows,
    steps,
    listRows: layout.listRows,
    kept: layout.kept,
    denseFilterBytes: groups * 4 * steps * 16,
    sparseFilterBytes: layout.filter.length + layout.index.length,
    indexBytes: layout.index.length,
    denseInstructions: pixelPairs * groups * (steps * MVE_DENSE_INSTR_PER_STEP + MVE_DENSE_INSTR_PER_GROUP),
    sparseInstructions: pixelPairs * perPair + pixels * extraPerPixel,
  };
}

/** The sparse layout is used only when it saves flash and costs no instructions. */
export function mveSparsePays(cost: MveSparseCost): boolean {
  return cost.sparseFilterBytes < cost.denseFilterBytes && cost.sparseInstructions <= cost.denseInstructions;
}

/** The better-paying of per-row and per-group lists: fewer flash bytes, then fewer instructions. */
export function bestMveSparseLayout(
  rows: number,
  k: number,
  pixels: number,
  extraPerPixel: number,
  weightAt: (row: number, i: number) => number,
): { layout: MveSparseLayout; cost: MveSparseCost } | undefined {
  let best: { layout: MveSparseLayout; cost: MveSparseCost } | undefined;
  for (const listRows of [1, 4] as const) {
    const layout = mveSparseLayout(rows, k, listRows, weightAt);
    if (!layout) return undefined;
    const cost = mveSparseCost(rows, k, pixels, layout, extraPerPixel);
    if (!mveSparsePays(cost)) continue;
    if (!best || cost.sparseFilterBytes < best.cost.sparseFilterBytes || (cost.sparseFilterBytes === best.cost.sparseFilterBytes && cost.sparseInstructions < best.cost.sparseInstructions)) {
      best = { layout, cost };
    }
  }
  return best;
}

// ---- Block-sparse fully connected weights on Helium (fully_connected_s8_mve_sparse.c) ----
//
// The same lists as the sparse Helium convolution. Each batch walks them once; the dense kernel
// runs two batches per weight load (tf_mve_gemm_4x2), one batch with tf_mve_gemm_4x1.

/** Instructions per batch (fully_connected_s8_mve_sparse.c) and of the dense loops (tf_mve.h). */
export const MVE_FC_DENSE_INSTR_PER_STEP = 10; // 4 rows x 16 bytes, one batch: 5 loads, 4 VMLADAVA, LE
export const MVE_FC_DENSE_INSTR_PER_GROUP = 6;
export const MVE_FC_SPARSE_ROW_INSTR_PER_STEP = 6;
export const MVE_FC_SPARSE_ROW_INSTR_PER_ROW = 7;
export const MVE_FC_SPARSE_GROUP_INSTR_PER_STEP = 12;
export const MVE_FC_SPARSE_GROUP_INSTR_PER_GROUP = 7;

/** Costs of the dense Helium fully connected layout and of `layout` for `batches` input rows. */
export function mveSparseFcCost(rows: number, k: number, batches: number, layout: MveSparseLayout): MveSparseCost {
  const steps = Math.ceil(k / 16);
  const groups = Math.ceil(rows / 4);
  const pairs = Math.floor(batches / 2);
  const perBatch =
    layout.listRows === 1
      ? layout.kept * MVE_FC_SPARSE_ROW_INSTR_PER_STEP + rows * MVE_FC_SPARSE_ROW_INSTR_PER_ROW
      : layout.kept * MVE_FC_SPARSE_GROUP_INSTR_PER_STEP + groups * MVE_FC_SPARSE_GROUP_INSTR_PER_GROUP;
  return {
    rows,
    steps,
    listRows: layout.listRows,
    kept: layout.kept,
    denseFilterBytes: groups * 4 * steps * 16,
    sparseFilterBytes: layout.filter.length + layout.index.length,
    indexBytes: layout.index.length,
    denseInstructions:
      pairs * groups * (steps * MVE_DENSE_INSTR_PER_STEP + MVE_DENSE_INSTR_PER_GROUP) + (batches % 2) * groups * (steps * MVE_FC_DENSE_INSTR_PER_STEP + MVE_FC_DENSE_INSTR_PER_GROUP),
    sparseInstructions: batches * perBatch,
  };
}

/** The better-paying of per-row and per-group lists for a fully connected layer, or undefined. */
export function bestMveSparseFcLayout(rows: number, k: number, batches: number, weightAt: (row: number, i: number) => number): { layout: MveSparseLayout; cost: MveSparseCost } | undefined {
  let best: { layout: MveSparseLayout; cost: MveSparseCost } | undefined;
  for (const listRows of [1, 4] as const) {
    const layout = mveSparseLayout(rows, k, listRows, weightAt);
    if (!layout) return undefined;
    const cost = mveSparseFcCost(rows, k, batches, layout);
    if (!mveSparsePays(cost)) continue;
    if (!best || cost.sparseFilterBytes < best.cost.sparseFilterBytes || (cost.sparseFilterBytes === best.cost.sparseFilterBytes && cost.sparseInstructions < best.cost.sparseInstructions)) {
      best = { layout, cost };
    }
  }
  return best;
}
