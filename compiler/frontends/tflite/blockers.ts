// Everything in a readable model that tinyforge cannot compile yet, counted, so a user sees the
// whole gap at once (inspect) and compile names every unsupported op, not only the first.

import type { RawModel, RawOperatorCode } from './read_model.ts';
import { tensorTypeName } from './schema.ts';

export interface Blocker {
  kind: 'op' | 'type' | 'feature';
  /** "MEAN", "CUSTOM:SignalRfft", "RESOURCE", "sparse tensor" */
  name: string;
  count: number;
  /** Where it first occurs: "operator 3", "tensor 5 'x'". */
  first: string;
}

export interface SupportQuery {
  isSupportedOp(code: RawOperatorCode): boolean;
  isSupportedType(type: number): boolean;
  opName(code: RawOperatorCode): string;
}

function bump(map: Map<string, Blocker>, kind: Blocker['kind'], name: string, where: string): void {
  const key = `${kind}:${name}`;
  const b = map.get(key);
  if (b) b.count += 1;
  else map.set(key, { kind, name, count: 1, first: where });
}

export function findBlockers(raw: RawModel, q: SupportQuery): Blocker[] {
  const found = new Map<string, Blocker>();
  for (const op of raw.subgraph.operators) {
    const code = raw.operatorCodes[op.opcodeIndex];
    if (code && !q.isSupportedOp(code)) bump(found, 'op', q.opName(code), `operator ${op.index}`);
  }
  for (const t of raw.subgraph.tensors) {
    const where = t.name === '' ? `tensor ${t.index}` : `tensor ${t.index} '${t.name}'`;
    if (!q.isSupportedType(t.type)) bump(found, 'type', tensorTypeName(t.type), where);
    if (t.hasSparsity) bump(found, 'feature', 'sparse tensor (TFLite sparsity format)', where);
    if (t.quantization && t.quantization.detailsType !== 0) bump(found, 'feature', 'custom quantization details', where);
  }
  return [...found.values()];
}

/** "ops MEAN x4 (first: operator 3), PACK x2 (first: operator 0); tensor types RESOURCE x22 (first: tensor 1 'h')" */
export function describeBlockers(blockers: readonly Blocker[]): string {
  const part = (kind: Blocker['kind'], label: string): string | undefined => {
    const list = blockers.filter((b) => b.kind === kind);
    return list.length > 0 ? `${label} ${list.map((b) => `${b.name} x${b.count} (first: ${b.first})`).join(', ')}` : undefined;
  };
  return [part('op', 'ops'), part('type', 'tensor types'), part('feature', 'features')].filter((p) => p !== undefined).join('; ');
}
