// FEED (docs/protocol.md): PCM samples into a streaming firmware's pipeline; the reply lists what
// the pipeline computed from them (feature rows, classifier scores, detections) with counter ticks.

import type { DetectionEvent, FeaturesEvent, ScoresEvent } from '../../compiler/stream/stream_reference.ts';
import { ProtocolError } from './messages.ts';

/** Reply layout (docs/protocol.md, FEED); the generated agent side (compiler/stream/stream_agent_source.ts) uses the same numbers. */
export const FEED_REPLY_HEADER_BYTES = 16;
export const FEED_RECORD = { FEATURES: 1, SCORES: 2, DETECTION: 3 } as const;
/** Fixed bytes of a features record (then the features) and of a scores record (then N scores and N i32 averages). */
export const FEED_FEATURES_HEADER_BYTES = 12;
export const FEED_SCORES_HEADER_BYTES = 20;
export const FEED_DETECTION_BYTES = 16;
const { FEATURES, SCORES, DETECTION } = FEED_RECORD;

/** A feature row, as the TypeScript reference reports it, plus the ticks of framing and the front end since the previous event of this FEED. */
export type FeedFeatures = FeaturesEvent & { ticks: number };

/** A classifier invoke, plus the ticks of stacking the window, the classifier and the smoothing. */
export type FeedScores = ScoresEvent & { ticks: number };

export type FeedDetection = DetectionEvent;

export type FeedEvent = FeedFeatures | FeedScores | FeedDetection;

export interface FeedReply {
  /** Front-end frames since the last RESET, after this chunk. */
  frames: number;
  /** Classifier invokes since the last RESET. */
  invokes: number;
  /** Counter ticks of the whole FEED. */
  ticks: number;
  /** The reply had no room for every event (send smaller chunks). */
  dropped: boolean;
  events: FeedEvent[];
}

/** The request payload: the samples as int16 little-endian. */
export function encodeFeedRequest(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const v = new DataView(out.buffer);
  samples.forEach((s, i) => v.setInt16(2 * i, s, true));
  return out;
}

export function decodeFeedReply(p: Uint8Array): FeedReply {
  if (p.byteLength < FEED_REPLY_HEADER_BYTES) throw new ProtocolError(`FEED reply has ${p.byteLength} bytes, fewer than its ${FEED_REPLY_HEADER_BYTES}-byte header`);
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const count = v.getUint8(12);
  const events: FeedEvent[] = [];
  let off = FEED_REPLY_HEADER_BYTES;
  const need = (n: number, what: string): void => {
    if (off + n > p.byteLength) throw new ProtocolError(`FEED reply: ${what} record at byte ${off} runs past the end (${p.byteLength} bytes)`);
  };
  for (let r = 0; r < count; r++) {
    need(4, 'a');
    const kind = v.getUint8(off);
    if (kind === FEATURES) {
      const n = v.getUint16(off + 2, true);
      need(FEED_FEATURES_HEADER_BYTES + n, 'a features');
      events.push({ kind: 'features', frame: v.getUint32(off + 4, true), ticks: v.getUint32(off + 8, true), features: new Int8Array(p.slice(off + FEED_FEATURES_HEADER_BYTES, off + FEED_FEATURES_HEADER_BYTES + n).buffer) });
      off += FEED_FEATURES_HEADER_BYTES + n;
    } else if (kind === SCORES) {
      const n = v.getUint8(off + 1);
      need(FEED_SCORES_HEADER_BYTES + 5 * n, 'a scores');
      const scores = new Int8Array(p.slice(off + FEED_SCORES_HEADER_BYTES, off + FEED_SCORES_HEADER_BYTES + n).buffer);
      const averaged = Int32Array.from({ length: n }, (_, i) => v.getInt32(off + FEED_SCORES_HEADER_BYTES + n + 4 * i, true));
      events.push({ kind: 'scores', invoke: v.getUint32(off + 4, true), frame: v.getUint32(off + 8, true), timeMs: v.getUint32(off + 12, true), ticks: v.getUint32(off + 16, true), scores, averaged });
      off += FEED_SCORES_HEADER_BYTES + 5 * n;
    } else if (kind === DETECTION) {
      need(FEED_DETECTION_BYTES, 'a detection');
      events.push({ kind: 'detection', label: v.getUint8(off + 1), invoke: v.getUint32(off + 4, true), timeMs: v.getUint32(off + 8, true), score: v.getInt32(off + 12, true) });
      off += FEED_DETECTION_BYTES;
    } else {
      throw new ProtocolError(`FEED reply: unknown record kind ${kind} at byte ${off}`);
    }
  }
  if (off !== p.byteLength) throw new ProtocolError(`FEED reply: ${p.byteLength - off} bytes after its ${count} records`);
  return { frames: v.getUint32(0, true), invokes: v.getUint32(4, true), ticks: v.getUint32(8, true), dropped: (v.getUint8(13) & 1) !== 0, events };
}
