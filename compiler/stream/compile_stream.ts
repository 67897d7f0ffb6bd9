// A (front end, classifier) pair compiled as one streaming pipeline: both C modules plus
// <prefix>_stream.c/.h. The classifier keeps the pipeline's prefix; the front end gets
// <prefix>_frontend, so that both link into one image.

import path from 'node:path';
import { writeFileSync } from 'node:fs';
import type { Board } from '../boards/board_schema.ts';
import { estimateFootprint } from '../boards/fit.ts';
import { compileModel, loadModel, writeCModule, type CompiledModel, type CompileOptions as ModelCompileOptions, type LoadedModel } from '../compile.ts';
import { TinyforgeError } from '../errors.ts';
import { TOOL_VERSION } from '../version.ts';
import { emitStreamHeader, emitStreamSource, type StreamModules } from './emit_stream_c.ts';
import { streamConfig, type StreamConfig, type StreamOptions } from './stream_config.ts';

export interface CompiledStream {
  prefix: string;
  frontend: CompiledModel;
  classifier: CompiledModel;
  config: StreamConfig;
}

/** The stream's summary in `compile --json` (result.stream) and `listen --json`. */
export interface StreamSummary {
  prefix: string;
  frontend: { model: string; prefix: string; arenaBytes: number; stateBytes: number; flashBytes: number };
  config: StreamConfig;
}

/** Compiles the classifier (with `options`, prefix included) and the front end as `<prefix>_frontend`. */
export function compileStream(frontend: string | LoadedModel, classifier: string | LoadedModel | CompiledModel, streamOptions: StreamOptions, options: ModelCompileOptions = {}): CompiledStream {
  const cls = typeof classifier === 'string' ? compileModel(loadModel(classifier), options) : 'summary' in classifier ? classifier : compileModel(classifier, options);
  const pre = compileModel(typeof frontend === 'string' ? loadModel(frontend) : frontend, { ...cls.options, prefix: `${cls.prefix}_frontend` });
  return { prefix: cls.prefix, frontend: pre, classifier: cls, config: streamConfig(pre, cls, streamOptions) };
}

export function streamSummary(s: CompiledStream): StreamSummary {
  return {
    prefix: s.prefix,
    frontend: { model: s.frontend.summary.model, prefix: s.frontend.prefix, arenaBytes: s.frontend.summary.arenaBytes, stateBytes: s.frontend.summary.stateBytes, flashBytes: s.frontend.summary.flashBytes },
    config: s.config,
  };
}

/** Both models' constants and RAM together against the board (the classifier alone was checked already). */
export function checkStreamFitsBoard(s: CompiledStream, board: Board): { flashBytes: number; ramBytes: number } {
  const a = estimateFootprint(s.frontend);
  const b = estimateFootprint(s.classifier);
  // Stream buffers: the PCM window, the feature ring, the window (unless in the classifier's arena), the smoothing history.
  const c = s.config;
  const windowCopy = streamModules(s).classifierInputInArena ? 0 : c.featureRows * c.featureBytes;
  const streamRam = 2 * c.windowSamples + c.featureRows * c.featureBytes + windowCopy + 4 * c.averageCount * c.labels.length + 64;
  const total = { flashBytes: a.flashBytes + b.flashBytes, ramBytes: a.ramBytes + b.ramBytes + streamRam };
  if (total.flashBytes > board.memory.flash.size || total.ramBytes > board.memory.ram.size) {
    throw new TinyforgeError(
      `the pipeline ${s.frontend.summary.model} + ${s.classifier.summary.model} does not fit ${board.id}: ${total.flashBytes} flash bytes of constants (board ${board.memory.flash.size}), ${total.ramBytes} RAM bytes (board ${board.memory.ram.size})`,
    );
  }
  return total;
}

export function streamModules(s: CompiledStream): StreamModules {
  return {
    prefix: s.prefix,
    frontendPrefix: s.frontend.prefix,
    classifierPrefix: s.classifier.prefix,
    toolVersion: TOOL_VERSION,
    description: `${s.frontend.summary.model} -> ${s.classifier.summary.model}`,
    classifierInputInArena: s.classifier.plan.storageOf.get(s.classifier.model.graph.inputs[0] as number)?.kind === 'arena',
  };
}

/** Writes <frontend>.c/.h, <classifier>.c/.h and <prefix>_stream.c/.h into `dir`; returns the files. */
export function writeStreamModules(s: CompiledStream, dir: string): string[] {
  const files = [...writeCModule(s.frontend, dir).files, ...writeCModule(s.classifier, dir).files];
  const header = path.join(dir, `${s.prefix}_stream.h`);
  const source = path.join(dir, `${s.prefix}_stream.c`);
  writeFileSync(header, emitStreamHeader(s.config, streamModules(s)));
  writeFileSync(source, emitStreamSource(s.config, streamModules(s)));
  return [...files, header, source];
}
