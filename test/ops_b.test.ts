// Group B (two-input element-wise ops) beyond the conformance suite: the broadcast planner against
// a naive index computation, which kernel each ADD / SUB / MUL form lowers to, int32 shape
// arithmetic folded away at compile time, the one-line refusals, and DIV where TFLite Micro
// asserts (zero divisor, rounding shifts past 31), host C against the TS reference.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule, type LoadedModel } from '../compiler/compile.ts';
import { TinyforgeError } from '../compiler/errors.ts';
import { BuiltinOptionsType, TensorType } from '../compiler/frontends/tflite/schema.ts';
import type { Tensor } from '../compiler/ir/graph.ts';
import { broadcastShape, forEachBroadcast, planBroadcast } from '../compiler/ops/broadcast.ts';
import { foldConstants } from '../compiler/passes/fold_constants.ts';
import { int32Constant, runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { GraphBuilder, loadSynthetic, Prng, q } from './helpers/synthetic_models.ts';
import type { OptionsSpec, QuantSpec } from './helpers/tflite_builder.ts';

const OP = { ADD: 0, MUL: 18, RESHAPE: 22, SUB: 41, DIV: 42, MAXIMUM: 55, MINIMUM: 57, SQUARED_DIFFERENCE: 99 } as const;

const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-ops-b-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A loaded model with constants folded, as loadModel does for files. */
function load(name: string, bytes: Uint8Array): LoadedModel {
  const m = loadSynthetic(name, bytes);
  return { ...m, graph: foldConstants(m.graph) };
}

/** A one-op model: two inputs (or constants) of the given shapes, one output. */
function binaryModel(
  builtin: number,
  a: { shape: number[]; quant?: QuantSpec; type?: number },
  b: { shape: number[]; quant?: QuantSpec; type?: number },
  out: { shape: number[]; quant?: QuantSpec; type?: number },
  options?: OptionsSpec,
): Uint8Array {
  const g = new GraphBuilder();
  const x = g.tensor('x', a.shape, a.quant, a.type);
  const y = g.tensor('y', b.shape, b.quant, b.type);
  const z = g.tensor('z', out.shape, out.quant, out.type);
  g.op(builtin, [x, y], [z], options);
  return g.build([x, y], [z]);
}

function compileError(bytes: Uint8Array): string {
  try {
    compileModel(load('m', bytes));
  } catch (e) {
    if (e instanceof TinyforgeError) return e.message;
    throw e;
  }
  throw new Error('compiled, but a refusal was expected');
}

describe('broadcast planner', () => {
  it('merges loops that repeat the same inputs', () => {
    expect(planBroadcast([2, 3, 4], [2, 3, 4], [2, 3, 4])).toEqual({ dims: [24], stride1: [1], stride2: [1] });
    expect(planBroadcast([1, 4, 4, 16], [16], [1, 4, 4, 16])).toEqual({ dims: [16, 16], stride1: [16, 1], stride2: [0, 1] });
    expect(planBroadcast([], [1, 3, 3, 8], [1, 3, 3, 8])).toEqual({ dims: [72], stride1: [0], stride2: [1] });
    expect(planBroadcast([1], [1, 1], [1, 1])).toEqual({ dims: [1], stride1: [0], stride2: [0] });
  });

  it('visits every output element with the inputs a naive N-d index gives', () => {
    const rng = new Prng(7);
    for (let trial = 0; trial < 200; trial++) {
      const rank = 1 + (rng.next() % 6);
      const out = Array.from({ length: rank }, () => 1 + (rng.next() % 3));
      const cut = (keep: number): number[] => out.slice(rank - keep).map((d) => (rng.next() % 3 === 0 ? 1 : d));
      const a = cut(rng.next() % (rank + 1));
      const b = cut(rng.next() % (rank + 1));
      const shape = broadcastShape(a, b) as number[];
      const expected: string[] = [];
      const index = (s: number[], idx: number[]): number => {
        let i = 0;
        s.forEach((d, k) => (i = i * d + (d === 1 ? 0 : (idx[shape.length - s.length + k] as number))));
        return i;
      };
      const count = shape.reduce((x, y) => x * y, 1);
      for (let o = 0; o < count; o++) {
        const idx: number[] = [];
        let rest = o;
        for (let d = shape.length - 1; d >= 0; d--) {
          idx[d] = rest % (shape[d] as number);
          rest = Math.floor(rest / (shape[d] as number));
        }
        expected.push(`${o}:${index(a, idx)}:${index(b, idx)}`);
      }
      const visited: string[] = [];
      forEachBroadcast(planBroadcast(a, b, shape), (o, i1, i2) => visited.push(`${o}:${i1}:${i2}`));
      expect(visited, `[${a}] with [${b}]`).toEqual(expected);
    }
  });
});

describe('lowering', () => {
  const q8 = q(0.1, -5);
  it('keeps same-shape int8 ADD / MUL on the builtin kernels and sends the rest to the modules (named by their C kernel)', () => {
    const kernels = (bytes: Uint8Array): string[] => compileModel(load('m', bytes)).layers.map((l) => (l.kernel === 'module' ? `${l.module}:${l.displayKernel}` : l.kernel));
    expect(kernels(binaryModel(OP.ADD, { shape: [1, 8], quant: q8 }, { shape: [1, 8], quant: q8 }, { shape: [1, 8], quant: q8 }))).toEqual(['add_s8']);
    expect(kernels(binaryModel(OP.MUL, { shape: [1, 8], quant: q8 }, { shape: [1, 8], quant: q8 }, { shape: [1, 8], quant: q8 }))).toEqual(['mul_s8']);
    expect(kernels(binaryModel(OP.ADD, { shape: [2, 8], quant: q8 }, { shape: [8], quant: q8 }, { shape: [2, 8], quant: q8 }))).toEqual(['ADD:add_sub_s8']);
    expect(kernels(binaryModel(OP.SUB, { shape: [1, 8], quant: q8 }, { shape: [1, 8], quant: q8 }, { shape: [1, 8], quant: q8 }))).toEqual(['SUB:add_sub_s8']);
    const q16 = q(0.001, 0);
    const i16 = { quant: q16, type: TensorType.INT16 };
    expect(kernels(binaryModel(OP.MUL, { shape: [4], ...i16 }, { shape: [4], ...i16 }, { shape: [4], ...i16 }))).toEqual(['MUL:mul_broadcast_s16']);
    expect(kernels(binaryModel(OP.ADD, { shape: [4], ...i16 }, { shape: [4], ...i16 }, { shape: [4], ...i16 }))).toEqual(['ADD:add_sub_s16']);
    // int32 activations (the audio front end's feature scaling) run on the int32 kernel.
    const i32 = { type: TensorType.INT32 };
    expect(kernels(binaryModel(OP.ADD, { shape: [4], ...i32 }, { shape: [4], ...i32 }, { shape: [4], ...i32 }))).toEqual(['ADD:add_s32']);
    expect(kernels(binaryModel(OP.DIV, { shape: [4], ...i32 }, { shape: [1], ...i32 }, { shape: [4], ...i32 }))).toEqual(['DIV:div_s32']);
  });

  it('refuses what TFLite Micro rejects or tinyforge does not support, in one line', () => {
    const cases: Array<[Uint8Array, RegExp]> = [
      [binaryModel(OP.ADD, { shape: [1, 3], quant: q8 }, { shape: [1, 4], quant: q8 }, { shape: [1, 4], quant: q8 }), /input shapes \[1,3\] and \[1,4\] do not broadcast/],
      [binaryModel(OP.SUB, { shape: [2, 3], quant: q8 }, { shape: [3], quant: q8 }, { shape: [3, 2], quant: q8 }), /output 'z' has shape \[3,2\] but the inputs broadcast to \[2,3\]/],
      [binaryModel(OP.MAXIMUM, { shape: [4], quant: q8 }, { shape: [4], quant: q(0.2, -5) }, { shape: [4], quant: q8 }), /'y' is quantized with scale 0.2.*MAXIMUM compares raw values/],
      [binaryModel(OP.MUL, { shape: [4], quant: q(0.01, 3), type: TensorType.INT16 }, { shape: [4], quant: q(0.01), type: TensorType.INT16 }, { shape: [4], quant: q(0.01), type: TensorType.INT16 }), /zero point 3; TFLite Micro's int16 MUL needs 0/],
      [binaryModel(OP.DIV, { shape: [4], quant: q(0.01), type: TensorType.INT16 }, { shape: [4], quant: q(0.01), type: TensorType.INT16 }, { shape: [4], quant: q(0.01), type: TensorType.INT16 }), /is int16; this op takes int8 or int32/],
      [binaryModel(OP.SQUARED_DIFFERENCE, { shape: [4], type: TensorType.INT32 }, { shape: [4], type: TensorType.INT32 }, { shape: [4], type: TensorType.INT32 }), /int32 inputs are supported only when both are constants/],
      [binaryModel(OP.SUB, { shape: [2, 1, 2, 1, 2, 1, 2], quant: q8 }, { shape: [2, 1], quant: q8 }, { shape: [2, 1, 2, 1, 2, 2, 2], quant: q8 }), /more than 6 dimensions/],
      [binaryModel(OP.ADD, { shape: [4], quant: q(1) }, { shape: [4], quant: q(1) }, { shape: [4], quant: q(1e-7) }), /output scale 1e-7 is too small/],
    ];
    for (const [bytes, pattern] of cases) {
      const message = compileError(bytes);
      expect(message).toMatch(pattern);
      expect(message).not.toContain('\n');
    }
  });
});

describe('int32 shape arithmetic', () => {
  it('folds an ADD / MUL / DIV / SUB / SQUARED_DIFFERENCE / MAXIMUM / MINIMUM chain into the reshape it feeds', () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 4, 6], q(0.1));
    const c = (name: string, values: number[]): number => g.int32Constant(name, [values.length], values);
    const t = (name: string): number => g.tensor(name, [2], undefined, TensorType.INT32);
    const [s1, s2, s3, s4, sq, s5, s6] = ['s1', 's2', 's3', 's4', 'sq', 's5', 's6'].map(t) as [number, number, number, number, number, number, number];
    const y = g.tensor('y', [1, 24], q(0.1));
    const noOptions = (type: number): OptionsSpec => ({ type, build: (b) => (b.startObject(0), b.endObject()) });
    g.op(OP.ADD, [c('a', [1, 20]), c('b', [0, 4])], [s1]); // [1, 24]
    g.op(OP.MUL, [s1, c('two', [1, 2])], [s2]); // [1, 48]
    g.op(OP.DIV, [s2, c('two_again', [1, -2])], [s3], noOptions(BuiltinOptionsType.DivOptions)); // [1, -24]
    g.op(OP.SUB, [c('zero', [0, 0]), s3], [s4]); // [1, 24]
    g.op(OP.SQUARED_DIFFERENCE, [c('p', [3, 7]), c('r', [2, 7])], [sq]); // [1, 0]
    g.op(OP.MAXIMUM, [s4, sq], [s5]); // [1, 24]
    g.op(OP.MINIMUM, [s5, c('cap', [5, 100])], [s6]); // [1, 24]
    g.op(OP.RESHAPE, [x, s6], [y]);
    const compiled = compileModel(load('fold', g.build([x], [y])));
    expect(compiled.layers.map((l) => l.kernel)).toEqual(['reshape']);
    expect(Array.from(int32Constant(compiled.model.graph.tensors[s6] as Tensor))).toEqual([1, 24]);
    expect(Array.from(int32Constant(compiled.model.graph.tensors[s3] as Tensor))).toEqual([1, -24]);
    const input = Uint8Array.from({ length: 24 }, (_, i) => i * 7);
    expect(runReference(compiled.model.graph, compiled.layers, [input])[0]).toEqual(input);
  });
});

describe('DIV where TFLite Micro asserts', () => {
  it('defines a zero divisor and rounding shifts past 31 identically in C and TypeScript', async () => {
    // s1 / (s2 s_out) = 1: output shift 1, so a zero dividend needs a rounding shift of up to 37.
    const bytes = binaryModel(OP.DIV, { shape: [1, 256], quant: q(0.1, 3) }, { shape: [1, 256], quant: q(0.05, -2) }, { shape: [1, 256], quant: q(2, 0) });
    const compiled = compileModel(load('div_edges', bytes));
    const dividend = Uint8Array.from({ length: 256 }, (_, i) => (i % 4 === 0 ? 3 : i) & 0xff);
    const divisor = Uint8Array.from({ length: 256 }, (_, i) => (i % 3 === 0 ? -2 : 255 - i) & 0xff);
    const cases = [[dividend, divisor], [divisor, dividend]];
    const expected = cases.map((k) => runReference(compiled.model.graph, compiled.layers, k)[0] as Uint8Array);
    // A zero divisor gives the bound in the dividend's direction, 0 / 0 the zero point.
    const out = new Int8Array(expected[0]!.buffer);
    expect(out[0]).toBe(0); // (3 - 3) / (-2 + 2)
    expect(out[6]).toBe(127); // (6 - 3) / (-2 + 2): positive over zero
    expect(out[129]).toBe(-128); // (-127 - 3) / 0: negative over zero
    const mod = writeCModule(compiled, path.join(dir, 'div_edges'));
    const actual = await runCasesOnHost(mod, cases, { sanitize: true, workDir: dir });
    expect(actual.map((o) => Array.from(o[0] ?? []))).toEqual(expected.map((o) => Array.from(o)));
  });
});

describe('in place', () => {
  it('writes a broadcast layer over its full-size input, with the same bytes in C as in the reference', async () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 4, 16], q(0.1, 2));
    const bias = g.int8Constant('bias', [16], Array.from({ length: 16 }, (_, i) => i * 9 - 70), q(0.05, -3));
    const y1 = g.tensor('y1', [1, 4, 16], q(0.12, 1));
    const y2 = g.tensor('y2', [1, 4, 16], q(0.2, -4));
    g.op(OP.SUB, [x, bias], [y1]);
    g.op(OP.MUL, [bias, y1], [y2]);
    const compiled = compileModel(load('in_place', g.build([x], [y2])));
    expect(compiled.layers.map((l) => (l.kernel === 'module' ? l.inPlace : l.kernel))).toEqual([[0], [0]]);
    // Without writing in place the input and the first output (64 bytes each) are live together.
    expect(compiled.plan.inPlaceLayers).toContain(0);
    expect(compiled.plan.arenaBytes).toBe(64);
    const input = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff);
    const expected = runReference(compiled.model.graph, compiled.layers, [input]);
    const mod = writeCModule(compiled, path.join(dir, 'in_place'));
    const [actual] = await runCasesOnHost(mod, [[input]], { sanitize: true, workDir: dir });
    expect(Array.from(actual?.[0] ?? [])).toEqual(Array.from(expected[0] ?? []));
  });
});
