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

export function sparseCost(rows: number, k: number, batches: number, layout: TileSparseLayout): SparseCost {
  const groups = Math.ceil(rows / 4);
  const steps = Math.ceil(k / 4);
  const keptTiles = layout.steps.length;
  return {
    groups,
    steps,
    keptTiles,
    denseFilterBytes: groups * 16 * steps,
    sparseFilterBytes: keptTiles * 16 + keptTiles * 2 + groups * 2,
    denseInstructions: batches * groups * steps * DENSE_INSTR_PER_STEP,
    sparseInstructions: batches * (keptTiles * SPARSE_INSTR_PER_TILE + groups * SPARSE_INSTR_PER_GROUP),
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
  const groups = Math.ceil(rows / 4);
  const steps = Math.ceil(k / 4);
  const entries = layout.values.length;
  return {
    entries,
    denseFilterBytes: groups * 16 * steps,
    csrFilterBytes: 2 * rows + 2 * entries,
    denseInstructions: batches * groups * steps * DENSE_INSTR_PER_STEP,
    csrInstructions: batches * (entries * CSR_INSTR_PER_ENTRY + rows * CSR_INSTR_PER_ROW),
  };
}

export function csrPays(cost: CsrCost): boolean {
  return cost.csrFilterBytes < cost.denseFilterBytes && cost.csrInstructions <= cost.denseInstructions;
}
