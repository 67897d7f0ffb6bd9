// The shared real-world corpus (../shared/corpus): which models have a TFLite Micro golden
// folder, and what compiling each one gives (the compiled model, or the one-line reason it does
// not compile). Compilation is cached per process: the corpus test compiles every model for its
// floor check and again for each model it runs.

import { existsSync, readdirSync } from 'node:fs';
import { compileModel, loadModel, type CompiledModel } from '../../compiler/compile.ts';
import { SHARED_DIR } from './shared.ts';

export const CORPUS_DIR = `${SHARED_DIR}corpus/`;
export const CORPUS_MODELS_DIR = `${CORPUS_DIR}models/`;
export const CORPUS_GOLDEN_DIR = `${CORPUS_DIR}golden/`;

/** Stems of the corpus models that have a golden folder (models TFLite Micro itself runs), sorted. */
export function corpusModelsWithGolden(): string[] {
  return readdirSync(CORPUS_MODELS_DIR)
    .filter((f) => f.endsWith('.tflite'))
    .map((f) => f.slice(0, -'.tflite'.length))
    .filter((stem) => existsSync(`${CORPUS_GOLDEN_DIR}${stem}/manifest.json`))
    .sort();
}

export interface CompileAttempt {
  stem: string;
  /** DSP layouts (the M4 and host builds). */
  dsp?: CompiledModel;
  /** Helium layouts (the M55 build). */
  mve?: CompiledModel;
  /** Why it does not compile: the error's first line without the model path or the supported-op list. */
  reason?: string;
}

/** An error message as one short line for a summary table (the model is named by the row). */
export function oneLineReason(e: unknown, modelPath: string, stem: string): string {
  const first = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
  let line = first.trim();
  for (const prefix of [`${modelPath}: `, `${stem}: `]) if (line.startsWith(prefix)) line = line.slice(prefix.length);
  line = line.replace(/ \(supported: [^)]*\)$/, '');
  // Some converters name tensors after every op fused into them (hundreds of characters).
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

const attempts = new Map<string, CompileAttempt>();

/** Compiles `stem` for both instruction sets (once per process); never throws. */
export function attemptCompile(stem: string): CompileAttempt {
  let a = attempts.get(stem);
  if (!a) {
    const file = `${CORPUS_MODELS_DIR}${stem}.tflite`;
    try {
      const model = loadModel(file);
      a = { stem, dsp: compileModel(model, { isa: 'dsp' }), mve: compileModel(model, { isa: 'mve' }) };
    } catch (e) {
      a = { stem, reason: oneLineReason(e, file, stem) };
    }
    attempts.set(stem, a);
  }
  return a;
}
