// Progress and diagnostic lines of the CLI. They go to standard error so that standard output
// carries only a command's result (tables, JSON). `--quiet` silences info and verbose lines,
// `--verbose` adds verbose ones; warnings and errors always print.

import { colorsFor, type Colors } from './color.ts';

export type LogLevel = 'quiet' | 'normal' | 'verbose';

interface LogSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

let level: LogLevel = 'normal';
let sink: LogSink = process.stderr;
let colors: Colors = colorsFor(process.stderr);

export function setLogLevel(l: LogLevel): void {
  level = l;
}

export function logLevel(): LogLevel {
  return level;
}

export function isQuiet(): boolean {
  return level === 'quiet';
}

export function isVerbose(): boolean {
  return level === 'verbose';
}

/** Redirects the log (tests); returns a function that restores the previous sink. */
export function setLogSink(s: LogSink): () => void {
  const previous = { sink, colors };
  sink = s;
  colors = colorsFor(s);
  return () => {
    sink = previous.sink;
    colors = previous.colors;
  };
}

function emit(text: string): void {
  sink.write(text.endsWith('\n') ? text : `${text}\n`);
}

export const log = {
  /** A progress or status line ("building for host…"); hidden by --quiet. */
  info(message: string): void {
    if (level !== 'quiet') emit(message);
  },
  /** Detail only wanted with --verbose (tool paths, timings, where a setting came from). */
  verbose(message: string): void {
    if (level === 'verbose') emit(colors.dim(message));
  },
  /** Something the user should know about even with --quiet. */
  warn(message: string): void {
    emit(`${colors.yellow('warning:')} ${message}`);
  },
  /** A failure; always printed. */
  error(message: string): void {
    emit(`${colors.red('error:')} ${message}`);
  },
};
