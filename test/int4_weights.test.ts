// INT4 filters (TFLite TensorType INT4, two values per byte), which TFLite Micro runs for
// FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D with int8 inputs by unpacking them into int8
// (tensor_utils::UnpackDenseInt4IntoInt8). No TFLM goldens exist for INT4 here, so each INT4 model
// is checked against the same model with the unpacked values stored as INT8 (already proven against
// TFLM elsewhere):
//   1. nibble order and sign extension are pinned by hand-made bytes and a hand-computed output;
//   2. INT4 models give byte-identical outputs to their INT8 twins on the TS reference, the host C
//      under ASan/UBSan and the emulated Cortex-M4, with FULLY_CONNECTED on the packed kernel
//      (fully_connected_s8_s4w), including ad_autoencoder with its filters clamped to [-8, 7];
//   3. INT4 anywhere else, and truncated INT4 buffers, are one-line errors (exit code 2 in the CLI).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule, type CompiledModel } from '../compiler/compile.ts';
import { callFlashBytes } from '../compiler/boards/fit.ts';
import { parseTflite } from '../compiler/frontends/tflite/index.ts';
import { int4Bytes, packInt4, unpackInt4 } from '../compiler/frontends/tflite/int4.ts';
import { BuiltinOp, TensorType } from '../compiler/frontends/tflite/schema.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { runCasesOnQemuMps2An386 } from '../compiler/targets/qemu_mps2.ts';
import { clampedFilters, type FilterType } from './helpers/int4_models.ts';
import { refusal } from './helpers/refusal.ts';
import { modelPath } from './helpers/shared.ts';
import { Act, asInt8, GraphBuilder, int8Bytes, loadSynthetic, Pad, perChannel, Prng, q } from './helpers/synthetic_models.ts';
import { addOptions, conv2dOptions, depthwiseOptions, fullyConnectedOptions } from './helpers/tflite_builder.ts';

const BIN = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-int4-test-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const RANDOM_CASES = 6;


function filterConstant(g: GraphBuilder, type: FilterType, name: string, shape: number[], values: readonly number[], quant: ReturnType<typeof q>): number {
  return type === 'int4' ? g.constant(name, shape, TensorType.INT4, packInt4(values), quant) : g.int8Constant(name, shape, values, quant);
}

/** FULLY_CONNECTED, 2 batches of an odd depth (rows start mid-byte), non-zero input zero point, RELU. */
function fcModel(type: FilterType): Uint8Array {
  const rng = new Prng(41);
  const depth = 37;
  const rows = 11;
  const g = new GraphBuilder();
  const x = g.tensor('x', [2, depth], q(0.5, -3));
  const w = filterConstant(g, type, 'w', [rows, depth], rng.ints(rows * depth, -8, 7), q(0.02));
  const b = g.int32Constant('b', [rows], rng.ints(rows, -300, 300));
  const y = g.tensor('y', [2, rows], q(0.1, 5));
  g.op(BuiltinOp.FULLY_CONNECTED, [x, w, b], [y], fullyConnectedOptions({ act: Act.RELU }));
  return g.build([x], [y]);
}

/** FULLY_CONNECTED of depth 24 (the grouped layout and the DSP path) and 7 rows (two-row passes plus one). */
function fcGroupedModel(type: FilterType): Uint8Array {
  const rng = new Prng(45);
  const g = new GraphBuilder();
  const x = g.tensor('x', [3, 24], q(0.5, 11));
  const w = filterConstant(g, type, 'w', [7, 24], rng.ints(168, -8, 7), q(0.03));
  const b = g.int32Constant('b', [7], rng.ints(7, -400, 400));
  const y = g.tensor('y', [3, 7], q(0.2, -9));
  g.op(BuiltinOp.FULLY_CONNECTED, [x, w, b], [y], fullyConnectedOptions({ act: Act.RELU6 }));
  return g.build([x], [y]);
}

/** FULLY_CONNECTED with a per-channel INT4 filter (tinyforge's per-channel module kernel), depth 16. */
function fcPerChannelModel(type: FilterType): Uint8Array {
  const rng = new Prng(44);
  const g = new GraphBuilder();
  const x = g.tensor('x', [3, 16], q(0.25, 7));
  const w = filterConstant(g, type, 'w', [6, 16], rng.ints(96, -8, 7), perChannel([0.01, 0.03, 0.02, 0.05, 0.04, 0.02], 0));
  const b = g.int32Constant('b', [6], rng.ints(6, -100, 100));
  const y = g.tensor('y', [3, 6], q(0.05, -2));
  g.op(BuiltinOp.FULLY_CONNECTED, [x, w, b], [y], fullyConnectedOptions({}));
  return g.build([x], [y]);
}

/** CONV_2D, per-channel INT4 filter with an odd element count (5 x 3 x 3 x 3). */
function convModel(type: FilterType): Uint8Array {
  const rng = new Prng(42);
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 6, 6, 3], q(0.05, 2));
  const w = filterConstant(g, type, 'w', [5, 3, 3, 3], rng.ints(135, -8, 7), perChannel([0.03, 0.02, 0.05, 0.01, 0.04], 0));
  const b = g.int32Constant('b', [5], rng.ints(5, -50, 50));
  const y = g.tensor('y', [1, 6, 6, 5], q(0.08, -4));
  g.op(BuiltinOp.CONV_2D, [x, w, b], [y], conv2dOptions({ padding: Pad.SAME, strideH: 1, strideW: 1 }));
  return g.build([x], [y]);
}

/** CONV_2D with 16 input channels (the grouped layout and the DSP path), SAME padding, stride 2. */
function convGroupedModel(type: FilterType): Uint8Array {
  const rng = new Prng(46);
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 7, 7, 16], q(0.05, -6));
  const w = filterConstant(g, type, 'w', [6, 3, 3, 16], rng.ints(864, -8, 7), perChannel([0.02, 0.01, 0.03, 0.02, 0.015, 0.025], 0));
  const b = g.int32Constant('b', [6], rng.ints(6, -200, 200));
  const y = g.tensor('y', [1, 4, 4, 6], q(0.1, 1));
  g.op(BuiltinOp.CONV_2D, [x, w, b], [y], conv2dOptions({ padding: Pad.SAME, strideH: 2, strideW: 2, act: Act.RELU }));
  return g.build([x], [y]);
}

/** DEPTHWISE_CONV_2D, per-channel INT4 filter of 27 values. */
function depthwiseModel(type: FilterType): Uint8Array {
  const rng = new Prng(43);
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 5, 5, 3], q(0.05, -1));
  const w = filterConstant(g, type, 'w', [1, 3, 3, 3], rng.ints(27, -8, 7), perChannel([0.03, 0.06, 0.02], 3));
  const b = g.int32Constant('b', [3], rng.ints(3, -40, 40));
  const y = g.tensor('y', [1, 3, 3, 3], q(0.06, 3));
  g.op(BuiltinOp.DEPTHWISE_CONV_2D, [x, w, b], [y], depthwiseOptions({ padding: Pad.VALID, strideH: 1, strideW: 1, depthMultiplier: 1 }));
  return g.build([x], [y]);
}

/**
 * ad_autoencoder (ten FULLY_CONNECTED layers, 264 KiB of int8 weights) with every filter clamped to
 * [-8, 7]: written once with the clamped values as INT8 and once as INT4.
 */
function clampedAutoencoder(type: FilterType): Uint8Array {
  return clampedFilters(modelPath('ad_autoencoder'), type);
}

function randomCases(compiled: CompiledModel, seed: number): Uint8Array[][] {
  const rng = new Prng(seed);
  return Array.from({ length: RANDOM_CASES }, () => compiled.summary.inputs.map((t) => rng.int8Bytes(t.bytes)));
}

function hex(outputs: readonly Uint8Array[][]): string[][] {
  return outputs.map((c) => c.map((o) => Buffer.from(o).toString('hex')));
}

describe('INT4 unpacking (TFLite Micro UnpackDenseInt4IntoInt8)', () => {
  it('takes the low nibble first and sign-extends both', () => {
    expect(asInt8(unpackInt4(Uint8Array.of(0x21, 0xf8), 4))).toEqual([1, 2, -8, -1]);
    expect(asInt8(unpackInt4(Uint8Array.of(0x7f, 0x80), 4))).toEqual([-1, 7, 0, -8]);
  });

  it('ignores the last high nibble of an odd count, and packs back', () => {
    expect(asInt8(unpackInt4(Uint8Array.of(0x21, 0xf8), 3))).toEqual([1, 2, -8]);
    expect(int4Bytes(3)).toBe(2);
    expect([...packInt4([1, 2, -8])]).toEqual([0x21, 0x08]);
    const values = new Prng(7).ints(101, -8, 7);
    expect(asInt8(unpackInt4(packInt4(values), 101))).toEqual(values);
    expect(() => packInt4([8])).toThrow(RangeError);
  });

  it('gives the hand-computed FULLY_CONNECTED output for bytes 0x21 0xF8 (weights 1, 2, -8, -1)', async () => {
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 4], q(1));
    const w = g.constant('w', [1, 4], TensorType.INT4, Uint8Array.of(0x21, 0xf8), q(1));
    const y = g.tensor('y', [1, 1], q(4));
    g.op(BuiltinOp.FULLY_CONNECTED, [x, w], [y], fullyConnectedOptions({}));
    const compiled = compileModel(loadSynthetic('int4_nibbles', g.build([x], [y])));
    expect(compiled.calls[0]?.kind).toBe('fully_connected_s8_s4w');
    // 3*1 + 10*2 + 50*(-8) + (-1)*(-1) = -376, / 4 = -94. High nibble first would give
    // -26 / 4 (-6 or -7); no sign extension 408 / 4 = 102.
    const input = [int8Bytes([3, 10, 50, -1])];
    expect(asInt8(runReference(compiled.model.graph, compiled.layers, input)[0] as Uint8Array)).toEqual([-94]);
    const mod = writeCModule(compiled, path.join(workDir, 'int4_nibbles'));
    const host = await runCasesOnHost(mod, [input], { sanitize: true, workDir });
    expect(asInt8(host[0]?.[0] as Uint8Array)).toEqual([-94]);
  }, 60_000);
});

interface Pair {
  name: string;
  build: (type: FilterType) => Uint8Array;
}

const PAIRS: Pair[] = [
  { name: 'int4_fc', build: fcModel },
  { name: 'int4_fc_grouped', build: fcGroupedModel },
  { name: 'int4_fc_per_channel', build: fcPerChannelModel },
  { name: 'int4_conv', build: convModel },
  { name: 'int4_conv_grouped', build: convGroupedModel },
  { name: 'int4_depthwise', build: depthwiseModel },
  { name: 'int4_ad_autoencoder', build: clampedAutoencoder },
];

describe('INT4 models equal their INT8 twins', () => {
  for (const [k, pair] of PAIRS.entries()) {
    it(`${pair.name}: TS reference, host C (ASan/UBSan) and Cortex-M4 match the INT8 model byte for byte`, async () => {
      // --optimize size: every INT4 filter that can stay packed does (the packed kernels run).
      const int4 = compileModel(loadSynthetic(pair.name, pair.build('int4')), { optimize: 'size' });
      const int8 = compileModel(loadSynthetic(`${pair.name}_i8`, pair.build('int8')));
      // The reader unpacked the INT4 filters to exactly the INT8 twin's values.
      int4.model.graph.tensors.forEach((t, i) => {
        const twin = int8.model.graph.tensors[i];
        expect(t.data ? [...t.data] : undefined, t.name).toEqual(twin?.data ? [...twin.data] : undefined);
      });
      expect(int4.model.graph.tensors.some((t) => t.int4)).toBe(true);

      // Per-tensor FULLY_CONNECTED and CONV_2D keep their INT4 filters packed, in less flash than the INT8 twin's layouts.
      const packedKinds: Record<string, string> = { fully_connected_s8: 'fully_connected_s8_s4w', conv_s8: 'conv_s8_s4w' };
      const packable = int4.calls.filter((c) => c.layer.kernel in packedKinds);
      for (const c of packable) expect(c.kind).toBe(packedKinds[c.layer.kernel]);
      const flash = (m: CompiledModel): number => m.calls.reduce((s, c) => s + callFlashBytes(c, m.model.graph), 0);
      if (packable.length > 0) expect(flash(int4)).toBeLessThan(flash(int8));

      const cases = randomCases(int4, 100 + k);
      const expected = cases.map((c) => runReference(int8.model.graph, int8.layers, c));
      const reference = cases.map((c) => runReference(int4.model.graph, int4.layers, c));
      const mod = writeCModule(int4, path.join(workDir, pair.name));
      const [host, m4] = await Promise.all([runCasesOnHost(mod, cases, { sanitize: true, workDir }), runCasesOnQemuMps2An386(mod, cases, { workDir })]);
      expect(hex(reference)).toEqual(hex(expected));
      expect(hex(host)).toEqual(hex(expected));
      expect(hex(m4)).toEqual(hex(expected));
      // Not all-equal outputs: the comparison can fail.
      expect(new Set(hex(expected).map((c) => c.join())).size).toBeGreaterThan(1);
    }, 120_000);
  }
});

describe('INT4 packing follows --optimize', () => {
  it('balanced packs FULLY_CONNECTED only, size also CONV_2D, speed neither', () => {
    const kinds = (build: (t: FilterType) => Uint8Array, optimize: 'balanced' | 'size' | 'speed'): string[] =>
      compileModel(loadSynthetic('int4_goal', build('int4')), { optimize }).calls.map((c) => c.kind);
    expect(kinds(fcGroupedModel, 'balanced')).toEqual(['fully_connected_s8_s4w']);
    expect(kinds(convGroupedModel, 'balanced')).toEqual(['conv_gemm_s8']);
    expect(kinds(convGroupedModel, 'size')).toEqual(['conv_s8_s4w']);
    expect(kinds(fcGroupedModel, 'speed')).toEqual(['fully_connected_s8_fast']);
    expect(kinds(convGroupedModel, 'speed')).toEqual(['conv_gemm_s8']);
  });
});

// ---------------------------------------------------------------------------------------------
// Refusals

/** FC [1, 5] x INT4 [4, 5] with `bytes` of filter data, optionally an INT4 output or an int16 input. */
function badFc(o: { bytes?: number; int4Output?: boolean; int16Input?: boolean; filterInput?: boolean }): Uint8Array {
  const g = new GraphBuilder();
  const x = o.int16Input ? g.tensor('x', [1, 5], q(0.5), TensorType.INT16) : g.tensor('x', [1, 5], q(0.5));
  const packed = packInt4(new Prng(5).ints(20, -8, 7)).subarray(0, o.bytes ?? 10);
  const w = o.filterInput ? g.tensor('w', [4, 5], q(0.1), TensorType.INT4) : g.constant('w', [4, 5], TensorType.INT4, packed, q(0.1));
  const y = o.int4Output ? g.tensor('y', [1, 4], q(1), TensorType.INT4) : g.tensor('y', [1, 4], q(1), o.int16Input ? TensorType.INT16 : TensorType.INT8);
  g.op(BuiltinOp.FULLY_CONNECTED, [x, w], [y], fullyConnectedOptions({}));
  return g.build(o.filterInput ? [x, w] : [x], [y]);
}

/** ADD of an int8 input and an INT4 constant. */
function int4Add(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 4], q(0.5));
  const c = g.constant('c', [1, 4], TensorType.INT4, Uint8Array.of(0x21, 0x43), q(0.5));
  const y = g.tensor('y', [1, 4], q(1));
  g.op(BuiltinOp.ADD, [x, c], [y], addOptions());
  return g.build([x], [y]);
}

describe('INT4 refusals', () => {
  const parse = (name: string, bytes: Uint8Array): string => refusal(() => parseTflite(bytes, `${name}.tflite`));

  it('a truncated or overlong INT4 buffer is a ModelError, never a read past its end', () => {
    expect(parse('short', badFc({ bytes: 9 }))).toMatch(/tensor 1 'w' has 9 bytes of constant data .* of INT4 \(two per byte\) needs 10/);
    expect(parse('empty', badFc({ bytes: 1 }))).toMatch(/has 1 bytes .* needs 10/);
    const g = new GraphBuilder();
    const x = g.tensor('x', [1, 3], q(0.5));
    // 9 values need 5 bytes (the last high nibble is padding): 4 is short.
    const w = g.constant('w', [3, 3], TensorType.INT4, Uint8Array.of(1, 2, 3, 4), q(0.1));
    const y = g.tensor('y', [1, 3], q(1));
    g.op(BuiltinOp.FULLY_CONNECTED, [x, w], [y], fullyConnectedOptions({}));
    expect(parse('odd', g.build([x], [y]))).toMatch(/has 4 bytes .* needs 5/);
  });

  it('INT4 activations, non-constant INT4 filters, INT4 on other ops and INT4 with int16 inputs are refused, naming op and tensor', () => {
    expect(parse('act', badFc({ int4Output: true }))).toMatch(/operator 0 \(FULLY_CONNECTED\) output 0 \(tensor 2 'y'\) is INT4: INT4 activations are not supported/);
    expect(parse('input', badFc({ filterInput: true }))).toMatch(/operator 0 \(FULLY_CONNECTED\) filter tensor 1 'w' is INT4 but not constant/);
    expect(parse('add', int4Add())).toMatch(/operator 0 \(ADD\) input 1 \(tensor 1 'c'\) is INT4; TFLite Micro reads INT4 only as the filter/);
    expect(parse('int16', badFc({ int16Input: true }))).toMatch(/operator 0 \(FULLY_CONNECTED\) has an INT4 filter tensor 1 'w' with int16 input/);
  });

  it('inspect shows an INT4 filter as int4 with its packed size', () => {
    const file = path.join(workDir, 'inspect_int4.tflite');
    writeFileSync(file, fcGroupedModel('int4'));
    const r = spawnSync(process.execPath, [BIN, 'inspect', file], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/t1\s+w\s+int4\s+\[7, 24\]\s+84\s+const/);
  });

  it('the CLI prints one line and exits 2', () => {
    for (const [name, bytes, pattern] of [
      ['short', badFc({ bytes: 9 }), /needs 10/],
      ['act', badFc({ int4Output: true }), /INT4 activations are not supported/],
    ] as const) {
      const file = path.join(workDir, `${name}.tflite`);
      writeFileSync(file, bytes);
      const r = spawnSync(process.execPath, [BIN, 'compile', file, '--out', path.join(workDir, `${name}_out`)], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      expect(r.status, r.stderr).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^error: /);
      expect(lines[0]).toMatch(pattern);
    }
  });
});
