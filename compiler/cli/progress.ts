// Progress bars with rate and ETA for long CLI steps, over cli-progress. A bar draws only on a
// terminal (standard error), and never with --quiet or --json; otherwise every method is a no-op,
// so commands can call them unconditionally.
//
//   const progress = createProgress({ json: opts.json });
//   progress.start(cases.length, 'running cases', 'cases');
//   for (...) { ...; progress.update(i + 1); }
//   progress.stop();

import cliProgress from 'cli-progress';
import { isQuiet } from './log.ts';

export interface Progress {
  /** True when this bar draws (a TTY, not quiet, not JSON). */
  readonly enabled: boolean;
  /** Starts (or restarts) the bar at 0 of `total`; `unit` is used for the rate ("cases/s"). */
  start(total: number, label: string, unit?: string): void;
  /** Sets the current value, optionally with a new label. */
  update(value: number, label?: string): void;
  increment(delta?: number): void;
  /** Removes the bar; safe to call more than once and when never started. */
  stop(): void;
}

interface ProgressStream extends NodeJS.WritableStream {
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** The command prints JSON: no bar. */
  json?: boolean;
  /** Defaults to the global --quiet. */
  quiet?: boolean;
  /** Where to draw; standard error by default. */
  stream?: ProgressStream;
}

/** Items per second, with two significant digits below 10. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '-';
  return perSecond >= 10 ? Math.round(perSecond).toString() : perSecond.toPrecision(2);
}

export function progressEnabled(opts: ProgressOptions = {}): boolean {
  const stream = opts.stream ?? process.stderr;
  return stream.isTTY === true && !(opts.quiet ?? isQuiet()) && !opts.json;
}

const NOOP: Progress = {
  enabled: false,
  start() {},
  update() {},
  increment() {},
  stop() {},
};

export function createProgress(opts: ProgressOptions = {}): Progress {
  if (!progressEnabled(opts)) return NOOP;
  const stream = opts.stream ?? process.stderr;
  let bar: cliProgress.SingleBar | undefined;
  let startedAt = 0;
  let value = 0;
  let label = '';
  let unit = '';

  const payload = (): { label: string; rate: string } => {
    const seconds = (Date.now() - startedAt) / 1000;
    return { label, rate: `${formatRate(seconds > 0 ? value / seconds : 0)} ${unit}/s` };
  };

  const stop = (): void => {
    if (!bar) return;
    bar.stop();
    bar = undefined;
  };
  const update = (newValue: number, newLabel?: string): void => {
    if (!bar) return;
    value = newValue;
    if (newLabel !== undefined) label = newLabel;
    bar.update(newValue, payload());
  };

  return {
    enabled: true,
    start(total: number, newLabel: string, newUnit = 'items') {
      stop();
      label = newLabel;
      unit = newUnit;
      value = 0;
      startedAt = Date.now();
      bar = new cliProgress.SingleBar({
        stream,
        format: '{label} [{bar}] {value}/{total} | {rate} | ETA {eta_formatted}',
        barsize: 24,
        hideCursor: false,
        clearOnComplete: true,
        etaBuffer: 20,
        fps: 10,
      });
      bar.start(total, 0, payload());
    },
    update,
    increment(delta = 1) {
      update(value + delta);
    },
    stop,
  };
}
