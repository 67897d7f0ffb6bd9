// Paths to the read-only shared models and golden data next to the repository.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileModel, loadModel, type CompiledModel } from '../../compiler/compile.ts';
import { loadGolden, type GoldenSet } from '../../compiler/validate/golden.ts';

export const SHARED_DIR = fileURLToPath(new URL('../../../shared/', import.meta.url));
export const MODELS_DIR = `${SHARED_DIR}models/`;
export const GOLDEN_DIR = `${SHARED_DIR}golden/`;

export const SHARED_MODELS = ['hello_world_int8', 'micro_speech', 'ad_autoencoder', 'kws_dscnn', 'ic_resnet8', 'vww_mobilenet'] as const;
export type SharedModel = (typeof SHARED_MODELS)[number];

export function modelPath(name: SharedModel): string {
  return `${MODELS_DIR}${name}.tflite`;
}

export function goldenDir(name: SharedModel): string {
  return `${GOLDEN_DIR}${name}`;
}

if (!existsSync(MODELS_DIR)) {
  throw new Error(`shared models not found at ${MODELS_DIR}: tests need ../shared next to the repository`);
}

const cache = new Map<SharedModel, { compiled: CompiledModel; golden: GoldenSet }>();

/** Compiled model and golden cases, loaded once per test file. */
export function sharedModel(name: SharedModel): { compiled: CompiledModel; golden: GoldenSet } {
  let entry = cache.get(name);
  if (!entry) {
    entry = { compiled: compileModel(loadModel(modelPath(name))), golden: loadGolden(goldenDir(name)) };
    cache.set(name, entry);
  }
  return entry;
}

/** The first differing byte of two output lists, for assertion messages; undefined when equal. */
export function firstDifference(expected: readonly Uint8Array[], actual: readonly Uint8Array[]): string | undefined {
  if (expected.length !== actual.length) return `${actual.length} outputs instead of ${expected.length}`;
  for (let o = 0; o < expected.length; o++) {
    const e = expected[o] as Uint8Array;
    const a = actual[o] as Uint8Array;
    if (e.byteLength !== a.byteLength) return `output ${o}: ${a.byteLength} bytes instead of ${e.byteLength}`;
    for (let i = 0; i < e.byteLength; i++) {
      if (e[i] !== a[i]) return `output ${o}[${i}]: expected ${((e[i] as number) << 24) >> 24}, got ${((a[i] as number) << 24) >> 24}`;
    }
  }
  return undefined;
}
