// When tinyforge colours its output, decided explicitly per stream.
//
// picocolors' default export decides once, at import, from stdout alone: colour unless NO_COLOR
// is set or `--no-color` is in argv, and then when FORCE_COLOR or `--color` is given, on Windows,
// when stdout is a TTY and TERM is not "dumb", or whenever CI is set (even into a pipe). We want
// colour only on a terminal, judged for the stream being written, and never with NO_COLOR, so we
// build our own formatters with picocolors' createColors().

import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

interface StreamLike {
  isTTY?: boolean;
}

/**
 * True when text written to `stream` may carry ANSI colours: the stream is a TTY, NO_COLOR is
 * unset or empty (https://no-color.org), and TERM is not "dumb".
 */
export function colorEnabled(stream: StreamLike, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/** Formatters for a stream; plain pass-through functions when colour is off. */
export function colorsFor(stream: StreamLike, env: NodeJS.ProcessEnv = process.env): Colors {
  return pc.createColors(colorEnabled(stream, env));
}

/** For text written to standard output (tables, summaries). */
export const stdoutColors: Colors = colorsFor(process.stdout);
/** For text written to standard error (errors, warnings, progress). */
export const stderrColors: Colors = colorsFor(process.stderr);
