// tinyforge's programmatic API: what `import { compile } from 'tinyforge'` gives. The CLI is a
// thin layer over these functions; each one's result is the `result` of the matching `--json`.
//
//   import { compile, validate, boards } from 'tinyforge';
//   const summary = await compile('model.tflite', { board: 'nucleo-f446re', out: 'out/model' });
//   const check = await validate('model.tflite', { target: 'host', random: 8 });
//
// Errors a user can act on (a model tinyforge cannot compile, a model that does not fit, an
// unknown board, a missing tool) are thrown as TinyforgeError with a one-line message and the
// exit code the CLI would use.

import { loadBoards } from './boards/load_boards.ts';
import type { Board } from './boards/board_schema.ts';

export { compile, DEFAULT_BOARD, type CompileOptions, type CompileResult } from './api/compile.ts';
export { validate, type DeviceInfo, type ValidateCase, type ValidateOptions, type ValidateProgress, type ValidateResult } from './api/validate.ts';
export { bench, type BenchOptions, type BenchResult } from './api/bench.ts';
export type { LayerCount, ModelProfile } from './api/profile.ts';
export { loadModel, compileModel, type CompiledModel, type CompileSummary, type IoSummary, type LayerSummary, type LoadedModel } from './compile.ts';
export { findBoard } from './boards/load_boards.ts';
export type { Board } from './boards/board_schema.ts';
export type { Counting, CountUnit } from './boards/counting.ts';
export type { CaseResult, OutputComparison } from './validate/compare.ts';
export { EXIT_DEVICE_ERROR, EXIT_MISMATCH, EXIT_OK, EXIT_USER_ERROR, ModelError, TinyforgeError, ToolError } from './errors.ts';
export type { JsonEnvelope, JsonError } from './cli/json_output.ts';
export { TOOL_VERSION as version } from './version.ts';

/** Every board tinyforge knows (the files in boards/), sorted by id. */
export function boards(): Board[] {
  return loadBoards();
}
