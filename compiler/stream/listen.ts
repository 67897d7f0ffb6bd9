// `tinyforge listen`: streams a WAV file to a board running the pipeline's agent firmware (FEED,
// docs/protocol.md) in chunks of real-time size, runs the TypeScript reference on the same
// chunks, and compares every feature row, score and detection. Also measures what each front-end
// frame and each classifier invoke costs on the board (instructions on QEMU boards).

import path from 'node:path';
import type { Board } from '../boards/board_schema.ts';
import { countingOf, type Counting } from '../boards/counting.ts';
import { findBoard } from '../boards/load_boards.ts';
import { isaForBoard } from '../compile.ts';
import { TinyforgeError } from '../errors.ts';
import type { FeedEvent, FeedReply } from '../../flasher/protocol/feed.ts';
import { compareStreamEvents, timelineOf, type TimelineDetection } from './compare_events.ts';
import { compileStream, streamSummary, type CompiledStream, type StreamSummary } from './compile_stream.ts';
import type { StreamOptions } from './stream_config.ts';
import { StreamReference, type StreamEvent } from './stream_reference.ts';
import { readWav } from './wav.ts';

export interface ListenOptions extends StreamOptions {
  frontend: string;
  model: string;
  board: string;
  /** Samples per FEED, in ms of audio (default: the stride). */
  chunkMs?: number;
  /** C prefix of the pipeline (default: from the classifier's file name). */
  prefix?: string;
  workDir?: string;
  onProgress?: (samplesDone: number, samplesTotal: number) => void;
}

export interface CostFigure {
  /** How many were measured. */
  count: number;
  mean: number;
  max: number;
}

export interface ListenCost {
  /** instructions (QEMU boards) or cycles (real boards). */
  unit: Counting['unit'];
  how: string;
  /** Per front-end frame (one window of audio): framing plus the preprocessor. */
  frontendPerFrame: CostFigure | null;
  /** Per classifier invoke: stacking the window, the classifier and the smoothing. */
  classifierPerInvoke: CostFigure | null;
  /** Per hop (stride) of audio: one frame plus 1/classifyEvery of an invoke. */
  perHop: number | null;
  hopMs: number;
  /** Time per hop at the board clock over the hop's duration (real boards with a running counter). */
  realTimeFactor: number | null;
}

export interface ListenResult {
  board: string;
  wav: string;
  transport: string;
  sampleRate: number;
  samples: number;
  chunkSamples: number;
  frames: number;
  invokes: number;
  /** The device's detections. */
  detections: TimelineDetection[];
  host: { detections: TimelineDetection[]; frames: number; invokes: number };
  /** Every feature row, score and detection equal on both sides. */
  match: boolean;
  differenceCount: number;
  differences: string[];
  cost: ListenCost;
  stream: StreamSummary;
}

/** Feeds `chunk` samples at a time through `device`; returns the concatenated events and the replies. */
export async function feedInChunks(samples: Int16Array, chunk: number, device: (pcm: Int16Array) => Promise<FeedReply>, onProgress?: (done: number, total: number) => void): Promise<{ events: FeedEvent[]; replies: FeedReply[] }> {
  const events: FeedEvent[] = [];
  const replies: FeedReply[] = [];
  for (let i = 0; i < samples.length; i += chunk) {
    const reply = await device(samples.subarray(i, i + chunk));
    if (reply.dropped) throw new TinyforgeError(`FEED of ${chunk} samples produced more events than one reply holds: use a smaller --chunk-ms`);
    replies.push(reply);
    events.push(...reply.events);
    onProgress?.(Math.min(i + chunk, samples.length), samples.length);
  }
  return { events, replies };
}

function figure(xs: number[]): CostFigure | null {
  if (xs.length === 0) return null;
  return { count: xs.length, mean: Math.round(xs.reduce((a, b) => a + b, 0) / xs.length), max: Math.round(Math.max(...xs)) };
}

export function listenCost(events: readonly FeedEvent[], counting: Counting, s: CompiledStream): ListenCost {
  const perTick = counting.running ? counting.perTick : 0;
  // The first frame's figure includes booting the front end's state; it is measured like the others.
  const frames = figure(events.flatMap((e) => (e.kind === 'features' ? [e.ticks * perTick] : [])));
  const invokes = figure(events.flatMap((e) => (e.kind === 'scores' ? [e.ticks * perTick] : [])));
  const perHop = frames === null ? null : frames.mean + (invokes === null ? 0 : invokes.mean / s.config.classifyEvery);
  const hopMs = s.config.strideMs;
  const realTimeFactor = perHop !== null && counting.clockHz !== null ? perHop / counting.clockHz / (hopMs / 1000) : null;
  return { unit: counting.unit, how: counting.how, frontendPerFrame: frames, classifierPerInvoke: invokes, perHop: perHop === null ? null : Math.round(perHop), hopMs, realTimeFactor };
}

/** The host reference on the same chunks as the device. */
export function hostEvents(s: CompiledStream, samples: Int16Array, chunk: number): StreamEvent[] {
  const ref = new StreamReference(s.config, s.frontend, s.classifier);
  const events: StreamEvent[] = [];
  for (let i = 0; i < samples.length; i += chunk) events.push(...ref.feed(samples.subarray(i, i + chunk)));
  return events;
}

export interface ListenInputs {
  stream: CompiledStream;
  board: Board;
  samples: Int16Array;
  sampleRate: number;
  chunkSamples: number;
}

/** Loads the WAV, compiles the pipeline for the board, decides the chunk size. */
export function prepareListen(wavFile: string, opts: ListenOptions): ListenInputs {
  const board = findBoard(opts.board);
  const wav = readWav(wavFile);
  if (opts.sampleRate !== undefined && opts.sampleRate !== wav.sampleRate) {
    throw new TinyforgeError(`${wavFile} is sampled at ${wav.sampleRate} Hz, not the --sample-rate ${opts.sampleRate}`);
  }
  const stream = compileStream(opts.frontend, opts.model, { ...opts, sampleRate: wav.sampleRate }, { ...(opts.prefix ? { prefix: opts.prefix } : {}), isa: isaForBoard(board) });
  const chunkMs = opts.chunkMs ?? stream.config.strideMs;
  const chunkSamples = (chunkMs * wav.sampleRate) / 1000;
  // One FEED payload (1024 bytes at most, and every agent takes at least 256) carries the chunk.
  if (!Number.isInteger(chunkSamples) || chunkSamples < 1 || chunkSamples * 2 > 1024) {
    throw new TinyforgeError(`--chunk-ms ${chunkMs}: must be a whole number of samples at ${wav.sampleRate} Hz, at most 512 samples (one FEED payload)`);
  }
  return { stream, board, samples: wav.samples, sampleRate: wav.sampleRate, chunkSamples };
}

/** Compares the device's run with the host reference's and assembles the result. */
export function listenResult(wavFile: string, inputs: ListenInputs, transport: string, counting: Counting, device: { events: FeedEvent[]; replies: FeedReply[] }): ListenResult {
  const s = inputs.stream;
  const host = hostEvents(s, inputs.samples, inputs.chunkSamples);
  const cmp = compareStreamEvents(host, device.events, s.config);
  const last = device.replies[device.replies.length - 1];
  return {
    board: inputs.board.id,
    wav: path.basename(wavFile),
    transport,
    sampleRate: inputs.sampleRate,
    samples: inputs.samples.length,
    chunkSamples: inputs.chunkSamples,
    frames: last?.frames ?? 0,
    invokes: last?.invokes ?? 0,
    detections: timelineOf(device.events, s.config),
    host: { detections: timelineOf(host, s.config), frames: host.filter((e) => e.kind === 'features').length, invokes: host.filter((e) => e.kind === 'scores').length },
    match: cmp.count === 0,
    differenceCount: cmp.count,
    differences: cmp.differences,
    cost: listenCost(device.events, counting, s),
    stream: streamSummary(s),
  };
}

/** The whole command: build and boot the firmware, RESET, FEED every chunk, compare. */
export async function listen(wavFile: string, opts: ListenOptions): Promise<ListenResult> {
  const inputs = prepareListen(wavFile, opts);
  const { buildStreamFirmware } = await import('./stream_firmware.ts');
  const { isEmulated, openDevice } = await import('../../flasher/device_validation.ts');
  const { AgentSession } = await import('../../flasher/agent_session.ts');
  if (!isEmulated(inputs.board)) throw new TinyforgeError(`listen runs on the QEMU serial boards (e.g. qemu-mps2-an386); ${inputs.board.id} would need the streaming firmware flashed by its SDK`);
  const firmware = await buildStreamFirmware(inputs.stream, inputs.board, opts.workDir === undefined ? {} : { workDir: opts.workDir });
  const device = await openDevice(inputs.board, firmware);
  try {
    const session = new AgentSession(device.transport, { expectModelSha256: inputs.stream.classifier.model.sha256, connectTimeoutMs: 10_000 });
    const hello = await session.connect();
    const counting = countingOf(inputs.board, hello.counterName, hello.cyclesPerTick);
    await session.reset();
    const run = await feedInChunks(inputs.samples, inputs.chunkSamples, (pcm) => session.feed(pcm), opts.onProgress);
    return listenResult(wavFile, inputs, device.description, counting, run);
  } finally {
    await device.close();
  }
}
