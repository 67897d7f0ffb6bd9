// One call from a TF.js model.json + calibration data to a model compileModel accepts.

import type { LoadedModel } from '../compile.ts';
import { loadTfjsModel, type LoadedTfjsModel } from '../frontends/tfjs/index.ts';
import { TinyforgeError } from '../errors.ts';
import { loadCalibration, loadLabels } from './calibration.ts';
import { compressFloatGraph, type CompressOptions, type CompressResult } from './compress.ts';
import { ptqLoadedModel, type LayerSqnr, type PtqResult } from './ptq.ts';

export { loadCalibration, loadLabels, parseNpy, encodeNpy, CalibrationError } from './calibration.ts';
export { compressFloatGraph, formatAccuracy } from './compress.ts';
export type { CompressOptions, CompressResult, CompressData, StageAccuracy, DistillOptions } from './compress.ts';
export { floatAccuracy, quantizedAccuracy } from './accuracy.ts';
export { quantizeFloatGraph, layerSqnr, quantizeInput, dequantizeOutput, ptqLoadedModel } from './ptq.ts';
export type { PtqOptions, PtqResult, LayerSqnr, IoQuant } from './ptq.ts';
export { ACTIVATION_DTYPES, type ActivationDType } from './activation_type.ts';

export interface QuantizedTfjsModel {
  source: LoadedTfjsModel;
  /** Quantization of the (pruned, fine-tuned) float model. */
  result: PtqResult;
  /** Pass to compileModel: the final (pruned) quantized graph. */
  model: LoadedModel;
  /** Per-layer SQNR over (up to `sqnrCases` of) the calibration set. */
  sqnr: LayerSqnr[];
  /** Pruning reports, accuracy per stage, fine-tuning losses. */
  compressed: CompressResult;
  /** What the accuracy table was measured on. */
  accuracyOn?: string;
}

export interface QuantizeTfjsOptions extends CompressOptions {
  /** Class labels of the calibration samples (.npy or one integer per line): accuracy and fine-tuning data. */
  labels?: string;
  /** Held-out samples and labels for the accuracy table (default: the labelled calibration data). */
  test?: { data: string; labels: string };
  /** Distill from a teacher TF.js model (model.json) on the labelled calibration samples first. */
  teacher?: Omit<CompressOptions['distill'] & object, 'teacher'> & { model: string };
}

/**
 * Loads a TF.js model, calibrates on a .npy file or folder of samples and quantizes it (int8, or
 * int16 activations with `activations: 'int16'`), pruning and fine-tuning when asked.
 */
export async function quantizeTfjsModel(modelJson: string, calibration: string, opts: QuantizeTfjsOptions = {}): Promise<QuantizedTfjsModel> {
  const source = await loadTfjsModel(modelJson);
  if (source.graph.inputs.length !== 1) throw new TinyforgeError(`${modelJson}: calibration from files supports single-input models; this one has ${source.graph.inputs.length}`);
  const shape = source.graph.tensors[source.graph.inputs[0] as number]?.shape ?? [];
  const calib = loadCalibration(calibration, shape);
  const train = opts.labels === undefined ? undefined : { x: calib, labels: loadLabels(opts.labels, calib.length) };
  if (opts.finetune && !train) throw new TinyforgeError('fine-tuning needs --labels for the calibration samples');
  let test = train;
  let accuracyOn = train ? `the ${calib.length} labelled calibration samples` : undefined;
  if (opts.test) {
    const x = loadCalibration(opts.test.data, shape);
    test = { x, labels: loadLabels(opts.test.labels, x.length) };
    accuracyOn = `the ${x.length} test samples of ${opts.test.data}`;
  }
  let distill: CompressOptions['distill'];
  if (opts.teacher) {
    if (!train) throw new TinyforgeError('distillation trains on the calibration samples and needs their --labels');
    const { model: teacherJson, ...settings } = opts.teacher;
    const teacher = (await loadTfjsModel(teacherJson)).graph;
    const shapeOf = (g: typeof teacher, ids: number[]): string => JSON.stringify(ids.map((id) => g.tensors[id]?.shape.slice(1)));
    if (shapeOf(teacher, teacher.inputs) !== shapeOf(source.graph, source.graph.inputs) || shapeOf(teacher, teacher.outputs) !== shapeOf(source.graph, source.graph.outputs)) {
      throw new TinyforgeError(`${teacherJson}: the teacher's input and output shapes (${shapeOf(teacher, teacher.inputs)} -> ${shapeOf(teacher, teacher.outputs)}) differ from the student's (${shapeOf(source.graph, source.graph.inputs)} -> ${shapeOf(source.graph, source.graph.outputs)})`);
    }
    distill = { ...settings, teacher };
  }
  const compressed = compressFloatGraph(source.graph, { calibration: calib, ...(train ? { train } : {}), ...(test ? { test } : {}) }, { ...opts, ...(distill ? { distill } : {}) });
  return {
    source,
    result: compressed.ptq,
    model: { ...ptqLoadedModel(compressed.ptq, modelJson, source.sha256), graph: compressed.graph },
    sqnr: compressed.sqnr,
    compressed,
    ...(accuracyOn ? { accuracyOn } : {}),
  };
}

/** One line per layer: index, op, source node/layer and SQNR in dB. */
export function formatSqnr(rows: readonly LayerSqnr[]): string {
  return rows.map((r) => `${String(r.index).padStart(3)}  ${r.kind.padEnd(18)} ${r.source.padEnd(40)} ${Number.isFinite(r.sqnrDb) ? r.sqnrDb.toFixed(1) : 'exact'} dB`).join('\n');
}
