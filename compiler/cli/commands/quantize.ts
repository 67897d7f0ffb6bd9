// `tinyforge quantize`: a float TF.js model + calibration data -> an int8 (optionally pruned)
// .tflite that compile, validate and TFLite itself can load.

import { writeFileSync } from 'node:fs';
import { writeTflite } from '../../export/write_tflite.ts';
import { TinyforgeError } from '../../errors.ts';
import { pruneMagnitude } from '../../prune/magnitude.ts';
import { pruneChannels } from '../../prune/structured.ts';
import { formatSqnr, quantizeTfjsModel } from '../../quantize/index.ts';
import { formatInt, printJson } from '../format.ts';

export interface QuantizeCommandOptions {
  calib: string;
  out: string;
  prune?: string;
  pruneBlock?: string;
  pruneChannels?: string;
  percentile?: string;
  json?: boolean;
}

function fraction(flag: string, value: string | undefined, lo: number, hi: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < lo || n > hi) throw new TinyforgeError(`${flag} wants a number from ${lo} to ${hi}, not '${value}'`);
  return n;
}

export async function quantizeCommand(modelJson: string, opts: QuantizeCommandOptions): Promise<void> {
  const sparsity = fraction('--prune', opts.prune, 0, 0.99);
  const channelFraction = fraction('--prune-channels', opts.pruneChannels, 0, 0.95);
  const percentile = fraction('--percentile', opts.percentile, 50, 100);
  const block = opts.pruneBlock === undefined ? 1 : Number(opts.pruneBlock);
  if (![1, 4].includes(block)) throw new TinyforgeError(`--prune-block is 1 (single weights) or 4 (4x4 tiles, what the sparse FC kernel skips), not '${opts.pruneBlock}'`);
  const q = await quantizeTfjsModel(modelJson, opts.calib, percentile === undefined ? {} : { method: 'percentile', percentile });
  let graph = q.model.graph;
  // Channels first (the graph shrinks), then magnitude pruning of what is left.
  const channels = channelFraction === undefined ? undefined : pruneChannels(graph, { fraction: channelFraction });
  if (channels) graph = channels.graph;
  const pruned = sparsity === undefined ? undefined : pruneMagnitude(graph, { sparsity, block: [block, block] });
  if (pruned) graph = pruned.graph;
  const bytes = writeTflite(graph);
  writeFileSync(opts.out, bytes);
  if (opts.json) {
    printJson({ model: modelJson, out: opts.out, bytes: bytes.byteLength, inputs: q.result.inputs, outputs: q.result.outputs, sqnr: q.sqnr, prune: pruned?.report ?? null, pruneChannels: channels?.report ?? null });
    return;
  }
  console.log(`per-layer SQNR of the int8 model against the float model on the calibration data:\n${formatSqnr(q.sqnr)}`);
  if (channels) {
    const lines = channels.report.layers.map((l) => `  op ${l.op} ${l.kind === 'conv2d' ? 'CONV_2D' : 'FULLY_CONNECTED'} '${l.name}': ${l.before} -> ${l.after} channels`);
    const skipped = channels.report.skipped.map((s) => `  op ${s.op} '${s.name}' kept: ${s.reason}`);
    console.log(`\nremoved output channels:\n${[...lines, ...skipped].join('\n') || '  (no prunable layer)'}`);
  }
  if (pruned) console.log(`\npruned to ${(100 * pruned.report.sparsity).toFixed(1)}% zero weights (${formatInt(pruned.report.zeros)} of ${formatInt(pruned.report.weights)})`);
  const io = (t: { name: string; shape: number[]; scale: number; zeroPoint: number }): string => `${t.name} [${t.shape.join('x')}] scale ${t.scale.toPrecision(6)} zero point ${t.zeroPoint}`;
  console.log(`\nwrote ${opts.out} (${formatInt(bytes.byteLength)} bytes, int8)\n  input:  ${q.result.inputs.map(io).join('\n          ')}\n  output: ${q.result.outputs.map(io).join('\n          ')}`);
  console.log(`next: tinyforge compile ${opts.out} --board <board> --out <dir>`);
}
