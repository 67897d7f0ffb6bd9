// `tinyforge listen`: a WAV file through the streaming pipeline on a board and on the host
// reference, the detection timelines side by side; exit 1 on any difference.

import { EXIT_MISMATCH } from '../../errors.ts';
import { resolveLabels } from '../../emit-ts/labels.ts';
import { listen, type ListenResult } from '../../stream/listen.ts';
import { timelineRows } from '../../stream/compare_events.ts';
import type { ParsedStreamOptions } from '../../stream/stream_cli_options.ts';
import { formatInt, table } from '../format.ts';
import { setJsonResult } from '../json_output.ts';

export interface ListenCommandOptions {
  frontend: string;
  model: string;
  board: string;
  chunkMs?: number;
  prefix?: string;
  labels?: string;
  labelsFile?: string;
  json?: boolean;
  stream: ParsedStreamOptions;
}

function cost(r: ListenResult): string {
  const c = r.cost;
  const f = c.frontendPerFrame;
  const k = c.classifierPerInvoke;
  const parts = [
    f ? `front end ${formatInt(f.mean)} ${c.unit} per ${r.stream.config.windowSamples}-sample frame (max ${formatInt(f.max)}, ${f.count} frames)` : 'no frame',
    k ? `classifier ${formatInt(k.mean)} per invoke (max ${formatInt(k.max)}, ${k.count} invokes)` : 'no classifier invoke',
    c.perHop !== null ? `${formatInt(c.perHop)} per ${c.hopMs} ms hop` : '',
    c.realTimeFactor !== null ? `real-time factor ${c.realTimeFactor.toFixed(3)}` : '',
  ].filter((s) => s !== '');
  return `${parts.join('; ')}. ${c.how}.`;
}

/** Returns the exit code: 0 when device and host agree on every event, else 1. */
export async function listenCommand(wav: string, opts: ListenCommandOptions): Promise<number> {
  const labels = resolveLabels(opts);
  const r = await listen(wav, {
    ...opts.stream,
    frontend: opts.frontend,
    model: opts.model,
    board: opts.board,
    ...(opts.chunkMs !== undefined ? { chunkMs: opts.chunkMs } : {}),
    ...(opts.prefix !== undefined ? { prefix: opts.prefix } : {}),
    ...(labels ? { labels } : {}),
  });
  const code = r.match ? 0 : EXIT_MISMATCH;
  const failure = r.match ? undefined : `${r.differenceCount} stream event(s) differ between ${r.board} and the host reference: ${r.differences[0] ?? ''}`;
  if (opts.json) {
    setJsonResult(r, failure);
    return code;
  }
  console.log(`${r.wav}: ${formatInt(r.samples)} samples at ${r.sampleRate} Hz, fed to ${r.board} (${r.transport}) in chunks of ${r.chunkSamples} samples; ${r.frames} frames, ${r.invokes} classifier invokes`);
  const rows = timelineRows(r.host.detections, r.detections);
  console.log('');
  console.log(rows.length === 0 ? 'no detections on either side' : table(['time ms', 'host reference', r.board], rows.map((x) => [x.time_ms, x.host, x.device])));
  console.log('');
  console.log(`per-frame cost on ${r.board}: ${cost(r)}`);
  console.log('');
  if (r.match) console.log(`match: every feature row (${r.host.frames}), score (${r.host.invokes}) and detection equals the host reference`);
  else {
    console.log(`MISMATCH: ${r.differenceCount} event(s) differ`);
    for (const d of r.differences) console.log(`  ${d}`);
  }
  if (failure) process.stderr.write(`error: ${failure}\n`);
  return code;
}
