// INT4 twins of existing int8 models: every FULLY_CONNECTED (and optionally CONV_2D) filter clamped to [-8, 7] and written
// either as INT8 or as INT4 (packed), so the two files hold the same weights and must give the same
// outputs. Used by test/int4_weights.test.ts and scripts/int4_bench.ts.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { LoadedModel } from '../../compiler/compile.ts';
import { writeTflite } from '../../compiler/export/write_tflite.ts';
import { parseTflite } from '../../compiler/frontends/tflite/index.ts';

export type FilterType = 'int4' | 'int8';

/** The IR op kinds whose filters can be clamped: the per-tensor-or-channel int8 ops TFLite Micro runs with INT4 filters. */
export type Int4FilterOp = 'fully_connected' | 'conv2d' | 'depthwise_conv2d';

/** The .tflite bytes of `file` with the filters of `ops` (default FULLY_CONNECTED) clamped to [-8, 7], stored as `type`. */
export function clampedFilters(file: string, type: FilterType, ops: readonly Int4FilterOp[] = ['fully_connected']): Uint8Array {
  const graph = parseTflite(readFileSync(file), file);
  let changed = 0;
  for (const op of graph.ops) {
    if (op.kind === 'module' || !(ops as readonly string[]).includes(op.kind)) continue;
    const w = graph.tensors[op.inputs[1] as number];
    if (!w?.data || w.dtype !== 'int8') continue;
    const values = new Int8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength);
    w.data = Uint8Array.from(values, (v) => Math.max(-8, Math.min(7, v)) & 0xff);
    if (type === 'int4') w.int4 = true;
    changed++;
  }
  if (changed === 0) throw new Error(`${file} has no int8 ${ops.join('/')} filter to clamp`);
  return writeTflite(graph);
}

/** A LoadedModel for in-memory bytes; `name` becomes the graph name and the C prefix. */
export function loadedFromBytes(name: string, bytes: Uint8Array): LoadedModel {
  const path = `${name}.tflite`;
  return { path, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), graph: parseTflite(bytes, path) };
}
