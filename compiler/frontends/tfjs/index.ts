// TF.js frontends: model.json (+ weight shards) -> FloatGraph. Quantize with compiler/quantize/ptq.ts.

import '@tensorflow/tfjs-backend-cpu';
import { env } from '@tensorflow/tfjs-core';
import { ModelError, TinyforgeError } from '../../errors.ts';
import path from 'node:path';
import type { FloatGraph } from './float_graph.ts';
import { loadGraphFloatGraph } from './graph_frontend.ts';
import { readArtifacts } from './io.ts';
import { loadLayersFloatGraph } from './layers_frontend.ts';

// The CPU backend otherwise tells every Node user to install tfjs-node, which tinyforge avoids on
// purpose (its install downloads a binary); a CLI that prints that on every run is noise.
env().set('PROD', true);

export type { FloatGraph, FloatOp, FloatTensor } from './float_graph.ts';
export { runFloat } from './float_run.ts';
export { readArtifacts, writeArtifacts, artifactsHandler } from './io.ts';

export interface LoadedTfjsModel {
  /** Path of model.json. */
  path: string;
  format: 'graph-model' | 'layers-model';
  /** sha256 over model.json and its weight shards. */
  sha256: string;
  graph: FloatGraph;
}

/** Loads a TF.js graph model or layers model from a local model.json. */
export async function loadTfjsModel(modelJson: string, name?: string): Promise<LoadedTfjsModel> {
  const local = readArtifacts(modelJson);
  const topology = local.artifacts.modelTopology as Record<string, unknown>;
  const graphModel = local.artifacts.format === 'graph-model' || Array.isArray(topology['node']);
  const graphName = name ?? path.basename(path.dirname(path.resolve(modelJson)));
  try {
    if (graphModel) {
      const { graph } = await loadGraphFloatGraph(local, graphName);
      return { path: modelJson, format: 'graph-model', sha256: local.sha256, graph };
    }
    const { graph } = await loadLayersFloatGraph(local);
    graph.name = graphName;
    return { path: modelJson, format: 'layers-model', sha256: local.sha256, graph };
  } catch (e) {
    // TF.js's own checks (a topology it cannot build, weights that do not fit their layers) throw
    // plain Errors; they are about the user's file, so they get the one-line model error.
    if (e instanceof TinyforgeError || !(e instanceof Error)) throw e;
    throw new ModelError(modelJson, `TF.js cannot load this ${graphModel ? 'graph' : 'layers'} model: ${e.message.split('\n')[0]}`);
  }
}
