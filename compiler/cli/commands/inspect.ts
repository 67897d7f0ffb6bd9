import { readFileSync } from 'node:fs';
import { compileModel, loadModel, type CompiledModel, type LoadedModel } from '../../compile.ts';
import { TinyforgeError } from '../../errors.ts';
import { describeBlockers, findBlockers } from '../../frontends/tflite/blockers.ts';
import { readTfliteStructure } from '../../frontends/tflite/index.ts';
import { operatorCodeName, SUPPORT } from '../../frontends/tflite/to_ir.ts';
import { tensorTypeName } from '../../frontends/tflite/schema.ts';
import { DTYPE_BYTES, elementCount, type Tensor } from '../../ir/graph.ts';
import { formatInt, table } from '../format.ts';
import { setJsonResult } from '../json_output.ts';

function quantText(t: Tensor): string {
  const q = t.quant;
  if (!q || q.scale.length === 0) return '';
  if (q.scale.length === 1) return `s=${(q.scale[0] as number).toPrecision(6)} zp=${q.zeroPoint[0] ?? 0}`;
  return `per-channel axis ${q.axis} (${q.scale.length} scales)`;
}

/**
 * A model tinyforge cannot compile is still shown when it is readable: its operators and tensors
 * as the file has them, every blocker with counts, and the first error compile would report.
 */
function inspectUncompilable(modelPath: string, error: TinyforgeError, opts: { json?: boolean }): void {
  let raw;
  try {
    raw = readTfliteStructure(readFileSync(modelPath), modelPath);
  } catch {
    throw error;
  }
  const sg = raw.subgraph;
  const blockers = findBlockers(raw, SUPPORT);
  const opName = (opcode: number): string => {
    const code = raw.operatorCodes[opcode];
    return code ? operatorCodeName(code) : `opcode ${opcode}`;
  };
  const shapeOf = (id: number): string => `t${id}[${sg.tensors[id]?.shape.join('x') ?? '?'}]`;
  if (opts.json) {
    setJsonResult({
      model: modelPath,
      compilable: false,
      error: error.message,
      blockers,
      operators: sg.operators.map((op) => ({ index: op.index, op: opName(op.opcodeIndex), inputs: op.inputs, outputs: op.outputs })),
      tensors: sg.tensors.map((t) => ({ id: t.index, name: t.name, dtype: tensorTypeName(t.type), shape: t.shape })),
    });
    return;
  }
  const counts = new Map<string, number>();
  for (const op of sg.operators) counts.set(opName(op.opcodeIndex), (counts.get(opName(op.opcodeIndex)) ?? 0) + 1);
  console.log(`${modelPath}: ${sg.operators.length} ops (${[...counts].map(([n, c]) => `${n} x${c}`).join(', ')})`);
  console.log(`does not compile: ${blockers.length > 0 ? describeBlockers(blockers) : error.message}`);
  console.log('');
  console.log(
    table(
      ['#', 'op', 'inputs', 'outputs'],
      sg.operators.map((op) => [op.index, opName(op.opcodeIndex), op.inputs.filter((id) => id >= 0).map(shapeOf).join(' '), op.outputs.map(shapeOf).join(' ')]),
    ),
  );
}

export function inspectCommand(modelPath: string, opts: { json?: boolean }): void {
  let model: LoadedModel;
  let compiled: CompiledModel;
  try {
    model = loadModel(modelPath);
    compiled = compileModel(model);
  } catch (e) {
    if (e instanceof TinyforgeError) {
      inspectUncompilable(modelPath, e, opts);
      return;
    }
    throw e;
  }
  const g = model.graph;
  if (opts.json) {
    setJsonResult({
      ...compiled.summary,
      compilable: true,
      error: null,
      blockers: [],
      tensors: g.tensors.map((t) => ({
        id: t.id,
        name: t.name,
        dtype: t.dtype,
        shape: t.shape,
        constant: t.data !== undefined,
        state: t.state !== undefined,
        scale: t.quant?.scale ?? [],
        zeroPoint: t.quant?.zeroPoint ?? [],
        axis: t.quant?.axis ?? 0,
      })),
    });
    return;
  }
  const s = compiled.summary;
  console.log(`${s.model}: ${s.ops} ops, ${formatInt(s.macs)} MACs, ${formatInt(s.weightBytes)} weight bytes, sha256 ${model.sha256.slice(0, 16)}`);
  console.log('');
  console.log(
    table(
      ['#', 'op', 'inputs', 'output', 'MACs', 'weight bytes'],
      g.ops.map((op, i) => [
        i,
        s.layers[i]?.op ?? op.kind,
        op.inputs.filter((id) => id >= 0 && g.tensors[id]?.data === undefined).map((id) => `t${id}[${g.tensors[id]?.shape.join('x')}]`).join(' '),
        op.outputs.map((id) => `t${id}[${g.tensors[id]?.shape.join('x')}]`).join(' '),
        s.layers[i]?.macs ?? 0,
        s.layers[i]?.weightBytes ?? 0,
      ]),
    ),
  );
  console.log('');
  console.log(
    table(
      ['tensor', 'name', 'type', 'shape', 'bytes', 'kind', 'quantization'],
      g.tensors.map((t) => [
        `t${t.id}`,
        t.name.length > 40 ? `${t.name.slice(0, 37)}...` : t.name,
        // An INT4 filter is held as int8 once read; show what the file stores.
        t.int4 ? 'int4' : t.dtype,
        `[${t.shape.join(', ')}]`,
        t.int4 ? Math.ceil(elementCount(t.shape) / 2) : elementCount(t.shape) * DTYPE_BYTES[t.dtype],
        g.inputs.includes(t.id) ? 'input' : g.outputs.includes(t.id) ? 'output' : t.state ? 'state' : t.data ? 'const' : 'activation',
        quantText(t),
      ]),
    ),
  );
}
