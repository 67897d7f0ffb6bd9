// The settings of a streaming wake-word pipeline (a front end that turns one audio window into one
// feature row, and a classifier over the last rows), derived from the two compiled models and the
// user's options. The TypeScript reference (stream_reference.ts) and the generated C
// (emit_stream_c.ts) both run from this one description, so they cannot disagree on a number.

import type { CompiledModel } from '../compile.ts';
import { TinyforgeError } from '../errors.ts';
import { DTYPE_BYTES, elementCount, type Tensor } from '../ir/graph.ts';
import { STREAM_DEFAULTS } from './stream_defaults.ts';

/** What the user may set; every field has a documented default (STREAM_DEFAULTS). */
export interface StreamOptions {
  /** Hop between the starts of two front-end windows, in ms. */
  strideMs?: number;
  /** Sample rate of the PCM fed in, in Hz (the models do not record it). */
  sampleRate?: number;
  /** Run the classifier after every N-th frame once the feature window is full. */
  classifyEvery?: number;
  /** Posterior smoothing: average the scores of the invokes within this many ms (at least one). */
  averageMs?: number;
  /** A keyword is detected when its averaged score reaches this probability (0..1). */
  threshold?: number;
  /** After a detection, no other one for this many ms. */
  suppressionMs?: number;
  /** Class labels of the classifier's output, in order. */
  labels?: readonly string[];
}

export { STREAM_DEFAULTS };

/** micro_speech's labels (micro_model_settings.h), used when a 4-class classifier has none given. */
export const MICRO_SPEECH_LABELS: readonly string[] = ['silence', 'unknown', 'yes', 'no'];

/** Labels that are never a detection: TFLite Micro's "silence"/"unknown" and Speech Commands' "_silence_"/"_unknown_". */
export function isKeywordLabel(label: string): boolean {
  return !/^_?(silence|unknown)_?$/i.test(label.trim());
}

export interface StreamConfig {
  sampleRate: number;
  strideMs: number;
  /** Samples per front-end invoke (its int16 input's element count). */
  windowSamples: number;
  strideSamples: number;
  /** int8 features per front-end invoke (one row of the classifier's window). */
  featureBytes: number;
  /** Rows of the classifier's input window. */
  featureRows: number;
  classifyEvery: number;
  averageMs: number;
  /** Invokes averaged by the smoothing (averageMs / (strideMs * classifyEvery), at least 1). */
  averageCount: number;
  threshold: number;
  /** The threshold in units of (score - zero point), rounded. */
  thresholdQ: number;
  suppressionMs: number;
  labels: string[];
  /** Per label: can it be a detection? */
  keyword: boolean[];
  scoreScale: number;
  scoreZeroPoint: number;
}

function describe(t: Tensor): string {
  return `${t.dtype} [${t.shape.join(', ')}]`;
}

function positiveInteger(flag: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new TinyforgeError(`${flag} ${v}: expected a positive integer`);
  return v;
}

function nonNegative(flag: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new TinyforgeError(`${flag} ${v}: expected a number >= 0`);
  return v;
}

/** The pipeline of `frontend` feeding `classifier`; a one-line TinyforgeError when they do not fit together. */
export function streamConfig(frontend: CompiledModel, classifier: CompiledModel, options: StreamOptions = {}): StreamConfig {
  const fg = frontend.model.graph;
  const cg = classifier.model.graph;
  const fname = frontend.summary.model;
  const cname = classifier.summary.model;
  if (fg.inputs.length !== 1 || fg.outputs.length !== 1) throw new TinyforgeError(`--frontend ${fname}: a front end has one input (PCM) and one output (features); it has ${fg.inputs.length} and ${fg.outputs.length}`);
  if (cg.inputs.length !== 1 || cg.outputs.length !== 1) throw new TinyforgeError(`${cname}: the classifier must have one input and one output; it has ${cg.inputs.length} and ${cg.outputs.length}`);
  const pcm = fg.tensors[fg.inputs[0] as number] as Tensor;
  const feat = fg.tensors[fg.outputs[0] as number] as Tensor;
  const window = cg.tensors[cg.inputs[0] as number] as Tensor;
  const scores = cg.tensors[cg.outputs[0] as number] as Tensor;
  if (pcm.dtype !== 'int16') throw new TinyforgeError(`--frontend ${fname}: its input is ${describe(pcm)}; a front end takes int16 PCM samples`);
  if (feat.dtype !== 'int8') throw new TinyforgeError(`--frontend ${fname}: its output is ${describe(feat)}; the stream needs int8 features`);
  if (window.dtype !== 'int8') throw new TinyforgeError(`${cname}: its input is ${describe(window)}; the stream needs an int8 feature window`);
  if (scores.dtype !== 'int8' || !scores.quant || scores.quant.scale.length === 0) throw new TinyforgeError(`${cname}: its output is ${describe(scores)}; the stream needs quantized int8 scores`);
  const featureBytes = elementCount(feat.shape) * DTYPE_BYTES[feat.dtype];
  const windowBytes = elementCount(window.shape);
  if (windowBytes % featureBytes !== 0) {
    throw new TinyforgeError(`${cname}: its input of ${windowBytes} bytes is not a whole number of ${featureBytes}-byte feature rows from ${fname}`);
  }
  const sampleRate = positiveInteger('--sample-rate', options.sampleRate ?? STREAM_DEFAULTS.sampleRate);
  const strideMs = options.strideMs ?? STREAM_DEFAULTS.strideMs;
  const strideSamples = (strideMs * sampleRate) / 1000;
  if (!Number.isInteger(strideSamples) || strideSamples < 1) {
    throw new TinyforgeError(`--stride-ms ${strideMs}: must be a whole number of samples at ${sampleRate} Hz (a multiple of ${1000 / gcd(1000, sampleRate)}/${sampleRate / gcd(1000, sampleRate)} ms)`);
  }
  const classifyEvery = positiveInteger('--classify-every', options.classifyEvery ?? STREAM_DEFAULTS.classifyEvery);
  const averageMs = nonNegative('--average-ms', options.averageMs ?? STREAM_DEFAULTS.averageMs);
  const threshold = options.threshold ?? STREAM_DEFAULTS.threshold;
  if (!(threshold >= 0 && threshold <= 1)) throw new TinyforgeError(`--threshold ${threshold}: expected a probability between 0 and 1`);
  const suppressionMs = nonNegative('--suppression-ms', options.suppressionMs ?? STREAM_DEFAULTS.suppressionMs);
  if (!Number.isInteger(suppressionMs)) throw new TinyforgeError(`--suppression-ms ${suppressionMs}: expected whole milliseconds`);
  const numLabels = elementCount(scores.shape);
  const labels = options.labels !== undefined ? [...options.labels] : numLabels === MICRO_SPEECH_LABELS.length ? [...MICRO_SPEECH_LABELS] : Array.from({ length: numLabels }, (_, i) => `class${i}`);
  if (labels.length !== numLabels) throw new TinyforgeError(`${labels.length} labels given for ${cname}, which scores ${numLabels} classes`);
  const scoreScale = scores.quant.scale[0] as number;
  return {
    sampleRate,
    strideMs,
    windowSamples: elementCount(pcm.shape),
    strideSamples,
    featureBytes,
    featureRows: windowBytes / featureBytes,
    classifyEvery,
    averageMs,
    averageCount: Math.max(1, Math.round(averageMs / (strideMs * classifyEvery))),
    threshold,
    thresholdQ: Math.round(threshold / scoreScale),
    suppressionMs,
    labels,
    keyword: labels.map(isKeywordLabel),
    scoreScale,
    scoreZeroPoint: scores.quant.zeroPoint[0] ?? 0,
  };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Milliseconds from the start of the stream to the end of frame `frame` (integer division, as the C does). */
export function frameEndMs(c: StreamConfig, frame: number): number {
  return Math.floor(((frame * c.strideSamples + c.windowSamples) * 1000) / c.sampleRate);
}
