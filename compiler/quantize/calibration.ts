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

/** Parses a .npy file holding float32 little-endian data in C order. */
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
  if (descr !== '<f4') throw new CalibrationError(`${where}: dtype '${descr}' is not supported; save calibration data as float32 ('<f4')`);
  if (fortran === 'True') throw new CalibrationError(`${where}: Fortran-ordered arrays are not supported; save in C order`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = elementCount(shape);
  const dataStart = headerStart + headerLen;
  if (bytes.byteLength - dataStart < count * 4) throw new CalibrationError(`${where}: holds ${(bytes.byteLength - dataStart) / 4} values but its shape [${shape}] needs ${count}`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = view.getFloat32(dataStart + i * 4, true);
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
