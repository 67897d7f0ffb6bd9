// Calibration data for post-training quantization: .npy files (float32, little-endian, C order)
// or a folder of .npy / raw float32 (.bin, .raw, .f32) files.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { TinyforgeError } from '../errors.ts';
import { elementCount } from '../ir/graph.ts';

export class CalibrationError extends TinyforgeError {}

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

// NumPy's defaults are float64 and int64, so those are read too (and narrowed to float32, which is
// what the float model computes in); labels are usually integer arrays.
const NPY_DTYPES: Readonly<Record<string, { bytes: number; read: (v: DataView, at: number) => number }>> = {
  '<f4': { bytes: 4, read: (v, at) => v.getFloat32(at, true) },
  '<f8': { bytes: 8, read: (v, at) => v.getFloat64(at, true) },
  '|i1': { bytes: 1, read: (v, at) => v.getInt8(at) },
  '|u1': { bytes: 1, read: (v, at) => v.getUint8(at) },
  '|b1': { bytes: 1, read: (v, at) => v.getUint8(at) },
  '<i2': { bytes: 2, read: (v, at) => v.getInt16(at, true) },
  '<u2': { bytes: 2, read: (v, at) => v.getUint16(at, true) },
  '<i4': { bytes: 4, read: (v, at) => v.getInt32(at, true) },
  '<u4': { bytes: 4, read: (v, at) => v.getUint32(at, true) },
  '<i8': { bytes: 8, read: (v, at) => Number(v.getBigInt64(at, true)) },
  '<u8': { bytes: 8, read: (v, at) => Number(v.getBigUint64(at, true)) },
};

/** Parses a C-order little-endian .npy file (float32/float64 or integers) into float32 values. */
export function parseNpy(bytes: Uint8Array, where = '.npy'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.byteLength < 10 || magic.some((m, i) => bytes[i] !== m)) throw new CalibrationError(`${where}: not a .npy file (bad magic)`);
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLen > bytes.byteLength) throw new CalibrationError(`${where}: truncated .npy header`);
  const header = new TextDecoder(major >= 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new CalibrationError(`${where}: cannot parse the .npy header ${header.trim()}`);
  const dtype = NPY_DTYPES[descr.replace(/^=/, '<')];
  if (!dtype) throw new CalibrationError(`${where}: dtype '${descr}' is not supported; use float32 ('<f4'), float64, or a little-endian integer type`);
  if (fortran === 'True') throw new CalibrationError(`${where}: Fortran-ordered arrays are not supported; save in C order`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new CalibrationError(`${where}: shape (${shapeText}) is not a list of non-negative integers`);
  const count = elementCount(shape);
  const dataStart = headerStart + headerLen;
  if (bytes.byteLength - dataStart < count * dtype.bytes) throw new CalibrationError(`${where}: holds ${Math.floor((bytes.byteLength - dataStart) / dtype.bytes)} values but its shape [${shape}] needs ${count}`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = dtype.read(view, dataStart + i * dtype.bytes);
  return { shape, data };
}

/** Writes a float32 C-order .npy (for tests and tooling). */
export function encodeNpy(shape: readonly number[], data: Float32Array): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length * 4);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  for (let i = 0; i < data.length; i++) view.setFloat32(10 + header.length + i * 4, data[i] as number, true);
  return out;
}

/**
 * Splits an array into samples of `inputShape` (batch 1). Accepted array shapes: the input shape,
 * [N, ...input shape without its batch 1], or [N, ...input shape].
 */
export function samplesFromArray(arr: NpyArray, inputShape: readonly number[], where: string): Float32Array[] {
  const per = elementCount(inputShape);
  const inner = inputShape[0] === 1 ? inputShape.slice(1) : [...inputShape];
  const s = arr.shape;
  const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
  const ok = same(s, inputShape) || same(s.slice(1), inner) || same(s.slice(1), inputShape) || same(s, inner);
  if (!ok) throw new CalibrationError(`${where}: shape [${s}] does not match the model input [${inputShape}] (expected [N, ${inner.join(', ')}])`);
  const n = arr.data.length / per;
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) out.push(arr.data.subarray(i * per, (i + 1) * per));
  return out;
}

/** Raw little-endian float32 bytes -> samples; the length must be a multiple of one sample. */
export function samplesFromRaw(bytes: Uint8Array, inputShape: readonly number[], where: string): Float32Array[] {
  const per = elementCount(inputShape);
  if (bytes.byteLength === 0 || bytes.byteLength % (per * 4) !== 0) {
    throw new CalibrationError(`${where}: ${bytes.byteLength} bytes is not a whole number of float32 samples of shape [${inputShape}] (${per * 4} bytes each)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Float32Array[] = [];
  for (let i = 0; i < bytes.byteLength / (per * 4); i++) {
    const a = new Float32Array(per);
    for (let j = 0; j < per; j++) a[j] = view.getFloat32((i * per + j) * 4, true);
    out.push(a);
  }
  return out;
}

/** Throws on an empty set or a NaN/infinite value. */
export function checkSamples(samples: readonly Float32Array[], where: string): void {
  if (samples.length === 0) throw new CalibrationError(`${where}: calibration data is empty`);
  samples.forEach((s, i) => {
    const bad = s.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new CalibrationError(`${where}: sample ${i} has ${s[bad]} at index ${bad}; calibration data must be finite`);
  });
}

/** Loads calibration samples for a single-input model from a .npy file or a folder of .npy / raw float32 files. */
export function loadCalibration(source: string, inputShape: readonly number[]): Float32Array[] {
  let isDir: boolean;
  try {
    isDir = statSync(source).isDirectory();
  } catch {
    throw new CalibrationError(`${source}: no such calibration file or folder`);
  }
  const files = isDir
    ? readdirSync(source)
        .filter((f) => /\.(npy|bin|raw|f32)$/i.test(f))
        .sort()
        .map((f) => path.join(source, f))
    : [source];
  const samples: Float32Array[] = [];
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(f));
    samples.push(...(f.toLowerCase().endsWith('.npy') ? samplesFromArray(parseNpy(bytes, f), inputShape, f) : samplesFromRaw(bytes, inputShape, f)));
  }
  checkSamples(samples, source);
  return samples;
}

/**
 * Class labels, one per sample: a .npy array of N integers (or N x classes one-hot / scores, whose
 * argmax is the label), or a text file with one integer per line.
 */
export function loadLabels(source: string, expected: number): number[] {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(source));
  } catch {
    throw new CalibrationError(`${source}: no such labels file`);
  }
  let labels: number[];
  if (source.toLowerCase().endsWith('.npy')) {
    const arr = parseNpy(bytes, source);
    const rows = arr.shape[0] ?? 1;
    const per = arr.shape.length <= 1 ? 1 : arr.data.length / rows;
    labels = [];
    for (let r = 0; r < arr.data.length / per; r++) {
      const row = arr.data.subarray(r * per, (r + 1) * per);
      let best = 0;
      for (let i = 1; i < per; i++) if ((row[i] as number) > (row[best] as number)) best = i;
      labels.push(per === 1 ? (row[0] as number) : best);
    }
  } else {
    const lines = new TextDecoder().decode(bytes).split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('#'));
    labels = lines.map(Number);
    const bad = lines.findIndex((l, i) => l === '' || !Number.isFinite(labels[i]));
    if (bad >= 0) throw new CalibrationError(`${source}: line ${bad + 1} '${lines[bad]}' is not a class index`);
  }
  const bad = labels.findIndex((y) => !Number.isInteger(y) || y < 0);
  if (bad >= 0) throw new CalibrationError(`${source}: label ${bad} is ${labels[bad]}; labels are class indices 0, 1, 2, ...`);
  if (labels.length !== expected) throw new CalibrationError(`${source}: ${labels.length} labels for ${expected} samples`);
  return labels;
}
