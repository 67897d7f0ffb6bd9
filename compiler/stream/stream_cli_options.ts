// The streaming pipeline's command-line options, shared by `compile --frontend` and `listen`:
// declared once with their defaults (for --help) and parsed into StreamOptions.

import { Option, type Command } from 'commander';
import { TinyforgeError } from '../errors.ts';
import type { StreamOptions } from './stream_config.ts';
import { STREAM_DEFAULTS } from './stream_defaults.ts';

/** The options as commander hands them over (strings). */
export interface StreamCliOptions {
  strideMs?: string;
  sampleRate?: string;
  classifyEvery?: string;
  averageMs?: string;
  threshold?: string;
  suppressionMs?: string;
}

/** The parsed options (labels come from --labels / --labels-file). */
export type ParsedStreamOptions = Omit<StreamOptions, 'labels'>;

/** `sampleRateDefault` describes the sample rate's default where it is not STREAM_DEFAULTS' (listen: the WAV's). */
export function addStreamOptions(cmd: Command, sampleRateDefault = String(STREAM_DEFAULTS.sampleRate)): Command {
  const d = STREAM_DEFAULTS;
  return cmd
    .addOption(new Option('--stride-ms <ms>', `hop between front-end windows (default ${d.strideMs})`))
    .addOption(new Option('--sample-rate <hz>', `sample rate of the PCM (default ${sampleRateDefault})`))
    .addOption(new Option('--classify-every <n>', `run the classifier every n frames once the feature window is full (default ${d.classifyEvery})`))
    .addOption(new Option('--average-ms <ms>', `posterior smoothing: average the scores of the invokes within this time (default ${d.averageMs}; at least one invoke)`))
    .addOption(new Option('--threshold <p>', `detect a keyword when its averaged score reaches this probability (default ${d.threshold})`))
    .addOption(new Option('--suppression-ms <ms>', `no detection within this time after one (default ${d.suppressionMs})`));
}

function number(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new TinyforgeError(`${flag} '${v}': expected a number`);
  return n;
}

export function parseStreamOptions(o: StreamCliOptions): ParsedStreamOptions {
  const entries = {
    strideMs: number('--stride-ms', o.strideMs),
    sampleRate: number('--sample-rate', o.sampleRate),
    classifyEvery: number('--classify-every', o.classifyEvery),
    averageMs: number('--average-ms', o.averageMs),
    threshold: number('--threshold', o.threshold),
    suppressionMs: number('--suppression-ms', o.suppressionMs),
  };
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined)) as ParsedStreamOptions;
}

/** Any stream option given without --frontend is a mistake worth one line. */
export function streamOptionGiven(o: StreamCliOptions): string | undefined {
  const flags: Record<keyof StreamCliOptions, string> = {
    strideMs: '--stride-ms',
    sampleRate: '--sample-rate',
    classifyEvery: '--classify-every',
    averageMs: '--average-ms',
    threshold: '--threshold',
    suppressionMs: '--suppression-ms',
  };
  return (Object.keys(flags) as (keyof StreamCliOptions)[]).filter((k) => o[k] !== undefined).map((k) => flags[k])[0];
}
