// The typed TypeScript companion of a compiled model: `<prefix>.ts` next to `<prefix>.c/.h`.
// It describes the model's inputs and outputs with literal types (shape, dtype, scale, zero point),
// carries the class labels, quantizes and dequantizes with TFLite's rounding, and wraps anything
// that can run one inference on the device (an `AgentLike`, such as the flasher's AgentSession) in
// a typed client. The file imports nothing, so it can be copied into any host-side project.
//
// The source is built with ts-morph structures rather than string templates.

import { createRequire } from 'node:module';
import type { OptionalKind, ParameterDeclarationStructure, PropertySignatureStructure, SourceFile } from 'ts-morph';
import type { CompiledModel, IoSummary } from '../compile.ts';
import { TinyforgeError } from '../errors.ts';
import { TOOL_VERSION } from '../version.ts';

export interface TsCompanionOptions {
  /** Class names of output 0, one per element. */
  labels?: readonly string[];
}

type TsMorph = typeof import('ts-morph');

// ts-morph brings the whole TypeScript compiler; load it only when a companion is generated so the
// other CLI commands start fast.
let tsMorph: TsMorph | undefined;
function loadTsMorph(): TsMorph {
  tsMorph ??= createRequire(import.meta.url)('ts-morph') as TsMorph;
  return tsMorph;
}

interface IoPlan {
  t: IoSummary;
  direction: 'input' | 'output';
  index: number;
  /** input0, output1, ... */
  name: string;
  /** Input0, Output1, ... */
  cap: string;
  quantized: boolean;
}

/** A single-quoted TypeScript string literal. */
function str(text: string): string {
  return `'${JSON.stringify(text).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
}

function numberLiteral(n: number, what: string): string {
  if (!Number.isFinite(n)) throw new TinyforgeError(`cannot describe ${what} = ${n} in TypeScript`);
  return Object.is(n, -0) ? '0' : String(n);
}

function planIo(t: IoSummary, direction: 'input' | 'output', index: number): IoPlan {
  if (t.dtype !== 'int8' && t.dtype !== 'float32') {
    throw new TinyforgeError(`${direction} ${index} '${t.name}' is ${t.dtype}; the TypeScript companion supports int8 and float32 I/O`);
  }
  const quantized = t.dtype === 'int8' && t.scale !== null && t.zeroPoint !== null;
  if (t.dtype === 'int8' && !quantized) throw new TinyforgeError(`${direction} ${index} '${t.name}' is int8 without quantization parameters`);
  const name = `${direction}${index}`;
  return { t, direction, index, name, cap: name[0]?.toUpperCase() + name.slice(1), quantized };
}

function descriptorInitializer(p: IoPlan): string {
  const t = p.t;
  const fields = [
    `name: ${str(t.name)}`,
    `index: ${p.index}`,
    `shape: [${t.shape.map((d) => numberLiteral(d, 'a dimension')).join(', ')}]`,
    `dtype: ${str(t.dtype)}`,
    `size: ${t.shape.reduce((a, b) => a * b, 1)}`,
    `bytes: ${t.bytes}`,
    `scale: ${t.scale === null || !p.quantized ? 'null' : numberLiteral(t.scale, `the scale of ${p.name}`)}`,
    `zeroPoint: ${t.zeroPoint === null || !p.quantized ? 'null' : numberLiteral(t.zeroPoint, `the zero point of ${p.name}`)}`,
  ];
  return `{ ${fields.join(', ')} } as const satisfies TensorDescriptor`;
}

function validateLabels(labels: readonly string[] | undefined, outputs: readonly IoPlan[]): readonly string[] | undefined {
  if (labels === undefined) return undefined;
  const first = outputs[0];
  if (!first) throw new TinyforgeError('labels were given but the model has no outputs');
  const size = first.t.shape.reduce((a, b) => a * b, 1);
  if (labels.length !== size) {
    throw new TinyforgeError(`${labels.length} label${labels.length === 1 ? '' : 's'} given but output 0 '${first.t.name}' has ${size} elements`);
  }
  labels.forEach((l, i) => {
    if (typeof l !== 'string' || l.length === 0) throw new TinyforgeError(`label ${i} is empty`);
  });
  const seen = new Set<string>();
  for (const l of labels) {
    if (seen.has(l)) throw new TinyforgeError(`label '${l}' is given twice`);
    seen.add(l);
  }
  return labels;
}

function addHelpers(sf: SourceFile, need: { int8Out: boolean; float32In: boolean; float32Out: boolean }): void {
  sf.addInterface({
    name: 'TensorDescriptor',
    isExported: true,
    docs: ['Where and how one input or output tensor is laid out. The descriptors below are `as const`, so every field is a literal type.'],
    properties: [
      { name: 'name', type: 'string', isReadonly: true, docs: ['Tensor name in the model.'] },
      { name: 'index', type: 'number', isReadonly: true, docs: ['Position among the inputs (or outputs).'] },
      { name: 'shape', type: 'readonly number[]', isReadonly: true },
      { name: 'dtype', type: "'int8' | 'float32'", isReadonly: true },
      { name: 'size', type: 'number', isReadonly: true, docs: ['Number of elements.'] },
      { name: 'bytes', type: 'number', isReadonly: true },
      { name: 'scale', type: 'number | null', isReadonly: true, docs: ['real = scale * (q - zeroPoint); null for float tensors.'] },
      { name: 'zeroPoint', type: 'number | null', isReadonly: true },
    ],
  });
  sf.addInterface({
    name: 'Quantization',
    isExported: true,
    docs: ['Affine int8 quantization parameters.'],
    properties: [
      { name: 'scale', type: 'number', isReadonly: true },
      { name: 'zeroPoint', type: 'number', isReadonly: true },
    ],
  });
  sf.addFunction({
    name: 'roundHalfAwayFromZero',
    parameters: [{ name: 'x', type: 'number' }],
    returnType: 'number',
    statements: 'return x < 0 ? -Math.round(-x) : Math.round(x);',
  });
  sf.addFunction({
    name: 'quantize',
    isExported: true,
    docs: [
      'Real values to int8 exactly as TFLite quantizes: float32 division by the scale, rounded half away ' +
        'from zero, plus the zero point, clamped to [-128, 127]. NaN becomes the zero point.',
    ],
    parameters: [
      { name: 'q', type: 'Quantization' },
      { name: 'values', type: 'ArrayLike<number>' },
    ],
    returnType: 'Int8Array',
    statements: (w) => {
      w.writeLine('const out = new Int8Array(values.length);');
      w.writeLine('const scale = Math.fround(q.scale);');
      w.write('for (let i = 0; i < values.length; i++)').block(() => {
        w.writeLine('const scaled = Math.fround(Math.fround(values[i] as number) / scale);');
        w.writeLine('const v = (Number.isNaN(scaled) ? 0 : roundHalfAwayFromZero(scaled)) + q.zeroPoint;');
        w.writeLine('out[i] = v < -128 ? -128 : v > 127 ? 127 : v;');
      });
      w.writeLine('return out;');
    },
  });
  sf.addFunction({
    name: 'dequantize',
    isExported: true,
    docs: ['int8 values to reals as TFLite dequantizes: scale * (q - zeroPoint), stored as float32.'],
    parameters: [
      { name: 'q', type: 'Quantization' },
      { name: 'values', type: 'ArrayLike<number>' },
    ],
    returnType: 'Float32Array',
    statements: [
      'const out = new Float32Array(values.length);',
      'for (let i = 0; i < values.length; i++) out[i] = q.scale * ((values[i] as number) - q.zeroPoint);',
      'return out;',
    ],
  });
  sf.addFunction({
    name: 'argmax',
    isExported: true,
    docs: ['Index of the largest value; the first one on ties.'],
    parameters: [{ name: 'values', type: 'ArrayLike<number>' }],
    returnType: 'number',
    statements: [
      "if (values.length === 0) throw new RangeError('argmax of an empty array');",
      'let best = 0;',
      'for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;',
      'return best;',
    ],
  });
  sf.addFunction({
    name: 'checkSize',
    parameters: [
      { name: 't', type: 'TensorDescriptor' },
      { name: 'length', type: 'number' },
    ],
    returnType: 'void',
    statements: 'if (length !== t.size) throw new RangeError(`${t.name}: ${length} values given, ${t.size} expected`);',
  });
  sf.addFunction({
    name: 'bytesOf',
    parameters: [{ name: 'a', type: 'Int8Array | Float32Array' }],
    returnType: 'Uint8Array',
    statements: 'return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);',
  });
  if (need.int8Out) {
    sf.addFunction({
      name: 'int8From',
      parameters: [
        { name: 't', type: 'TensorDescriptor' },
        { name: 'bytes', type: 'Uint8Array | undefined' },
      ],
      returnType: 'Int8Array',
      statements: [
        'if (bytes === undefined || bytes.byteLength !== t.bytes) throw new RangeError(`${t.name}: the device sent ${bytes?.byteLength ?? 0} bytes, ${t.bytes} expected`);',
        'const out = new Int8Array(t.size);',
        'out.set(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));',
        'return out;',
      ],
    });
  }
  if (need.float32Out) {
    sf.addFunction({
      name: 'float32From',
      parameters: [
        { name: 't', type: 'TensorDescriptor' },
        { name: 'bytes', type: 'Uint8Array | undefined' },
      ],
      returnType: 'Float32Array',
      statements: [
        'if (bytes === undefined || bytes.byteLength !== t.bytes) throw new RangeError(`${t.name}: the device sent ${bytes?.byteLength ?? 0} bytes, ${t.bytes} expected`);',
        'const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);',
        'const out = new Float32Array(t.size);',
        'for (let i = 0; i < t.size; i++) out[i] = view.getFloat32(i * 4, true);',
        'return out;',
      ],
    });
  }
  if (need.float32In) {
    sf.addFunction({
      name: 'float32Bytes',
      parameters: [{ name: 'values', type: 'ArrayLike<number>' }],
      returnType: 'Uint8Array',
      statements: [
        'const out = new Uint8Array(values.length * 4);',
        'const view = new DataView(out.buffer);',
        'for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] as number, true);',
        'return out;',
      ],
    });
  }
}

/** The TypeScript source of the companion file of `compiled`. */
export function emitTsCompanion(compiled: CompiledModel, options: TsCompanionOptions = {}): string {
  const s = compiled.summary;
  const inputs = s.inputs.map((t, i) => planIo(t, 'input', i));
  const outputs = s.outputs.map((t, i) => planIo(t, 'output', i));
  const labels = validateLabels(options.labels, outputs);
  const out0 = outputs[0];

  const tm = loadTsMorph();
  const { Project, VariableDeclarationKind } = tm;
  const project = new Project({ useInMemoryFileSystem: true, compilerOptions: { strict: true } });
  const sf = project.createSourceFile(`${compiled.prefix}.ts`, '', { overwrite: true });

  addHelpers(sf, {
    int8Out: outputs.some((p) => p.quantized),
    float32In: inputs.some((p) => !p.quantized),
    float32Out: outputs.some((p) => !p.quantized),
  });

  sf.addVariableStatement({
    declarationKind: VariableDeclarationKind.Const,
    isExported: true,
    docs: ['The model this file was generated for.'],
    declarations: [
      {
        name: 'model',
        initializer:
          `{ file: ${str(s.model)}, sha256: ${str(compiled.model.sha256)}, prefix: ${str(compiled.prefix)}, ` +
          `ops: ${s.ops}, macs: ${s.macs}, arenaBytes: ${s.arenaBytes}, toolVersion: ${str(TOOL_VERSION)} } as const`,
      },
    ],
  });
  for (const p of [...inputs, ...outputs]) {
    sf.addVariableStatement({
      declarationKind: VariableDeclarationKind.Const,
      isExported: true,
      docs: [`${p.direction === 'input' ? 'Input' : 'Output'} ${p.index}: '${p.t.name}', ${p.t.dtype} [${p.t.shape.join(', ')}].`],
      declarations: [{ name: p.name, initializer: descriptorInitializer(p) }],
    });
  }
  sf.addVariableStatement({
    declarationKind: VariableDeclarationKind.Const,
    isExported: true,
    declarations: [{ name: 'inputs', initializer: `[${inputs.map((p) => p.name).join(', ')}] as const` }],
  });
  sf.addVariableStatement({
    declarationKind: VariableDeclarationKind.Const,
    isExported: true,
    declarations: [{ name: 'outputs', initializer: `[${outputs.map((p) => p.name).join(', ')}] as const` }],
  });

  if (labels) {
    sf.addVariableStatement({
      declarationKind: VariableDeclarationKind.Const,
      isExported: true,
      docs: ['Class names of output 0, by element index.'],
      declarations: [{ name: 'labels', initializer: `[${labels.map((l) => str(l)).join(', ')}] as const` }],
    });
    sf.addTypeAlias({ name: 'Label', isExported: true, type: '(typeof labels)[number]' });
  } else {
    sf.addVariableStatement({
      declarationKind: VariableDeclarationKind.Const,
      isExported: true,
      docs: ['No labels were given when this file was generated (tinyforge compile --ts --labels a,b,c).'],
      declarations: [{ name: 'labels', type: 'readonly string[]', initializer: '[]' }],
    });
    sf.addTypeAlias({ name: 'Label', isExported: true, type: 'string' });
  }

  // Per-tensor helpers.
  for (const p of [...inputs, ...outputs]) {
    if (!p.quantized) continue;
    sf.addFunction({
      name: `quantize${p.cap}`,
      isExported: true,
      docs: [`Real values to the int8 bytes of ${p.name} ('${p.t.name}'); throws RangeError unless there are ${p.name}.size of them.`],
      parameters: [{ name: 'values', type: 'ArrayLike<number>' }],
      returnType: 'Int8Array',
      statements: [`checkSize(${p.name}, values.length);`, `return quantize(${p.name}, values);`],
    });
    sf.addFunction({
      name: `dequantize${p.cap}`,
      isExported: true,
      docs: [`int8 values of ${p.name} ('${p.t.name}') to reals.`],
      parameters: [{ name: 'q', type: 'Int8Array' }],
      returnType: 'Float32Array',
      statements: [`checkSize(${p.name}, q.length);`, `return dequantize(${p.name}, q);`],
    });
  }

  sf.addInterface({
    name: 'AgentLike',
    isExported: true,
    docs: [
      'Anything that runs one inference on the device: raw bytes of every input in, raw bytes of every output and the cycles it took out. ' +
        "tinyforge's AgentSession (flasher/agent_session.ts) has this shape.",
    ],
    methods: [{ name: 'infer', parameters: [{ name: 'inputs', type: 'Uint8Array[]' }], returnType: 'Promise<{ outputs: Uint8Array[]; cycles: number }>' }],
  });

  for (const p of inputs) {
    sf.addTypeAlias({
      name: `${p.cap}Value`,
      isExported: true,
      docs: [p.quantized ? `${p.name}: int8 values as they are, or reals to quantize.` : `${p.name}: float32 values.`],
      type: p.quantized ? 'Int8Array | Float32Array | readonly number[]' : 'Float32Array | readonly number[]',
    });
  }
  for (const p of outputs) {
    const props: OptionalKind<PropertySignatureStructure>[] = p.quantized
      ? [
          { name: 'quantized', type: 'Int8Array', isReadonly: true, docs: ['The int8 values the device produced.'] },
          { name: 'values', type: 'Float32Array', isReadonly: true, docs: ['The same, dequantized.'] },
        ]
      : [{ name: 'values', type: 'Float32Array', isReadonly: true }];
    sf.addInterface({ name: `${p.cap}Result`, isExported: true, properties: props });
  }
  const resultProps: OptionalKind<PropertySignatureStructure>[] = outputs.map((p) => ({ name: p.name, type: `${p.cap}Result`, isReadonly: true }));
  resultProps.push({ name: 'outputs', type: `readonly [${outputs.map((p) => `${p.cap}Result`).join(', ')}]`, isReadonly: true });
  if (out0) {
    resultProps.push({
      name: 'top',
      type: `{ readonly index: number; readonly label: ${labels ? 'Label' : 'null'}; readonly score: number }`,
      isReadonly: true,
      docs: ['The largest element of output 0, with its label and dequantized value.'],
    });
  }
  resultProps.push({ name: 'cycles', type: 'number', isReadonly: true, docs: ['Cycles the inference took, as the device measured them.'] });
  sf.addInterface({ name: 'InferResult', isExported: true, properties: resultProps });

  const inferParams: OptionalKind<ParameterDeclarationStructure>[] = inputs.map((p) => ({ name: p.name, type: `${p.cap}Value` }));
  sf.addInterface({
    name: 'Client',
    isExported: true,
    properties: [{ name: 'model', type: 'typeof model', isReadonly: true }],
    methods: [{ name: 'infer', parameters: inferParams, returnType: 'Promise<InferResult>', docs: ['One inference on the device.'] }],
  });

  sf.addFunction({
    name: 'createClient',
    isExported: true,
    docs: [`A typed client for ${s.model} on top of anything that can run an inference on the device.`],
    parameters: [{ name: 'session', type: 'AgentLike' }],
    returnType: 'Client',
    statements: (w) => {
      w.write('return ').inlineBlock(() => {
        w.writeLine('model,');
        w.write(`async infer(${inputs.map((p) => `${p.name}Value: ${p.cap}Value`).join(', ')}): Promise<InferResult>`).block(() => {
          const encoded: string[] = [];
          for (const p of inputs) {
            const v = `${p.name}Value`;
            if (p.quantized) {
              w.writeLine(`if (${v} instanceof Int8Array) checkSize(${p.name}, ${v}.length);`);
              w.writeLine(`const ${p.name}Bytes = bytesOf(${v} instanceof Int8Array ? ${v} : quantize${p.cap}(${v}));`);
            } else {
              w.writeLine(`checkSize(${p.name}, ${v}.length);`);
              w.writeLine(`const ${p.name}Bytes = ${v} instanceof Float32Array ? bytesOf(${v}) : float32Bytes(${v});`);
            }
            encoded.push(`${p.name}Bytes`);
          }
          w.writeLine(`const reply = await session.infer([${encoded.join(', ')}]);`);
          w.writeLine(
            `if (reply.outputs.length !== ${outputs.length}) throw new RangeError(\`the device sent \${reply.outputs.length} outputs, ${outputs.length} expected\`);`,
          );
          for (const p of outputs) {
            if (p.quantized) {
              w.writeLine(`const ${p.name}Quantized = int8From(${p.name}, reply.outputs[${p.index}]);`);
              w.writeLine(`const ${p.name}Result: ${p.cap}Result = { quantized: ${p.name}Quantized, values: dequantize(${p.name}, ${p.name}Quantized) };`);
            } else {
              w.writeLine(`const ${p.name}Result: ${p.cap}Result = { values: float32From(${p.name}, reply.outputs[${p.index}]) };`);
            }
          }
          const fields = outputs.map((p) => `${p.name}: ${p.name}Result`);
          fields.push(`outputs: [${outputs.map((p) => `${p.name}Result`).join(', ')}]`);
          if (out0) {
            w.writeLine(`const topIndex = argmax(${out0.name}Result.values);`);
            const label = labels ? 'labels[topIndex] as Label' : 'null';
            fields.push(`top: { index: topIndex, label: ${label}, score: ${out0.name}Result.values[topIndex] as number }`);
          }
          fields.push('cycles: reply.cycles');
          w.write('return ').inlineBlock(() => {
            for (const f of fields) w.writeLine(`${f},`);
          });
          w.write(';');
        });
        w.newLine();
      });
      w.write(';');
    },
  });

  // Variable statements are packed together by default; give each its own paragraph.
  for (const v of sf.getVariableStatements()) {
    if (tm.Node.isVariableStatement(v.getPreviousSibling())) v.prependWhitespace('\n');
  }
  sf.formatText({ indentSize: 2, convertTabsToSpaces: true, semicolons: tm.ts.SemicolonPreference.Insert });
  const header = [
    `// ${compiled.prefix}.ts: typed companion of ${compiled.prefix}.c and ${compiled.prefix}.h.`,
    `// Generated by tinyforge ${TOOL_VERSION} from ${s.model} (sha256 ${compiled.model.sha256}). Do not edit.`,
    '//',
    '// Tensors travel as raw TFLite row-major little-endian bytes. This file imports nothing.',
  ];
  return `${header.join('\n')}\n\n${sf.getFullText()}`;
}
