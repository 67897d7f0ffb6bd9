// One call from a TF.js model.json + calibration data to a model compileModel accepts.

import type { LoadedModel } from '../compile.ts';
import { loadTfjsModel, type LoadedTfjsModel } from '../frontends/tfjs/index.ts';
import { TinyforgeError } from '../errors.ts';
import { loadCalibration } from './calibration.ts';
import { layerSqnr, ptqLoadedModel, quantizeFloatGraph, type LayerSqnr, type PtqOptions, type PtqResult } from './ptq.ts';

export { loadCalibration, parseNpy, encodeNpy, CalibrationError } from './calibration.ts';
export { quantizeFloatGraph, layerSqnr, quantizeInput, dequantizeOutput, ptqLoadedModel } from './ptq.ts';
export type { PtqOptions, PtqResult, LayerSqnr, IoQuant } from './ptq.ts';

export interface QuantizedTfjsModel {
  source: LoadedTfjsModel;
  result: PtqResult;
  /** Pass to compileModel. */
  model: LoadedModel;
  /** Per-layer SQNR over (up to `sqnrCases` of) the calibration set. */
  sqnr: LayerSqnr[];
}

/** Loads a TF.js model, calibrates on a .npy file or folder of samples, quantizes it to int8. */
export async function quantizeTfjsModel(modelJson: string, calibration: string, opts: PtqOptions & { sqnrCases?: number } = {}): Promise<QuantizedTfjsModel> {
  const source = await loadTfjsModel(modelJson);
  if (source.graph.inputs.length !== 1) throw new TinyforgeError(`${modelJson}: calibration from files supports single-input models; this one has ${source.graph.inputs.length}`);
  const shape = source.graph.tensors[source.graph.inputs[0] as number]?.shape ?? [];
  const cases = loadCalibration(calibration, shape).map((x) => [x]);
  const result = quantizeFloatGraph(source.graph, cases, opts);
  const sqnr = layerSqnr(source.graph, result, cases.slice(0, opts.sqnrCases ?? 64));
  return { source, result, model: ptqLoadedModel(result, modelJson, source.sha256), sqnr };
}

/** One line per layer: index, op, source node/layer and SQNR in dB. */
export function formatSqnr(rows: readonly LayerSqnr[]): string {
  return rows.map((r) => `${String(r.index).padStart(3)}  ${r.kind.padEnd(18)} ${r.source.padEnd(40)} ${Number.isFinite(r.sqnrDb) ? r.sqnrDb.toFixed(1) : 'exact'} dB`).join('\n');
}
