// PAD / PADV2 and CONCATENATION through the whole stack: the TS reference kernels against values
// written out by hand, the TFLite reader and lowering (and their errors), host C under ASan/UBSan
// against the TS reference, the .tflite writer round trip, the structured pruner, and the TF.js
// frontends (ZeroPadding2D, Concatenate, Pad, PadV2, ConcatV2) through post-training quantization.

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule, type CompiledModel, type LoadedModel } from '../compiler/compile.ts';
import { TinyforgeError } from '../compiler/errors.ts';
import { writeTflite } from '../compiler/export/write_tflite.ts';
import { forwardBatch } from '../compiler/frontends/tfjs/float_train.ts';
import { loadGraphFloatGraph } from '../compiler/frontends/tfjs/graph_frontend.ts';
import { loadTfjsModel, readArtifacts, runFloat, writeArtifacts, type FloatGraph } from '../compiler/frontends/tfjs/index.ts';
import { constNode, graphModelArtifacts, saveLayersArtifacts, type GraphNodeJson } from '../compiler/frontends/tfjs/synthetic.ts';
import { parseTflite, readTfliteStructure } from '../compiler/frontends/tflite/index.ts';
import { BuiltinOp, BuiltinOptionsType, F, TensorType } from '../compiler/frontends/tflite/schema.ts';
import type { Graph } from '../compiler/ir/graph.ts';
import type { ConcatenationS8Layer, PadS8Layer } from '../compiler/ir/layers.ts';
import { concatenationS8 } from '../compiler/kernels/concatenation_s8.ts';
import { padS8 } from '../compiler/kernels/pad_s8.ts';
import { pruneChannels } from '../compiler/prune/structured.ts';
import { ptqLoadedModel, quantizeFloatGraph, quantizeInput } from '../compiler/quantize/ptq.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { runCasesOnQemuMps2An386 } from '../compiler/targets/qemu_mps2.ts';
import { Act, asInt8, GraphBuilder, int8Bytes, loadSynthetic, Pad, perChannel, Prng, q } from './helpers/synthetic_models.ts';
import { conv2dOptions, fullyConnectedOptions, reshapeOptions, type OptionsSpec } from './helpers/tflite_builder.ts';

let dir: string;
let workDir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-pad-concat-'));
  workDir = path.join(dir, 'work');
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// TFLite builder pieces for the new ops

function concatOptions(axis: number, act: number = Act.NONE): OptionsSpec {
  return {
    type: BuiltinOptionsType.ConcatenationOptions,
    build: (b) => {
      b.startObject(2);
      b.addFieldInt32(F.ConcatenationOptions.axis, axis, null);
      b.addFieldInt8(F.ConcatenationOptions.fusedActivation, act, null);
      return b.endObject();
    },
  };
}

function padOptions(v2: boolean): OptionsSpec {
  return { type: v2 ? BuiltinOptionsType.PadV2Options : BuiltinOptionsType.PadOptions, build: (b) => (b.startObject(0), b.endObject()) };
}

function padLayer(inDims: PadS8Layer['inDims'], before: PadS8Layer['before'], after: PadS8Layer['after'], padValue: number): PadS8Layer {
  const outDims = inDims.map((d, i) => d + (before[i] as number) + (after[i] as number)) as PadS8Layer['outDims'];
  return { kernel: 'pad_s8', sourceIndex: 0, inputs: [0], outputs: [1], macs: 0, inDims, outDims, before, after, padValue };
}

function runPad(l: PadS8Layer, input: number[]): number[] {
  const out = new Int8Array(l.outDims.reduce((a, b) => a * b, 1));
  padS8(l, Int8Array.from(input), out);
  return Array.from(out);
}

function runConcat(l: ConcatenationS8Layer, inputs: number[][]): number[] {
  const out = new Int8Array(l.outer * l.copySizes.reduce((a, b) => a + b, 0));
  concatenationS8(l, inputs.map((v) => Int8Array.from(v)), out);
  return Array.from(out);
}

function concatLayer(outer: number, copySizes: number[]): ConcatenationS8Layer {
  return { kernel: 'concatenation_s8', sourceIndex: 0, inputs: copySizes.map((_, i) => i), outputs: [9], macs: 0, outer, copySizes };
}

// ---------------------------------------------------------------------------------------------

describe('TS reference kernels against hand-written expectations', () => {
  it('pads H and W asymmetrically with the pad value', () => {
    // [1, 2, 2, 1] = [[1, 2], [3, 4]]; one row above, two columns right, with 9.
    expect(runPad(padLayer([1, 2, 2, 1], [0, 1, 0, 0], [0, 0, 2, 0], 9), [1, 2, 3, 4])).toEqual([9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9]);
  });

  it('pads channels and keeps pixels together', () => {
    // [1, 1, 2, 2] pixels (1, 2) and (3, 4); one channel before, none after, value -128.
    expect(runPad(padLayer([1, 1, 2, 2], [0, 0, 0, 1], [0, 0, 0, 0], -128), [1, 2, 3, 4])).toEqual([-128, 1, 2, -128, 3, 4]);
    // One channel after, one pixel before.
    expect(runPad(padLayer([1, 1, 2, 2], [0, 0, 1, 0], [0, 0, 0, 1], 0), [1, 2, 3, 4])).toEqual([0, 0, 0, 1, 2, 0, 3, 4, 0]);
  });

  it('pads the batch dimension and handles all-zero padding', () => {
    expect(runPad(padLayer([1, 1, 1, 2], [1, 0, 0, 0], [1, 0, 0, 0], 5), [-1, -2])).toEqual([5, 5, -1, -2, 5, 5]);
    expect(runPad(padLayer([1, 2, 1, 2], [0, 0, 0, 0], [0, 0, 0, 0], 7), [1, 2, 3, 4])).toEqual([1, 2, 3, 4]);
  });

  it('pads every dimension at once', () => {
    // [1, 1, 1, 1] = [42] padded (0,1) (1,0) (0,1) (1,0) -> [2, 2, 2, 2]; 42 sits at (0, 1, 0, 1).
    const out = runPad(padLayer([1, 1, 1, 1], [0, 1, 0, 1], [1, 0, 1, 0], -3), [42]);
    expect(out).toHaveLength(16);
    expect(out.map((v, i) => (v === 42 ? i : -1)).filter((i) => i >= 0)).toEqual([((0 * 2 + 1) * 2 + 0) * 2 + 1]);
    expect(out.filter((v) => v === -3)).toHaveLength(15);
  });

  it('concatenates along the last, a middle and the first axis', () => {
    // [1, 2, 2] ++ [1, 2, 1] on axis 2: rows [1, 2 | 5], [3, 4 | 6].
    expect(runConcat(concatLayer(2, [2, 1]), [[1, 2, 3, 4], [5, 6]])).toEqual([1, 2, 5, 3, 4, 6]);
    // [1, 1, 2] ++ [1, 2, 2] on axis 1: all of one then all of the other.
    expect(runConcat(concatLayer(1, [2, 4]), [[1, 2], [3, 4, 5, 6]])).toEqual([1, 2, 3, 4, 5, 6]);
    // Three inputs [2, 1] each on axis 1 -> [2, 3].
    expect(runConcat(concatLayer(2, [1, 1, 1]), [[1, 2], [3, 4], [5, 6]])).toEqual([1, 3, 5, 2, 4, 6]);
  });
});

// ---------------------------------------------------------------------------------------------
// Synthetic .tflite models

const Q = q(0.1, -3);

/** Every PAD / PADV2 / CONCATENATION variant, all on the model input: several outputs. */
function variantsModel(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 3, 4, 2], Q);
  // PAD with batch, H and W padding.
  const p1 = g.int32Constant('p1', [4, 2], [1, 0, 0, 2, 1, 1, 0, 0]);
  const y1 = g.tensor('pad_bhw', [2, 5, 6, 2], Q);
  g.op(BuiltinOp.PAD, [x, p1], [y1], padOptions(false));
  // Three-way concatenation of one tensor along W.
  const y2 = g.tensor('concat_w3', [1, 3, 12, 2], Q);
  g.op(BuiltinOp.CONCATENATION, [x, x, x], [y2], concatOptions(2));
  // A 2-D pad of a reshaped input (rank < 4).
  const r = g.tensor('flat', [3, 8], Q);
  g.op(BuiltinOp.RESHAPE, [x], [r], reshapeOptions([3, 8]));
  const p3 = g.int32Constant('p3', [2, 2], [1, 2, 0, 3]);
  const y3 = g.tensor('pad_2d', [6, 11], Q);
  g.op(BuiltinOp.PAD, [r, p3], [y3], padOptions(false));
  // Concatenation along the batch axis, negative axis -4.
  const y4 = g.tensor('concat_n', [2, 3, 4, 2], Q);
  g.op(BuiltinOp.CONCATENATION, [x, x], [y4], concatOptions(-4));
  // PADV2 of the channels with a constant.
  const p5 = g.int32Constant('p5', [4, 2], [0, 0, 0, 0, 0, 0, 2, 1]);
  const c5 = g.int8Constant('c5', [], [-100], Q);
  const y5 = g.tensor('padv2_c', [1, 3, 4, 5], Q);
  g.op(BuiltinOp.PADV2, [x, p5, c5], [y5], padOptions(true));
  return g.build([x], [y1, y2, y3, y4, y5]);
}

/** conv -> pad -> conv, and conv -> padv2 -> conv, the two branches concatenated -> FC. */
function branchesModel(): Uint8Array {
  const p = new Prng(5);
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 6, 6, 2], q(0.05, 3));
  const w1 = g.int8Constant('w1', [4, 3, 3, 2], p.ints(4 * 18, -127, 127), perChannel([0.01, 0.02, 0.015, 0.012], 0));
  const b1 = g.int32Constant('b1', [4], p.ints(4, -500, 500));
  const a = g.tensor('a', [1, 6, 6, 4], q(0.04, -5));
  g.op(BuiltinOp.CONV_2D, [x, w1, b1], [a], conv2dOptions({ padding: Pad.SAME, strideH: 1, strideW: 1, act: Act.RELU }));
  const pads = g.int32Constant('pads', [4, 2], [0, 0, 1, 1, 2, 1, 0, 0]);
  const ap = g.tensor('a_padded', [1, 8, 9, 4], q(0.04, -5));
  g.op(BuiltinOp.PAD, [a, pads], [ap], padOptions(false));
  const w2 = g.int8Constant('w2', [3, 3, 3, 4], p.ints(3 * 36, -127, 127), perChannel([0.01, 0.011, 0.009], 0));
  const c1 = g.tensor('branch1', [1, 6, 7, 3], q(0.06, 2));
  g.op(BuiltinOp.CONV_2D, [ap, w2], [c1], conv2dOptions({ padding: Pad.VALID, strideH: 1, strideW: 1 }));
  const pads2 = g.int32Constant('pads2', [4, 2], [0, 0, 0, 0, 1, 0, 0, 1]);
  const cv = g.int8Constant('cval', [], [20], q(0.04, -5));
  const av = g.tensor('a_padv2', [1, 6, 7, 5], q(0.04, -5));
  g.op(BuiltinOp.PADV2, [a, pads2, cv], [av], padOptions(true));
  const w3 = g.int8Constant('w3', [2, 1, 1, 5], p.ints(10, -127, 127), perChannel([0.02, 0.03], 0));
  const c2 = g.tensor('branch2', [1, 6, 7, 2], q(0.06, 2));
  g.op(BuiltinOp.CONV_2D, [av, w3], [c2], conv2dOptions({ padding: Pad.VALID, strideH: 1, strideW: 1, act: Act.RELU6 }));
  const cat = g.tensor('cat', [1, 6, 7, 5], q(0.06, 2));
  g.op(BuiltinOp.CONCATENATION, [c1, c2], [cat], concatOptions(-1));
  const wf = g.int8Constant('wf', [4, 210], p.ints(840, -127, 127), q(0.004));
  const bf = g.int32Constant('bf', [4], p.ints(4, -2000, 2000));
  const y = g.tensor('y', [1, 4], q(0.2, -10));
  g.op(BuiltinOp.FULLY_CONNECTED, [cat, wf, bf], [y], fullyConnectedOptions({}));
  return g.build([x], [y]);
}

function plain(g: Graph): Graph {
  return { ...g, tensors: g.tensors.map((t) => (t.data ? { ...t, data: new Uint8Array(t.data) } : t)) };
}

function reloaded(graph: Graph): LoadedModel {
  const bytes = writeTflite(graph);
  return { path: `${graph.name}.tflite`, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), graph: parseTflite(bytes, `${graph.name}.tflite`) };
}

async function hostMatchesReference(compiled: CompiledModel, cases: Uint8Array[][], alsoQemu = false): Promise<void> {
  const mod = writeCModule(compiled, path.join(dir, `c-${compiled.prefix}`));
  const [host, qemu] = await Promise.all([runCasesOnHost(mod, cases, { sanitize: true, workDir }), alsoQemu ? runCasesOnQemuMps2An386(mod, cases, { workDir }) : undefined]);
  cases.forEach((c, i) => {
    const ref = runReference(compiled.model.graph, compiled.layers, c);
    expect(ref.length).toBeGreaterThan(0);
    ref.forEach((r, o) => {
      expect(Buffer.from(host[i]?.[o] as Uint8Array).equals(Buffer.from(r)), `${compiled.prefix} case ${i} output ${o}: host C vs TS reference`).toBe(true);
      if (qemu) expect(Buffer.from(qemu[i]?.[o] as Uint8Array).equals(Buffer.from(r)), `${compiled.prefix} case ${i} output ${o}: Cortex-M4 vs TS reference`).toBe(true);
    });
  });
}

describe('TFLite PAD, PADV2 and CONCATENATION', () => {
  it('read, lower and run every variant as TFLite defines it', () => {
    const m = loadSynthetic('pad_concat_variants', variantsModel());
    expect(m.graph.ops.map((o) => o.kind)).toEqual(['pad', 'concatenation', 'reshape', 'pad', 'concatenation', 'pad']);
    // The negative axis is normalized when read.
    expect(m.graph.ops[4]?.attrs).toEqual({ axis: 0, activation: 'none' });
    const c = compileModel(m);
    expect(c.summary.opCounts).toEqual({ PAD: 2, CONCATENATION: 2, RESHAPE: 1, PADV2: 1 });
    const pad2d = c.layers[3] as PadS8Layer;
    expect([pad2d.inDims, pad2d.outDims, pad2d.before, pad2d.after, pad2d.padValue]).toEqual([[1, 1, 3, 8], [1, 1, 6, 11], [0, 0, 1, 0], [0, 0, 2, 3], -3]);
    expect((c.layers[5] as PadS8Layer).padValue).toBe(-100);
    expect((c.layers[1] as ConcatenationS8Layer).copySizes).toEqual([8, 8, 8]);
    expect((c.layers[1] as ConcatenationS8Layer).outer).toBe(3);
    // Hand expectations on input values 0..23 (x[h][w][c] = (h * 4 + w) * 2 + c).
    const x = Array.from({ length: 24 }, (_, i) => i);
    const [y1, y2, y3, y4, y5] = runReference(m.graph, c.layers, [int8Bytes(x)]).map(asInt8);
    const at = (h: number, w: number, ch: number): number => (h * 4 + w) * 2 + ch;
    // y1 [2, 5, 6, 2]: batch 0 is padding, batch 1 holds x at (h, w + 1) for h < 3.
    const e1: number[] = [];
    for (let n = 0; n < 2; n++) for (let h = 0; h < 5; h++) for (let w = 0; w < 6; w++) for (let ch = 0; ch < 2; ch++) e1.push(n === 1 && h < 3 && w >= 1 && w <= 4 ? at(h, w - 1, ch) : -3);
    expect(y1).toEqual(e1);
    const e2: number[] = [];
    for (let h = 0; h < 3; h++) for (let k = 0; k < 3; k++) for (let w = 0; w < 4; w++) for (let ch = 0; ch < 2; ch++) e2.push(at(h, w, ch));
    expect(y2).toEqual(e2);
    const e3: number[] = [];
    for (let r = 0; r < 6; r++) for (let k = 0; k < 11; k++) e3.push(r >= 1 && r < 4 && k < 8 ? (r - 1) * 8 + k : -3);
    expect(y3).toEqual(e3);
    expect(y4).toEqual([...x, ...x]);
    const e5: number[] = [];
    for (let p = 0; p < 12; p++) e5.push(-100, -100, 2 * p, 2 * p + 1, -100);
    expect(y5).toEqual(e5);
  });

  it('host C (ASan + UBSan) and the Cortex-M4 (QEMU) match the TS reference on every variant and on conv -> pad -> conv, two branches -> concat -> FC', async () => {
    for (const [name, bytes] of [
      ['pad_concat_variants', variantsModel()],
      ['pad_concat_branches', branchesModel()],
    ] as const) {
      const compiled = compileModel(loadSynthetic(name, bytes));
      const prng = new Prng(name.length);
      const cases = Array.from({ length: 6 }, () => compiled.summary.inputs.map((io) => prng.int8Bytes(io.bytes)));
      await hostMatchesReference(compiled, cases, true);
      // Pad and concatenation are generic calls for every instruction set and kernel mode.
      for (const c of [compiled, compileModel(compiled.model, { isa: 'mve' }), compileModel(compiled.model, { kernels: 'portable' })]) {
        const moves = c.calls.filter((k) => k.kind === 'generic' && (k.layer.kernel === 'pad_s8' || k.layer.kernel === 'concatenation_s8'));
        expect(moves.length).toBe(c.layers.filter((l) => l.kernel === 'pad_s8' || l.kernel === 'concatenation_s8').length);
        expect(moves.length).toBeGreaterThan(0);
      }
    }
  }, 120_000);

  it('plans the branches without running pad or concatenation in place', () => {
    const compiled = compileModel(loadSynthetic('pad_concat_branches', branchesModel()));
    const kernels = compiled.layers.map((l) => l.kernel);
    expect(kernels).toEqual(['conv_s8', 'pad_s8', 'conv_s8', 'pad_s8', 'conv_s8', 'concatenation_s8', 'fully_connected_s8']);
    for (const i of compiled.plan.inPlaceLayers) expect(['pad_s8', 'concatenation_s8']).not.toContain(kernels[i]);
    // Both branch outputs live until the concatenation (layer 5) and never overlap each other.
    const cat = compiled.layers[5] as ConcatenationS8Layer;
    const buf = (id: number) => compiled.plan.buffers.find((b) => b.tensors.includes(id));
    const [b1, b2] = cat.inputs.map((id) => buf(id));
    expect(b1?.lastUse).toBe(5);
    expect(b2?.lastUse).toBe(5);
    const s1 = compiled.plan.storageOf.get(cat.inputs[0] as number);
    const s2 = compiled.plan.storageOf.get(cat.inputs[1] as number);
    if (s1?.kind !== 'arena' || s2?.kind !== 'arena' || !b1 || !b2) throw new Error('branches not in the arena');
    expect(s1.offset + b1.bytes <= s2.offset || s2.offset + b2.bytes <= s1.offset).toBe(true);
  });

  it('writeTflite round-trips PAD, PADV2 and CONCATENATION to an identical IR', () => {
    for (const [name, bytes] of [
      ['pad_concat_variants', variantsModel()],
      ['pad_concat_branches', branchesModel()],
    ] as const) {
      const original = loadSynthetic(name, bytes);
      const again = reloaded(original.graph);
      expect(plain(again.graph)).toEqual(plain(original.graph));
      const codes = readTfliteStructure(again.bytes, 'x.tflite').operatorCodes.map((c) => c.extendedBuiltinCode);
      expect(codes).toEqual(expect.arrayContaining([BuiltinOp.PAD, BuiltinOp.PADV2, BuiltinOp.CONCATENATION]));
      const a = compileModel(original);
      const b = compileModel(again);
      const input = [new Prng(3).int8Bytes(a.summary.inputs[0]?.bytes ?? 0)];
      expect(runReference(again.graph, b.layers, input)).toEqual(runReference(original.graph, a.layers, input));
    }
  });

  it('rejects what TFLite Micro cannot run with one-line errors naming the operator', () => {
    const lowerError = (bytes: Uint8Array): string => {
      try {
        compileModel(loadSynthetic('bad', bytes));
      } catch (e) {
        expect(e).toBeInstanceOf(TinyforgeError);
        return (e as Error).message;
      }
      throw new Error('compiled');
    };
    // Concatenation inputs with another scale than the output.
    let g = new GraphBuilder();
    let a = g.tensor('a', [1, 2], q(0.1));
    let b = g.tensor('b', [1, 2], q(0.2));
    let y = g.tensor('y', [1, 4], q(0.1));
    g.op(BuiltinOp.CONCATENATION, [a, b], [y], concatOptions(1));
    const concat = lowerError(g.build([a, b], [y]));
    expect(concat).toMatch(/operator 0 \(CONCATENATION\): input 1 'b' quantization \(scale 0\.2\d*, zero point 0\) differs from the output's .* copies bytes and needs them equal/);
    expect(concat).not.toMatch(/\n/);
    // A fused activation.
    g = new GraphBuilder();
    a = g.tensor('a', [1, 2], q(0.1));
    y = g.tensor('y', [1, 4], q(0.1));
    g.op(BuiltinOp.CONCATENATION, [a, a], [y], concatOptions(1, Act.RELU));
    expect(lowerError(g.build([a], [y]))).toMatch(/CONCATENATION\): fused activation RELU is not supported/);
    // PAD with a different output quantization.
    g = new GraphBuilder();
    a = g.tensor('a', [1, 2], q(0.1, 1));
    let p = g.int32Constant('p', [2, 2], [0, 0, 1, 1]);
    y = g.tensor('y', [1, 4], q(0.1, 2));
    g.op(BuiltinOp.PAD, [a, p], [y], padOptions(false));
    expect(lowerError(g.build([a], [y]))).toMatch(/operator 0 \(PAD\): input quantization .* differs from the output's .* int8 PAD needs them equal/);
    // Reader: paddings that do not produce the output shape, and non-constant paddings.
    g = new GraphBuilder();
    a = g.tensor('a', [1, 2], q(0.1));
    p = g.int32Constant('p', [2, 2], [0, 0, 1, 2]);
    y = g.tensor('y', [1, 4], q(0.1));
    g.op(BuiltinOp.PAD, [a, p], [y], padOptions(false));
    expect(() => loadSynthetic('bad', g.build([a], [y]))).toThrow(/operator 0 \(PAD\) output tensor 2 'y' has dimension 4 at axis 1 but input 2 \+ padding 1 \+ 2 = 5/);
    g = new GraphBuilder();
    a = g.tensor('a', [1, 2], q(0.1));
    p = g.tensor('p', [2, 2], undefined, TensorType.INT32);
    y = g.tensor('y', [1, 4], q(0.1));
    g.op(BuiltinOp.PAD, [a, p], [y], padOptions(false));
    expect(() => loadSynthetic('bad', g.build([a, p], [y]))).toThrow(/operator 0 \(PAD\) paddings tensor 1 'p' must be a constant int32 tensor/);
    // Reader: concatenation shapes that do not add up.
    g = new GraphBuilder();
    a = g.tensor('a', [1, 2, 3], q(0.1));
    y = g.tensor('y', [1, 2, 7], q(0.1));
    g.op(BuiltinOp.CONCATENATION, [a, a], [y], concatOptions(-1));
    expect(() => loadSynthetic('bad', g.build([a], [y]))).toThrow(/operator 0 \(CONCATENATION\) inputs add up to 6 along axis 2 but the output has 7/);
  });

  it('channel pruning follows a PAD that keeps the channels and stops at a concatenation or a channel pad', () => {
    const graph = loadSynthetic('pad_concat_branches', branchesModel()).graph;
    const { report } = pruneChannels(graph, { fraction: 0.25 });
    const reasons = Object.fromEntries(report.skipped.map((s) => [s.op, s.reason]));
    // conv 0 feeds PAD (followed) and PADV2, which pads the channel dimension.
    expect(reasons[0]).toMatch(/PAD \(op 3\) pads the channel dimension \(0, 1\)/);
    // The branch convolutions feed the concatenation.
    expect(reasons[2]).toMatch(/feeds CONCATENATION \(op 5\), whose output mixes it with other inputs/);
    expect(reasons[4]).toMatch(/feeds CONCATENATION \(op 5\)/);
  });
});

// ---------------------------------------------------------------------------------------------
// TF.js frontends

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (b[i] as number)))));
  return worst;
}

function samples(n: number, seed: number, size: number): Float32Array[] {
  const p = new Prng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: size }, () => p.unit() * 2 - 1));
}

function batch(xs: readonly Float32Array[], shape: number[]): tf.Tensor {
  const flat = new Float32Array(xs.length * (xs[0] as Float32Array).length);
  xs.forEach((x, i) => flat.set(x, i * x.length));
  return tf.tensor(flat, [xs.length, ...shape]);
}

/** Quantizes `fg`, compiles it, and checks host C against the int8 TS reference. */
async function quantizeAndCompare(label: string, fg: FloatGraph, calib: Float32Array[], test: Float32Array[]): Promise<ReturnType<typeof quantizeFloatGraph>> {
  const qr = quantizeFloatGraph(fg, calib.map((x) => [x]));
  const compiled = compileModel(ptqLoadedModel(qr, `${label}/model.json`, '0'.repeat(64)), { prefix: label });
  await hostMatchesReference(compiled, test.map((x) => [quantizeInput(x, qr.inputs[0] as { scale: number; zeroPoint: number })]));
  return qr;
}

/** A concatenation's inputs and output carry one quantization, as TFLite's quantizer makes them. */
function expectSharedConcatQuant(qr: ReturnType<typeof quantizeFloatGraph>): void {
  const cats = qr.graph.ops.filter((o) => o.kind === 'concatenation');
  expect(cats.length).toBeGreaterThan(0);
  for (const op of cats) {
    const qs = [...op.inputs, ...op.outputs].map((id) => JSON.stringify(qr.graph.tensors[id]?.quant));
    expect(new Set(qs).size).toBe(1);
  }
  for (const op of qr.graph.ops.filter((o) => o.kind === 'pad')) {
    expect(qr.graph.tensors[op.inputs[0] as number]?.quant).toEqual(qr.graph.tensors[op.outputs[0] as number]?.quant);
  }
}

describe('TF.js ZeroPadding2D / Concatenate (layers) and Pad / PadV2 / ConcatV2 (graph)', () => {
  it('layers: maps ZeroPadding2D and Concatenate, matches predict, quantizes bit-exact on host C', async () => {
    const init = (seed: number) => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: seed + 100 }) });
    const input = tfl.input({ shape: [8, 8, 1] });
    const c0 = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', ...init(1) }).apply(input) as tfl.SymbolicTensor;
    const padded = tfl.layers.zeroPadding2d({ padding: [[1, 0], [2, 1]] }).apply(c0) as tfl.SymbolicTensor;
    const a = tfl.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu', ...init(2) }).apply(padded) as tfl.SymbolicTensor;
    const b = tfl.layers.conv2d({ filters: 2, kernelSize: 3, ...init(3) }).apply(padded) as tfl.SymbolicTensor;
    const cat = tfl.layers.concatenate({ axis: -1 }).apply([a, b]) as tfl.SymbolicTensor;
    const p2 = tfl.layers.zeroPadding2d({ padding: 1 }).apply(cat) as tfl.SymbolicTensor;
    const pooled = tfl.layers.maxPooling2d({ poolSize: 3 }).apply(p2) as tfl.SymbolicTensor;
    const cat2 = tfl.layers.concatenate({ axis: 2 }).apply([pooled, pooled]) as tfl.SymbolicTensor;
    const flat = tfl.layers.flatten({}).apply(cat2) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 4, activation: 'softmax', ...init(4) }).apply(flat) as tfl.SymbolicTensor;
    const model = tfl.model({ name: 'padcat', inputs: input, outputs: out });
    const file = writeArtifacts(path.join(dir, 'padcat-layers'), await saveLayersArtifacts(model));
    const { graph } = await loadTfjsModel(file);
    expect(graph.ops.map((o) => o.kind)).toEqual(['conv2d', 'pad', 'conv2d', 'conv2d', 'concatenation', 'pad', 'max_pool2d', 'concatenation', 'reshape', 'fully_connected', 'softmax']);
    const test = samples(12, 7, 64);
    const expected = (model.predict(batch(test, [8, 8, 1])) as tf.Tensor).dataSync() as Float32Array;
    test.forEach((x, i) => {
      const got = runFloat(graph, [x]).get(graph.outputs[0] as number) as Float32Array;
      expect(maxDiff(got, expected.subarray(i * 4, (i + 1) * 4))).toBeLessThan(1e-4);
    });
    // The TF.js-ops forward pass (fine-tuning) runs the new ops the same way.
    const batched = forwardBatch(graph, new Map(), batch(test, [8, 8, 1])).dataSync() as Float32Array;
    expect(maxDiff(batched, expected)).toBeLessThan(1e-4);
    const qr = await quantizeAndCompare('padcat_layers', graph, samples(60, 8, 64), test);
    expectSharedConcatQuant(qr);
  }, 120_000);

  it('graph: maps Pad, PadV2 and ConcatV2 (negative axis), matches execute, quantizes bit-exact on host C', async () => {
    const artifacts = padConcatGraphArtifacts();
    const file = writeArtifacts(path.join(dir, 'padcat-graph'), artifacts);
    const { graph, model } = await loadGraphFloatGraph(readArtifacts(file), 'padcat_graph');
    expect(graph.ops.map((o) => o.kind)).toEqual(['conv2d', 'pad', 'conv2d', 'pad', 'conv2d', 'concatenation', 'reshape', 'fully_connected']);
    expect(graph.ops[5]?.attrs).toEqual({ axis: 3, activation: 'none' });
    // PadV2 keeps its constant as a third input.
    expect(graph.ops[3]?.inputs).toHaveLength(3);
    const test = samples(10, 11, 72);
    const expected = (model.execute(batch(test, [6, 6, 2])) as tf.Tensor).dataSync() as Float32Array;
    test.forEach((x, i) => {
      const got = runFloat(graph, [x]).get(graph.outputs[0] as number) as Float32Array;
      expect(maxDiff(got, expected.subarray(i * 3, (i + 1) * 3))).toBeLessThan(1e-4);
    });
    const qr = await quantizeAndCompare('padcat_graph', graph, samples(60, 12, 72), test);
    expectSharedConcatQuant(qr);
    expect(qr.graph.ops.filter((o) => o.kind === 'pad').map((o) => o.inputs.length)).toEqual([2, 3]);
    // The quantized model is an ordinary TFLite model: its ops round-trip through the writer
    // (bias scales are stored as float32 there, so tensors are compared by the TFLite tests above).
    expect(reloaded(qr.graph).graph.ops).toEqual(qr.graph.ops);
  }, 120_000);

  it('MirrorPad gets the unsupported-op error', async () => {
    const artifacts = padConcatGraphArtifacts();
    const nodes = (artifacts.modelTopology as { node: { name: string; op: string; attr?: Record<string, unknown> }[] }).node;
    const pad = nodes.find((n) => n.op === 'Pad');
    if (!pad) throw new Error('no Pad node');
    pad.op = 'MirrorPad';
    pad.attr = { ...pad.attr, mode: { s: Buffer.from('REFLECT').toString('base64') } };
    const file = writeArtifacts(path.join(dir, 'mirror'), artifacts);
    await expect(loadGraphFloatGraph(readArtifacts(file), 'mirror')).rejects.toThrow(/node 'pad' \(MirrorPad\): op MirrorPad is not supported; supported ops: .*Pad, PadV2 \(constant\), ConcatV2/);
  });
});

type NodeJson = GraphNodeJson;

/** Graph-model artifacts written by hand, as tfjs-converter lays them out. */
function padConcatGraphArtifacts(): tf.io.ModelArtifacts {
  const nodes: NodeJson[] = [];
  const weights: { name: string; tensor: tf.Tensor }[] = [];
  const dtFloat = { type: 'DT_FLOAT' };
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  const listI = (v: number[]): unknown => ({ list: { i: v.map(String) } });
  const addConst = (name: string, t: tf.Tensor): string => {
    nodes.push(constNode(name, t));
    weights.push({ name, tensor: t });
    return name;
  };
  const p = new Prng(99);
  const rand = (shape: number[], scale: number): tf.Tensor => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (p.unit() * 2 - 1) * scale), shape);
  const conv = (name: string, input: string, k: number[], padding: string, relu: boolean): string => {
    const w = addConst(`${name}/kernel`, rand(k, 0.5));
    const bias = addConst(`${name}/bias`, rand([k[3] as number], 0.2));
    nodes.push({ name: `${name}/conv`, op: 'Conv2D', input: [input, w], attr: { T: dtFloat, strides: listI([1, 1, 1, 1]), padding: { s: b64(padding) }, data_format: { s: b64('NHWC') }, dilations: listI([1, 1, 1, 1]) } });
    nodes.push({ name: `${name}/BiasAdd`, op: 'BiasAdd', input: [`${name}/conv`, bias], attr: { T: dtFloat, data_format: { s: b64('NHWC') } } });
    if (!relu) return `${name}/BiasAdd`;
    nodes.push({ name: `${name}/Relu`, op: 'Relu', input: [`${name}/BiasAdd`], attr: { T: dtFloat } });
    return `${name}/Relu`;
  };
  nodes.push({ name: 'input', op: 'Placeholder', attr: { dtype: dtFloat, shape: { shape: { dim: [-1, 6, 6, 2].map((d) => ({ size: String(d) })) } } } });
  const c0 = conv('c0', 'input', [3, 3, 2, 4], 'SAME', true);
  const pads = addConst('pad/paddings', tf.tensor2d([0, 0, 1, 1, 2, 0, 0, 0], [4, 2], 'int32'));
  nodes.push({ name: 'pad', op: 'Pad', input: [c0, pads], attr: { T: dtFloat, Tpaddings: { type: 'DT_INT32' } } });
  const a = conv('a', 'pad', [3, 3, 4, 3], 'VALID', false);
  const pads2 = addConst('padv2/paddings', tf.tensor2d([0, 0, 0, 0, 0, 0, 1, 2], [4, 2], 'int32'));
  const value = addConst('padv2/constant_values', tf.scalar(0.75));
  nodes.push({ name: 'padv2', op: 'PadV2', input: [c0, pads2, value], attr: { T: dtFloat, Tpaddings: { type: 'DT_INT32' } } });
  const bBranch = conv('b', 'padv2', [1, 3, 7, 2], 'SAME', true);
  // Branch a is [1, 6, 6, 3]; branch b [1, 6, 6, 2].
  const axis = addConst('concat/axis', tf.scalar(-1, 'int32'));
  nodes.push({ name: 'concat', op: 'ConcatV2', input: [a, bBranch, axis], attr: { T: dtFloat, N: { i: '2' }, Tidx: { type: 'DT_INT32' } } });
  const shape = addConst('flat/shape', tf.tensor1d([-1, 180], 'int32'));
  nodes.push({ name: 'flat', op: 'Reshape', input: ['concat', shape], attr: { T: dtFloat, Tshape: { type: 'DT_INT32' } } });
  const fw = addConst('fc/kernel', rand([180, 3], 0.1));
  const fb = addConst('fc/bias', rand([3], 0.1));
  nodes.push({ name: 'fc/MatMul', op: 'MatMul', input: ['flat', fw], attr: { T: dtFloat, transpose_a: { b: false }, transpose_b: { b: false } } });
  nodes.push({ name: 'fc/BiasAdd', op: 'BiasAdd', input: ['fc/MatMul', fb], attr: { T: dtFloat, data_format: { s: b64('NHWC') } } });
  nodes.push({ name: 'Identity', op: 'Identity', input: ['fc/BiasAdd'], attr: { T: dtFloat } });
  return graphModelArtifacts(nodes, weights);
}

