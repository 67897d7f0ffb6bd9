// The TypeScript reference of the streaming pipeline: the semantics that <prefix>_feed() in the
// generated C (emit_stream_c.ts) implements, step for step, in integers.
//
// 1. Framing: samples are collected until a window is full (windowSamples); the front end runs on
//    it (its state carried from frame to frame), then the window moves on by strideSamples (a
//    stride longer than the window skips the samples in between). A partial window at the end of
//    the input waits for the next feed.
// 2. The feature row goes into a ring of featureRows rows. Once the ring is full (frame
//    featureRows-1) and then after every classifyEvery-th frame, the rows, oldest first, are the
//    classifier's input.
// 3. Smoothing: each invoke's scores minus the output zero point are kept for the last
//    averageCount invokes; the average (integer, truncated) is over the invokes kept so far.
// 4. The label with the highest average (first on ties) is a detection when it is a keyword,
//    its average reaches thresholdQ and no detection happened in the last suppressionMs.

import type { CompiledModel } from '../compile.ts';
import { ReferenceState, runReference } from '../reference/run_reference.ts';
import { frameEndMs, type StreamConfig } from './stream_config.ts';

export interface FeaturesEvent {
  kind: 'features';
  frame: number;
  features: Int8Array;
}

export interface ScoresEvent {
  kind: 'scores';
  /** 0 for the first classifier invoke since the reset. */
  invoke: number;
  /** The frame whose row completed the window. */
  frame: number;
  timeMs: number;
  scores: Int8Array;
  /** Smoothed (score - zero point) per label. */
  averaged: Int32Array;
}

export interface DetectionEvent {
  kind: 'detection';
  invoke: number;
  timeMs: number;
  label: number;
  /** The averaged score of the label, in (score - zero point) units. */
  score: number;
}

export type StreamEvent = FeaturesEvent | ScoresEvent | DetectionEvent;

export class StreamReference {
  private readonly frontState: ReferenceState;
  private pcm: Int16Array;
  private fill = 0;
  private skip = 0;
  private rows: Int8Array[] = [];
  private frames = 0;
  private invokes = 0;
  private history: Int32Array[] = [];
  private lastDetectionMs: number | undefined;

  constructor(
    readonly config: StreamConfig,
    private readonly frontend: CompiledModel,
    private readonly classifier: CompiledModel,
  ) {
    this.frontState = new ReferenceState(frontend.model.graph);
    this.pcm = new Int16Array(config.windowSamples);
  }

  /** Back to the start of a stream: front-end state, buffered samples, feature ring, smoothing. */
  reset(): void {
    this.frontState.reset();
    this.pcm = new Int16Array(this.config.windowSamples);
    this.fill = 0;
    this.skip = 0;
    this.rows = [];
    this.frames = 0;
    this.invokes = 0;
    this.history = [];
    this.lastDetectionMs = undefined;
  }

  /** Feeds samples; returns what happened, in order. */
  feed(samples: Int16Array): StreamEvent[] {
    const c = this.config;
    const events: StreamEvent[] = [];
    let i = 0;
    while (i < samples.length) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, samples.length - i);
        this.skip -= take;
        i += take;
        continue;
      }
      const take = Math.min(c.windowSamples - this.fill, samples.length - i);
      this.pcm.set(samples.subarray(i, i + take), this.fill);
      this.fill += take;
      i += take;
      if (this.fill < c.windowSamples) break;
      this.frame(events);
      if (c.strideSamples < c.windowSamples) {
        this.pcm.copyWithin(0, c.strideSamples);
        this.fill = c.windowSamples - c.strideSamples;
      } else {
        this.fill = 0;
        this.skip = c.strideSamples - c.windowSamples;
      }
    }
    return events;
  }

  private frame(events: StreamEvent[]): void {
    const c = this.config;
    const input = new Uint8Array(this.pcm.buffer.slice(0));
    // The front end's state tensors live in frontState and carry over to the next frame.
    const out = runReference(this.frontend.model.graph, this.frontend.layers, [input], this.frontState)[0] as Uint8Array;
    const features = new Int8Array(out.buffer, out.byteOffset, c.featureBytes).slice();
    const frame = this.frames++;
    events.push({ kind: 'features', frame, features });
    this.rows.push(features);
    if (this.rows.length > c.featureRows) this.rows.shift();
    if (frame + 1 < c.featureRows || (frame + 1 - c.featureRows) % c.classifyEvery !== 0) return;
    const window = new Uint8Array(c.featureRows * c.featureBytes);
    this.rows.forEach((r, k) => window.set(new Uint8Array(r.buffer, r.byteOffset, r.byteLength), k * c.featureBytes));
    const raw = runReference(this.classifier.model.graph, this.classifier.layers, [window])[0] as Uint8Array;
    const scores = new Int8Array(raw.buffer, raw.byteOffset, c.labels.length).slice();
    this.history.push(Int32Array.from(scores, (s) => s - c.scoreZeroPoint));
    if (this.history.length > c.averageCount) this.history.shift();
    const averaged = new Int32Array(c.labels.length);
    for (let k = 0; k < averaged.length; k++) averaged[k] = Math.trunc(this.history.reduce((s, h) => s + (h[k] as number), 0) / this.history.length);
    const invoke = this.invokes++;
    const timeMs = frameEndMs(c, frame);
    events.push({ kind: 'scores', invoke, frame, timeMs, scores, averaged });
    let top = 0;
    for (let k = 1; k < averaged.length; k++) if ((averaged[k] as number) > (averaged[top] as number)) top = k;
    const score = averaged[top] as number;
    const suppressed = this.lastDetectionMs !== undefined && timeMs - this.lastDetectionMs < c.suppressionMs;
    if (c.keyword[top] === true && score >= c.thresholdQ && !suppressed) {
      this.lastDetectionMs = timeMs;
      events.push({ kind: 'detection', invoke, timeMs, label: top, score });
    }
  }
}
