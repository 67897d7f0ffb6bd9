// The typed TypeScript companion (<prefix>.ts): it type-checks on its own under strict settings,
// its descriptors carry literal types, quantize/dequantize follow TFLite's rounding, and its client
// returns TFLite Micro's outputs and labels when the "device" is the TypeScript reference.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../compiler/compile.ts';
import { emitTsCompanion } from '../compiler/emit-ts/companion.ts';
import { BuiltinOp, TensorType } from '../compiler/frontends/tflite/schema.ts';
import { parseLabelList, readLabelsFile, resolveLabels } from '../compiler/emit-ts/labels.ts';
import type { DequantizeS8F32Layer, QuantizeF32S8Layer } from '../compiler/ir/layers.ts';
import { dequantizeS8F32, quantizeF32S8 } from '../compiler/kernels/quantize.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { goldenDir, modelPath, sharedModel } from './helpers/shared.ts';
import { GraphBuilder, loadSynthetic, q } from './helpers/synthetic_models.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const BIN = path.join(REPO, 'bin/tinyforge.mjs');
const AGENT_SESSION = path.join(REPO, 'flasher/agent_session.ts');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-ts-companion-'));

interface Descriptor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly size: number;
  readonly bytes: number;
  readonly scale: number;
  readonly zeroPoint: number;
}
interface AgentLike {
  infer(inputs: Uint8Array[]): Promise<{ outputs: Uint8Array[]; cycles: number }>;
}
interface InferResult {
  output0: { quantized: Int8Array; values: Float32Array };
  outputs: ReadonlyArray<{ quantized: Int8Array; values: Float32Array }>;
  top: { index: number; label: string | null; score: number };
  cycles: number;
}
/** What the test uses of the generated micro_speech.ts (the real types are checked by tsc below). */
interface MicroSpeechCompanion {
  model: { file: string; sha256: string; prefix: string };
  input0: Descriptor;
  output0: Descriptor;
  inputs: readonly Descriptor[];
  outputs: readonly Descriptor[];
  labels: readonly string[];
  quantize(q: { scale: number; zeroPoint: number }, values: ArrayLike<number>): Int8Array;
  dequantize(q: { scale: number; zeroPoint: number }, values: ArrayLike<number>): Float32Array;
  quantizeInput0(values: ArrayLike<number>): Int8Array;
  dequantizeInput0(q: Int8Array): Float32Array;
  quantizeOutput0(values: ArrayLike<number>): Int8Array;
  dequantizeOutput0(q: Int8Array): Float32Array;
  argmax(values: ArrayLike<number>): number;
  createClient(session: AgentLike): { infer(input0: Int8Array | Float32Array | readonly number[]): Promise<InferResult> };
}

interface ManifestCase {
  id: string;
  input_files: string[];
  output_files: string[];
  top_label: string;
}
const manifest = JSON.parse(readFileSync(path.join(goldenDir('micro_speech'), 'manifest.json'), 'utf8')) as { labels: string[]; cases: ManifestCase[] };
const LABELS = manifest.labels;

/** Type-checks files with strict settings and no ambient Node types; returns formatted diagnostics of `only`. */
function typeCheck(files: string[], only: string[], extra: ts.CompilerOptions = {}): string[] {
  const options: ts.CompilerOptions = {
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    noImplicitOverride: true,
    noImplicitReturns: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    noFallthroughCasesInSwitch: true,
    noPropertyAccessFromIndexSignature: true,
    isolatedModules: true,
    verbatimModuleSyntax: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    noEmit: true,
    lib: ['lib.es2022.d.ts'],
    types: [],
    ...extra,
  };
  const program = ts.createProgram(files, options);
  const wanted = new Set(only.map((f) => path.resolve(f)));
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file === undefined || wanted.has(path.resolve(d.file.fileName)))
    .map((d) => {
      const where = d.file && d.start !== undefined ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
      return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
}

const toInt8 = (b: Uint8Array): Int8Array => new Int8Array(b.buffer, b.byteOffset, b.byteLength);
const goldenBytes = (file: string): Uint8Array => new Uint8Array(readFileSync(path.join(goldenDir('micro_speech'), file)));

describe('TypeScript companion of micro_speech', () => {
  const { compiled } = sharedModel('micro_speech');
  const file = path.join(tmp, 'micro_speech.ts');
  const source = emitTsCompanion(compiled, { labels: LABELS });
  writeFileSync(file, source);
  let mod: MicroSpeechCompanion;

  beforeAll(async () => {
    mod = (await import(pathToFileURL(file).href)) as MicroSpeechCompanion;
  });

  it('is one dependency-free file', () => {
    expect(source).toMatch(/^\/\/ micro_speech\.ts: typed companion of micro_speech\.c and micro_speech\.h\./);
    expect(source).toContain(compiled.model.sha256);
    expect(source).not.toMatch(/^\s*import\b/m);
    expect(source).not.toMatch(/\brequire\(/);
    expect(source).toMatch(/export interface AgentLike \{\n\s+infer\(inputs: Uint8Array\[\]\): Promise<\{ outputs: Uint8Array\[\]; cycles: number; \}>;/);
  });

  it('type-checks under strict settings, with literal types a consumer can rely on', () => {
    const consumer = path.join(tmp, 'consumer.ts');
    writeFileSync(
      consumer,
      `import { argmax, createClient, input0, inputs, labels, model, output0, quantizeInput0, type AgentLike, type InferResult, type Label } from './micro_speech.ts';

const shape: readonly [1, 1960] = input0.shape;
const dtype: 'int8' = input0.dtype;
const zeroPoint: -128 = input0.zeroPoint;
const scale: 0.00390625 = output0.scale;
const size: 4 = output0.size;
const prefix: 'micro_speech' = model.prefix;
const first: 'silence' = labels[0];
const count: 1 = inputs.length;
// @ts-expect-error not one of the labels
const wrong: Label = 'maybe';
// @ts-expect-error the descriptors are read-only
input0.scale = 1;

export async function run(session: AgentLike): Promise<[Label, Int8Array, Float32Array, number]> {
  const client = createClient(session);
  const r: InferResult = await client.infer(quantizeInput0(new Float32Array(1960)));
  await client.infer(new Int8Array(1960));
  await client.infer([0.5, 1.5]);
  // @ts-expect-error strings are not tensor values
  await client.infer('yes');
  const label: 'silence' | 'unknown' | 'yes' | 'no' = r.top.label;
  return [label, r.output0.quantized, r.outputs[0].values, r.cycles + argmax(r.output0.values)];
}

export const used = [shape, dtype, zeroPoint, scale, size, prefix, first, count, wrong];
`,
    );
    expect(typeCheck([file], [file])).toEqual([]);
    expect(typeCheck([consumer], [file, consumer])).toEqual([]);
  });

  it('without labels, and for a 12-class model, still type-checks', () => {
    const plain = path.join(tmp, 'plain', 'micro_speech.ts');
    mkdirSync(path.dirname(plain), { recursive: true });
    const text = emitTsCompanion(compiled);
    expect(text).toContain('export const labels: readonly string[] = [];');
    expect(text).toContain('readonly label: null;');
    writeFileSync(plain, text);
    const kws = path.join(tmp, 'kws_dscnn.ts');
    const kwsLabels = (JSON.parse(readFileSync(path.join(goldenDir('kws_dscnn'), 'manifest.json'), 'utf8')) as { labels: string[] }).labels;
    writeFileSync(kws, emitTsCompanion(sharedModel('kws_dscnn').compiled, { labels: kwsLabels }));
    expect(typeCheck([plain, kws], [plain, kws])).toEqual([]);
  });

  it.runIf(existsSync(AGENT_SESSION))("accepts the flasher's AgentSession as an AgentLike", () => {
    const check = path.join(tmp, 'agent_session_check.ts');
    writeFileSync(
      check,
      `import type { AgentSession } from ${JSON.stringify(AGENT_SESSION)};
import { createClient, type AgentLike } from './micro_speech.ts';
export function wrap(session: AgentSession): ReturnType<typeof createClient> {
  const agent: AgentLike = session;
  return createClient(session ?? agent);
}
`,
    );
    // AgentSession pulls in the repository's sources, which use Node's types.
    const diagnostics = typeCheck([check], [check], { types: ['node'], typeRoots: [path.join(REPO, 'node_modules/@types')], noUnusedLocals: false, noUnusedParameters: false });
    expect(diagnostics).toEqual([]);
  });

  it('exports descriptors with the model quantization', () => {
    const s = compiled.summary;
    expect(mod.model).toMatchObject({ file: 'micro_speech.tflite', sha256: compiled.model.sha256, prefix: 'micro_speech' });
    expect(mod.input0).toEqual({ name: 'Reshape_1', index: 0, shape: [1, 1960], dtype: 'int8', size: 1960, bytes: 1960, scale: s.inputs[0]?.scale, zeroPoint: -128 });
    expect(mod.output0).toEqual({ name: 'labels_softmax', index: 0, shape: [1, 4], dtype: 'int8', size: 4, bytes: 4, scale: 1 / 256, zeroPoint: -128 });
    expect(mod.inputs).toEqual([mod.input0]);
    expect(mod.outputs).toEqual([mod.output0]);
    expect(mod.labels).toEqual(['silence', 'unknown', 'yes', 'no']);
  });

  it('round-trips every int8 value through dequantize and quantize', () => {
    const all = Int8Array.from({ length: 256 }, (_, i) => i - 128);
    for (const [q, dq] of [
      [mod.quantizeInput0, mod.dequantizeInput0],
      [mod.quantizeOutput0, mod.dequantizeOutput0],
    ] as const) {
      const size = q === mod.quantizeInput0 ? 1960 : 4;
      for (let start = 0; start < 256; start += size) {
        const chunk = new Int8Array(size);
        chunk.set(all.subarray(start, Math.min(256, start + size)));
        expect(q(dq(chunk))).toEqual(chunk);
      }
    }
    expect(mod.dequantizeOutput0(Int8Array.from([-128, -127, 0, 127]))).toEqual(Float32Array.from([0, 1 / 256, 0.5, 255 / 256]));
  });

  it("quantizes like TFLite: round half away from zero, clamp, NaN to the zero point; matches the reference kernel", () => {
    expect(Array.from(mod.quantize({ scale: 0.5, zeroPoint: 0 }, [0.25, -0.25, 0.75, -0.75, 0.2, -0.2, 1000, -1000, NaN, Infinity, -Infinity]))).toEqual([
      1, -1, 2, -2, 0, 0, 127, -128, 0, 127, -128,
    ]);
    expect(Array.from(mod.quantize({ scale: 1, zeroPoint: -128 }, [-0.5, 0.5, 1.5, 2.5, 255.5, 254.49]))).toEqual([-128, -127, -126, -125, 127, 126]);

    const { input0 } = mod;
    const values = new Float32Array(1960);
    for (let i = 0; i < values.length; i++) {
      const k = (i % 300) - 20;
      // Exact halves between two steps, values near them, and out-of-range values.
      values[i] = i % 3 === 0 ? (k + 0.5) * input0.scale : i % 3 === 1 ? k * input0.scale * 1.0001 : (i - 980) * 0.7;
    }
    const layer: QuantizeF32S8Layer = { kernel: 'quantize_f32_s8', sourceIndex: 0, inputs: [], outputs: [], macs: 0, size: 1960, scale: input0.scale, zeroPoint: input0.zeroPoint };
    const expected = new Int8Array(1960);
    quantizeF32S8(layer, values, expected);
    expect(mod.quantizeInput0(values)).toEqual(expected);

    const q = mod.quantizeInput0(values);
    const dqLayer: DequantizeS8F32Layer = { kernel: 'dequantize_s8_f32', sourceIndex: 0, inputs: [], outputs: [], macs: 0, size: 1960, scale: input0.scale, zeroPoint: input0.zeroPoint };
    const dq = new Float32Array(1960);
    dequantizeS8F32(dqLayer, q, dq);
    expect(mod.dequantizeInput0(q)).toEqual(dq);

    expect(() => mod.quantizeInput0([1, 2, 3])).toThrow(RangeError);
    expect(() => mod.dequantizeOutput0(new Int8Array(5))).toThrow(/labels_softmax: 5 values given, 4 expected/);
    expect(mod.argmax([1, 3, 3, 2])).toBe(1);
    expect(() => mod.argmax([])).toThrow(RangeError);
  });

  it('infers through an AgentLike: TFLite Micro outputs and top labels on every golden case', async () => {
    const graph = compiled.model.graph;
    const calls: Uint8Array[][] = [];
    const fake: AgentLike = {
      async infer(inputs) {
        calls.push(inputs.map((b) => new Uint8Array(b)));
        return { outputs: runReference(graph, compiled.layers, inputs), cycles: 4242 };
      },
    };
    const client = mod.createClient(fake);
    expect(manifest.cases.length).toBeGreaterThanOrEqual(10);
    for (const c of manifest.cases) {
      const input = toInt8(goldenBytes(c.input_files[0] as string));
      const expected = toInt8(goldenBytes(c.output_files[0] as string));
      const r = await client.infer(input);
      expect(r.output0.quantized, c.id).toEqual(expected);
      expect(r.outputs[0]).toBe(r.output0);
      expect(r.output0.values).toEqual(mod.dequantizeOutput0(expected));
      expect(r.top.label, c.id).toBe(c.top_label);
      expect(r.top.index).toBe(LABELS.indexOf(c.top_label));
      expect(r.top.score).toBe(r.output0.values[r.top.index]);
      expect(r.cycles).toBe(4242);
      expect(calls.at(-1)?.[0]).toEqual(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
    }

    const yes = manifest.cases.find((c) => c.id === 'yes_1000ms');
    expect(yes).toBeDefined();
    const yesInput = toInt8(goldenBytes(yes?.input_files[0] as string));
    const byInt8 = await client.infer(yesInput);
    expect(byInt8.top.label).toBe('yes');
    expect(byInt8.top.score).toBeGreaterThan(0.5);
    // Real-valued features are quantized on the way: the same bytes reach the device.
    const byFloat = await client.infer(mod.dequantizeInput0(yesInput));
    expect(calls.at(-1)?.[0]).toEqual(new Uint8Array(yesInput.buffer, yesInput.byteOffset, yesInput.byteLength));
    expect(byFloat.top.label).toBe('yes');
    expect(byFloat.output0.quantized).toEqual(byInt8.output0.quantized);
    expect((await client.infer(Array.from(mod.dequantizeInput0(yesInput)))).top.label).toBe('yes');

    await expect(client.infer(new Int8Array(10))).rejects.toThrow(/Reshape_1: 10 values given, 1960 expected/);
    const short = mod.createClient({ infer: async () => ({ outputs: [new Uint8Array(3)], cycles: 0 }) });
    await expect(short.infer(yesInput)).rejects.toThrow(/labels_softmax: the device sent 3 bytes, 4 expected/);
    const none = mod.createClient({ infer: async () => ({ outputs: [], cycles: 0 }) });
    await expect(none.infer(yesInput)).rejects.toThrow(/the device sent 0 outputs, 1 expected/);
  });

  it('refuses labels that do not match output 0', () => {
    expect(() => emitTsCompanion(compiled, { labels: ['a', 'b'] })).toThrow(/2 labels given but output 0 'labels_softmax' has 4 elements/);
    expect(() => emitTsCompanion(compiled, { labels: ['a', 'b', 'a', 'c'] })).toThrow(/label 'a' is given twice/);
    const odd = emitTsCompanion(compiled, { labels: ["it's", 'back\\slash', '"q"', '</script>'] });
    expect(odd).toContain(`export const labels = ['it\\'s', 'back\\\\slash', '"q"', '</script>'] as const;`);
  });
});

describe('TypeScript companion of a model with float32 I/O and two outputs', () => {
  // x float32 -> QUANTIZE -> y int8 (output 0) -> DEQUANTIZE -> z float32 (output 1).
  const g = new GraphBuilder();
  const x = g.tensor('x', [1, 6], undefined, TensorType.FLOAT32);
  const y = g.tensor('y', [1, 6], q(0.5, -3));
  const z = g.tensor('z', [1, 6], undefined, TensorType.FLOAT32);
  g.op(BuiltinOp.QUANTIZE, [x], [y]);
  g.op(BuiltinOp.DEQUANTIZE, [y], [z]);
  const compiled = compileModel(loadSynthetic('syn_float_io', g.build([x], [y, z])));
  const file = path.join(tmp, 'syn_float_io.ts');
  writeFileSync(file, emitTsCompanion(compiled, { labels: ['a', 'b', 'c', 'd', 'e', 'f'] }));

  it('type-checks, and float inputs and outputs travel as little-endian float32 bytes', async () => {
    const consumer = path.join(tmp, 'float_consumer.ts');
    writeFileSync(
      consumer,
      `import { createClient, input0, output1, type Input0Value, type InferResult } from './syn_float_io.ts';
const dtype: 'float32' = input0.dtype;
const scale: null = output1.scale;
// @ts-expect-error an int8 tensor is not a float32 input
const bad: Input0Value = new Int8Array(6);
export const f = async (r: InferResult): Promise<[Float32Array, Int8Array, Float32Array, 'float32', null, Input0Value]> => [
  r.output1.values, r.output0.quantized, r.output0.values, dtype, scale, bad];
export const c = createClient;
`,
    );
    expect(typeCheck([consumer], [file, consumer])).toEqual([]);

    const m = (await import(pathToFileURL(file).href)) as {
      createClient(s: AgentLike): { infer(x: Float32Array | readonly number[]): Promise<InferResult & { output1: { values: Float32Array } }> };
      quantizeInput0?: unknown;
    };
    expect(m.quantizeInput0).toBeUndefined();
    const sent: Uint8Array[] = [];
    const client = m.createClient({
      async infer(inputs) {
        sent.push(...inputs);
        return { outputs: runReference(compiled.model.graph, compiled.layers, inputs), cycles: 7 };
      },
    });
    const r = await client.infer([0.25, -0.25, 1.25, 100, -100, 2]);
    expect(new DataView((sent[0] as Uint8Array).buffer).getFloat32(4, true)).toBe(-0.25);
    // 0.25 / 0.5 = 0.5 rounds away from zero to 1, plus the zero point -3.
    expect(Array.from(r.output0.quantized)).toEqual([-2, -4, 0, 127, -128, 1]);
    expect(Array.from(r.output1.values)).toEqual([0.5, -0.5, 1.5, 65, -62.5, 2]);
    expect(r.top).toEqual({ index: 3, label: 'd', score: 65 });
    expect(r.cycles).toBe(7);
    await expect(client.infer(new Float32Array(5))).rejects.toThrow(/x: 5 values given, 6 expected/);
  });
});

describe('labels options', () => {
  it('parses a list, a line file and a JSON file', () => {
    expect(parseLabelList('silence, unknown,yes ,no')).toEqual(['silence', 'unknown', 'yes', 'no']);
    expect(() => parseLabelList('a,,b')).toThrow(/empty label/);
    const lines = path.join(tmp, 'labels.txt');
    writeFileSync(lines, '# micro_speech\nsilence\nunknown\n\nyes\r\nno\n');
    expect(readLabelsFile(lines)).toEqual(['silence', 'unknown', 'yes', 'no']);
    const json = path.join(tmp, 'labels.json');
    writeFileSync(json, JSON.stringify(['a', 'b']));
    expect(readLabelsFile(json)).toEqual(['a', 'b']);
    writeFileSync(json, '[1, 2]');
    expect(() => readLabelsFile(json)).toThrow(/JSON array of non-empty strings/);
    expect(() => readLabelsFile(path.join(tmp, 'missing.txt'))).toThrow(/no such file/);
    expect(() => resolveLabels({ labels: 'a', labelsFile: lines })).toThrow(/not both/);
    expect(resolveLabels({})).toBeUndefined();
  });
});

describe('tinyforge compile --ts', () => {
  function tinyforge(...args: string[]): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  it('writes <prefix>.ts next to the C module, with --labels or --labels-file', () => {
    const out = path.join(tmp, 'cli-labels');
    const r = tinyforge('compile', modelPath('micro_speech'), '--out', out, '--labels', LABELS.join(','), '--json');
    expect(r.code, r.stderr).toBe(0);
    const files = (JSON.parse(r.stdout) as { result: { files: string[] } }).result.files;
    expect(files.map((f) => path.basename(f))).toEqual(['micro_speech.h', 'micro_speech.c', 'micro_speech.ts']);
    expect(readFileSync(path.join(out, 'micro_speech.ts'), 'utf8')).toBe(emitTsCompanion(sharedModel('micro_speech').compiled, { labels: LABELS }));

    const labelsFile = path.join(tmp, 'ms-labels.txt');
    writeFileSync(labelsFile, `${LABELS.join('\n')}\n`);
    const out2 = path.join(tmp, 'cli-file');
    expect(tinyforge('compile', modelPath('micro_speech'), '--out', out2, '--prefix', 'kw', '--labels-file', labelsFile).code).toBe(0);
    expect(readFileSync(path.join(out2, 'kw.ts'), 'utf8')).toContain("export const labels = ['silence', 'unknown', 'yes', 'no'] as const;");

    const out3 = path.join(tmp, 'cli-plain');
    expect(tinyforge('compile', modelPath('micro_speech'), '--out', out3, '--ts').code).toBe(0);
    expect(readFileSync(path.join(out3, 'micro_speech.ts'), 'utf8')).toContain('readonly label: null;');
    const out4 = path.join(tmp, 'cli-none');
    expect(tinyforge('compile', modelPath('micro_speech'), '--out', out4).code).toBe(0);
    expect(existsSync(path.join(out4, 'micro_speech.ts'))).toBe(false);
  });

  it('refuses wrong labels with a one-line error before writing anything', () => {
    const out = path.join(tmp, 'cli-bad');
    const r = tinyforge('compile', modelPath('micro_speech'), '--out', out, '--labels', 'yes,no');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: 2 labels given but output 0 'labels_softmax' has 4 elements/);
    expect(existsSync(out)).toBe(false);
  });
});
