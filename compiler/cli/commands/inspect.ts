import { compileModel, loadModel } from '../../compile.ts';
import { DTYPE_BYTES, elementCount, type Tensor } from '../../ir/graph.ts';
import { formatInt, printJson, table } from '../format.ts';

function quantText(t: Tensor): string {
  const q = t.quant;
  if (!q || q.scale.length === 0) return '';
  if (q.scale.length === 1) return `s=${(q.scale[0] as number).toPrecision(6)} zp=${q.zeroPoint[0] ?? 0}`;
  return `per-channel axis ${q.axis} (${q.scale.length} scales)`;
}

export function inspectCommand(modelPath: string, opts: { json?: boolean }): void {
  const model = loadModel(modelPath);
  const compiled = compileModel(model);
  const g = model.graph;
  if (opts.json) {
    printJson({
      ...compiled.summary,
      tensors: g.tensors.map((t) => ({
        id: t.id,
        name: t.name,
        dtype: t.dtype,
        shape: t.shape,
        constant: t.data !== undefined,
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
        t.dtype,
        `[${t.shape.join(', ')}]`,
        elementCount(t.shape) * DTYPE_BYTES[t.dtype],
        g.inputs.includes(t.id) ? 'input' : g.outputs.includes(t.id) ? 'output' : t.data ? 'const' : 'activation',
        quantText(t),
      ]),
    ),
  );
}
