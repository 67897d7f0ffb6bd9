// The learnable head's arithmetic, the TypeScript reference the generated C
// (compiler/adapt/emit_head.ts) must match byte for byte. All integer:
//
//   centred embedding   c[i] = e[i] - zp                                  (-255..255)
//   enroll(k, e)        count[k] += 1;  sum[k][i] += c[i]                 (running int32 sums)
//   prototype           m[k][i] = roundDiv(sum[k][i], count[k])           (the class mean)
//   shared scale        M = max |m[k][i]| over enrolled classes (0 -> all weights 0)
//   weights             w[k][i] = roundDiv(127 * m[k][i], M)              (int8, one scale M/127)
//   bias                b[k] = -roundDiv(M * sum_i w[k][i]^2, 254)        (int64 product)
//   score               s[k] = b[k] + sum_i w[k][i] * c[i]  (int32), INT32_MIN for an empty class
//
// With m ~ (M/127) w, 2 c.m - |m|^2 = (2M/127) (c.w - (M/254) |w|^2): the highest score is the
// nearest class mean (Euclidean), the int8 weights cost one byte per class and feature, and the
// requantization is the single shared scale M/127. roundDiv rounds half away from zero.
//
// Saved image (<prefix>_save / _load, little-endian), version 1:
//   0  "TFAH"  4  u16 version = 1  6  u16 classes K  8  u32 dim D  12  i32 embedding zero point
//   16 u32 count[K]   16+4K  i32 sum[K][D]        total 16 + 4K + 4KD bytes
// The weights and biases are derived, so _load recomputes them instead of trusting stored ones.

import type { HeadSpec } from './split_head.ts';

export const HEAD_MAGIC = 'TFAH';
export const HEAD_FORMAT_VERSION = 1;
export const HEAD_HEADER_BYTES = 16;
/** Examples one class can take before ENROLL refuses (keeps every sum inside int32). */
export const MAX_EXAMPLES_PER_CLASS = 65535;
export const INT32_MIN = -2147483648;

export function headSaveBytes(spec: Pick<HeadSpec, 'classes' | 'dim'>): number {
  return HEAD_HEADER_BYTES + 4 * spec.classes + 4 * spec.classes * spec.dim;
}

/** RAM of the head's state in the generated C: counts, sums, weights, biases and the embedding buffer. */
export function headRamBytes(spec: Pick<HeadSpec, 'classes' | 'dim'>): number {
  const { classes: k, dim: d } = spec;
  const weights = Math.ceil((k * d) / 4) * 4;
  return 4 * k + 4 * k * d + weights + 4 * k + Math.ceil(d / 4) * 4;
}

/** Integer a / b (b > 0) rounded half away from zero; exact for |a| < 2^53. */
export function roundDiv(a: number, b: number): number {
  const q = Math.floor((Math.abs(a) + Math.floor(b / 2)) / b);
  return a < 0 ? -q : q;
}

export type EnrollStatus = 'ok' | 'bad-class' | 'class-full';

export class HeadReference {
  readonly counts: Uint32Array;
  readonly sums: Int32Array;
  readonly weights: Int8Array;
  readonly bias: Int32Array;

  constructor(readonly spec: Pick<HeadSpec, 'classes' | 'dim' | 'zeroPoint'>) {
    this.counts = new Uint32Array(spec.classes);
    this.sums = new Int32Array(spec.classes * spec.dim);
    this.weights = new Int8Array(spec.classes * spec.dim);
    this.bias = new Int32Array(spec.classes);
  }

  /** Forgets every class. */
  clear(): void {
    this.counts.fill(0);
    this.sums.fill(0);
    this.derive();
  }

  enroll(cls: number, embedding: Int8Array): EnrollStatus {
    const { classes, dim, zeroPoint } = this.spec;
    if (!Number.isInteger(cls) || cls < 0 || cls >= classes) return 'bad-class';
    if ((this.counts[cls] as number) >= MAX_EXAMPLES_PER_CLASS) return 'class-full';
    this.counts[cls] = (this.counts[cls] as number) + 1;
    for (let i = 0; i < dim; i++) this.sums[cls * dim + i] = (this.sums[cls * dim + i] as number) + (embedding[i] as number) - zeroPoint;
    this.derive();
    return 'ok';
  }

  /** Weights and biases from the sums: see the file comment. */
  derive(): void {
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
    const out = new Uint8Array(headSaveBytes(this.spec));
    const v = new DataView(out.buffer);
    for (let i = 0; i < 4; i++) out[i] = HEAD_MAGIC.charCodeAt(i);
    v.setUint16(4, HEAD_FORMAT_VERSION, true);
    v.setUint16(6, classes, true);
    v.setUint32(8, dim, true);
    v.setInt32(12, zeroPoint, true);
    this.counts.forEach((c, k) => v.setUint32(HEAD_HEADER_BYTES + 4 * k, c, true));
    const base = HEAD_HEADER_BYTES + 4 * classes;
    this.sums.forEach((s, j) => v.setInt32(base + 4 * j, s, true));
    return out;
  }

  /** Restores a saved image; returns why it was refused, or undefined. */
  load(bytes: Uint8Array): string | undefined {
    const { classes, dim, zeroPoint } = this.spec;
    if (bytes.byteLength !== headSaveBytes(this.spec)) return `size ${bytes.byteLength}, expected ${headSaveBytes(this.spec)}`;
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (String.fromCharCode(...bytes.subarray(0, 4)) !== HEAD_MAGIC) return 'not a tinyforge head image';
    if (v.getUint16(4, true) !== HEAD_FORMAT_VERSION) return `format version ${v.getUint16(4, true)}, expected ${HEAD_FORMAT_VERSION}`;
    if (v.getUint16(6, true) !== classes || v.getUint32(8, true) !== dim || v.getInt32(12, true) !== zeroPoint) return 'made for another head';
    for (let k = 0; k < classes; k++) {
      const c = v.getUint32(HEAD_HEADER_BYTES + 4 * k, true);
      if (c > MAX_EXAMPLES_PER_CLASS) return `class ${k} has ${c} examples`;
      this.counts[k] = c;
    }
    const base = HEAD_HEADER_BYTES + 4 * classes;
    for (let j = 0; j < classes * dim; j++) this.sums[j] = v.getInt32(base + 4 * j, true);
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
