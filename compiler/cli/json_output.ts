// The one JSON shape every `--json` prints on standard output:
//
//   { "tool": "tinyforge", "version": "0.1.0", "command": "compile", "ok": true,
//     "result": { ... }, "error": null }
//
// `ok` is true exactly when the command exits with 0. `result` is what the command produced
// (also when it reports a failure of what it checked, such as a validation mismatch), or null
// when it stopped with an error before producing anything. `error` is null when ok, else
// { message, exitCode } with the same one line that goes to standard error. Commands hand their
// result to setJsonResult(); the CLI's entry point writes the envelope once, after the command
// finished or failed, so that every --json run prints exactly one JSON document.

import { TOOL_VERSION } from '../version.ts';

export interface JsonError {
  message: string;
  /** The process exit code: 1 validation mismatch, 2 user error, 3 tool or device error. */
  exitCode: number;
}

export interface JsonEnvelope<T = unknown> {
  tool: 'tinyforge';
  version: string;
  command: string;
  ok: boolean;
  result: T | null;
  error: JsonError | null;
}

let pending: { result: unknown; failure?: string } | undefined;

/**
 * The command's result for the JSON envelope. `failure` is the one-line reason when the command
 * finishes with a non-zero exit code without throwing (e.g. "2 of 8 cases differ").
 */
export function setJsonResult(result: unknown, failure?: string): void {
  pending = { result, ...(failure === undefined ? {} : { failure }) };
}

/** Takes (and clears) what the command set. */
export function takeJsonResult(): { result: unknown; failure?: string } | undefined {
  const p = pending;
  pending = undefined;
  return p;
}

export function jsonEnvelope<T>(command: string, exitCode: number, result: T | null, errorMessage?: string): JsonEnvelope<T> {
  return {
    tool: 'tinyforge',
    version: TOOL_VERSION,
    command,
    ok: exitCode === 0,
    result,
    error: exitCode === 0 ? null : { message: errorMessage ?? `exit code ${exitCode}`, exitCode },
  };
}

export function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
