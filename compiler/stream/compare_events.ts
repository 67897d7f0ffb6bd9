// Comparing a device's stream events with the host reference's, and the detection timeline both
// print side by side.

import type { FeedEvent } from '../../flasher/protocol/feed.ts';
import type { StreamConfig } from './stream_config.ts';
import type { StreamEvent } from './stream_reference.ts';

export interface TimelineDetection {
  time_ms: number;
  label: string;
  /** The averaged score as a probability (score units times the output scale). */
  score: number;
}

export function timelineOf(events: readonly (StreamEvent | FeedEvent)[], c: StreamConfig): TimelineDetection[] {
  return events.flatMap((e) => (e.kind === 'detection' ? [{ time_ms: e.timeMs, label: c.labels[e.label] ?? `class${e.label}`, score: e.score * c.scoreScale }] : []));
}

const list = (a: ArrayLike<number>): string => `[${Array.from(a).join(', ')}]`;

function describeEvent(e: StreamEvent | FeedEvent | undefined, c: StreamConfig): string {
  if (e === undefined) return 'nothing';
  switch (e.kind) {
    case 'features':
      return `features of frame ${e.frame}`;
    case 'scores':
      return `invoke ${e.invoke} (frame ${e.frame}, ${e.timeMs} ms) scores ${list(e.scores)} averaged ${list(e.averaged)}`;
    case 'detection':
      return `detection of "${c.labels[e.label] ?? e.label}" at ${e.timeMs} ms (score ${e.score})`;
  }
}

/** The first byte where two feature rows differ, or -1. */
function firstByteDifference(a: Int8Array, b: Int8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  return a.findIndex((v, i) => v !== b[i]);
}

function sameEvent(a: StreamEvent | FeedEvent, b: StreamEvent | FeedEvent): string | undefined {
  if (a.kind !== b.kind) return 'different kinds';
  if (a.kind === 'features' && b.kind === 'features') {
    if (a.frame !== b.frame) return `frame ${a.frame} vs ${b.frame}`;
    const i = firstByteDifference(a.features, b.features);
    return i < 0 ? undefined : `feature ${i}: host ${a.features[i]}, device ${b.features[i]}`;
  }
  if (a.kind === 'scores' && b.kind === 'scores') {
    const same = a.invoke === b.invoke && a.frame === b.frame && a.timeMs === b.timeMs && list(a.scores) === list(b.scores) && list(a.averaged) === list(b.averaged);
    return same ? undefined : 'scores differ';
  }
  if (a.kind === 'detection' && b.kind === 'detection') {
    return a.invoke === b.invoke && a.timeMs === b.timeMs && a.label === b.label && a.score === b.score ? undefined : 'detections differ';
  }
  return 'different kinds';
}

/** Every difference between the host's and the device's events, in stream order (at most `limit`). */
export function compareStreamEvents(host: readonly StreamEvent[], device: readonly FeedEvent[], c: StreamConfig, limit = 10): { differences: string[]; count: number } {
  const differences: string[] = [];
  let count = 0;
  const n = Math.max(host.length, device.length);
  for (let i = 0; i < n; i++) {
    const h = host[i];
    const d = device[i];
    const why = h === undefined || d === undefined ? 'missing' : sameEvent(h, d);
    if (why === undefined) continue;
    count++;
    if (differences.length < limit) differences.push(`event ${i}: host ${describeEvent(h, c)}, device ${describeEvent(d, c)}${why === 'missing' || why === 'different kinds' ? '' : ` (${why})`}`);
  }
  return { differences, count };
}

/** Rows of the side-by-side timeline: every time at which either side detected something. */
export function timelineRows(host: readonly TimelineDetection[], device: readonly TimelineDetection[]): { time_ms: number; host: string; device: string }[] {
  const times = [...new Set([...host.map((d) => d.time_ms), ...device.map((d) => d.time_ms)])].sort((a, b) => a - b);
  const at = (xs: readonly TimelineDetection[], t: number): string => {
    const d = xs.find((x) => x.time_ms === t);
    return d === undefined ? '-' : `${d.label} (${d.score.toFixed(3)})`;
  };
  return times.map((t) => ({ time_ms: t, host: at(host, t), device: at(device, t) }));
}
