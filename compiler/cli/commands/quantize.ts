// `tinyforge quantize`: a float TF.js model + calibration data -> an int8 or int16x8 (optionally
// pruned) .tflite that compile, validate and TFLite itself can load.

import { compileModel } from '../../compile.ts';
import { writeTflite } from '../../export/write_tflite.ts';
import { TinyforgeError } from '../../errors.ts';
import { writeOutputFile } from '../../output_paths.ts';
import { ACTIVATION_DTYPES, formatAccuracy, formatSqnr, quantizeTfjsModel, type ActivationDType, type PtqOptions } from '../../quantize/index.ts';
import { formatInt } from '../format.ts';
import { setJsonResult } from '../json_output.ts';
import { log } from '../log.ts';
import { createProgress } from '../progress.ts';

export interface QuantizeCommandOptions {
  calib: string;
  out: string;
  prune?: string;
  pruneBlock?: string;
  pruneChannels?: string;
  pruneScope?: string;
  percentile?: string;
  calibration?: string;
  activations?: string;
  labels?: string;
  testData?: string;
  testLabels?: string;
  finetune?: string;
  learningRate?: string;
  batchSize?: string;
  teacher?: string;
  temperature?: string;
  alpha?: string;
  distillEpochs?: string;
  /** --distill-mixup / --no-distill-mixup; undefined when neither is given. */
  distillMixup?: boolean;
  json?: boolean;
}

function fraction(flag: string, value: string | undefined, lo: number, hi: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < lo || n > hi) throw new TinyforgeError(`${flag} wants a number from ${lo} to ${hi}, not '${value}'`);
  return n;
}

function count(flag: string, value: string | undefined, lo: number, hi: number): number | undefined {
  const n = fraction(flag, value, lo, hi);
  if (n !== undefined && !Number.isInteger(n)) throw new TinyforgeError(`${flag} wants a whole number, not '${value}'`);
  return n;
}

function calibrationMethod(opts: QuantizeCommandOptions): PtqOptions {
  const percentile = fraction('--percentile', opts.percentile, 50, 100);
  const method = opts.calibration ?? (percentile === undefined ? 'minmax' : 'percentile');
  if (method !== 'minmax' && method !== 'percentile' && method !== 'mse') throw new TinyforgeError(`--calibration is minmax, percentile or mse, not '${method}'`);
  if (percentile !== undefined && method !== 'percentile') throw new TinyforgeError(`--percentile goes with --calibration percentile, not ${method}`);
  return method === 'percentile' ? { method, ...(percentile === undefined ? {} : { percentile }) } : { method };
}

function activations(value: string | undefined): ActivationDType {
  const dtype = ACTIVATION_DTYPES.find((d) => d === (value ?? 'int8'));
  if (!dtype) throw new TinyforgeError(`--activations is int8 or int16, not '${value}'`);
  return dtype;
}

export async function quantizeCommand(modelJson: string, opts: QuantizeCommandOptions): Promise<void> {
  const dtype = activations(opts.activations);
  const sparsity = fraction('--prune', opts.prune, 0, 0.99);
  const channelFraction = fraction('--prune-channels', opts.pruneChannels, 0, 0.95);
  const epochs = count('--finetune', opts.finetune, 1, 10000);
  const learningRate = fraction('--learning-rate', opts.learningRate, 1e-7, 1);
  const batchSize = count('--batch-size', opts.batchSize, 1, 65536);
  const block = opts.pruneBlock === undefined ? 1 : Number(opts.pruneBlock);
  if (![1, 4].includes(block)) throw new TinyforgeError(`--prune-block is 1 (single weights) or 4 (4x4 tiles, what the sparse kernels skip), not '${opts.pruneBlock}'`);
  const scope = opts.pruneScope ?? 'layer';
  if (scope !== 'layer' && scope !== 'global') throw new TinyforgeError(`--prune-scope is layer or global, not '${opts.pruneScope}'`);
  if ((opts.testData === undefined) !== (opts.testLabels === undefined)) throw new TinyforgeError('--test-data and --test-labels go together');
  if (epochs !== undefined && opts.labels === undefined) throw new TinyforgeError('--finetune trains on the calibration samples and needs their --labels');
  if (epochs !== undefined && sparsity === undefined && channelFraction === undefined) throw new TinyforgeError('--finetune recovers accuracy after pruning; add --prune or --prune-channels');
  const temperature = fraction('--temperature', opts.temperature, 0.01, 100);
  const alpha = fraction('--alpha', opts.alpha, 0, 1);
  const distillEpochs = count('--distill-epochs', opts.distillEpochs, 1, 10000);
  if (opts.teacher === undefined && (temperature ?? alpha ?? distillEpochs ?? opts.distillMixup) !== undefined) throw new TinyforgeError('--temperature, --alpha, --distill-epochs and --distill-mixup go with --teacher <model.json>');
  if (opts.teacher !== undefined && opts.labels === undefined) throw new TinyforgeError('--teacher distills on the calibration samples and needs their --labels');
  const progress = createProgress({ json: opts.json });
  if (epochs !== undefined) progress.start(epochs, 'fine-tuning', 'epochs');
  const q = await quantizeTfjsModel(modelJson, opts.calib, {
    ...calibrationMethod(opts),
    activations: dtype,
    ...(sparsity === undefined ? {} : { prune: sparsity, block }),
    ...(channelFraction === undefined ? {} : { pruneChannels: channelFraction }),
    pruneScope: scope,
    ...(opts.labels === undefined ? {} : { labels: opts.labels }),
    ...(opts.teacher === undefined
      ? {}
      : {
          teacher: {
            model: opts.teacher,
            temperature: temperature ?? 4,
            alpha: alpha ?? 0.5,
            epochs: distillEpochs ?? 10,
            mixup: opts.distillMixup ?? false,
            ...(learningRate === undefined ? {} : { learningRate }),
            ...(batchSize === undefined ? {} : { batchSize }),
            onEpoch: (epoch: number, loss: number) => log.verbose(`distillation epoch ${epoch}: loss ${loss.toFixed(4)}`),
          },
        }),
    ...(opts.testData !== undefined && opts.testLabels !== undefined ? { test: { data: opts.testData, labels: opts.testLabels } } : {}),
    ...(epochs === undefined
      ? {}
      : {
          finetune: {
            epochs,
            ...(learningRate === undefined ? {} : { learningRate }),
            ...(batchSize === undefined ? {} : { batchSize }),
            onEpoch: (epoch: number, loss: number) => {
              progress.update(epoch, `fine-tuning (loss ${loss.toFixed(4)})`);
              if (!progress.enabled) log.verbose(`epoch ${epoch}/${epochs}: loss ${loss.toFixed(4)}`);
            },
          },
        }),
  });
  progress.stop();
  const c = q.compressed;
  // What pruning buys on a device: the constants as the C lays them out for a Cortex-M4/M7, with and
  // without the sparse kernels. Those are int8 kernels; an int16x8 model is compiled only to check it.
  const compiled = compileModel(q.model);
  const flash = dtype === 'int8' ? { final: compiled.summary.flashBytes, dense: compileModel(q.model, { sparse: false }).summary.flashBytes } : undefined;
  const bytes = writeTflite(q.model.graph);
  writeOutputFile(opts.out, bytes, '--out');
  if (opts.json) {
    setJsonResult({
      model: modelJson,
      out: opts.out,
      bytes: bytes.byteLength,
      activations: dtype,
      inputs: q.result.inputs,
      outputs: q.result.outputs,
      sqnr: q.sqnr,
      prune: c.prune ?? null,
      pruneChannels: c.channels ?? null,
      accuracy: c.accuracy,
      accuracyOn: q.accuracyOn ?? null,
      finetuneLosses: c.losses,
      flashBytes: flash ?? null,
    });
    return;
  }
  console.log(`per-layer SQNR of the ${dtype} model against the float model on the calibration data:\n${formatSqnr(q.sqnr)}`);
  if (c.channels) {
    const lines = c.channels.layers.map((l) => `  op ${l.op} ${l.kind === 'conv2d' ? 'CONV_2D' : 'FULLY_CONNECTED'} '${l.name}': ${l.before} -> ${l.after} channels`);
    const skipped = c.channels.skipped.map((s) => `  op ${s.op} '${s.name}' kept: ${s.reason}`);
    console.log(`\nremoved output channels:\n${[...lines, ...skipped].join('\n') || '  (no prunable layer)'}`);
  }
  if (c.prune) console.log(`\npruned to ${(100 * c.prune.sparsity).toFixed(1)}% zero weights (${formatInt(c.prune.zeros)} of ${formatInt(c.prune.weights)})`);
  if (flash && (c.prune || c.channels)) console.log(`\nflash for the constants on a Cortex-M4/M7 (DSP layouts): ${formatInt(flash.final)} bytes with sparse kernels, ${formatInt(flash.dense)} with dense ones`);
  if (c.losses.length > 0) console.log(`\nfine-tuned ${c.losses.length} epochs: loss ${c.losses[0]?.toFixed(4)} -> ${c.losses.at(-1)?.toFixed(4)}`);
  if (c.accuracy.length > 0) console.log(`\n${formatAccuracy(c.accuracy, q.accuracyOn ?? 'the labelled data')}`);
  const io = (t: { name: string; shape: number[]; dtype: string; scale: number; zeroPoint: number }): string => `${t.name} [${t.shape.join('x')}] ${t.dtype} scale ${t.scale.toPrecision(6)} zero point ${t.zeroPoint}`;
  console.log(`\nwrote ${opts.out} (${formatInt(bytes.byteLength)} bytes, ${dtype === 'int8' ? 'int8' : 'int16 activations, int8 weights'})\n  input:  ${q.result.inputs.map(io).join('\n          ')}\n  output: ${q.result.outputs.map(io).join('\n          ')}`);
  console.log(`next: tinyforge compile ${opts.out} --board <board> --out <dir>`);
}
