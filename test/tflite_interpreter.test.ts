// The .tflite files tinyforge writes, run by TensorFlow Lite itself: the TFLite interpreter compiled
// to WebAssembly (@tensorflow/tfjs-tflite), in headless Chromium, with every file served from
// node_modules on 127.0.0.1 (nothing is fetched from the network).
//
// TFLite is not bit-exact with TFLite Micro's reference kernels (which our TS reference and
// generated C reproduce), and this test pins down exactly where and why. TFLite Micro requantizes an
// int32 sum to int8 with gemmlowp's double rounding (SaturatingRoundingDoublingHighMul, then
// RoundingDivideByPOT). TFLite does it differently in some kernels:
//   - 'single': builtin CONV_2D and FULLY_CONNECTED hand their GEMM to ruy (cpu_backend_gemm), whose
//     MultiplyByQuantizedMultiplier (ruy/apply_multiplier.cc) rounds once:
//     (acc * M + 2^(30 - shift)) >> (31 - shift).
//   - 'fp32': XNNPACK, which TFLite applies as its default delegate (this build has int8 support in
//     it), requantizes CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and MUL in float:
//     roundHalfEven(float(acc) * float(in_scale * w_scale / out_scale)).
//   - 'xnnpack-add': XNNPACK's ADD scales both inputs by 21-bit multipliers and rounds half up.
// All of them agree with TFLite Micro except near a rounding tie, where they differ by one. Builtin
// DEPTHWISE_CONV_2D, ADD, MUL, AVERAGE_POOL_2D and SOFTMAX, and the data-movement ops, compute
// exactly what TFLite Micro does.
//
// Every model runs in two configurations of the same interpreter:
//   - default: the file as written (the XNNPACK delegate takes what it supports);
//   - builtin: the same graph behind an identity RESHAPE whose shape is an int32 input fed at run
//     time; the dynamic tensor makes TFLite drop its default delegate (kTfLiteApplicationError,
//     ignored), so every op runs on TFLite's builtin (optimized) kernels.
// Assertions, all exact:
//   1. TFLite loads the file and sees the int8 inputs and outputs we wrote;
//   2. op by op (each op on its own, written by writeTflite), fed our reference's activations and
//      int8 noise: TFLite's output bytes equal our reference kernel with the arithmetic named above
//      for the kernel TFLite ran (TFLite Micro's for all others), and are never more than one off
//      our reference;
//   3. end to end: TFLite's output bytes equal our reference run layer by layer with those roundings.
// Controls (shared models with TFLite Micro golden data) show the harness compares the right bytes,
// that tinyforge's rewrite of a converter-written file gives TFLite the same outputs as the
// original, and that the same off-by-one differences appear in models tinyforge never touched.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel, loadModel } from '../compiler/compile.ts';
import { writeTflite } from '../compiler/export/write_tflite.ts';
import { writeArtifacts } from '../compiler/frontends/tfjs/index.ts';
import { intentData, intentModel, patternData, patternModel, residualModel, saveLayersArtifacts, toneData, toneModel, train, type Dataset } from '../compiler/frontends/tfjs/synthetic.ts';
import { parseTflite } from '../compiler/frontends/tflite/index.ts';
import { DTYPE_BYTES, elementCount, type Graph, type Op, type Tensor } from '../compiler/ir/graph.ts';
import type { Layer } from '../compiler/ir/layers.ts';
import { clamp } from '../compiler/quant/fixed_point.ts';
import { encodeNpy, quantizeInput, quantizeTfjsModel, type QuantizeTfjsOptions } from '../compiler/quantize/index.ts';
import { int32Constant, int8Constant, runReference } from '../compiler/reference/run_reference.ts';
import { CHROMIUM_PATH, launchChromium } from './helpers/chromium.ts';
import { firstDifference, modelPath, sharedModel, type SharedModel } from './helpers/shared.ts';

const CHROMIUM_MISSING = existsSync(CHROMIUM_PATH)
  ? undefined
  : `${CHROMIUM_PATH} not found: install it with 'apt-get install chromium' (scripts/setup.sh does) or set TINYFORGE_CHROMIUM`;
if (CHROMIUM_MISSING) console.warn(`[tflite-interpreter] SKIPPED, TFLite was not run: ${CHROMIUM_MISSING}`);

// ---------------------------------------------------------------------------------------------
// The page: tfjs-core + backend-cpu + tfjs-tflite bundles and the TFLite wasm, served locally.

const NODE_MODULES = fileURLToPath(new URL('../node_modules/', import.meta.url));
const TFLITE_PACKAGE = `${NODE_MODULES}@tensorflow/tfjs-tflite/`;
const SCRIPTS: Record<string, string> = {
  '/tf-core.js': `${NODE_MODULES}@tensorflow/tfjs-core/dist/tf-core.min.js`,
  '/tf-backend-cpu.js': `${NODE_MODULES}@tensorflow/tfjs-backend-cpu/dist/tf-backend-cpu.min.js`,
  '/tf-tflite.js': `${TFLITE_PACKAGE}dist/tf-tflite.min.js`,
};
const PAGE = `<!doctype html><meta charset="utf-8"><title>tflite</title>${Object.keys(SCRIPTS)
  .map((s) => `<script src="${s}"></script>`)
  .join('')}`;

class TfliteHarness {
  private readonly models = new Map<string, Uint8Array>();
  readonly requests: string[] = [];
  private server?: Server;
  private browser?: Browser;
  private page?: Page;
  origin = '';

  async start(): Promise<void> {
    for (const file of [...Object.values(SCRIPTS), `${TFLITE_PACKAGE}wasm/tflite_web_api_cc_simd.wasm`]) {
      if (!existsSync(file)) throw new Error(`${file} is missing: run npm ci (@tensorflow/tfjs-tflite is a devDependency)`);
    }
    this.server = createServer((req, res) => {
      const p = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      const wasm = /^\/wasm\/([\w.]+)$/.exec(p)?.[1];
      let body: Uint8Array | string | undefined;
      let type = 'application/octet-stream';
      if (p === '/') [body, type] = [PAGE, 'text/html'];
      else if (SCRIPTS[p]) [body, type] = [readFileSync(SCRIPTS[p] as string), 'text/javascript'];
      else if (wasm && existsSync(`${TFLITE_PACKAGE}wasm/${wasm}`)) [body, type] = [readFileSync(`${TFLITE_PACKAGE}wasm/${wasm}`), wasm.endsWith('.wasm') ? 'application/wasm' : 'text/javascript'];
      else if (p.startsWith('/models/')) body = this.models.get(decodeURIComponent(p.slice(8)));
      if (body === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': type }).end(body);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.browser = await launchChromium();
    this.page = await this.browser.newPage();
    this.page.on('request', (r) => void this.requests.push(r.url()));
    await this.page.goto(`${this.origin}/`);
    await this.page.evaluate(() => {
      (globalThis as unknown as { tflite: { setWasmPath(p: string): void } }).tflite.setWasmPath('/wasm/');
    });
  }

  async stop(): Promise<void> {
    await this.browser?.close();
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }

  /**
   * Loads `bytes` with tflite.loadTFLiteModel and runs every case with model.predict (int8 inputs go
   * in as int32 tensors holding the int8 values; tfjs-tflite writes them into the interpreter's
   * int8 buffer). Outputs are read from the interpreter's own output buffers, raw bytes. `kernels`
   * are TFLite's profile of one run: builtin op names, or TfLiteXNNPackDelegate for a partition.
   */
  async run(name: string, bytes: Uint8Array, cases: readonly (readonly Uint8Array[])[]): Promise<TfliteRun> {
    if (!this.page) throw new Error('harness not started');
    this.models.set(name, bytes);
    // Bytes cross into the page as base64: far cheaper than Playwright's per-number serialization.
    const arg = { url: `/models/${encodeURIComponent(name)}`, cases: cases.map((c) => c.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'))) };
    const r = await this.page.evaluate(async ({ url, cases }) => {
      // Browser side: tflite and tf are the globals of the UMD bundles.
      type Info = { dataType: string; shape: string; data(): ArrayBufferView };
      type Runner = { getInputs(): Info[]; getOutputs(): Info[]; cleanUp(): void };
      type Model = { inputs: { shape: number[] }[]; modelRunner: Runner; predict(x: unknown): unknown; getProfilingResults(): { nodeType: string }[] };
      const g = globalThis as unknown as {
        tflite: { loadTFLiteModel(u: string, o: object): Promise<Model> };
        tf: { tensor(v: Int32Array, s: number[], d: string): { dispose(): void } };
      };
      const feed = (model: Model, c: string[]): void => {
        const infos = model.modelRunner.getInputs();
        const ts = c.map((v, i) => {
          const raw = Uint8Array.from(atob(v), (ch) => ch.charCodeAt(0));
          const values = infos[i]?.dataType === 'int32' ? new Int32Array(raw.buffer) : Int32Array.from(new Int8Array(raw.buffer));
          return g.tf.tensor(values, model.inputs[i]?.shape ?? [], 'int32');
        });
        model.predict(ts.length === 1 ? ts[0] : ts);
        for (const t of ts) t.dispose();
      };
      // The node list of one invocation. TFLite's buffered profiler now and then records nothing for
      // a freshly loaded model, so load it again until one invocation has been recorded.
      let kernels: string[] = [];
      for (let attempt = 0; attempt < 5 && kernels.length === 0; attempt++) {
        const profiled = await g.tflite.loadTFLiteModel(url, { numThreads: 1, enableProfiling: true });
        feed(profiled, cases[0] as string[]);
        kernels = profiled.getProfilingResults().map((p) => p.nodeType);
        profiled.modelRunner.cleanUp();
      }
      const model = await g.tflite.loadTFLiteModel(url, { numThreads: 1 });
      const io = (t: Info): { dataType: string; shape: number[] } => ({ dataType: t.dataType, shape: t.shape.split(',').map(Number) });
      const inputs = model.modelRunner.getInputs().map(io);
      const outputs = model.modelRunner.getOutputs().map(io);
      const outs = cases.map((c) => {
        feed(model, c);
        return model.modelRunner.getOutputs().map((t) => {
          const d = t.data();
          const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
          let binary = '';
          for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
          return btoa(binary);
        });
      });
      model.modelRunner.cleanUp();
      return { kernels, inputs, outputs, outs };
    }, arg);
    return { ...r, outs: r.outs.map((c) => c.map((o) => new Uint8Array(Buffer.from(o, 'base64')))) };
  }
}

interface TfliteRun {
  kernels: string[];
  inputs: { dataType: string; shape: number[] }[];
  outputs: { dataType: string; shape: number[] }[];
  outs: Uint8Array[][];
}

const XNNPACK = 'TfLiteXNNPackDelegate';
/** Noise cases per op, on top of the model's cases. */
const RANDOM_OP_CASES = 4;

// ---------------------------------------------------------------------------------------------
// Graph surgery: one op on its own, and the identity RESHAPE that keeps the default delegate off.

function activationInputs(g: Graph, op: Op): number[] {
  return [...new Set(op.inputs.filter((id) => id >= 0 && !g.tensors[id]?.data))];
}

/** Op `k` of `g` as a graph of its own: inputs are its activation inputs (each once), outputs its outputs. */
function opGraph(g: Graph, k: number): Graph {
  const op = g.ops[k] as Op;
  const ids = [...new Set([...op.inputs, ...op.outputs].filter((id) => id >= 0))];
  const map = new Map(ids.map((id, i) => [id, i]));
  const m = (id: number): number => (id < 0 ? id : (map.get(id) as number));
  return {
    name: `${g.name}_op${k}`,
    tensors: ids.map((id, i) => ({ ...(g.tensors[id] as Tensor), id: i })),
    ops: [{ ...op, sourceIndex: 0, inputs: op.inputs.map(m), outputs: op.outputs.map(m) } as Op],
    inputs: activationInputs(g, op).map(m),
    outputs: op.outputs.map(m),
  };
}

/**
 * `g` behind an identity RESHAPE of its first input whose new shape is a second, int32 graph input
 * (fed the same shape at run time). TFLite makes the RESHAPE output a dynamic tensor, and a graph
 * with a dynamic tensor makes the XNNPACK delegate decline the whole graph.
 */
function withRuntimeShape(g: Graph): Graph {
  const x = g.tensors[g.inputs[0] as number] as Tensor;
  const feed: Tensor = { id: g.tensors.length, name: `${x.name}/feed`, shape: [...x.shape], dtype: x.dtype, ...(x.quant ? { quant: x.quant } : {}) };
  const shape: Tensor = { id: g.tensors.length + 1, name: 'runtime_shape', shape: [x.shape.length], dtype: 'int32' };
  const reshape: Op = { kind: 'reshape', sourceIndex: 0, inputs: [feed.id, shape.id], outputs: [x.id], attrs: { newShape: [...x.shape] } };
  return { ...g, tensors: [...g.tensors, feed, shape], ops: [reshape, ...g.ops], inputs: [feed.id, shape.id, ...g.inputs.slice(1)] };
}

function withShapeInput(g: Graph, c: readonly Uint8Array[]): Uint8Array[] {
  const shape = new Uint8Array(Int32Array.from((g.tensors[g.inputs[0] as number] as Tensor).shape).buffer);
  return [c[0] as Uint8Array, shape, ...c.slice(1)];
}

// ---------------------------------------------------------------------------------------------
// Requantization as TFLite's kernels do it.

/**
 * Where TFLite's arithmetic departs from TFLite Micro's (undefined: it does not):
 * - 'single': ruy's one rounding, (acc * M + 2^(30 - shift)) >> (31 - shift), M and shift as TFLite Micro's;
 * - 'fp32': XNNPACK's roundHalfEven(float(acc) * float(float(in_scale * w_scale) / out_scale));
 * - 'xnnpack-add': XNNPACK's qs8 ADD (xnn_init_qs8_add_minmax_*_params): multipliers
 *   lrintf(in_scale / out_scale * 2^shift) with shift = 20 - the larger ratio's exponent, then
 *   (a_mul * (a - a_zp) + b_mul * (b - b_zp) + 2^(shift - 1)) >> shift.
 */
type Rounding = 'single' | 'fp32' | 'xnnpack-add';
type Engine = 'xnnpack' | 'builtin';

/** How TFLite computes layer `l` on `engine`, where that differs from TFLite Micro's reference. */
function tfliteRounding(l: Layer, engine: Engine): Rounding | undefined {
  if (engine === 'xnnpack') {
    if (l.kernel === 'conv_s8' || l.kernel === 'depthwise_conv_s8' || l.kernel === 'fully_connected_s8' || l.kernel === 'mul_s8') return 'fp32';
    return l.kernel === 'add_s8' ? 'xnnpack-add' : undefined;
  }
  // Builtin CONV_2D and FULLY_CONNECTED run their GEMM on ruy; DEPTHWISE_CONV_2D, ADD, MUL, pooling
  // and SOFTMAX use TFLite's own MultiplyByQuantizedMultiplier (double rounding, as TFLite Micro).
  return l.kernel === 'conv_s8' || l.kernel === 'fully_connected_s8' ? 'single' : undefined;
}

const f32 = Math.fround;

/** Round half to even (what XNNPACK's magic-bias / lrintf rounding does). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The unbiased binary exponent of a positive float32 (as XNNPACK reads it from the bits). */
function floatExponent(x: number): number {
  const v = new DataView(new ArrayBuffer(4));
  v.setFloat32(0, x);
  return ((v.getUint32(0) >>> 23) & 0xff) - 127;
}

/** Deterministic bytes (xorshift32). */
function randomBytes(n: number, seed: number): Uint8Array {
  let x = (0x9e3779b9 ^ seed) >>> 0 || 1;
  return Uint8Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x & 0xff;
  });
}

const tensorBytes = (g: Graph, id: number): number => elementCount((g.tensors[id] as Tensor).shape) * DTYPE_BYTES[(g.tensors[id] as Tensor).dtype];

const s8 = (b: Uint8Array): Int8Array => new Int8Array(b.buffer, b.byteOffset, b.byteLength);
const scaleOf = (g: Graph, id: number, channel = 0): number => {
  const s = (g.tensors[id] as Tensor).quant?.scale ?? [];
  return s[s.length === 1 ? 0 : channel] as number;
};

/** int32 accumulators (bias + sum of weight * (input - zero point)) of a conv / depthwise / FC layer, with each one's output channel. */
function accumulators(g: Graph, l: Layer, input: Int8Array): { acc: number[]; channel: number[] } {
  const acc: number[] = [];
  const channel: number[] = [];
  if (l.kernel === 'conv_s8' || l.kernel === 'depthwise_conv_s8') {
    const w = int8Constant(g.tensors[l.weights] as Tensor);
    const b = l.bias >= 0 ? int32Constant(g.tensors[l.bias] as Tensor) : undefined;
    const dm = l.kernel === 'depthwise_conv_s8' ? l.depthMultiplier : 0;
    for (let oy = 0; oy < l.outH; oy++) {
      for (let ox = 0; ox < l.outW; ox++) {
        for (let oc = 0; oc < l.outC; oc++) {
          let a = b ? (b[oc] as number) : 0;
          for (let ky = 0; ky < l.kH; ky++) {
            const iy = oy * l.strideH - l.padTop + l.dilationH * ky;
            if (iy < 0 || iy >= l.inH) continue;
            for (let kx = 0; kx < l.kW; kx++) {
              const ix = ox * l.strideW - l.padLeft + l.dilationW * kx;
              if (ix < 0 || ix >= l.inW) continue;
              const px = (iy * l.inW + ix) * l.inC;
              if (dm) a += (w[(ky * l.kW + kx) * l.outC + oc] as number) * ((input[px + Math.floor(oc / dm)] as number) + l.inputOffset);
              else for (let ic = 0; ic < l.inC; ic++) a += (w[((oc * l.kH + ky) * l.kW + kx) * l.inC + ic] as number) * ((input[px + ic] as number) + l.inputOffset);
            }
          }
          acc.push(a);
          channel.push(oc);
        }
      }
    }
  } else if (l.kernel === 'fully_connected_s8') {
    const w = int8Constant(g.tensors[l.weights] as Tensor);
    const b = l.bias >= 0 ? int32Constant(g.tensors[l.bias] as Tensor) : undefined;
    for (let n = 0; n < l.batches; n++) {
      for (let o = 0; o < l.outDepth; o++) {
        let a = b ? (b[o] as number) : 0;
        for (let d = 0; d < l.accumDepth; d++) a += ((w[o * l.accumDepth + d] as number) + l.filterOffset) * ((input[n * l.accumDepth + d] as number) + l.inputOffset);
        acc.push(a);
        channel.push(o);
      }
    }
  } else {
    throw new Error(`no accumulators for ${l.kernel}`);
  }
  return { acc, channel };
}

/** Layer `l` on its input bytes: runReference, with the requantization replaced by `rounding` when given. */
function runLayer(g: Graph, l: Layer, values: ReadonlyMap<number, Uint8Array>, rounding: Rounding | undefined): Uint8Array {
  const ins = [...new Set(l.inputs)];
  if (rounding === undefined) {
    return runReference({ ...g, inputs: ins, outputs: [l.outputs[0] as number] }, [l], ins.map((id) => values.get(id) as Uint8Array))[0] as Uint8Array;
  }
  const x = s8(values.get(l.inputs[0] as number) as Uint8Array);
  const out = new Int8Array(elementCount((g.tensors[l.outputs[0] as number] as Tensor).shape));
  if (l.kernel === 'add_s8') {
    if (rounding !== 'xnnpack-add') throw new Error(`ADD with ${rounding} rounding`);
    const y = s8(values.get(l.inputs[1] as number) as Uint8Array);
    const outScale = scaleOf(g, l.outputs[0] as number);
    const aScale = f32(scaleOf(g, l.inputs[0] as number) / outScale);
    const bScale = f32(scaleOf(g, l.inputs[1] as number) / outScale);
    const shift = 20 - floatExponent(Math.max(aScale, bScale));
    const aMul = roundHalfEven(aScale * 2 ** shift);
    const bMul = roundHalfEven(bScale * 2 ** shift);
    for (let i = 0; i < out.length; i++) {
      const sum = aMul * ((x[i] as number) + l.input1Offset) + bMul * ((y[i] as number) + l.input2Offset);
      out[i] = clamp(Math.floor((sum + 2 ** (shift - 1)) / 2 ** shift) + l.outputOffset, l.actMin, l.actMax);
    }
    return new Uint8Array(out.buffer);
  }
  if (l.kernel === 'mul_s8') {
    if (rounding !== 'fp32') throw new Error(`MUL with ${rounding} rounding`);
    // XNNPACK qs8 multiply: scale = (a_scale * b_scale) / out_scale in float.
    const y = s8(values.get(l.inputs[1] as number) as Uint8Array);
    const scale = f32(f32(scaleOf(g, l.inputs[0] as number) * scaleOf(g, l.inputs[1] as number)) / scaleOf(g, l.outputs[0] as number));
    for (let i = 0; i < out.length; i++) {
      const product = ((x[i] as number) + l.input1Offset) * ((y[i] as number) + l.input2Offset);
      out[i] = clamp(roundHalfEven(f32(f32(product) * scale)) + l.outputOffset, l.actMin, l.actMax);
    }
    return new Uint8Array(out.buffer);
  }
  if (l.kernel !== 'conv_s8' && l.kernel !== 'depthwise_conv_s8' && l.kernel !== 'fully_connected_s8') throw new Error(`${l.kernel} with ${rounding} rounding`);
  const { acc, channel } = accumulators(g, l, x);
  const inScale = scaleOf(g, l.inputs[0] as number);
  const outScale = scaleOf(g, l.outputs[0] as number);
  acc.forEach((a, i) => {
    const c = channel[i] as number;
    let v: number;
    if (rounding === 'single') {
      // ruy: (acc * M + 2^(total - 1)) >> total, total = 31 - shift, in 64 bits.
      const m = l.kernel === 'fully_connected_s8' ? l.multiplier : (l.multipliers[c] as number);
      const total = BigInt(31 - (l.kernel === 'fully_connected_s8' ? l.shift : (l.shifts[c] as number)));
      v = Number((BigInt(a) * BigInt(m) + (1n << (total - 1n))) >> total);
    } else {
      // XNNPACK: per channel float scale = in_scale * filter_scale / out_scale, then round(float(acc) * scale).
      const scale = f32(f32(inScale * scaleOf(g, l.weights, c)) / outScale);
      v = roundHalfEven(f32(f32(a) * scale));
    }
    out[i] = clamp(v + l.outputOffset, l.actMin, l.actMax);
  });
  return new Uint8Array(out.buffer);
}

/** Every activation of `g` for one case, each layer run with `rounding(k)`; returns the value map. */
function runLayers(g: Graph, layers: readonly Layer[], inputs: readonly Uint8Array[], rounding: (k: number) => Rounding | undefined): Map<number, Uint8Array> {
  const values = new Map<number, Uint8Array>(g.inputs.map((id, i) => [id, inputs[i] as Uint8Array]));
  layers.forEach((l, k) => values.set(l.outputs[0] as number, runLayer(g, l, values, rounding(k))));
  return values;
}

function diffCount(a: Uint8Array, b: Uint8Array): { count: number; max: number } {
  const x = s8(a);
  const y = s8(b);
  let count = 0;
  let max = 0;
  x.forEach((v, i) => {
    const d = Math.abs(v - (y[i] as number));
    if (d) count++;
    max = Math.max(max, d);
  });
  return { count, max };
}

// ---------------------------------------------------------------------------------------------
// The checks for one model.

interface OpReport {
  op: string;
  engine: Engine;
  builtinRounding?: Rounding;
  xnnpackRounding?: Rounding;
  offByOne: { xnnpack: number; builtin: number };
  elements: number;
}

interface ModelReport {
  label: string;
  ops: OpReport[];
  cases: number;
  /** Output bytes (over all cases) where TFLite differs from runReference, per configuration. */
  endToEnd: Record<'default' | 'builtin', { count: number; max: number; bytes: number }>;
}

const harness = new TfliteHarness();
const reports: ModelReport[] = [];

/**
 * Runs `file` in TFLite for `cases`, in both configurations, end to end and op by op, and asserts
 * everything listed at the top of this file.
 */
async function checkInTflite(label: string, file: Uint8Array, cases: Uint8Array[][]): Promise<ModelReport> {
  const g = parseTflite(file, `${label}.tflite`);
  const { layers } = compileModel({ path: `${label}.tflite`, bytes: file, sha256: '0', graph: g });
  const reference = cases.map((c) => runReference(g, layers, c));

  // The file as written, and the builtin-kernel configuration.
  const def = await harness.run(`${label}.tflite`, file, cases);
  const builtin = await harness.run(`${label}-builtin.tflite`, writeTflite(withRuntimeShape(g)), cases.map((c) => withShapeInput(g, c)));
  const io = (ids: number[]): { dataType: string; shape: number[] }[] => ids.map((id) => ({ dataType: (g.tensors[id] as Tensor).dtype, shape: (g.tensors[id] as Tensor).shape }));
  expect(def.inputs, `${label}: TFLite's view of the inputs`).toEqual(io(g.inputs));
  expect(def.outputs, `${label}: TFLite's view of the outputs`).toEqual(io(g.outputs));
  expect(builtin.outputs).toEqual(io(g.outputs));
  expect(def.kernels.length, `${label}: TFLite ran nothing`).toBeGreaterThan(0);
  expect(builtin.kernels, `${label}: the builtin configuration still delegated to XNNPACK`).not.toContain(XNNPACK);
  expect(builtin.kernels.filter((k) => k !== 'RESHAPE').length).toBe(g.ops.filter((o) => o.kind !== 'reshape').length);

  // Op by op: on our reference's activations, and on int8 noise over the whole range (which puts
  // many more sums next to a rounding boundary).
  const activations = cases.map((c) => runLayers(g, layers, c, () => undefined));
  const ops: OpReport[] = [];
  for (let k = 0; k < g.ops.length; k++) {
    const op = g.ops[k] as Op;
    const l = layers[k] as Layer;
    const single = opGraph(g, k);
    const ins = activationInputs(g, op);
    const noise = Array.from({ length: RANDOM_OP_CASES }, (_, r) => new Map(ins.map((id, i) => [id, randomBytes(tensorBytes(g, id), 1000 * k + 10 * r + i + 1)])));
    const opValues = [...activations, ...noise];
    const opCases = opValues.map((v) => ins.map((id) => v.get(id) as Uint8Array));
    const d = await harness.run(`${single.name}.tflite`, writeTflite(single), opCases);
    const b = await harness.run(`${single.name}-builtin.tflite`, writeTflite(withRuntimeShape(single)), opCases.map((c) => withShapeInput(single, c)));
    expect(d.kernels.length, `${label} op ${k}: TFLite ran nothing`).toBeGreaterThan(0);
    expect(b.kernels, `${label} op ${k}: builtin configuration`).toHaveLength(2);
    expect(b.kernels).not.toContain(XNNPACK);
    const engine: Engine = d.kernels.includes(XNNPACK) ? 'xnnpack' : 'builtin';
    const report: OpReport = { op: `${k}:${op.kind}`, engine, offByOne: { xnnpack: 0, builtin: 0 }, elements: 0 };
    const xr = tfliteRounding(l, engine);
    const br = tfliteRounding(l, 'builtin');
    if (xr) report.xnnpackRounding = xr;
    if (br) report.builtinRounding = br;
    opValues.forEach((v, c) => {
      const ours = runLayer(g, l, v, undefined);
      const what = c < cases.length ? `case ${c}` : `noise ${c - cases.length}`;
      for (const [run, rounding, how] of [[d, xr, engine === 'xnnpack' ? 'XNNPACK' : 'builtin kernel, default configuration'], [b, br, 'builtin kernel']] as const) {
        const got = run.outs[c]?.[0] as Uint8Array;
        expect(firstDifference([runLayer(g, l, v, rounding)], [got]), `${label} op ${k} (${op.kind}) ${what}, ${how}: TFLite vs reference with ${rounding ?? 'TFLite Micro'} arithmetic`).toBeUndefined();
        const diff = diffCount(got, ours);
        expect(diff.max, `${label} op ${k} (${op.kind}) ${what}, ${how}: more than one off our reference`).toBeLessThanOrEqual(1);
        if (run === d && engine === 'xnnpack') report.offByOne.xnnpack += diff.count;
        if (run === b) report.offByOne.builtin += diff.count;
      }
      report.elements += ours.byteLength;
    });
    ops.push(report);
  }

  // End to end: TFLite equals our reference with TFLite's arithmetic per layer.
  const roundingIn = (engine: 'default' | 'builtin') => (k: number) => tfliteRounding(layers[k] as Layer, engine === 'builtin' ? 'builtin' : (ops[k] as OpReport).engine);
  const endToEnd = { default: { count: 0, max: 0, bytes: 0 }, builtin: { count: 0, max: 0, bytes: 0 } };
  for (const [run, which] of [[def, 'default'], [builtin, 'builtin']] as const) {
    cases.forEach((c, i) => {
      const emulated = runLayers(g, layers, c, roundingIn(which));
      const expected = g.outputs.map((id) => emulated.get(id) as Uint8Array);
      expect(firstDifference(expected, run.outs[i] as Uint8Array[]), `${label} case ${i}, ${which} configuration: TFLite vs our reference with TFLite's arithmetic per layer`).toBeUndefined();
      (reference[i] as Uint8Array[]).forEach((r, o) => {
        const diff = diffCount(run.outs[i]?.[o] as Uint8Array, r);
        endToEnd[which].count += diff.count;
        endToEnd[which].max = Math.max(endToEnd[which].max, diff.max);
        endToEnd[which].bytes += r.byteLength;
      });
    });
  }
  const report: ModelReport = { label, ops, cases: cases.length, endToEnd };
  reports.push(report);
  return report;
}

function formatReport(r: ModelReport): string {
  const e = (x: { count: number; max: number; bytes: number }): string => (x.count === 0 ? `equal (${x.bytes} bytes)` : `${x.count}/${x.bytes} bytes differ (max ${x.max})`);
  const ops = r.ops.map((o) => `${o.op}[${o.engine === 'xnnpack' ? 'X' : 'B'}${o.offByOne.xnnpack || o.offByOne.builtin ? ` ±1:${o.offByOne.xnnpack}/${o.offByOne.builtin}` : ''}]`).join(' ');
  return `${r.label} (${r.cases} cases): TFLite vs runReference end to end: default ${e(r.endToEnd.default)}, builtin kernels ${e(r.endToEnd.builtin)}\n    ops (X: XNNPACK in the default configuration, B: builtin kernel; ±1: elements one off our reference, XNNPACK/builtin): ${ops}`;
}

// ---------------------------------------------------------------------------------------------
// Models tinyforge writes: TF.js -> tinyforge quantize (PTQ, optionally pruned) -> writeTflite.

let dir: string;

function npy(name: string, d: Dataset): string {
  const len = (d.x[0] as Float32Array).length;
  const flat = new Float32Array(d.x.length * len);
  d.x.forEach((x, i) => flat.set(x, i * len));
  const file = path.join(dir, name);
  writeFileSync(file, encodeNpy([d.x.length, ...d.shape], flat));
  return file;
}

/** Held-out samples quantized with the model's input parameters, then int8 noise over the whole range. */
function testCases(q: { inputs: { scale: number; zeroPoint: number }[] }, d: Dataset, random: number, seed: number): Uint8Array[][] {
  const cases = d.x.map((x) => [quantizeInput(x, q.inputs[0] as { scale: number; zeroPoint: number })]);
  const bytes = (cases[0]?.[0] as Uint8Array).byteLength;
  for (let k = 0; k < random; k++) cases.push([randomBytes(bytes, seed * 100 + k)]);
  return cases;
}

/** What `tinyforge quantize <model.json> --calib <npy> --out <file>` writes. */
async function quantizedFile(label: string, model: tfl.LayersModel, calib: Dataset, opts: QuantizeTfjsOptions = {}): Promise<{ file: Uint8Array; q: Awaited<ReturnType<typeof quantizeTfjsModel>> }> {
  const modelJson = writeArtifacts(path.join(dir, label), await saveLayersArtifacts(model));
  const q = await quantizeTfjsModel(modelJson, npy(`${label}-calib.npy`, calib), opts);
  return { file: writeTflite(q.model.graph), q };
}

function padConcatModel(): tfl.LayersModel {
  const init = (seed: number) => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: seed + 100 }) });
  const input = tfl.input({ shape: [8, 8, 1] });
  const c0 = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', ...init(21) }).apply(input) as tfl.SymbolicTensor;
  const padded = tfl.layers.zeroPadding2d({ padding: [[1, 0], [2, 1]] }).apply(c0) as tfl.SymbolicTensor;
  const a = tfl.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu', ...init(22) }).apply(padded) as tfl.SymbolicTensor;
  const b = tfl.layers.conv2d({ filters: 2, kernelSize: 3, ...init(23) }).apply(padded) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate({ axis: -1 }).apply([a, b]) as tfl.SymbolicTensor;
  const p2 = tfl.layers.zeroPadding2d({ padding: 1 }).apply(cat) as tfl.SymbolicTensor;
  const pooled = tfl.layers.maxPooling2d({ poolSize: 3 }).apply(p2) as tfl.SymbolicTensor;
  const cat2 = tfl.layers.concatenate({ axis: 2 }).apply([pooled, pooled]) as tfl.SymbolicTensor;
  const flat = tfl.layers.flatten({}).apply(cat2) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 4, activation: 'softmax', ...init(24) }).apply(flat) as tfl.SymbolicTensor;
  return tfl.model({ name: 'padcat', inputs: input, outputs: out });
}

/**
 * CONV_2D -> DEPTHWISE_CONV_2D -> ADD and MUL of the two -> RESHAPE -> FULLY_CONNECTED, with every
 * requantization factor (in_scale * w_scale / out_scale, in_scale / out_scale) a power of two, so
 * sums land exactly on a rounding tie all the time. There TFLite Micro's double rounding (half away
 * from zero, twice), ruy's single half-up rounding and XNNPACK's half-to-even (half up in its ADD)
 * part ways, so this pins which one each TFLite kernel uses.
 */
function roundingTiesGraph(): Graph {
  const tensors: Tensor[] = [];
  const q = (scale: number[], zeroPoint: number, axis = 0) => ({ scale, zeroPoint: scale.map(() => zeroPoint), axis });
  const add = (name: string, shape: number[], dtype: Tensor['dtype'], quant?: Tensor['quant'], data?: Uint8Array): number => {
    tensors.push({ id: tensors.length, name, shape, dtype, ...(quant ? { quant } : {}), ...(data ? { data } : {}) });
    return tensors.length - 1;
  };
  const int32s = (v: number[]): Uint8Array => new Uint8Array(Int32Array.from(v).buffer);
  const signed = (seed: number, n: number, lo: number, hi: number): number[] => Array.from(randomBytes(n, seed), (b) => lo + (b % (hi - lo + 1)));
  const conv = { padding: 'same', strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, activation: 'none' } as const;
  const x = add('x', [1, 6, 6, 4], 'int8', q([0.5], 3));
  const cw = [2 ** -6, 2 ** -7, 2 ** -8, 2 ** -9];
  const w1 = add('conv/w', [4, 3, 3, 4], 'int8', q(cw, 0), new Uint8Array(Int8Array.from(signed(1, 144, -8, 8)).buffer));
  const b1 = add('conv/b', [4], 'int32', q(cw.map((s) => 0.5 * s), 0), int32s(signed(2, 4, -300, 300)));
  const c = add('conv/out', [1, 6, 6, 4], 'int8', q([1], -2));
  const dw = [2 ** -4, 2 ** -5, 2 ** -6, 2 ** -7];
  const w2 = add('dw/w', [1, 3, 3, 4], 'int8', q(dw, 0, 3), new Uint8Array(Int8Array.from(signed(3, 36, -31, 31)).buffer));
  const b2 = add('dw/b', [4], 'int32', q(dw, 0), int32s(signed(4, 4, -100, 100)));
  const d = add('dw/out', [1, 6, 6, 4], 'int8', q([0.5], 5));
  const e = add('add/out', [1, 6, 6, 4], 'int8', q([2], -1));
  const f = add('mul/out', [1, 6, 6, 4], 'int8', q([4], 2));
  const flat = add('flat', [1, 144], 'int8', q([2], -1));
  const w3 = add('fc/w', [10, 144], 'int8', q([2 ** -7], 0), new Uint8Array(Int8Array.from(signed(5, 1440, -4, 4)).buffer));
  const b3 = add('fc/b', [10], 'int32', q([2 ** -6], 0), int32s(signed(6, 10, -2000, 2000)));
  const y = add('fc/out', [1, 10], 'int8', q([2 ** -1], 4));
  const ops: Op[] = [
    { kind: 'conv2d', sourceIndex: 0, inputs: [x, w1, b1], outputs: [c], attrs: conv },
    { kind: 'depthwise_conv2d', sourceIndex: 1, inputs: [c, w2, b2], outputs: [d], attrs: { ...conv, depthMultiplier: 1 } },
    { kind: 'add', sourceIndex: 2, inputs: [c, d], outputs: [e], attrs: { activation: 'none' } },
    { kind: 'mul', sourceIndex: 3, inputs: [c, d], outputs: [f], attrs: { activation: 'none' } },
    { kind: 'reshape', sourceIndex: 4, inputs: [e], outputs: [flat], attrs: { newShape: [1, 144] } },
    { kind: 'fully_connected', sourceIndex: 5, inputs: [flat, w3, b3], outputs: [y], attrs: { activation: 'none', keepNumDims: false } },
  ];
  return { name: 'rounding_ties', tensors, ops, inputs: [x], outputs: [y, f] };
}

// ---------------------------------------------------------------------------------------------

describe.skipIf(CHROMIUM_MISSING !== undefined)('TFLite (tfjs-tflite WebAssembly interpreter) runs the .tflite files tinyforge writes', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-tflite-interp-'));
    await tf.setBackend('cpu');
    await harness.start();
  });
  afterAll(async () => {
    await harness.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (reports.length > 0) console.log(`[tflite-interpreter]\n  ${reports.map(formatReport).join('\n  ')}`);
  });

  describe('control: shared models and their TFLite Micro golden data', () => {
    for (const name of ['micro_speech', 'kws_dscnn', 'ad_autoencoder'] as SharedModel[]) {
      it(`${name}: the original file and tinyforge's rewrite of it give TFLite the same bytes, explained op by op`, async () => {
        const { golden, compiled } = sharedModel(name);
        const original = loadModel(modelPath(name));
        const cases = golden.cases.map((c) => c.inputs);
        // Our reference is TFLite Micro (golden), so comparing with it compares the right bytes.
        golden.cases.forEach((c) => expect(firstDifference(c.expected, runReference(compiled.model.graph, compiled.layers, c.inputs)), c.id).toBeUndefined());
        const report = await checkInTflite(name, writeTflite(original.graph), cases);
        const fromOriginal = await harness.run(`${name}-original.tflite`, new Uint8Array(original.bytes), cases);
        const fromRewrite = await harness.run(`${name}-rewrite.tflite`, writeTflite(original.graph), cases);
        cases.forEach((_, i) => expect(firstDifference(fromOriginal.outs[i] as Uint8Array[], fromRewrite.outs[i] as Uint8Array[]), `${name} case ${i}: original vs rewritten file`).toBeUndefined());
        expect(fromRewrite.kernels).toEqual(fromOriginal.kernels);
        expect(report.ops.length).toBe(original.graph.ops.length);
      });
    }
  });

  describe('written by tinyforge (tinyforge quantize: TF.js -> int8 PTQ -> writeTflite)', () => {
    type Spec = { make: () => tfl.LayersModel; data: (n: number, seed: number) => Dataset; samples: number; epochs: number };
    const specs: Record<string, Spec> = {
      intent: { make: () => intentModel(), data: (n, s) => intentData(n, s), samples: 400, epochs: 8 },
      tones: { make: () => toneModel(), data: toneData, samples: 300, epochs: 4 },
      patterns: { make: patternModel, data: patternData, samples: 300, epochs: 4 },
      residual: { make: residualModel, data: patternData, samples: 300, epochs: 3 },
      padcat: { make: padConcatModel, data: patternData, samples: 300, epochs: 3 },
    };
    // Trained once (deterministically: seeded weights, generated data, no shuffling), shared by the pruned variants.
    const trained = new Map<string, Promise<tfl.LayersModel>>();
    const model = (label: string): Promise<tfl.LayersModel> => {
      let m = trained.get(label);
      if (!m) {
        const spec = specs[label] as Spec;
        m = (async () => {
          const lm = spec.make();
          await train(lm, spec.data(spec.samples, 1), spec.epochs, 0.01, false);
          return lm;
        })();
        trained.set(label, m);
      }
      return m;
    };
    const check = async (base: string, label: string, opts: QuantizeTfjsOptions = {}) => {
      const data = (specs[base] as Spec).data;
      const { file, q } = await quantizedFile(label, await model(base), data(100, 2), opts);
      await checkInTflite(label, file, testCases(q.result, data(12, 777), 4, label.length));
      return q;
    };

    for (const label of Object.keys(specs)) {
      it(`${label}: TFLite loads it; its outputs equal our reference with TFLite's arithmetic`, async () => {
        await check(label, label);
      });
    }

    it('patterns, channel-pruned (--prune-channels 0.25)', async () => {
      const q = await check('patterns', 'patterns-channels', { pruneChannels: 0.25 });
      expect(q.compressed.channels?.layers.length ?? 0).toBeGreaterThan(0);
    });

    it('tones, magnitude-pruned (--prune 0.6 --prune-block 4)', async () => {
      const q = await check('tones', 'tones-sparse', { prune: 0.6, block: 4 });
      expect(q.compressed.prune?.layers.length ?? 0).toBeGreaterThan(0);
    });
  });

  it('rounding ties: which rounding each TFLite kernel uses, pinned where the candidates disagree', async () => {
    const g = roundingTiesGraph();
    const report = await checkInTflite('rounding_ties', writeTflite(g), Array.from({ length: 8 }, (_, k) => [randomBytes(144, 500 + k)]));
    // The ties really separate the roundings: every op that requantizes differs from TFLite Micro somewhere.
    for (const o of report.ops.filter((r) => !/reshape/.test(r.op))) {
      expect(o.engine, o.op).toBe('xnnpack');
      expect(o.offByOne.xnnpack, `${o.op}: no tie hit`).toBeGreaterThan(0);
    }
    expect(report.ops.find((o) => /fully_connected|conv2d/.test(o.op) && !/depthwise/.test(o.op))?.offByOne.builtin).toBeGreaterThan(0);
  });

  it('fetched nothing but the page, the bundles, the TFLite wasm and the models from 127.0.0.1', () => {
    expect(harness.requests.length).toBeGreaterThan(0);
    for (const url of harness.requests) expect(url.startsWith(`${harness.origin}/`), url).toBe(true);
    expect(harness.requests.some((u) => /\/wasm\/tflite_web_api_cc(_simd)?\.wasm$/.test(u))).toBe(true);
  });
});

