// Shared by the float32 op tests: edge-value inputs, bit-for-bit comparison (NaN against any NaN,
// docs/float.md), and the TS reference vs host C (ASan + UBSan) check of one synthetic model.

import path from 'node:path';
import { expect } from 'vitest';
import { compileModel, writeCModule } from '../../compiler/compile.ts';
import { runReference } from '../../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../../compiler/targets/host.ts';
import { float32Bytes, loadSynthetic, Prng } from './synthetic_models.ts';

export const FLT_MAX = 3.4028234663852886e38;
const MIN_SUBNORMAL = 1.401298464324817e-45;
const MAX_SUBNORMAL = 1.1754942106924411e-38 - MIN_SUBNORMAL;

/** Values every kernel must get right: specials, signed zeros, subnormals, the extremes, ties. */
export const EDGES = [
  NaN, Infinity, -Infinity, 0, -0, MIN_SUBNORMAL, -MIN_SUBNORMAL, MAX_SUBNORMAL, -MAX_SUBNORMAL, FLT_MAX, -FLT_MAX, 1.1754942106924411e-38,
  0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3, -3, 6, -6, 1, -1, 0.49999997, -0.49999997, 8388607.5, -8388607.5, 8388609, 16777216, -0.3, 0.7, 1e30, -1e30, 90, -110,
];

/** `n` floats: the edge values first (rotated by `seed`), then random ones in +-range, a random float32 bit pattern every 7th. */
export function edgeFloats(n: number, seed: number, range: number): number[] {
  const rng = new Prng(seed);
  const bits = new Uint32Array(1);
  const asFloat = new Float32Array(bits.buffer);
  return Array.from({ length: n }, (_, i) => {
    if (i < EDGES.length) return EDGES[(i + seed) % EDGES.length] as number;
    if (i % 7 === 0) {
      bits[0] = rng.next() >>> 0;
      return asFloat[0] as number;
    }
    return (rng.next() / 2 ** 32 - 0.5) * 2 * range;
  });
}

/** `n` random floats in +-range (no edge values). */
export function randomFloats(n: number, seed: number, range: number): number[] {
  const rng = new Prng(seed);
  return Array.from({ length: n }, () => (rng.next() / 2 ** 32 - 0.5) * 2 * range);
}

export function floats(bytes: Uint8Array): Float32Array {
  return new Float32Array(new Uint8Array(bytes).buffer);
}

/** Indices where two float32 outputs differ: different bits, unless both are NaN (whose sign and payload depend on the CPU). */
export function differences(a: Uint8Array, b: Uint8Array): number[] {
  const x = floats(a);
  const y = floats(b);
  const xb = new Uint32Array(x.buffer);
  const yb = new Uint32Array(y.buffer);
  if (x.length !== y.length) return [-1];
  return [...x.keys()].filter((i) => xb[i] !== yb[i] && !(Number.isNaN(x[i]) && Number.isNaN(y[i])));
}

/** A float as the tests show it: NaN, -0 and numbers kept apart. */
export const show = (v: number): number | string => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v);

export interface OpModel {
  name: string;
  bytes: Uint8Array;
  /** Float32 element counts of the inputs (edge and random cases are generated for these). */
  inputSizes: number[];
  range: number;
  /** Inputs chosen by hand, and the outputs TFLite Micro's definitions give for them (by output index). */
  hand?: { inputs: number[][]; outputs: Record<number, number[]> };
  /** Random cases only (no edge values), e.g. when an infinity would make every output NaN. */
  randomOnly?: boolean;
}

/** Runs `m` on the TS reference and host C (ASan + UBSan): hand case first, then 4 edge/random cases; returns the reference outputs. */
export async function checkModel(m: OpModel, workDir: string): Promise<Uint8Array[][]> {
  const compiled = compileModel(loadSynthetic(m.name, m.bytes));
  const cases: Uint8Array[][] = [];
  if (m.hand) cases.push(m.hand.inputs.map((v) => float32Bytes(v)));
  for (let s = 0; s < 4; s++) {
    cases.push(m.inputSizes.map((n, k) => float32Bytes(m.randomOnly || s === 3 ? randomFloats(n, 31 * s + 7 * k + 3, m.range) : edgeFloats(n, 17 * s + 5 * k + 1, m.range))));
  }
  const ref = cases.map((c) => runReference(compiled.model.graph, compiled.layers, c));
  const mod = writeCModule(compiled, path.join(workDir, m.name));
  const host = await runCasesOnHost(mod, cases, { sanitize: true, workDir });
  expect(host.length).toBe(ref.length);
  for (let c = 0; c < ref.length; c++) {
    for (let o = 0; o < ref[c]!.length; o++) expect(differences(ref[c]![o]!, host[c]![o]!), `case ${c} output ${o}`).toEqual([]);
  }
  if (m.hand) {
    for (const [o, want] of Object.entries(m.hand.outputs)) {
      expect(Array.from(floats(ref[0]![Number(o)]!)).map(show), `output ${o}`).toEqual(want.map(Math.fround).map(show));
    }
  }
  // The last case is random values only: real numbers came out (a kernel that wrote nothing would agree with itself).
  for (const out of ref[ref.length - 1]!) expect(Array.from(floats(out)).some((v) => v !== 0 && Number.isFinite(v))).toBe(true);
  return ref;
}
