// Kernel selection: for each lowered layer, pick the fastest C kernel whose preconditions hold
// and prepare its constants at compile time (folded biases, padded or widened filters).
// The portable reference-style kernels remain the fallback for everything else.

import type { Graph, Tensor } from '../ir/graph.ts';
import type { ConvS8Layer, DepthwiseConvS8Layer, FullyConnectedS8Layer, Layer } from '../ir/layers.ts';
import { int32Constant, int8Constant } from '../reference/run_reference.ts';
import { packInt4 } from '../frontends/tflite/int4.ts';
import { bestConvSparseLayout, bestMveSparseFcLayout, bestMveSparseLayout, csrCost, MVE_GATHER_INSTR_PER_KERNEL_ROW, MVE_GATHER_INSTR_PER_STEP, type MveSparseCost, csrLayout, csrPays, sparseCost, sparsePays, tileSparseLayout, type ConvSparseCost, type CsrCost, type SparseCost } from '../prune/sparse_layout.ts';

export type KernelMode = 'optimized' | 'portable';

/**
 * The instruction set the optimized kernels' data layouts are prepared for: 'dsp' (Cortex-M4/M7/M33
 * SIMD, the default) or 'mve' (Cortex-M55 Helium). Every layout's kernel also has a portable C path,
 * so either choice runs anywhere; it is only fast on its own cores.
 */
export type Isa = 'dsp' | 'mve';

export interface GenericCall {
  kind: 'generic';
  layer: Layer;
  /** 0 except for op-module layers, which state their own scratch space. */
  scratchBytes: number;
  /** A variant of the generic kernel with the same parameters: 'mve' for ADD's Helium loop. */
  variant?: 'mve';
}

export interface ConvGemmCall {
  kind: 'conv_gemm_s8';
  /** A convolution; a depthwise layer with one input channel is rewritten as one. */
  layer: ConvS8Layer;
  k4: number;
  /** int8, or int16 when widened at compile time (faster inner loop, twice the flash). */
  filter: Int8Array | Int16Array;
  bias: Int32Array;
  requant: RequantMode;
  /**
   * TF_REQUANT_FAST only: per row pair bias[2], multiplier[2] and one word holding the two right
   * shifts - 1 (bytes 0 and 1), read by the
   * fused GEMM + requantization (conv_gemm_s8.c); it replaces bias and the per-channel tables.
   */
  rq?: Int32Array;
  /** Interior pixels read through a table of k4 input offsets (kernel rows of at most 12 bytes). */
  offsets: boolean;
  scratchBytes: number;
}

/** A convolution over block-sparse filters (compiler/prune/sparse_layout.ts), chosen when it saves flash. */
export interface ConvGemmSparseCall {
  kind: 'conv_gemm_s8_sparse';
  /** A convolution; a depthwise layer with one input channel is rewritten as one. */
  layer: ConvS8Layer;
  k4: number;
  /** Row pairs sharing one index list. */
  groupPairs: 1 | 2;
  /** Per row group, its kept steps: (step gap << 1) | last. */
  index: Uint8Array;
  /** The kept [2 rows x 4] blocks, int8, or int16 in SXTB16 lane order when widened. */
  filter: Int8Array | Int16Array;
  bias: Int32Array;
  requant: RequantMode;
  cost: ConvSparseCost;
  scratchBytes: number;
}

export interface DepthwiseFastCall {
  kind: 'depthwise_conv_s8_fast';
  layer: DepthwiseConvS8Layer;
  /** Per group of 4 channels: bias[4], taps x 2 words of int16 weight pairs, multiplier[4], shift bytes (depthwise_conv_s8_fast.c). */
  stream: Int32Array;
  requant: RequantMode;
  scratchBytes: number;
}

export interface FullyConnectedFastCall {
  kind: 'fully_connected_s8_fast';
  layer: FullyConnectedS8Layer;
  k4: number;
  filter: Int8Array;
  bias: Int32Array;
  requant: RequantMode;
  scratchBytes: 0;
}

/**
 * A fully connected layer whose filter was INT4 in the model, kept packed in flash (two weights per
 * byte, TFLite's order) and unpacked in the kernel (fully_connected_s8_s4w.c): half the filter's
 * flash for more instructions per weight than fully_connected_s8_fast.
 */
export interface FullyConnectedS4wCall {
  kind: 'fully_connected_s8_s4w';
  layer: FullyConnectedS8Layer;
  /**
   * [outDepth][accumDepth] int4: TFLite's order over the flattened tensor (packInt4), or with
   * `grouped` (depth a multiple of 8) per row and 8 weights the bytes (e0|e1<<4), (e4|e5<<4),
   * (e2|e3<<4), (e6|e7<<4), the order the DSP path pairs with SXTB16 input lanes.
   */
  filter: Uint8Array;
  grouped: boolean;
  /** Per row, with the input offset folded in. */
  bias: Int32Array;
  scratchBytes: 0;
}

/**
 * A convolution whose filter was INT4 in the model, kept packed in flash (conv_s8_s4w.c): half the
 * filter's flash of conv_gemm_s8's int8 layout, for more instructions per MAC (no im2col GEMM).
 */
export interface ConvS4wCall {
  kind: 'conv_s8_s4w';
  layer: ConvS8Layer;
  /** [outC][kH][kW][inC] int4: TFLite's order, or with `grouped` (inC a multiple of 8) FullyConnectedS4wCall's grouped bytes. */
  filter: Uint8Array;
  grouped: boolean;
  /** The model's bias (zeros when it has none); the input offset is not folded. */
  bias: Int32Array;
  scratchBytes: 0;
}

/**
 * Requantization tables of the Helium kernels (int32 lanes): multiplier, right = min(shift, 0),
 * and left = max(shift, 0) only when some shift is positive; padded (and for depthwise permuted)
 * like the kernel's accumulators.
 */
export interface MveRequant {
  multipliers: Int32Array;
  left: Int32Array | undefined;
  right: Int32Array;
}

export interface ConvGemmMveCall {
  kind: 'conv_gemm_s8_mve';
  /** A convolution; a depthwise layer with one input channel is rewritten as one. */
  layer: ConvS8Layer;
  k16: number;
  /**
   * Filter rows split into `nseg` segments of `segLen` bytes (whole 16-byte steps) that the kernel
   * reads in place: one per kernel row, or one per tap; segLen 0 gathers whole rows (nseg 1).
   */
  nseg: number;
  segLen: number;
  /** Some pixel gathers a row (whole-row mode, or a kernel row cut by an image edge): scratch holds two rows. */
  gathers: boolean;
  /**
   * 1x1, stride 1, unpadded: the input is read as 16-byte vectors of `pack` = 16 / inC pixels (inC
   * 2, 4 or 8; the filter then has pack * outC rows, [pixel][channel]), or of k16 bytes (pack 1,
   * inC a multiple of 16). 0 otherwise.
   */
  pack: number;
  /** [groups of 4 rows][k16 / 16][4][16], rows zero-padded. */
  filter: Int8Array;
  bias: Int32Array;
  requant: MveRequant;
  scratchBytes: number;
}

/** A Helium convolution over block-sparse filters (compiler/prune/sparse_layout.ts), chosen when it saves flash. */
export interface ConvGemmMveSparseCall {
  kind: 'conv_gemm_s8_mve_sparse';
  /** A convolution; a depthwise layer with one input channel is rewritten as one. */
  layer: ConvS8Layer;
  k16: number;
  /** 1: 1x1, stride 1, unpadded, inC a multiple of 16 (input rows read in place); 0: every pixel gathers. */
  pack: 0 | 1;
  /** Rows per index list: 1 or 4. */
  listRows: 1 | 4;
  /** Per list: kept step count, then each kept step's distance from the previous one. */
  index: Uint8Array;
  /** The kept 16-byte steps, [kept][listRows][16], list after list. */
  filter: Int8Array;
  bias: Int32Array;
  requant: MveRequant;
  cost: MveSparseCost;
  scratchBytes: number;
}

export interface DepthwiseMveCall {
  kind: 'depthwise_conv_s8_mve';
  layer: DepthwiseConvS8Layer;
  /** Pixels per 16 lanes: 16 / channels for 2, 4 or 8 channels at stride 1 along x, else 1. */
  pack: number;
  /** [groups of 16 lanes][taps][16]: lane j of group g is channel 16g + j, or j % channels when packed. */
  filter: Int8Array;
  /** Folded bias, zero-padded to whole groups (channel order). */
  bias: Int32Array;
  /** Per group: bias, multipliers and min(shift, 0), 16 each in accumulator order (lanes 0 4 8 12, 2 6 10 14, 1 5 9 13, 3 7 11 15). */
  table: Int32Array;
  /** Per group: max(shift, 0) in accumulator order, when some shift is positive. */
  left: Int32Array | undefined;
  scratchBytes: number;
}

export interface FullyConnectedMveCall {
  kind: 'fully_connected_s8_mve';
  layer: FullyConnectedS8Layer;
  k16: number;
  /** [groups of 4 rows][k16 / 16][4][16], rows zero-padded. */
  filter: Int8Array;
  bias: Int32Array;
  scratchBytes: number;
}

/** Helium fully connected over block-sparse weights (the lists of ConvGemmMveSparseCall), chosen when it saves flash. */
export interface FullyConnectedMveSparseCall {
  kind: 'fully_connected_s8_mve_sparse';
  layer: FullyConnectedS8Layer;
  k16: number;
  /** Rows per index list: 1 or 4. */
  listRows: 1 | 4;
  /** Per list: kept step count, then each kept step's distance from the previous one. */
  index: Uint8Array;
  /** The kept 16-byte steps, [kept][listRows][16], list after list. */
  filter: Int8Array;
  bias: Int32Array;
  cost: MveSparseCost;
  scratchBytes: number;
}

/** Fully connected over tile-sparse weights (compiler/prune/sparse_layout.ts), chosen when it saves flash. */
export interface FullyConnectedSparseCall {
  kind: 'fully_connected_s8_sparse';
  layer: FullyConnectedS8Layer;
  /** Kept 4x4 tiles per group of four rows. */
  counts: Uint16Array;
  /** Column step (4-byte input word) of each kept tile. */
  steps: Uint16Array;
  /** [tiles][4 rows][4] */
  tiles: Int8Array;
  bias: Int32Array;
  requant: RequantMode;
  cost: SparseCost;
  scratchBytes: 0;
}

/** Fully connected over element-sparse (CSR) weights, chosen for unstructured pruning when it saves flash. */
export interface FullyConnectedCsrCall {
  kind: 'fully_connected_s8_csr_sparse';
  layer: FullyConnectedS8Layer;
  /** Entries per row. */
  counts: Uint16Array;
  /** Column distance of each entry from the previous one of its row. */
  deltas: Uint8Array;
  values: Int8Array;
  bias: Int32Array;
  requant: RequantMode;
  cost: CsrCost;
  scratchBytes: 0;
}

export type KernelCall =
  | GenericCall
  | ConvGemmCall
  | ConvGemmSparseCall
  | DepthwiseFastCall
  | FullyConnectedFastCall
  | FullyConnectedS4wCall
  | ConvS4wCall
  | FullyConnectedSparseCall
  | FullyConnectedCsrCall
  | ConvGemmMveCall
  | ConvGemmMveSparseCall
  | DepthwiseMveCall
  | FullyConnectedMveCall
  | FullyConnectedMveSparseCall;

const INT32_LIMIT = 2 ** 31;
/** Pointer slots in scratch are sized for 64-bit hosts too. */
const POINTER_BYTES = 8;

function roundUp4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/**
 * True when every channel's accumulator provably fits tf_requantize_small: |acc| is at most
 * |bias| + sum|w| * 128, and it must stay below 2^31 after the pre-shift of max(shift, 0) + 1.
 */
function accumulatorsSmall(absWeightSums: Float64Array, bias: Int32Array, shifts: ArrayLike<number>): boolean {
  for (let c = 0; c < bias.length; c++) {
    const bound = Math.abs(bias[c] as number) + (absWeightSums[c] as number) * 128;
    const shift = (shifts.length === 1 ? shifts[0] : shifts[c]) as number;
    if (bound * 2 ** (Math.max(shift, 0) + 1) >= INT32_LIMIT) return false;
  }
  return true;
}

/** Requantization modes of tf_simd.h: TF_REQUANT_EXACT, _SMALL, _FAST. */
export type RequantMode = 0 | 1 | 2;
export const TF_REQUANT_FAST: RequantMode = 2;

/** The fastest tf_simd.h requantization that is exact for every accumulator within |bias| + sum|w| * 128. */
export function requantMode(absWeightSums: Float64Array, bias: Int32Array, shifts: ArrayLike<number>): RequantMode {
  if (!accumulatorsSmall(absWeightSums, bias, shifts)) return 0;
  return Array.from(shifts).every((s) => s <= -1) ? 2 : 1;
}

function biasOrZero(graph: Graph, id: number, channels: number): Int32Array {
  return id >= 0 ? int32Constant(graph.tensors[id] as Tensor) : new Int32Array(channels);
}

/** bias + inputOffset * sum(w) per row, or undefined if any value leaves int32. */
function foldBias(rows: number, rowLength: number, weightAt: (row: number, k: number) => number, bias: Int32Array, inputOffset: number): { bias: Int32Array; absSums: Float64Array } | undefined {
  const folded = new Int32Array(rows);
  const absSums = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    let abs = 0;
    for (let k = 0; k < rowLength; k++) {
      const w = weightAt(r, k);
      sum += w;
      abs += Math.abs(w);
    }
    const v = (bias[r] as number) + inputOffset * sum;
    if (v < -INT32_LIMIT || v >= INT32_LIMIT) return undefined;
    folded[r] = v;
    absSums[r] = abs;
  }
  return { bias: folded, absSums };
}

function convGemm(graph: Graph, l: ConvS8Layer, filterAt: (oc: number, k: number) => number, allowSparse = true): ConvGemmCall | ConvGemmSparseCall | undefined {
  const k = l.kH * l.kW * l.inC;
  const k4 = roundUp4(k);
  const folded = foldBias(l.outC, k, filterAt, biasOrZero(graph, l.bias, l.outC), l.inputOffset);
  if (!folded) return undefined;
  // Row pairs interleaved in 4-byte steps: row 2i k..k+3, row 2i+1 k..k+3, row 2i k+4..k+7, ...
  const pairs = Math.ceil(l.outC / 2);
  const filter = new Int8Array(pairs * 2 * k4);
  for (let oc = 0; oc < l.outC; oc++) {
    const base = (oc >> 1) * 2 * k4 + (oc & 1) * 4;
    for (let i = 0; i < k; i++) filter[base + (i >> 2) * 8 + (i & 3)] = filterAt(oc, i);
  }
  // Even row count: the odd last row pairs with a zero row whose results are dropped.
  const bias = new Int32Array(pairs * 2);
  bias.set(folded.bias);
  // two gathered int8 rows, two interleaved int16 columns, accumulators for two pixels
  const scratchBytes = 2 * k4 + 2 * k4 * 2 + 2 * pairs * 2 * 4;
  // Pruned filters: skip all-zero [2 x 4] blocks when that saves flash without costing instructions.
  const sparse = allowSparse ? bestConvSparseLayout(l.outC, k, l.outH * l.outW, filterAt) : undefined;
  if (sparse) {
    const { layout, cost } = sparse;
    return { kind: 'conv_gemm_s8_sparse', layer: l, k4, groupPairs: layout.groupPairs, index: layout.index, filter: layout.blocks, bias, requant: requantMode(folded.absSums, folded.bias, l.shifts), cost, scratchBytes };
  }
  const requant = requantMode(folded.absSums, folded.bias, l.shifts);
  // Short kernel rows (first layers on 1-3 channels): interior pixels are read through a table of
  // k4 input offsets instead of copying rows of a few bytes each; never on the direct 1x1 path.
  const offsets = l.kW * l.inC <= 12 && !directGemm(l, k4);
  return {
    kind: 'conv_gemm_s8',
    layer: l,
    k4,
    filter,
    bias,
    requant,
    offsets,
    ...(requant === TF_REQUANT_FAST ? { rq: gemmRequantStream(l.outC, bias, l.multipliers, l.shifts) } : {}),
    scratchBytes: scratchBytes + (offsets ? 4 * k4 : 0),
  };
}

/** conv_gemm_s8.c's `direct` path: 1x1, stride 1, unpadded, in_c == k4 (input pixels are the GEMM rows). */
function directGemm(l: ConvS8Layer, k4: number): boolean {
  return l.kH === 1 && l.kW === 1 && l.strideH === 1 && l.strideW === 1 && l.padTop === 0 && l.padLeft === 0 && l.inC === k4;
}

/**
 * The fused GEMM's per-pair stream: bias[2], multiplier[2], then -shift - 1 of both rows as bytes 0
 * and 1 of one word (fast mode: shifts -1 to -31, so 0 to 30); the zero row that pads an odd count
 * stays zero.
 */
function gemmRequantStream(outC: number, bias: Int32Array, multipliers: Int32Array, shifts: Int32Array): Int32Array {
  const pairs = Math.ceil(outC / 2);
  const stream = new Int32Array(pairs * 5);
  for (let c = 0; c < outC; c++) {
    const at = 5 * (c >> 1);
    stream[at + (c & 1)] = bias[c] as number;
    stream[at + 2 + (c & 1)] = (multipliers.length === 1 ? multipliers[0] : multipliers[c]) as number;
    stream[at + 4] = (stream[at + 4] as number) | ((-((shifts.length === 1 ? shifts[0] : shifts[c]) as number) - 1) << (8 * (c & 1)));
  }
  return stream;
}

/**
 * conv_gemm_s8 (or _sparse): any window, stride, dilation and padding, any channel counts; only
 * the folded bias must fit int32. Inside the kernel one shape is special-cased, keyed on exactly
 * what it needs (conv_gemm_s8.c, conv_gemm_s8_sparse.c `direct`): k_h == 1 && k_w == 1, stride 1x1,
 * no padding and in_c == k4 (in_c a multiple of 4): the input pixels are the GEMM rows, read in
 * place. Every other shape gathers each pixel's receptive field (test/fast_path_shapes.test.ts
 * runs 1x1 on 2, 4, 6, 8, 12 and 16 channels and 1x1 stride 2 around that boundary). Two more
 * paths of the dense kernel, each keyed on exactly what it needs:
 * - `rq` (fused GEMM + requantization in registers): requant == TF_REQUANT_FAST, any shape;
 * - `offsets` (interior pixel pairs read through a table of k4 input offsets instead of row
 *   copies): k_w * in_c <= 12 and not the direct shape, any window, stride and dilation; a pair
 *   with a pixel whose window leaves the image copies rows as before.
 * (fast_path_shapes: k_w * in_c 12 and 13, dilation, stride, odd channel and pixel counts, a
 * layer outside the fast requantization mode.)
 */
function selectConv(graph: Graph, l: ConvS8Layer, sparse: boolean, packInt4: boolean): KernelCall {
  const weights = graph.tensors[l.weights] as Tensor;
  const w = int8Constant(weights);
  const k = l.kH * l.kW * l.inC;
  const packed = packInt4 && weights.int4 ? convS4w(graph, l, w.subarray(0, l.outC * k)) : undefined;
  if (packed) return packed;
  return convGemm(graph, l, (oc, i) => w[oc * k + i] as number, sparse) ?? { kind: 'generic', layer: l, scratchBytes: 0 };
}

/**
 * Depthwise on the DSP layouts. Exact shapes of each path:
 * - in_c == 1 (any multiplier): rewritten as a convolution (conv_gemm_s8, any window);
 * - depthwise_conv_s8_fast: depth multiplier 1 and in_c % 4 == 0, any window, stride, dilation.
 *   Inside it (depthwise_conv_s8_fast.c), in TF_REQUANT_FAST mode on DSP cores:
 *     tf_dw_s8_fast_taps9: exactly 9 taps in any arrangement (it reads 9 tap pointers);
 *     tf_dw_s8_fast_rows9: exactly k_h == 3 && k_w == 3 (three rows of three), interior pixels;
 *     tf_dw_s8_fast_tapsn: any other tap count from 1 to 16 (it reads that many tap pointers).
 *   A 9x1 or 1x9 filter has 9 taps but is not 3x3 (issue 17): it never reaches rows9. More than
 *   16 taps and the other requantization modes take the portable pixel loop;
 * - anything else (multiplier > 1, in_c not a multiple of 4): the portable kernel.
 */
function selectDepthwise(graph: Graph, l: DepthwiseConvS8Layer, sparse: boolean): KernelCall {
  const w = int8Constant(graph.tensors[l.weights] as Tensor);
  const taps = l.kH * l.kW;
  if (l.inC === 1) {
    // One input channel: each output channel is an ordinary convolution of that channel.
    const asConv: ConvS8Layer = { ...l, kernel: 'conv_s8' };
    return convGemm(graph, asConv, (oc, t) => w[t * l.outC + oc] as number, sparse) ?? { kind: 'generic', layer: l, scratchBytes: 0 };
  }
  if (l.depthMultiplier !== 1 || l.inC % 4 !== 0) return { kind: 'generic', layer: l, scratchBytes: 0 };
  const C = l.outC;
  const folded = foldBias(C, taps, (c, t) => w[t * C + c] as number, biasOrZero(graph, l.bias, C), l.inputOffset);
  if (!folded) return { kind: 'generic', layer: l, scratchBytes: 0 };
  const requant = requantMode(folded.absSums, folded.bias, l.shifts);
  return {
    kind: 'depthwise_conv_s8_fast',
    layer: l,
    stream: depthwiseStream(C, taps, (c, t) => w[t * C + c] as number, folded.bias, l.multipliers, l.shifts, requant),
    requant,
    // a row of zero points, the tap pointers, the tap offsets
    scratchBytes: Math.ceil(C / 8) * 8 + taps * POINTER_BYTES + taps * 4,
  };
}

/**
 * The depthwise_conv_s8_fast stream: per group of 4 channels, bias[4], then per tap the int16
 * weight pairs (c0, c2) and (c1, c3) (SXTB16 lane order), multiplier[4] and one word of 4 shift
 * bytes. In fast mode bias and weights are doubled (|2 acc| < 2^31 is what the mode proved) and
 * the shift bytes are right_shift - 1.
 */
function depthwiseStream(
  C: number,
  taps: number,
  weightAt: (c: number, t: number) => number,
  bias: Int32Array,
  multipliers: Int32Array,
  shifts: Int32Array,
  requant: RequantMode,
): Int32Array {
  const scale = requant === 2 ? 2 : 1;
  const words = 4 + 2 * taps + 5;
  const stream = new Int32Array((C / 4) * words);
  const pair = (lo: number, hi: number): number => ((scale * lo) & 0xffff) | ((scale * hi) << 16);
  for (let g = 0; g < C / 4; g++) {
    const base = g * words;
    const c0 = g * 4;
    for (let j = 0; j < 4; j++) stream[base + j] = scale * (bias[c0 + j] as number);
    for (let t = 0; t < taps; t++) {
      stream[base + 4 + 2 * t] = pair(weightAt(c0, t), weightAt(c0 + 2, t));
      stream[base + 5 + 2 * t] = pair(weightAt(c0 + 1, t), weightAt(c0 + 3, t));
    }
    let shiftWord = 0;
    for (let j = 0; j < 4; j++) {
      const c = c0 + j;
      stream[base + 4 + 2 * taps + j] = (multipliers.length === 1 ? multipliers[0] : multipliers[c]) as number;
      const shift = (shifts.length === 1 ? shifts[0] : shifts[c]) as number;
      shiftWord |= ((requant === 2 ? -shift - 1 : shift) & 0xff) << (8 * j);
    }
    stream[base + 8 + 2 * taps] = shiftWord;
  }
  return stream;
}

/** Rows of k int8 weights in groups of four rows interleaved in 4-byte steps, [group][k4 / 4][row in group][4], zero-padded (mac_4rows_s8.h). */
export function interleaveRows4(rows: number, k: number, weightAt: (row: number, i: number) => number): Int8Array {
  const k4 = roundUp4(k);
  const filter = new Int8Array(Math.ceil(rows / 4) * 4 * k4);
  for (let o = 0; o < rows; o++) {
    const base = (o >> 2) * 4 * k4 + (o & 3) * 4;
    for (let i = 0; i < k; i++) filter[base + (i >> 2) * 16 + (i & 3)] = weightAt(o, i);
  }
  return filter;
}

/**
 * Fully connected on the DSP layouts: any batches, depth and rows with a zero filter offset (the
 * offset is not folded). fully_connected_s8_fast runs whole 4-byte steps in assembly and the last
 * depth % 4 inputs in C (depth < 4: the tail only), rows in groups of 4 with a partial last group.
 * The tile-sparse layout needs depth % 4 == 0 (tileSparseLayout declines otherwise); CSR has no
 * shape condition.
 */
function selectFullyConnected(graph: Graph, l: FullyConnectedS8Layer, allowSparse: boolean, packInt4: boolean): KernelCall {
  if (l.filterOffset !== 0) return { kind: 'generic', layer: l, scratchBytes: 0 };
  const weights = graph.tensors[l.weights] as Tensor;
  const w = int8Constant(weights);
  const k = l.accumDepth;
  const k4 = roundUp4(k);
  const folded = foldBias(l.outDepth, k, (o, i) => w[o * k + i] as number, biasOrZero(graph, l.bias, l.outDepth), l.inputOffset);
  if (!folded) return { kind: 'generic', layer: l, scratchBytes: 0 };
  // The model chose 4-bit weights to save flash: keep them packed rather than widen them to int8.
  const packed = packInt4 && weights.int4 ? fullyConnectedS4w(l, w, folded.bias) : undefined;
  if (packed) return packed;
  const filter = interleaveRows4(l.outDepth, k, (o, i) => w[o * k + i] as number);
  // Pruned weights: skip all-zero 4x4 tiles, or store only the non-zero weights (CSR), when that
  // saves flash without costing instructions; the smaller layout wins.
  const sparse = allowSparse ? tileSparseLayout(l.outDepth, k, (o, i) => w[o * k + i] as number) : undefined;
  const cost = sparse && sparseCost(l.outDepth, k, l.batches, sparse);
  const tilePays = sparse !== undefined && cost !== undefined && sparsePays(cost);
  const csr = allowSparse ? csrLayout(l.outDepth, k, (o, i) => w[o * k + i] as number) : undefined;
  const csrC = csr && csrCost(l.outDepth, k, l.batches, csr);
  if (csr && csrC && csrPays(csrC) && (!tilePays || csrC.csrFilterBytes < (cost as SparseCost).sparseFilterBytes)) {
    return {
      kind: 'fully_connected_s8_csr_sparse',
      layer: l,
      ...csr,
      bias: folded.bias,
      requant: requantMode(folded.absSums, folded.bias, [l.shift]),
      cost: csrC,
      scratchBytes: 0,
    };
  }
  if (sparse && cost && tilePays) {
    return {
      kind: 'fully_connected_s8_sparse',
      layer: l,
      ...sparse,
      bias: folded.bias,
      requant: requantMode(folded.absSums, folded.bias, [l.shift]),
      cost,
      scratchBytes: 0,
    };
  }
  return {
    kind: 'fully_connected_s8_fast',
    layer: l,
    k4,
    filter,
    bias: folded.bias,
    requant: requantMode(folded.absSums, folded.bias, [l.shift]),
    scratchBytes: 0,
  };
}

/** The packed INT4 fully connected call, or undefined when some weight no longer fits in [-8, 7] (rewritten after reading). */
function fullyConnectedS4w(l: FullyConnectedS8Layer, w: Int8Array, bias: Int32Array): FullyConnectedS4wCall | undefined {
  const rows = w.subarray(0, l.outDepth * l.accumDepth);
  if (!rows.every((v) => v >= -8 && v <= 7)) return undefined;
  const grouped = l.accumDepth % 8 === 0;
  return { kind: 'fully_connected_s8_s4w', layer: l, filter: packInt4(grouped ? groupS4wWeights(rows) : rows), bias, grouped, scratchBytes: 0 };
}

/** The packed INT4 convolution call, or undefined when some weight no longer fits in [-8, 7]. */
function convS4w(graph: Graph, l: ConvS8Layer, w: Int8Array): ConvS4wCall | undefined {
  if (!w.every((v) => v >= -8 && v <= 7)) return undefined;
  const grouped = l.inC % 8 === 0;
  return { kind: 'conv_s8_s4w', layer: l, filter: packInt4(grouped ? groupS4wWeights(w) : w), grouped, bias: biasOrZero(graph, l.bias, l.outC), scratchBytes: 0 };
}

/** Reorders each run of 8 weights e0..e7 to e0 e1 e4 e5 e2 e3 e6 e7, so packInt4 gives fully_connected_s8_s4w.c's grouped bytes. */
export function groupS4wWeights(values: Int8Array): Int8Array {
  const order = [0, 1, 4, 5, 2, 3, 6, 7];
  return values.map((_, i) => values[(i & ~7) + (order[i & 7] as number)] as number);
}

// ---- Helium (MVE) layouts ----

/** Rows of k values -> [groups of 4 rows][k16 / 16][4][16], zero-padded rows and row count. */
function mveGemmFilter(rows: number, k: number, weightAt: (row: number, i: number) => number): { filter: Int8Array; k16: number } {
  const k16 = roundUp(k, 16);
  const filter = new Int8Array(roundUp(rows, 4) * k16);
  for (let r = 0; r < rows; r++) {
    const base = (r >> 2) * 4 * k16 + (r & 3) * 16;
    for (let i = 0; i < k; i++) filter[base + (i >> 4) * 64 + (i & 15)] = weightAt(r, i);
  }
  return { filter, k16 };
}

/** Per-channel requantization tables for the vector kernels; `order[j]` is the channel of slot j (-1: padding). */
function mveRequant(multipliers: Int32Array, shifts: Int32Array, order: readonly number[]): MveRequant {
  const n = order.length;
  const m = new Int32Array(n);
  const left = new Int32Array(n);
  const right = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    const c = order[j] as number;
    if (c < 0) continue;
    const shift = (shifts.length === 1 ? shifts[0] : shifts[c]) as number;
    m[j] = (multipliers.length === 1 ? multipliers[0] : multipliers[c]) as number;
    left[j] = Math.max(shift, 0);
    right[j] = Math.min(shift, 0);
  }
  return { multipliers: m, left: left.some((v) => v > 0) ? left : undefined, right };
}

function padded(values: Int32Array, order: readonly number[]): Int32Array {
  return Int32Array.from(order, (c) => (c < 0 ? 0 : (values[c] as number)));
}

function identityOrder(n: number, multiple: number): number[] {
  return Array.from({ length: roundUp(n, multiple) }, (_, i) => (i < n ? i : -1));
}

/**
 * The sparse Helium convolution when its layout saves flash at no instruction cost (1x1 layers
 * read in place, pack 1, and gathered ones; packed pixels stay dense). `gathersAnyway`: the dense
 * kernel gathers every pixel too (segLen 0), else the sparse kernel's gathers are counted.
 */
function convGemmMveSparse(l: ConvS8Layer, pack: number, gathersAnyway: boolean, filterAt: (oc: number, k: number) => number, bias: Int32Array, requant: MveRequant): ConvGemmMveSparseCall | undefined {
  if (pack > 1) return undefined;
  const k = l.kH * l.kW * l.inC;
  const k16 = roundUp(k, 16);
  const extraPerPixel = pack === 1 || gathersAnyway ? 0 : l.kH * (MVE_GATHER_INSTR_PER_KERNEL_ROW + MVE_GATHER_INSTR_PER_STEP * Math.ceil((l.kW * l.inC) / 16));
  const sparse = bestMveSparseLayout(l.outC, k, l.outH * l.outW, extraPerPixel, filterAt);
  if (!sparse) return undefined;
  const { layout, cost } = sparse;
  return {
    kind: 'conv_gemm_s8_mve_sparse',
    layer: l,
    k16,
    pack: pack === 1 ? 1 : 0,
    listRows: layout.listRows,
    index: layout.index,
    filter: layout.filter,
    bias,
    requant,
    cost,
    // accumulators for two pixels, two gather rows
    scratchBytes: 2 * roundUp(l.outC, 4) * 4 + (pack === 1 ? 0 : 2 * k16),
  };
}

/**
 * The Helium GEMM convolution, any shape. Its input paths, each keyed on exactly what it reads:
 * - pack 16 / in_c: k_h == 1 && k_w == 1, stride 1x1, no padding, in_c in {2, 4, 8} (whole
 *   pixels per 16-byte vector, stride 1 so neighbouring pixels are contiguous);
 * - pack 1: the same 1x1 stride-1 unpadded shape with in_c % 16 == 0 (rows read in place);
 * - row segments: dilation_w == 1 and k_w * in_c % 16 == 0 (each kernel row contiguous, whole
 *   16-byte steps); a row cut by the image's left or right edge is gathered;
 * - tap segments: in_c % 16 == 0 otherwise (each tap whole 16-byte steps, any dilation);
 * - otherwise each pixel's receptive field is gathered (segLen 0).
 */
function convGemmMve(graph: Graph, l: ConvS8Layer, filterAt: (oc: number, k: number) => number, sparse = true): ConvGemmMveCall | ConvGemmMveSparseCall | undefined {
  const k = l.kH * l.kW * l.inC;
  const folded = foldBias(l.outC, k, filterAt, biasOrZero(graph, l.bias, l.outC), l.inputOffset);
  if (!folded) return undefined;
  const direct = l.kH === 1 && l.kW === 1 && l.strideH === 1 && l.strideW === 1 && l.padTop === 0 && l.padLeft === 0;
  const pack = !direct ? 0 : l.inC % 16 === 0 ? 1 : [2, 4, 8].includes(l.inC) ? 16 / l.inC : 0;
  if (pack > 0) {
    // Row s * outC + oc: channel oc of the vector's pixel s, whose inputs are lanes s * inC...
    const rows = pack * l.outC;
    const { filter, k16 } =
      pack === 1
        ? mveGemmFilter(l.outC, k, filterAt)
        : mveGemmFilter(rows, 16, (r, i) => (Math.floor(i / l.inC) === Math.floor(r / l.outC) ? filterAt(r % l.outC, i % l.inC) : 0));
    const order = Array.from({ length: roundUp(rows, 4) }, (_, r) => (r < rows ? r % l.outC : -1));
    const sparseCall = sparse ? convGemmMveSparse(l, pack, true, filterAt, padded(folded.bias, order), mveRequant(l.multipliers, l.shifts, order)) : undefined;
    if (sparseCall) return sparseCall;
    return {
      kind: 'conv_gemm_s8_mve',
      layer: l,
      k16,
      nseg: 1,
      segLen: 0,
      gathers: false,
      pack,
      filter,
      bias: padded(folded.bias, order),
      requant: mveRequant(l.multipliers, l.shifts, order),
      // accumulators for two vectors, a zero-padded vector for the last pixels
      scratchBytes: 2 * order.length * 4 + (pack > 1 ? 16 : 0),
    };
  }
  const { filter, k16 } = mveGemmFilter(l.outC, k, filterAt);
  const order = identityOrder(l.outC, 4);
  const rowLen = l.kW * l.inC;
  const [nseg, segLen] = l.dilationW === 1 && rowLen % 16 === 0 ? [l.kH, rowLen] : l.inC % 16 === 0 ? [l.kH * l.kW, l.inC] : [1, 0];
  const sparseCall = sparse ? convGemmMveSparse(l, 0, segLen === 0, filterAt, padded(folded.bias, order), mveRequant(l.multipliers, l.shifts, order)) : undefined;
  if (sparseCall) return sparseCall;
  return {
    kind: 'conv_gemm_s8_mve',
    layer: l,
    k16,
    nseg,
    segLen,
    gathers: gathers(l, segLen),
    pack,
    filter,
    bias: padded(folded.bias, order),
    requant: mveRequant(l.multipliers, l.shifts, order),
    // accumulators for two pixels, segment pointers, a segment of padding, two gather rows
    scratchBytes: 2 * order.length * 4 + 2 * nseg * POINTER_BYTES + roundUp(segLen, 16) + (gathers(l, segLen) ? 2 * k16 : 0),
  };
}

/** Whether some pixel of a segmented convolution gathers a kernel row (one cut by the left or right edge). */
function gathers(l: ConvS8Layer, segLen: number): boolean {
  if (segLen === 0) return true;
  if (segLen !== l.kW * l.inC) return false;
  const lastX = (l.outW - 1) * l.strideW - l.padLeft + (l.kW - 1) * l.dilationW;
  return l.padLeft > 0 || lastX >= l.inW;
}

function selectConvMve(graph: Graph, l: ConvS8Layer, sparse: boolean): KernelCall {
  const w = int8Constant(graph.tensors[l.weights] as Tensor);
  const k = l.kH * l.kW * l.inC;
  return convGemmMve(graph, l, (oc, i) => w[oc * k + i] as number, sparse) ?? { kind: 'generic', layer: l, scratchBytes: 0 };
}

/** Lane of each accumulator slot in a depthwise group of 16 (VMULLB/T.S8, then VMOVLB/T.S16). */
const DEPTHWISE_SLOT_LANES = [0, 4, 8, 12, 2, 6, 10, 14, 1, 5, 9, 13, 3, 7, 11, 15];

/**
 * Depthwise on the Helium layouts: in_c == 1 becomes a convolution (convGemmMve, any window);
 * depth multiplier 1 with provably small accumulators takes depthwise_conv_s8_mve (any channels,
 * window, stride, dilation; its nine-tap routine and pixel packing are keyed below); the rest
 * the portable kernel.
 */
function selectDepthwiseMve(graph: Graph, l: DepthwiseConvS8Layer, sparse: boolean): KernelCall {
  const w = int8Constant(graph.tensors[l.weights] as Tensor);
  const taps = l.kH * l.kW;
  if (l.inC === 1) {
    const asConv: ConvS8Layer = { ...l, kernel: 'conv_s8' };
    return convGemmMve(graph, asConv, (oc, t) => w[t * l.outC + oc] as number, sparse) ?? { kind: 'generic', layer: l, scratchBytes: 0 };
  }
  if (l.depthMultiplier !== 1) return { kind: 'generic', layer: l, scratchBytes: 0 };
  const C = l.outC;
  const folded = foldBias(C, taps, (c, t) => w[t * C + c] as number, biasOrZero(graph, l.bias, C), l.inputOffset);
  // The kernel narrows requantized values to int16 with saturation before adding the output
  // offset; with bounded accumulators no value comes near the int32 limits, where that differs.
  if (!folded || !accumulatorsSmall(folded.absSums, folded.bias, l.shifts)) return { kind: 'generic', layer: l, scratchBytes: 0 };
  const allShifts = Array.from({ length: C }, (_, c) => (l.shifts.length === 1 ? l.shifts[0] : l.shifts[c]) as number);
  // depthwise_conv_s8_mve.c's fast routine tf_dw9_mve takes exactly 9 taps in any arrangement
  // (3x3, 9x1, 1x9, dilated: it is handed nine tap pointers, not a 3x3 window) when the lanes are
  // whole 16-lane groups and no shift is positive. Packing `pack` = 16 / C neighbouring pixels
  // into the 16 lanes needs stride_w == 1 (pixel x + 1's taps are pixel x's plus C bytes, for
  // any window or dilation) and C in {2, 4, 8}; it only pays where tf_dw9_mve steps through the
  // packed pixels, so it is keyed on the same 9 taps and shifts. Other tap counts (5x5, 3x1...)
  // take the per-pixel vector loop.
  const pack = taps === 9 && l.strideW === 1 && [2, 4, 8].includes(C) && allShifts.every((v) => v <= 0) ? 16 / C : 1;
  const lanes = roundUp(C * pack, 16);
  const groups = lanes / 16;
  const channelOfLane = (lane: number): number => (pack > 1 ? lane % C : lane < C ? lane : -1);
  const filter = new Int8Array(lanes * taps);
  for (let lane = 0; lane < lanes; lane++) {
    const c = channelOfLane(lane);
    if (c < 0) continue;
    for (let t = 0; t < taps; t++) filter[((lane >> 4) * taps + t) * 16 + (lane & 15)] = w[t * C + c] as number;
  }
  const order = Array.from({ length: lanes }, (_, j) => channelOfLane((j & ~15) + (DEPTHWISE_SLOT_LANES[j & 15] as number)));
  const bias = padded(folded.bias, order);
  const rq = mveRequant(l.multipliers, l.shifts, order);
  const table = new Int32Array(groups * 48);
  for (let g = 0; g < groups; g++) {
    table.set(bias.subarray(g * 16, g * 16 + 16), g * 48);
    table.set(rq.multipliers.subarray(g * 16, g * 16 + 16), g * 48 + 16);
    table.set(rq.right.subarray(g * 16, g * 16 + 16), g * 48 + 32);
  }
  return {
    kind: 'depthwise_conv_s8_mve',
    layer: l,
    pack,
    filter,
    bias: padded(folded.bias, identityOrder(C, 16)),
    table,
    left: rq.left,
    // a row of zero points, then the tap pointers
    scratchBytes: lanes + taps * POINTER_BYTES,
  };
}

/** TF_FC_MVE_CHUNK_GROUPS in fully_connected_s8_mve.c: row groups per GEMM call. */
const FC_MVE_CHUNK_GROUPS = 16;
/** TF_FC_MVE_SPARSE_CHUNK in fully_connected_s8_mve_sparse.c: rows per chunk of accumulators. */
const FC_MVE_SPARSE_CHUNK = 64;

/**
 * Fully connected on the Helium layouts: any batches (pairs, then one), depth (rows zero-padded to
 * k16, the input copied into a padded row when depth % 16 != 0) and rows (groups of 4, chunks of
 * 16 groups); the filter offset must be zero.
 */
/**
 * INT4 filters are not kept packed on Helium: the packed kernel has no MVE path, and measured on the
 * M55 it took 14 times the instructions of this one (ad_autoencoder, 737,787 against 51,662).
 */
function selectFullyConnectedMve(graph: Graph, l: FullyConnectedS8Layer, sparse: boolean): KernelCall {
  if (l.filterOffset !== 0) return { kind: 'generic', layer: l, scratchBytes: 0 };
  const w = int8Constant(graph.tensors[l.weights] as Tensor);
  const k = l.accumDepth;
  const folded = foldBias(l.outDepth, k, (o, i) => w[o * k + i] as number, biasOrZero(graph, l.bias, l.outDepth), l.inputOffset);
  if (!folded) return { kind: 'generic', layer: l, scratchBytes: 0 };
  const { filter, k16 } = mveGemmFilter(l.outDepth, k, (o, i) => w[o * k + i] as number);
  const order = identityOrder(l.outDepth, 4);
  const best = sparse ? bestMveSparseFcLayout(l.outDepth, k, l.batches, (o, i) => w[o * k + i] as number) : undefined;
  if (best) {
    return {
      kind: 'fully_connected_s8_mve_sparse',
      layer: l,
      k16,
      listRows: best.layout.listRows,
      index: best.layout.index,
      filter: best.layout.filter,
      bias: padded(folded.bias, order),
      cost: best.cost,
      // accumulators of one chunk of rows, a zero-padded input row if needed
      scratchBytes: Math.min(order.length, FC_MVE_SPARSE_CHUNK) * 4 + (k16 !== k ? k16 : 0),
    };
  }
  const chunkGroups = Math.min(order.length / 4, FC_MVE_CHUNK_GROUPS);
  return {
    kind: 'fully_connected_s8_mve',
    layer: l,
    k16,
    filter,
    bias: padded(folded.bias, order),
    // accumulators of one chunk of rows for two batches, zero-padded input rows if needed
    scratchBytes: 2 * chunkGroups * 16 + (k16 !== k ? Math.min(l.batches, 2) * k16 : 0),
  };
}

/** int8 row-pair layout -> int16 in SXTB16 lane order: per row and step (w0, w2, w1, w3). */
export function widenGemmFilter(filter: Int8Array): Int16Array {
  const wide = new Int16Array(filter.length);
  for (let i = 0; i < filter.length; i += 4) {
    wide[i] = filter[i] as number;
    wide[i + 1] = filter[i + 2] as number;
    wide[i + 2] = filter[i + 1] as number;
    wide[i + 3] = filter[i + 3] as number;
  }
  return wide;
}

/**
 * Widens GEMM filters to int16 where it buys the most instructions per extra flash byte
 * (MACs per filter byte), until `budgetBytes` of extra flash are spent.
 */
function widenWithinBudget(calls: KernelCall[], budgetBytes: number): void {
  const gemm = calls.filter((c): c is ConvGemmCall | ConvGemmSparseCall => c.kind === 'conv_gemm_s8' || c.kind === 'conv_gemm_s8_sparse');
  // Dense: MACs per filter byte. Sparse: the MACs of its kept blocks per byte, times 3/4: widening
  // saves 3 of its 18 instructions per kept block, the dense loop 4 of 17 per step.
  const gain = (c: ConvGemmCall | ConvGemmSparseCall): number =>
    c.kind === 'conv_gemm_s8' ? c.layer.macs / c.filter.byteLength : (0.75 * c.layer.macs * (c.cost.blocks / (c.cost.pairs * c.cost.steps))) / c.filter.byteLength;
  gemm.sort((a, b) => gain(b) - gain(a));
  let spent = 0;
  for (const c of gemm) {
    if (spent + c.filter.byteLength > budgetBytes) continue;
    spent += c.filter.byteLength;
    c.filter = widenGemmFilter(c.filter as Int8Array);
  }
}

export interface SelectOptions {
  /** Data layouts for this instruction set (default 'dsp'). */
  isa?: Isa;
  /**
   * Extra flash the compiler may spend on int16 copies of GEMM filters for speed (DSP layouts).
   * Default: widenBudgetFor('balanced').
   */
  widenBudgetBytes?: number;
  /** Sparse layouts where the cost model says they pay (default true); false keeps every convolution and fully connected layer dense. */
  sparse?: boolean;
  /** Which layers whose filter was INT4 keep it packed in flash (DSP layouts; default 'fully_connected'). */
  int4Packing?: Int4Packing;
}

/**
 * Layers whose filter was INT4 keep it packed (two weights per byte) or take the int8 layouts:
 * 'fully_connected' packs FULLY_CONNECTED (half its filter flash, about 2x its instructions on the
 * M4), 'all' also CONV_2D (about 5 to 7x its instructions: no im2col GEMM), 'none' neither.
 */
export type Int4Packing = 'none' | 'fully_connected' | 'all';

/** 'size' packs every INT4 filter it can, 'speed' none, 'balanced' (the default) the fully connected ones. */
export function int4PackingFor(goal: OptimizeGoal): Int4Packing {
  return goal === 'size' ? 'all' : goal === 'speed' ? 'none' : 'fully_connected';
}

/**
 * How flash is traded for speed: 'size' widens no filter; 'balanced' (the default) spends up to an
 * eighth of the weight bytes plus 16 KiB, on the filters whose widening saves the most instructions
 * per byte (the most pixels per weight: early, large feature maps), so a model's flash stays close
 * to its weights (a ResNet's below TFLite Micro's flatbuffer build); 'speed' widens every GEMM
 * filter (about 25% fewer instructions in those layers for twice their filter bytes).
 */
export type OptimizeGoal = 'balanced' | 'speed' | 'size';

export function widenBudgetFor(goal: OptimizeGoal, graph: Graph, layers: readonly Layer[]): number {
  if (goal === 'size') return 0;
  if (goal === 'speed') return Number.POSITIVE_INFINITY;
  let weights = 0;
  for (const l of layers) if ('weights' in l) weights += graph.tensors[l.weights]?.data?.byteLength ?? 0;
  return Math.floor(weights / 8) + 16 * 1024;
}

export function defaultWidenBudget(graph: Graph, layers: readonly Layer[]): number {
  return widenBudgetFor('balanced', graph, layers);
}

export function selectKernels(graph: Graph, layers: readonly Layer[], mode: KernelMode, options: SelectOptions = {}): KernelCall[] {
  if (options.isa === 'mve') return chooseMveKernels(graph, layers, mode, options.sparse ?? true);
  const calls = chooseKernels(graph, layers, mode, options.sparse ?? true, options.int4Packing ?? 'fully_connected');
  widenWithinBudget(calls, options.widenBudgetBytes ?? defaultWidenBudget(graph, layers));
  return calls;
}

/** The portable kernel of a layer (op modules pick their own variants when they lower). */
function genericCall(l: Layer): GenericCall {
  return { kind: 'generic', layer: l, scratchBytes: l.kernel === 'module' ? l.scratchBytes : 0 };
}

function chooseMveKernels(graph: Graph, layers: readonly Layer[], mode: KernelMode, sparse: boolean): KernelCall[] {
  return layers.map((l): KernelCall => {
    if (mode === 'portable') return genericCall(l);
    switch (l.kernel) {
      case 'conv_s8':
        return selectConvMve(graph, l, sparse);
      case 'depthwise_conv_s8':
        return selectDepthwiseMve(graph, l, sparse);
      case 'fully_connected_s8':
        return selectFullyConnectedMve(graph, l, sparse);
      case 'add_s8':
        // Any element count: four lanes per step and a predicated tail (add_s8_mve.c).
        return { kind: 'generic', layer: l, scratchBytes: 0, variant: 'mve' };
      default:
        return genericCall(l);
    }
  });
}

function chooseKernels(graph: Graph, layers: readonly Layer[], mode: KernelMode, sparse: boolean, int4: Int4Packing): KernelCall[] {
  return layers.map((l): KernelCall => {
    if (mode === 'portable') return genericCall(l);
    switch (l.kernel) {
      case 'conv_s8':
        return selectConv(graph, l, sparse, int4 === 'all');
      case 'depthwise_conv_s8':
        return selectDepthwise(graph, l, sparse);
      case 'fully_connected_s8':
        return selectFullyConnected(graph, l, sparse, int4 !== 'none');
      default:
        return genericCall(l);
    }
  });
}
