// The learnable head's arithmetic, the TypeScript reference the generated C
// (compiler/adapt/emit_head.ts) must match byte for byte. All integer, so it runs identically on
// every core, FPU or not. F = SGD_FRACTION_BITS (12), L = lrShift, E = epochs, R = replay slots.
//
// 1. Class prototypes (what the head was before SGD, and all of it with E = 0):
//   centred embedding   c[i] = e[i] - zp                                  (-255..255)
//   enroll(k, e)        count[k] += 1;  sum[k][i] += c[i]                 (running int32 sums)
//   prototype           m[k][i] = roundDiv(sum[k][i], count[k])           (the class mean)
//   shared scale        M = max |m[k][i]| over enrolled classes (0 -> all weights 0)
//   weights             w0[k][i] = roundDiv(127 * m[k][i], M)             (int8, one scale M/127)
//   bias                b0[k] = -roundDiv(M * sum_i w0[k][i]^2, 254)      (|b0| <= 16193 dim)
// With m ~ (M/127) w, 2 c.m - |m|^2 = (2M/127) (c.w - (M/254) |w|^2): the highest score is the
// nearest class mean (Euclidean).
//
// 2. Integer SGD on a multiclass hinge loss (E > 0), over the replay buffer: enroll also writes
//    (class, e) into slot (total - 1) mod R of a ring of the last R examples, total = sum of counts.
//   working weights     W[k][i] = w0[k][i] << F (int32),  B[k] = b0[k] << F (int64)
//   margin              mu = margin * M << F                  (working-score units)
//   E epochs, each over the ring from oldest to newest (slot total mod R first once it is full),
//   stopping early after an epoch without an update (the next ones would repeat it exactly):
//     score             S[k] = B[k] + sum_i W[k][i] c[i]  (int64) for each enrolled class k
//     r                 the enrolled class != y with the highest S (lowest index on ties)
//     if r exists and S[y] - S[r] < mu:
//                       W[y][i] += c[i] << (F - L);  W[r][i] -= c[i] << (F - L)
//                       B[y] += 128^2 << (F - L);  B[r] -= 128^2 << (F - L)   (a constant feature of 128)
//   requantize          A = max |W[k][i]| over enrolled classes (0 -> weights and biases 0)
//                       w[k][i] = roundDiv(127 W, A)  (int8, one shared scale again)
//                       b[k] = clamp(roundDiv(127 B, A), +-(2^31 - 1 - 32385 dim))
// Without an update W = w0 << F and A = 127 << F, so w = w0 and b = b0: SGD only moves what the
// margin asks for. Bounds (checked at compile time by head_learning.ts's checkHeadLearning): each
// example updates a class at most once, so after U = E R updates |W| <= 127 2^F + U 255 2^(F-L)
// <= 2^31 - 1, and |S|, |S[y] - S[r]|, 127 |B| stay below 2^51 (exact in a double and an int64).
// The clamp keeps every inference score b + sum w c (|sum| <= 32385 dim) inside int32.
//
// 3. Scores             s[k] = b[k] + sum_i w[k][i] * c[i]  (int32), INT32_MIN for an empty class.
// roundDiv rounds half away from zero.
//
// Saved image (<prefix>_save / _load, little-endian), version 2:
//   0  "TFAH"  4  u16 version = 2  6  u16 classes K  8  u32 dim D  12  i32 embedding zero point
//   16 u16 replay R  18  u8 epochs E  19  u8 lrShift L  20  u16 margin  22  u16 reserved = 0
//   24 u32 count[K]   24+4K  i32 sum[K][D]   24+4K+4KD  u8 replay class[R]   then  i8 replay embedding[R][D]
//   total 24 + 4K + 4KD + R + RD bytes; unused replay slots are all zero.
// Everything else is a pure function of (counts, sums, replay), so _load recomputes the weights and
// biases instead of trusting stored ones.

import { checkHeadLearning, SGD_BIAS_STEP, SGD_FRACTION_BITS, type HeadLearning } from './head_learning.ts';
import type { HeadSpec } from './split_head.ts';

export const HEAD_MAGIC = 'TFAH';
export const HEAD_FORMAT_VERSION = 2;
export const HEAD_HEADER_BYTES = 24;
/** Examples one class can take before ENROLL refuses (keeps every sum inside int32). */
export const MAX_EXAMPLES_PER_CLASS = 65535;
export const INT32_MIN = -2147483648;

/** Why a saved image was refused: the status <prefix>_load returns in C (its header defines them too). */
export const HEAD_LOAD_ERRORS = { size: -1, magic: -2, version: -3, head: -4, settings: -5, count: -6, replay: -7 } as const;
export type HeadLoadError = keyof typeof HEAD_LOAD_ERRORS;
export interface HeadLoadRefusal {
  error: HeadLoadError;
  /** The C status code, HEAD_LOAD_ERRORS[error]. */
  code: number;
  reason: string;
}
/** Largest |sum_i w c| of an inference score per feature: 127 * 255. */
const DOT_PER_FEATURE = 32385;

export type HeadShape = Pick<HeadSpec, 'classes' | 'dim' | 'learning'>;

const align4 = (n: number): number => Math.ceil(n / 4) * 4;

export function headSaveBytes(spec: HeadShape): number {
  const { classes: k, dim: d, learning: l } = spec;
  return HEAD_HEADER_BYTES + 4 * k + 4 * k * d + l.replay + l.replay * d;
}

/**
 * RAM of the head's state in the generated C: counts, sums, weights, biases, the embedding buffer,
 * and with SGD the replay ring and the int32 / int64 working weights and biases.
 */
export function headRamBytes(spec: HeadShape): number {
  const { classes: k, dim: d, learning: l } = spec;
  const prototypes = 4 * k + 4 * k * d + align4(k * d) + 4 * k + align4(d);
  const replay = l.replay > 0 ? align4(l.replay) + align4(l.replay * d) : 0;
  const working = l.epochs > 0 ? 4 * k * d + 8 * k : 0;
  return prototypes + replay + working;
}

/** Integer a / b (b > 0) rounded half away from zero; exact for |a| + b < 2^53. */
export function roundDiv(a: number, b: number): number {
  const n = Math.abs(a) + Math.floor(b / 2);
  let q = Math.floor(n / b);
  // The double division can land one off for large quotients; the remainder is exact.
  const r = n - q * b;
  if (r < 0) q -= 1;
  else if (r >= b) q += 1;
  return a < 0 ? -q : q;
}

export type EnrollStatus = 'ok' | 'bad-class' | 'class-full';

export class HeadReference {
  readonly counts: Uint32Array;
  readonly sums: Int32Array;
  readonly weights: Int8Array;
  readonly bias: Int32Array;
  /** Replay ring: the class and the raw int8 embedding of the last `learning.replay` examples. */
  readonly replayClass: Uint8Array;
  readonly replayEmbedding: Int8Array;
  /** SGD updates made by the last derive() (how much the hinge loss moved the prototypes). */
  lastUpdates = 0;
  /** Largest |working weight| A after the last derive()'s SGD (0 without SGD): how close it came to int32. */
  lastWorkingScale = 0;
  readonly learning: HeadLearning;

  constructor(readonly spec: Pick<HeadSpec, 'classes' | 'dim' | 'zeroPoint' | 'learning'>) {
    this.learning = checkHeadLearning(spec.dim, spec.learning);
    this.counts = new Uint32Array(spec.classes);
    this.sums = new Int32Array(spec.classes * spec.dim);
    this.weights = new Int8Array(spec.classes * spec.dim);
    this.bias = new Int32Array(spec.classes);
    this.replayClass = new Uint8Array(this.learning.replay);
    this.replayEmbedding = new Int8Array(this.learning.replay * spec.dim);
  }

  /** Examples enrolled since the last clear (the ring's write position is this mod R). */
  total(): number {
    let t = 0;
    for (const c of this.counts) t += c;
    return t;
  }

  /** Forgets every class. */
  clear(): void {
    this.counts.fill(0);
    this.sums.fill(0);
    this.replayClass.fill(0);
    this.replayEmbedding.fill(0);
    this.derive();
  }

  enroll(cls: number, embedding: Int8Array): EnrollStatus {
    const { classes, dim, zeroPoint } = this.spec;
    if (!Number.isInteger(cls) || cls < 0 || cls >= classes) return 'bad-class';
    if ((this.counts[cls] as number) >= MAX_EXAMPLES_PER_CLASS) return 'class-full';
    const R = this.learning.replay;
    if (R > 0) {
      const slot = this.total() % R;
      this.replayClass[slot] = cls;
      this.replayEmbedding.set(embedding.subarray(0, dim), slot * dim);
    }
    this.counts[cls] = (this.counts[cls] as number) + 1;
    for (let i = 0; i < dim; i++) this.sums[cls * dim + i] = (this.sums[cls * dim + i] as number) + (embedding[i] as number) - zeroPoint;
    this.derive();
    return 'ok';
  }

  /** Weights and biases from the sums and the replay ring: see the file comment. */
  derive(): void {
    const maxAbs = this.prototypes();
    this.lastUpdates = 0;
    this.lastWorkingScale = 0;
    if (this.learning.epochs > 0 && this.total() > 0) this.sgd(maxAbs);
  }

  /** Step 1: the int8 prototype head; returns the shared scale M. */
  private prototypes(): number {
    const { classes, dim } = this.spec;
    const mean = (k: number, i: number): number => roundDiv(this.sums[k * dim + i] as number, this.counts[k] as number);
    let maxAbs = 0;
    for (let k = 0; k < classes; k++) {
      if (this.counts[k] === 0) continue;
      for (let i = 0; i < dim; i++) maxAbs = Math.max(maxAbs, Math.abs(mean(k, i)));
    }
    for (let k = 0; k < classes; k++) {
      let sq = 0;
      for (let i = 0; i < dim; i++) {
        const w = this.counts[k] === 0 || maxAbs === 0 ? 0 : roundDiv(127 * mean(k, i), maxAbs);
        this.weights[k * dim + i] = w;
        sq += w * w;
      }
      // maxAbs * sq < 255 * 16129 * dim: exact in a double for any dim below 2^27.
      this.bias[k] = maxAbs === 0 ? 0 : -roundDiv(maxAbs * sq, 254);
    }
    return maxAbs;
  }

  /** Step 2: E epochs of hinge-loss SGD on working weights, then requantization to int8. */
  private sgd(maxAbs: number): void {
    const { classes, dim, zeroPoint } = this.spec;
    const { epochs, replay: R, lrShift } = this.learning;
    const F = SGD_FRACTION_BITS;
    const one = 2 ** F;
    const step = 2 ** (F - lrShift);
    // Numbers: every value below stays under 2^51 (head_learning.ts), so double arithmetic is exact.
    const W = new Float64Array(classes * dim);
    const B = new Float64Array(classes);
    for (let j = 0; j < classes * dim; j++) W[j] = (this.weights[j] as number) * one;
    for (let k = 0; k < classes; k++) B[k] = (this.bias[k] as number) * one;
    const mu = this.learning.margin * maxAbs * one;
    const total = this.total();
    const fill = Math.min(total, R);
    const start = total >= R ? total % R : 0;
    const c = new Float64Array(dim);
    for (let e = 0, updated = true; e < epochs && updated; e++) {
      updated = false;
      for (let t = 0; t < fill; t++) {
        const slot = (start + t) % R;
        const y = this.replayClass[slot] as number;
        for (let i = 0; i < dim; i++) c[i] = (this.replayEmbedding[slot * dim + i] as number) - zeroPoint;
        let sy = 0;
        let r = -1;
        let sr = 0;
        for (let k = 0; k < classes; k++) {
          if (this.counts[k] === 0) continue;
          let s = B[k] as number;
          for (let i = 0; i < dim; i++) s += (W[k * dim + i] as number) * (c[i] as number);
          if (k === y) sy = s;
          else if (r < 0 || s > sr) {
            r = k;
            sr = s;
          }
        }
        if (r < 0 || sy - sr >= mu) continue;
        this.lastUpdates++;
        updated = true;
        for (let i = 0; i < dim; i++) {
          W[y * dim + i] = (W[y * dim + i] as number) + (c[i] as number) * step;
          W[r * dim + i] = (W[r * dim + i] as number) - (c[i] as number) * step;
        }
        B[y] = (B[y] as number) + SGD_BIAS_STEP * step;
        B[r] = (B[r] as number) - SGD_BIAS_STEP * step;
      }
    }
    let a = 0;
    for (let k = 0; k < classes; k++) {
      if (this.counts[k] === 0) continue;
      for (let i = 0; i < dim; i++) a = Math.max(a, Math.abs(W[k * dim + i] as number));
    }
    this.lastWorkingScale = a;
    const biasLimit = 2 ** 31 - 1 - DOT_PER_FEATURE * dim;
    for (let k = 0; k < classes; k++) {
      const live = this.counts[k] !== 0 && a !== 0;
      for (let i = 0; i < dim; i++) this.weights[k * dim + i] = live ? roundDiv(127 * (W[k * dim + i] as number), a) : 0;
      this.bias[k] = live ? Math.max(-biasLimit, Math.min(biasLimit, roundDiv(127 * (B[k] as number), a))) : 0;
    }
  }

  scores(embedding: Int8Array): Int32Array {
    const { classes, dim, zeroPoint } = this.spec;
    const out = new Int32Array(classes);
    for (let k = 0; k < classes; k++) {
      if (this.counts[k] === 0) {
        out[k] = INT32_MIN;
        continue;
      }
      let acc = this.bias[k] as number;
      for (let i = 0; i < dim; i++) acc += (this.weights[k * dim + i] as number) * ((embedding[i] as number) - zeroPoint);
      out[k] = acc;
    }
    return out;
  }

  save(): Uint8Array {
    const { classes, dim, zeroPoint } = this.spec;
    const l = this.learning;
    const out = new Uint8Array(headSaveBytes(this.spec));
    const v = new DataView(out.buffer);
    for (let i = 0; i < 4; i++) out[i] = HEAD_MAGIC.charCodeAt(i);
    v.setUint16(4, HEAD_FORMAT_VERSION, true);
    v.setUint16(6, classes, true);
    v.setUint32(8, dim, true);
    v.setInt32(12, zeroPoint, true);
    v.setUint16(16, l.replay, true);
    v.setUint8(18, l.epochs);
    v.setUint8(19, l.lrShift);
    v.setUint16(20, l.margin, true);
    this.counts.forEach((c, k) => v.setUint32(HEAD_HEADER_BYTES + 4 * k, c, true));
    const sumsAt = HEAD_HEADER_BYTES + 4 * classes;
    this.sums.forEach((s, j) => v.setInt32(sumsAt + 4 * j, s, true));
    const replayAt = sumsAt + 4 * classes * dim;
    out.set(this.replayClass, replayAt);
    out.set(new Uint8Array(this.replayEmbedding.buffer, this.replayEmbedding.byteOffset, this.replayEmbedding.byteLength), replayAt + l.replay);
    return out;
  }

  /** Restores a saved image; returns why it was refused (the head is then unchanged), or undefined. */
  load(bytes: Uint8Array): HeadLoadRefusal | undefined {
    const refuse = (error: HeadLoadError, reason: string): HeadLoadRefusal => ({ error, code: HEAD_LOAD_ERRORS[error], reason });
    const { classes, dim, zeroPoint } = this.spec;
    const l = this.learning;
    if (bytes.byteLength !== headSaveBytes(this.spec)) return refuse('size', `size ${bytes.byteLength}, expected ${headSaveBytes(this.spec)}`);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (String.fromCharCode(...bytes.subarray(0, 4)) !== HEAD_MAGIC) return refuse('magic', 'not a tinyforge head image');
    if (v.getUint16(4, true) !== HEAD_FORMAT_VERSION) return refuse('version', `format version ${v.getUint16(4, true)}, expected ${HEAD_FORMAT_VERSION}`);
    if (v.getUint16(6, true) !== classes || v.getUint32(8, true) !== dim || v.getInt32(12, true) !== zeroPoint) return refuse('head', 'made for another head');
    if (v.getUint16(16, true) !== l.replay || v.getUint8(18) !== l.epochs || v.getUint8(19) !== l.lrShift || v.getUint16(20, true) !== l.margin || v.getUint16(22, true) !== 0) {
      return refuse('settings', `trained with other settings (replay ${v.getUint16(16, true)}, epochs ${v.getUint8(18)}, lr shift ${v.getUint8(19)}, margin ${v.getUint16(20, true)}; this head: ${l.replay}, ${l.epochs}, ${l.lrShift}, ${l.margin})`);
    }
    const counts = new Uint32Array(classes);
    for (let k = 0; k < classes; k++) {
      const c = v.getUint32(HEAD_HEADER_BYTES + 4 * k, true);
      if (c > MAX_EXAMPLES_PER_CLASS) return refuse('count', `class ${k} has ${c} examples`);
      counts[k] = c;
    }
    const sumsAt = HEAD_HEADER_BYTES + 4 * classes;
    const replayAt = sumsAt + 4 * classes * dim;
    const total = counts.reduce((a, c) => a + c, 0);
    const fill = Math.min(total, l.replay);
    const perClass = new Uint32Array(classes);
    for (let j = 0; j < l.replay; j++) {
      const cls = bytes[replayAt + j] as number;
      if (j >= fill) {
        const emb = bytes.subarray(replayAt + l.replay + j * dim, replayAt + l.replay + (j + 1) * dim);
        if (cls !== 0 || emb.some((b) => b !== 0)) return refuse('replay', `replay slot ${j} is unused but not empty`);
        continue;
      }
      if (cls >= classes) return refuse('replay', `replay slot ${j} holds class ${cls}`);
      perClass[cls] = (perClass[cls] as number) + 1;
      if ((perClass[cls] as number) > (counts[cls] as number)) return refuse('replay', `replay holds more examples of class ${cls} than its count ${counts[cls]}`);
    }
    this.counts.set(counts);
    for (let j = 0; j < classes * dim; j++) this.sums[j] = v.getInt32(sumsAt + 4 * j, true);
    this.replayClass.set(bytes.subarray(replayAt, replayAt + l.replay));
    this.replayEmbedding.set(new Int8Array(bytes.buffer, bytes.byteOffset + replayAt + l.replay, l.replay * dim));
    this.derive();
    return undefined;
  }
}

/** The predicted class: the highest score, the lowest index on ties, -1 when no class is enrolled. */
export function argmaxClass(scores: Int32Array, counts: Uint32Array): number {
  let best = -1;
  for (let k = 0; k < scores.length; k++) {
    if (counts[k] === 0) continue;
    if (best < 0 || (scores[k] as number) > (scores[best] as number)) best = k;
  }
  return best;
}
