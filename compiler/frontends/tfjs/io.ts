// Local-file model artifacts for TF.js in Node without tfjs-node (which has the only file:// handler).

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { io } from '@tensorflow/tfjs-core';
import { ModelError } from '../../errors.ts';

export interface LocalArtifacts {
  /** Path of model.json. */
  path: string;
  artifacts: io.ModelArtifacts;
  /** sha256 over model.json followed by every weight shard in manifest order. */
  sha256: string;
}

function readOrFail(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelError(file, code === 'ENOENT' ? `no such ${what}` : `cannot read ${what}: ${code ?? String(e)}`);
  }
}

const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2, int8: 1, int16: 2 };

/** Bytes the manifest's weights occupy in the shards (undefined when a string tensor makes it variable). */
function manifestBytes(specs: readonly io.WeightsManifestEntry[], where: string): number | undefined {
  let bytes = 0;
  for (const w of specs) {
    if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || w.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new ModelError(where, `weight entry ${JSON.stringify(w)?.slice(0, 80)} needs a name and a shape of non-negative integers`);
    }
    if (w.dtype === 'string') return undefined;
    const stored = w.quantization?.dtype ?? w.dtype;
    const per = DTYPE_BYTES[stored];
    if (per === undefined) throw new ModelError(where, `weight '${w.name}' has dtype '${stored}', which TF.js does not store`);
    bytes += per * w.shape.reduce((a, b) => a * b, 1);
  }
  return bytes;
}

/** Reads model.json and its weight shards (paths relative to model.json). */
export function readArtifacts(modelJsonPath: string): LocalArtifacts {
  const jsonBytes = readOrFail(modelJsonPath, 'model.json');
  let json: io.ModelJSON;
  try {
    json = JSON.parse(jsonBytes.toString('utf8')) as io.ModelJSON;
  } catch (e) {
    throw new ModelError(modelJsonPath, `not valid JSON: ${(e as Error).message}`);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology) throw new ModelError(modelJsonPath, 'not a TF.js model.json (no modelTopology)');
  const hash = createHash('sha256').update(jsonBytes);
  const specs: io.WeightsManifestEntry[] = [];
  const shards: Uint8Array[] = [];
  const manifest: unknown = json.weightsManifest ?? [];
  const isGroup = (g: unknown): boolean => typeof g === 'object' && g !== null && Array.isArray((g as { paths?: unknown }).paths) && Array.isArray((g as { weights?: unknown }).weights);
  if (!Array.isArray(manifest) || !manifest.every(isGroup)) {
    throw new ModelError(modelJsonPath, 'weightsManifest must be a list of {paths: [...], weights: [...]} groups');
  }
  for (const group of json.weightsManifest ?? []) {
    for (const p of group.paths) {
      const shard = readOrFail(path.resolve(path.dirname(modelJsonPath), p), `weight shard '${p}'`);
      hash.update(shard);
      shards.push(shard);
    }
    specs.push(...group.weights);
  }
  const total = shards.reduce((n, s) => n + s.byteLength, 0);
  const needed = manifestBytes(specs, modelJsonPath);
  if (needed !== undefined && needed !== total) {
    throw new ModelError(modelJsonPath, `the weight shards hold ${total} bytes but the weights in weightsManifest need ${needed}: a shard is truncated or belongs to another model`);
  }
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const s of shards) {
    weightData.set(s, at);
    at += s.byteLength;
  }
  const artifacts: io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    weightSpecs: specs,
    weightData: weightData.buffer,
  };
  if (json.signature !== undefined) artifacts.signature = json.signature;
  if (json.userDefinedMetadata !== undefined) artifacts.userDefinedMetadata = json.userDefinedMetadata;
  if (json.modelInitializer !== undefined) artifacts.modelInitializer = json.modelInitializer;
  if (json.trainingConfig !== undefined) artifacts.trainingConfig = json.trainingConfig;
  return { path: modelJsonPath, artifacts, sha256: hash.digest('hex') };
}

/** An IOHandler that loads already-read artifacts (loadGraphModel / loadLayersModel accept it). */
export function artifactsHandler(artifacts: io.ModelArtifacts): io.IOHandler {
  return { load: async () => artifacts };
}

/** Writes artifacts (e.g. captured with tf.io.withSaveHandler) as `dir/model.json` + `dir/weights.bin`. */
export function writeArtifacts(dir: string, artifacts: io.ModelArtifacts): string {
  mkdirSync(dir, { recursive: true });
  const data = artifacts.weightData;
  const buffers = data === undefined ? [] : Array.isArray(data) ? data : [data];
  const total = buffers.reduce((n, b) => n + b.byteLength, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const b of buffers) {
    bytes.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  const json: Record<string, unknown> = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.signature !== undefined) json['signature'] = artifacts.signature;
  writeFileSync(path.join(dir, 'weights.bin'), bytes);
  const file = path.join(dir, 'model.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}
