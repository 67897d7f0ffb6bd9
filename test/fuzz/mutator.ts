// A seeded, structure-aware mutator for .tflite files. It reads the model once with the checked
// reader (which keeps every field's byte position) and then rewrites the bytes of fields that the
// compiler interprets: shape dimensions, buffer / type / opcode / tensor indices, quantization
// scales, zero points and axes, builtin option fields, weight and bias bytes; plus truncation and
// bit flips for the parser. Mutants keep the flatbuffer layout, so most get past the reader and
// exercise the checks behind it.

import { readTfliteStructure, type RawModel } from '../../compiler/frontends/tflite/index.ts';
import { rng } from '../../compiler/frontends/tfjs/rng.ts';

export { rng };

export interface Seed {
  name: string;
  bytes: Uint8Array;
  raw: RawModel;
}

export function seedModel(name: string, bytes: Uint8Array): Seed {
  return { name, bytes, raw: readTfliteStructure(bytes, name) };
}

export interface Mutant {
  bytes: Uint8Array;
  /** What was changed, e.g. "shape[2] of tensor 4 -> 0"; enough to reproduce by hand. */
  mutations: string[];
}

type Random = () => number;
const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const int = (r: Random, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

const INTERESTING_INT32 = [0, 1, -1, 2, 3, 7, 8, 16, 127, 128, 255, 256, 1024, 32767, 65535, 65536, 2 ** 31 - 1, -(2 ** 31), 1 << 24, -128];
const INTERESTING_FLOAT = [0, -0, -1, 1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e38, 3.4e38, 1e-38, 1e-45, 1e-10, 1e10, 65536, 2 ** -31, 2 ** 31];
const INTERESTING_ZERO_POINT = [0n, 1n, -1n, -128n, 127n, -129n, 128n, 255n, 256n, 32767n, -32768n, 65535n, 2n ** 31n, -(2n ** 31n), 2n ** 62n];

type Writer = { dv: DataView; bytes: Uint8Array; r: Random; raw: RawModel; log: (s: string) => void };
type Mutation = (w: Writer) => boolean;

const tensorWith = <K extends keyof RawModel['subgraph']['tensors'][number]['at']>(w: Writer, key: K) => {
  const ts = w.raw.subgraph.tensors.filter((t) => t.at[key] !== undefined);
  return ts.length === 0 ? undefined : pick(w.r, ts);
};

const MUTATIONS: Record<string, Mutation> = {
  shapeDim(w) {
    const t = tensorWith(w, 'shape');
    if (!t || t.shape.length === 0) return false;
    const d = int(w.r, 0, t.shape.length - 1);
    const v = w.r() < 0.5 ? pick(w.r, INTERESTING_INT32) : (t.shape[d] ?? 1) + int(w.r, -2, 2);
    w.dv.setInt32((t.at.shape as number) + 4 + 4 * d, v, true);
    w.log(`shape[${d}] of tensor ${t.index} ${t.shape[d]} -> ${v}`);
    return true;
  },
  shapeRank(w) {
    const t = tensorWith(w, 'shape');
    if (!t) return false;
    const v = Math.max(0, t.shape.length + pick(w.r, [-1, 1, -2]));
    w.dv.setUint32(t.at.shape as number, v, true);
    w.log(`rank of tensor ${t.index} ${t.shape.length} -> ${v}`);
    return true;
  },
  tensorBuffer(w) {
    const t = tensorWith(w, 'buffer');
    if (!t) return false;
    const v = w.r() < 0.8 ? int(w.r, 0, w.raw.buffers.length - 1) : pick(w.r, [w.raw.buffers.length, 2 ** 31, 0xffffffff]);
    w.dv.setUint32(t.at.buffer as number, v >>> 0, true);
    w.log(`buffer of tensor ${t.index} ${t.buffer} -> ${v >>> 0}`);
    return true;
  },
  tensorType(w) {
    const t = tensorWith(w, 'type');
    if (!t) return false;
    const v = w.r() < 0.7 ? pick(w.r, [0, 1, 2, 3, 4, 6, 7, 9, 10, 16]) : int(w.r, -128, 127);
    w.dv.setInt8(t.at.type as number, v);
    w.log(`type of tensor ${t.index} ${t.type} -> ${v}`);
    return true;
  },
  opcodeIndex(w) {
    const ops = w.raw.subgraph.operators.filter((o) => o.at.opcodeIndex !== undefined);
    if (ops.length === 0) return false;
    const o = pick(w.r, ops);
    const v = w.r() < 0.9 ? int(w.r, 0, w.raw.operatorCodes.length - 1) : w.raw.operatorCodes.length + int(w.r, 0, 3);
    w.dv.setUint32(o.at.opcodeIndex as number, v, true);
    w.log(`opcode index of operator ${o.index} ${o.opcodeIndex} -> ${v}`);
    return true;
  },
  builtinCode(w) {
    const codes = w.raw.operatorCodes.filter((c) => c.at.deprecatedBuiltinCode !== undefined || c.at.builtinCode !== undefined);
    if (codes.length === 0) return false;
    const c = pick(w.r, codes);
    const v = int(w.r, 0, 160);
    if (c.at.builtinCode !== undefined) w.dv.setInt32(c.at.builtinCode, v, true);
    if (c.at.deprecatedBuiltinCode !== undefined) w.dv.setInt8(c.at.deprecatedBuiltinCode, Math.min(v, 127));
    w.log(`builtin code of operator code ${c.index} ${c.builtinCode} -> ${v}`);
    return true;
  },
  opTensorIndex(w) {
    const ops = w.raw.subgraph.operators;
    if (ops.length === 0) return false;
    const o = pick(w.r, ops);
    const outputs = w.r() < 0.3;
    const list = outputs ? o.outputs : o.inputs;
    const at = outputs ? o.at.outputs : o.at.inputs;
    if (at === undefined || list.length === 0) return false;
    const k = int(w.r, 0, list.length - 1);
    const n = w.raw.subgraph.tensors.length;
    const v = w.r() < 0.85 ? int(w.r, 0, n - 1) : pick(w.r, [-1, -2, n, n + 5]);
    w.dv.setInt32(at + 4 + 4 * k, v, true);
    w.log(`${outputs ? 'output' : 'input'} ${k} of operator ${o.index} ${list[k]} -> ${v}`);
    return true;
  },
  opTensorCount(w) {
    const ops = w.raw.subgraph.operators.filter((o) => o.at.inputs !== undefined);
    if (ops.length === 0) return false;
    const o = pick(w.r, ops);
    const v = Math.max(0, o.inputs.length + pick(w.r, [-1, -2, 1]));
    w.dv.setUint32(o.at.inputs as number, v, true);
    w.log(`input count of operator ${o.index} ${o.inputs.length} -> ${v}`);
    return true;
  },
  graphIo(w) {
    const sg = w.raw.subgraph;
    const outputs = w.r() < 0.5;
    const at = outputs ? sg.at.outputs : sg.at.inputs;
    const list = outputs ? sg.outputs : sg.inputs;
    if (at === undefined || list.length === 0) return false;
    const v = w.r() < 0.9 ? int(w.r, 0, sg.tensors.length - 1) : pick(w.r, [-1, sg.tensors.length]);
    w.dv.setInt32(at + 4, v, true);
    w.log(`model ${outputs ? 'output' : 'input'} 0 ${list[0]} -> ${v}`);
    return true;
  },
  scale(w) {
    const ts = w.raw.subgraph.tensors.filter((t) => t.quantization?.at.scale !== undefined && t.quantization.scale.length > 0);
    if (ts.length === 0) return false;
    const t = pick(w.r, ts);
    const q = t.quantization!;
    const k = int(w.r, 0, q.scale.length - 1);
    const v = w.r() < 0.6 ? pick(w.r, INTERESTING_FLOAT) : (q.scale[k] ?? 1) * 2 ** int(w.r, -40, 40);
    w.dv.setFloat32((q.at.scale as number) + 4 + 4 * k, v, true);
    w.log(`scale[${k}] of tensor ${t.index} ${q.scale[k]} -> ${v}`);
    return true;
  },
  zeroPoint(w) {
    const ts = w.raw.subgraph.tensors.filter((t) => t.quantization?.at.zeroPoint !== undefined && t.quantization.zeroPoint.length > 0);
    if (ts.length === 0) return false;
    const t = pick(w.r, ts);
    const q = t.quantization!;
    const k = int(w.r, 0, q.zeroPoint.length - 1);
    const v = pick(w.r, INTERESTING_ZERO_POINT);
    w.dv.setBigInt64((q.at.zeroPoint as number) + 4 + 8 * k, v, true);
    w.log(`zero_point[${k}] of tensor ${t.index} ${q.zeroPoint[k]} -> ${v}`);
    return true;
  },
  quantizedDimension(w) {
    const ts = w.raw.subgraph.tensors.filter((t) => t.quantization?.at.quantizedDimension !== undefined);
    if (ts.length === 0) return false;
    const t = pick(w.r, ts);
    const v = int(w.r, -1, 4);
    w.dv.setInt32(t.quantization!.at.quantizedDimension as number, v, true);
    w.log(`quantized_dimension of tensor ${t.index} -> ${v}`);
    return true;
  },
  optionField(w) {
    const ops = w.raw.subgraph.operators.filter((o) => o.builtinOptions !== undefined);
    if (ops.length === 0) return false;
    const o = pick(w.r, ops);
    const table = o.builtinOptions!;
    const fields = Array.from({ length: 12 }, (_, id) => id).filter((id) => table.fieldPos(id) !== undefined);
    if (fields.length === 0) return false;
    const id = pick(w.r, fields);
    const pos = table.fieldPos(id) as number;
    // Field widths are not known here: write one byte (enum, bool, low byte of an int) or, when room, an int32.
    if (w.r() < 0.5 || pos + 4 > w.bytes.length) {
      const v = pick(w.r, [0, 1, 2, 3, 4, 5, 6, 0x7f, 0x80, 0xff]);
      w.bytes[pos] = v;
      w.log(`byte of option field ${id} of operator ${o.index} -> ${v}`);
    } else {
      const v = pick(w.r, INTERESTING_INT32);
      w.dv.setInt32(pos, v, true);
      w.log(`int32 at option field ${id} of operator ${o.index} -> ${v}`);
    }
    return true;
  },
  bufferData(w) {
    const bufs = w.raw.buffers.filter((b) => b.data !== undefined && b.data.byteLength > 0 && b.at.data !== undefined);
    if (bufs.length === 0) return false;
    const b = pick(w.r, bufs);
    const len = (b.data as Uint8Array).byteLength;
    const start = b.at.data as number;
    if (len >= 4 && w.r() < 0.5) {
      // Often a bias or shape element: an extreme int32.
      const k = int(w.r, 0, Math.floor(len / 4) - 1);
      const v = pick(w.r, INTERESTING_INT32);
      w.dv.setInt32(start + 4 * k, v, true);
      w.log(`int32 ${k} of buffer ${b.index} -> ${v}`);
    } else {
      const n = int(w.r, 1, Math.min(16, len));
      for (let i = 0; i < n; i++) w.bytes[start + int(w.r, 0, len - 1)] = pick(w.r, [0, 0x7f, 0x80, 0xff, int(w.r, 0, 255)]);
      w.log(`${n} bytes of buffer ${b.index} changed`);
    }
    return true;
  },
  bitFlips(w) {
    const n = int(w.r, 1, 8);
    for (let i = 0; i < n; i++) {
      const p = int(w.r, 0, w.bytes.length - 1);
      w.bytes[p] = (w.bytes[p] as number) ^ (1 << int(w.r, 0, 7));
    }
    w.log(`${n} bit flips`);
    return true;
  },
};

const NAMES = Object.keys(MUTATIONS);

/** One mutant of `seed`: 1-3 structure-aware mutations, sometimes truncated. Deterministic in `n`. */
export function mutate(seed: Seed, n: number, baseSeed = 1): Mutant {
  const r = rng((baseSeed * 0x9e3779b1 + n * 0x85ebca6b) >>> 0);
  const bytes = seed.bytes.slice();
  const mutations: string[] = [];
  const w: Writer = { dv: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes, r, raw: seed.raw, log: (s) => mutations.push(s) };
  const count = int(r, 1, 3);
  for (let i = 0, tries = 0; i < count && tries < 20; tries++) {
    if (MUTATIONS[pick(r, NAMES)]?.(w)) i++;
  }
  if (r() < 0.05) {
    const keep = int(r, 0, bytes.length - 1);
    mutations.push(`truncated to ${keep} of ${bytes.length} bytes`);
    return { bytes: bytes.subarray(0, keep), mutations };
  }
  return { bytes, mutations };
}
