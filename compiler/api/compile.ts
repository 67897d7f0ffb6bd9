// compile(): a model file (or a loaded model) -> the C module for a board, checked for fit.
// What `tinyforge compile` runs and prints; its result is the `result` of `compile --json`.

import { checkEspIdfFit, type EspIdfFit } from '../boards/esp_idf_fit.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkFitsBoard } from '../boards/fit.ts';
import { findBoard } from '../boards/load_boards.ts';
import type { OptimizeGoal } from '../passes/select_kernels.ts';
import { parseAdaptLayer, type AdaptOptions } from '../adapt/split_head.ts';
import { TinyforgeError } from '../errors.ts';
import { arenaRegionsFor } from '../boards/regions.ts';
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
  /** Flash against speed: 'balanced' (default) widens the filters that gain most within a flash budget, 'speed' every GEMM filter, 'size' none. */
  optimize?: OptimizeGoal;
  /**
   * An audio front end (.tflite, int16 PCM window -> int8 features): compiles `model` as the
   * classifier of a streaming pipeline and also writes <prefix>_frontend.c/.h and
   * <prefix>_stream.c/.h (<prefix>_feed). Labels (labels / labelsFile) name the classes.
   */
  frontend?: string;
  /** Settings of the pipeline with `frontend` (defaults: compiler/stream/stream_defaults.ts). */
  stream?: import('../stream/stream_config.ts').StreamOptions;
  /** 'last': the last FULLY_CONNECTED becomes a head learned on the device (<prefix>_enroll). */
  adapt?: string;
  /** With adapt: classes the head holds (default: the replaced layer's output units). */
  adaptClasses?: number | string;
  /** With adapt: epochs of integer SGD after the class prototypes (0 = prototypes only; default compiler/adapt/head_learning.ts). */
  adaptEpochs?: number | string;
  /** With adapt: last enrolled examples kept for SGD (default compiler/adapt/head_learning.ts; 0 with 0 epochs). */
  adaptReplay?: number | string;
  /**
   * Put the whole arena in this RAM region of the board (ESP32-S3: `psram` or `dram`). Default:
   * split across the board's regions, hottest buffers in the fastest region that fits.
   */
  arenaIn?: string;
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
  /** With `frontend`: the pipeline (front end, settings). */
  stream?: import('../stream/compile_stream.ts').StreamSummary;
  /** ESP-IDF boards: the app partition and static-data fit (ESP-IDF's share estimated). */
  espIdfFit?: EspIdfFit;
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
  if (options.frontend !== undefined && compiled.head) throw new TinyforgeError('--frontend and --adapt do not combine yet: a streaming pipeline needs a fixed classifier');
  if (wantsTs && compiled.head) throw new TinyforgeError('--ts does not describe a learnable head yet: compile --adapt without --ts / --labels');
  const companion = wantsTs ? (await import('../emit-ts/write_companion.ts')).prepareTsCompanion(compiled, options) : undefined;
  const stream = options.frontend === undefined ? undefined : await compileStreamFor(compiled, options);
  // The tokenizer is checked against the model before anything is written.
  const tokenizer = options.vocab === undefined ? undefined : await prepareTokenizer(compiled, options.vocab);
  if (tokenizer) {
    result.tokenizer = tokenizer.summary;
    result.flashBytesEstimate += tokenizer.summary.flashBytes;
  }
  if (options.out !== undefined) {
    if (stream) result.files.push(...stream.write(options.out));
    else result.files.push(...writeCModule(compiled, options.out).files);
    if (companion) result.files.push(companion.write(options.out));
    if (tokenizer) result.files.push(...tokenizer.write(options.out));
  }
  if (stream) result.stream = stream.summary;
  return { compiled, result };
}

/** The streaming pipeline of `options.frontend` feeding `compiled`, checked against the board. */
async function compileStreamFor(compiled: CompiledModel, options: CompileOptions): Promise<{ summary: import('../stream/compile_stream.ts').StreamSummary; write: (dir: string) => string[] }> {
  const { compileStream, checkStreamFitsBoard, streamSummary, writeStreamModules } = await import('../stream/compile_stream.ts');
  const { resolveLabels } = await import('../emit-ts/labels.ts');
  const labels = resolveLabels(options);
  const s = compileStream(options.frontend as string, compiled, { ...options.stream, ...(labels ? { labels } : {}) });
  checkStreamFitsBoard(s, findBoard(options.board ?? DEFAULT_BOARD));
  return { summary: streamSummary(s), write: (dir) => writeStreamModules(s, dir) };
}

/** A whole-number CLI value (the range is checked where the setting is used). */
function wholeNumber(flag: string, v: number | string): number {
  const n = typeof v === 'number' ? v : /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw new TinyforgeError(`${flag} wants a whole number, not '${v}'`);
  return n;
}

function adaptOptions(options: CompileOptions): AdaptOptions | undefined {
  if (options.adapt === undefined) {
    const stray = ([['--adapt-classes', options.adaptClasses], ['--adapt-epochs', options.adaptEpochs], ['--adapt-replay', options.adaptReplay]] as const).find(([, v]) => v !== undefined);
    if (stray) throw new TinyforgeError(`${stray[0]} goes with --adapt last`);
    return undefined;
  }
  const layer = parseAdaptLayer(options.adapt);
  const classes = options.adaptClasses === undefined ? undefined : typeof options.adaptClasses === 'number' ? options.adaptClasses : /^\s*\d+\s*$/.test(options.adaptClasses) ? Number(options.adaptClasses) : NaN;
  if (classes !== undefined && !Number.isInteger(classes)) throw new TinyforgeError(`--adapt-classes wants a class count, not '${options.adaptClasses}'`);
  const learning = {
    ...(options.adaptEpochs === undefined ? {} : { epochs: wholeNumber('--adapt-epochs', options.adaptEpochs) }),
    ...(options.adaptReplay === undefined ? {} : { replay: wholeNumber('--adapt-replay', options.adaptReplay) }),
  };
  return { layer, ...(classes === undefined ? {} : { classes }), ...(Object.keys(learning).length > 0 ? { learning } : {}) };
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
  const adapt = adaptOptions(options);
  const regions = arenaRegionsFor(board, options.arenaIn);
  const compiled = compileModel(loaded, {
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    isa: isaForBoard(board),
    ...(options.optimize ? { optimize: options.optimize } : {}),
    ...(regions === undefined ? {} : { regions }),
    ...(adapt ? { adapt } : {}),
  });
  const fit = checkFitsBoard(compiled, board);
  // ESP-IDF boards: the app partition in the flash chip and the static-data limit of internal RAM.
  const espIdfFit = board.project === 'esp-idf' ? checkEspIdfFit(compiled, board) : undefined;
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
      ...(espIdfFit === undefined ? {} : { espIdfFit }),
    },
  };
}
