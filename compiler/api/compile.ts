// compile(): a model file (or a loaded model) -> the C module for a board, checked for fit.
// What `tinyforge compile` runs and prints; its result is the `result` of `compile --json`.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkFitsBoard } from '../boards/fit.ts';
import { findBoard } from '../boards/load_boards.ts';
import { compileModel, isaForBoard, loadModel, writeCModule, type CompiledModel, type CompileSummary, type LoadedModel } from '../compile.ts';

export const DEFAULT_BOARD = 'qemu-mps2-an386';

export interface CompileOptions {
  /** Board id (see boards()); decides the kernel layouts and the flash/RAM budget. Default qemu-mps2-an386. */
  board?: string;
  /** Directory for <prefix>.c and <prefix>.h (and <prefix>.ts); nothing is written without it. */
  out?: string;
  /** C symbol prefix; default: from the model file name. */
  prefix?: string;
  /** Also emit <prefix>.ts, the typed companion (loads ts-morph). Implied by labels. */
  ts?: boolean;
  /** Class labels of output 0 for the companion, comma-separated. */
  labels?: string;
  /** A file with the class labels: one per line, or a JSON array. */
  labelsFile?: string;
  /**
   * A WordPiece vocabulary (docs/tokenizer.md) for a text model (int32 token ids [1, T] in): also
   * writes <prefix>_tokenizer.c/.h with <prefix>_tokenize and <prefix>_classify_text.
   */
  vocab?: string;
}

export interface CompileResult extends CompileSummary {
  /** The board id the module was checked against. */
  board: string;
  /** Constants in flash: weights, biases, requantization tables, as laid out (bytes). */
  flashBytesEstimate: number;
  /** Arena (with the inputs planned in it) plus caller-owned I/O buffers (bytes). */
  ramBytesEstimate: number;
  /** The board's flash and RAM sizes (bytes). */
  flashBudgetBytes: number;
  ramBudgetBytes: number;
  /** Absolute paths of the files written (empty without `out`). */
  files: string[];
  /** With `vocab`: the generated tokenizer (its vocabulary tables are in flashBytesEstimate). */
  tokenizer?: { vocabSize: number; seqLen: number; flashBytes: number };
}

/**
 * Compiles a .tflite model for a board. Throws a TinyforgeError (one-line message) for a model
 * tinyforge cannot compile or that does not fit the board; nothing is written then.
 */
export async function compile(model: string | LoadedModel, options: CompileOptions = {}): Promise<CompileResult> {
  return (await compileWithModel(model, options)).result;
}

/** compile() that also returns the compiled model, for the CLI and tools that go on to build. */
export async function compileWithModel(model: string | LoadedModel, options: CompileOptions = {}): Promise<{ compiled: CompiledModel; result: CompileResult }> {
  const { compiled, result } = compileForBoard(model, options);
  // The companion needs ts-morph: loaded only when asked for.
  const wantsTs = options.ts === true || options.labels !== undefined || options.labelsFile !== undefined;
  const companion = wantsTs ? (await import('../emit-ts/write_companion.ts')).prepareTsCompanion(compiled, options) : undefined;
  // The tokenizer is checked against the model before anything is written.
  const tokenizer = options.vocab === undefined ? undefined : await prepareTokenizer(compiled, options.vocab);
  if (tokenizer) {
    result.tokenizer = tokenizer.summary;
    result.flashBytesEstimate += tokenizer.summary.flashBytes;
  }
  if (options.out !== undefined) {
    result.files.push(...writeCModule(compiled, options.out).files);
    if (companion) result.files.push(companion.write(options.out));
    if (tokenizer) result.files.push(...tokenizer.write(options.out));
  }
  return { compiled, result };
}

async function prepareTokenizer(compiled: CompiledModel, vocabFile: string): Promise<{ summary: NonNullable<CompileResult['tokenizer']>; write(out: string): string[] }> {
  const { readVocabulary } = await import('../text/tokenizer.ts');
  const { emitTokenizer, textModelShape } = await import('../text/tokenizer_c.ts');
  const vocab = readVocabulary(vocabFile);
  const shape = textModelShape(compiled.model.graph, vocab);
  const files = emitTokenizer(compiled.prefix, vocab, shape);
  return {
    summary: { vocabSize: vocab.tokens.length, seqLen: shape.seqLen, flashBytes: files.flashBytes },
    write(out) {
      const header = path.resolve(out, `${compiled.prefix}_tokenizer.h`);
      const source = path.resolve(out, `${compiled.prefix}_tokenizer.c`);
      mkdirSync(out, { recursive: true });
      writeFileSync(header, files.header);
      writeFileSync(source, files.source);
      return [header, source];
    },
  };
}

function compileForBoard(model: string | LoadedModel, options: CompileOptions): { compiled: CompiledModel; result: CompileResult } {
  const board = findBoard(options.board ?? DEFAULT_BOARD);
  const loaded = typeof model === 'string' ? loadModel(model) : model;
  // Kernel layouts for the board's ISA (Helium layouts on the Cortex-M55).
  const compiled = compileModel(loaded, { ...(options.prefix === undefined ? {} : { prefix: options.prefix }), isa: isaForBoard(board) });
  const fit = checkFitsBoard(compiled, board);
  return {
    compiled,
    result: {
      ...compiled.summary,
      board: board.id,
      flashBytesEstimate: fit.flashBytes,
      ramBytesEstimate: fit.ramBytes,
      flashBudgetBytes: board.memory.flash.size,
      ramBudgetBytes: board.memory.ram.size,
      files: [],
    },
  };
}
