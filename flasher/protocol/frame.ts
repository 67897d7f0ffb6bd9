// Frames of the agent protocol (docs/protocol.md, section 1):
//   decoded: version u8 | type u8 | seq u16 | length u16 | payload | crc32 u32   (little-endian)
//   wire:    0x00 | COBS(decoded) | 0x00

import { TinyforgeError } from '../../compiler/errors.ts';
import { TransportError } from '../transport/serial_transport.ts';
import { CobsError, cobsDecode, cobsEncode, cobsMaxEncodedLength } from './cobs.ts';
import { crc32 } from './crc32.ts';

export const PROTOCOL_VERSION = 1;
export const FRAME_HEADER_BYTES = 6;
export const FRAME_CRC_BYTES = 4;
/** Largest payload of any frame (an agent may accept less; it says so in HELLO). */
export const MAX_PAYLOAD_BYTES = 1024;
/** The smallest max payload an agent may advertise. */
export const MIN_AGENT_PAYLOAD_BYTES = 256;
export const MAX_FRAME_BYTES = FRAME_HEADER_BYTES + MAX_PAYLOAD_BYTES + FRAME_CRC_BYTES;
export const MAX_ENCODED_FRAME_BYTES = cobsMaxEncodedLength(MAX_FRAME_BYTES);
export const FRAME_DELIMITER = 0x00;

export interface Frame {
  version: number;
  type: number;
  seq: number;
  payload: Uint8Array;
}

export type FrameErrorReason = 'cobs' | 'short' | 'oversized' | 'length' | 'crc';

/** Bytes between two delimiters that are not a valid frame. */
export class FrameError extends TransportError {
  constructor(
    readonly reason: FrameErrorReason,
    detail: string,
  ) {
    super(`damaged frame (${reason}): ${detail}`);
    this.name = 'FrameError';
  }
}

function checkField(what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new TinyforgeError(`frame: ${what} ${v} is not an integer in 0..${max}`);
  }
}

/** Header, payload and CRC (not yet COBS-encoded). */
export function encodeFrame(frame: { type: number; seq: number; payload?: Uint8Array; version?: number }): Uint8Array {
  const payload = frame.payload ?? new Uint8Array(0);
  const version = frame.version ?? PROTOCOL_VERSION;
  checkField('version', version, 0xff);
  checkField('type', frame.type, 0xff);
  checkField('seq', frame.seq, 0xffff);
  if (payload.byteLength > MAX_PAYLOAD_BYTES) {
    throw new TinyforgeError(`frame: a payload of ${payload.byteLength} bytes exceeds the protocol's ${MAX_PAYLOAD_BYTES}`);
  }
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength + FRAME_CRC_BYTES);
  const view = new DataView(out.buffer);
  view.setUint8(0, version);
  view.setUint8(1, frame.type);
  view.setUint16(2, frame.seq, true);
  view.setUint16(4, payload.byteLength, true);
  out.set(payload, FRAME_HEADER_BYTES);
  const n = FRAME_HEADER_BYTES + payload.byteLength;
  view.setUint32(n, crc32(out.subarray(0, n)), true);
  return out;
}

/** Wire bytes of a decoded frame: 0x00, COBS, 0x00. */
export function toWire(decoded: Uint8Array): Uint8Array {
  const enc = cobsEncode(decoded);
  const out = new Uint8Array(enc.byteLength + 2);
  out.set(enc, 1);
  return out;
}

/** encodeFrame + toWire. */
export function encodeWireFrame(frame: { type: number; seq: number; payload?: Uint8Array; version?: number }): Uint8Array {
  return toWire(encodeFrame(frame));
}

/**
 * Parses a decoded frame (header, payload, CRC). Throws FrameError when it is too short, longer
 * than the protocol allows, its length field disagrees with its size, or its CRC is wrong.
 * The version is returned as found; judging it is the caller's business.
 */
export function decodeFrame(decoded: Uint8Array): Frame {
  const n = decoded.byteLength;
  if (n < FRAME_HEADER_BYTES + FRAME_CRC_BYTES) {
    throw new FrameError('short', `${n} bytes, less than the ${FRAME_HEADER_BYTES + FRAME_CRC_BYTES} of header and CRC`);
  }
  const view = new DataView(decoded.buffer, decoded.byteOffset, n);
  const len = view.getUint16(4, true);
  if (len > MAX_PAYLOAD_BYTES) {
    throw new FrameError('oversized', `payload length ${len} exceeds ${MAX_PAYLOAD_BYTES}`);
  }
  if (len !== n - FRAME_HEADER_BYTES - FRAME_CRC_BYTES) {
    throw new FrameError('length', `header says ${len} payload bytes, the frame has ${n - FRAME_HEADER_BYTES - FRAME_CRC_BYTES}`);
  }
  const want = view.getUint32(FRAME_HEADER_BYTES + len, true);
  const got = crc32(decoded.subarray(0, FRAME_HEADER_BYTES + len));
  if (want !== got) {
    throw new FrameError('crc', `CRC 0x${got.toString(16).padStart(8, '0')} instead of 0x${want.toString(16).padStart(8, '0')}`);
  }
  return {
    version: view.getUint8(0),
    type: view.getUint8(1),
    seq: view.getUint16(2, true),
    payload: decoded.slice(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + len),
  };
}

/**
 * Parses what arrived between two delimiters (either or both delimiters may be included).
 * Returns undefined for an empty frame, which the protocol ignores; throws FrameError otherwise.
 */
export function decodeWireFrame(bytes: Uint8Array): Frame | undefined {
  let start = 0;
  let end = bytes.byteLength;
  while (start < end && bytes[start] === FRAME_DELIMITER) start++;
  while (end > start && bytes[end - 1] === FRAME_DELIMITER) end--;
  if (start === end) return undefined;
  const body = bytes.subarray(start, end);
  if (body.byteLength > MAX_ENCODED_FRAME_BYTES) {
    throw new FrameError('oversized', `${body.byteLength} encoded bytes exceed ${MAX_ENCODED_FRAME_BYTES}`);
  }
  let decoded: Uint8Array;
  try {
    decoded = cobsDecode(body);
  } catch (e) {
    if (e instanceof CobsError) throw new FrameError('cobs', e.message);
    throw e;
  }
  return decodeFrame(decoded);
}
