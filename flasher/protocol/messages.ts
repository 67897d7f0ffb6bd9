// Typed payloads of the agent protocol (docs/protocol.md, sections 2, 4 and 5): request encoders
// for the host, reply decoders that reject malformed payloads, and the code tables.

import { TinyforgeError } from '../../compiler/errors.ts';
import { TransportError } from '../transport/serial_transport.ts';
import { MAX_PAYLOAD_BYTES, MIN_AGENT_PAYLOAD_BYTES } from './frame.ts';

export const MsgType = {
  HELLO: 0x01,
  WRITE_INPUT: 0x02,
  INVOKE: 0x03,
  READ_OUTPUT: 0x04,
  STATS: 0x05,
  PROFILE: 0x06,
  RESET: 0x07,
  FEED: 0x08,
  ENROLL: 0x09,
  READ_HEAD: 0x0a,
  TEXT: 0x0b,
  BOOT: 0xfe,
  ERROR: 0xff,
} as const;
export type MsgTypeName = keyof typeof MsgType;

/** Type of the successful reply to a request. */
export const REPLY_FLAG = 0x80;
export function replyType(requestType: number): number {
  return requestType | REPLY_FLAG;
}

export const ErrorCode = {
  BAD_CRC: 1,
  BAD_LENGTH: 2,
  OVERSIZED: 3,
  BAD_FRAME: 4,
  BAD_VERSION: 5,
  SEQUENCE: 6,
  UNKNOWN_COMMAND: 7,
  BAD_REQUEST: 8,
  OUT_OF_RANGE: 9,
  NOT_READY: 10,
  INVOKE_FAILED: 11,
} as const;
export type ErrorCodeName = keyof typeof ErrorCode;

/** Framing errors: the agent executed nothing; the request is retransmitted unchanged. */
export function isFramingError(code: number): boolean {
  return code >= ErrorCode.BAD_CRC && code <= ErrorCode.BAD_FRAME;
}

const TYPE_NAMES = new Map<number, string>(Object.entries(MsgType).map(([k, v]) => [v, k]));
const CODE_NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));

/** "HELLO", "HELLO reply", or "type 0x42". */
export function typeName(type: number): string {
  const name = TYPE_NAMES.get(type);
  if (name !== undefined) return name;
  const req = TYPE_NAMES.get(type & ~REPLY_FLAG);
  if ((type & REPLY_FLAG) !== 0 && req !== undefined && type !== MsgType.BOOT && type !== MsgType.ERROR) return `${req} reply`;
  return `type 0x${type.toString(16).padStart(2, '0')}`;
}

/** "OUT_OF_RANGE", or "code 42" for a code this host does not know. */
export function errorCodeName(code: number): string {
  return CODE_NAMES.get(code) ?? `code ${code}`;
}

/** A reply whose payload does not have the documented layout: an agent bug or a version skew. */
export class ProtocolError extends TransportError {
  constructor(message: string) {
    super(`agent protocol: ${message}`);
    this.name = 'ProtocolError';
  }
}

/** Sizes of the fixed parts of payloads. */
export const HELLO_FIXED_BYTES = 48;
export const IO_HEADER_BYTES = 8;
export const INVOKE_REPLY_BYTES = 8;
export const STATS_REPLY_BYTES = 24;
export const ERROR_PAYLOAD_BYTES = 8;
export const MAX_IO = 8;

function view(p: Uint8Array): DataView {
  return new DataView(p.buffer, p.byteOffset, p.byteLength);
}

function need(what: string, p: Uint8Array, n: number): void {
  if (p.byteLength < n) throw new ProtocolError(`${what} has ${p.byteLength} payload bytes, at least ${n} expected`);
}

function ascii(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

function checkU(what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new TinyforgeError(`${what} ${v} is not an integer in 0..${max}`);
}

// ---- HELLO ----

export interface HelloInfo {
  protocolVersion: number;
  boardId: string;
  /** 64 lowercase hex digits. */
  modelSha256: string;
  arenaBytes: number;
  inputBytes: number[];
  outputBytes: number[];
  /** Largest payload the agent accepts and sends. */
  maxPayload: number;
  counterName: string;
  cyclesPerTick: number;
}

export function decodeHelloReply(p: Uint8Array): HelloInfo {
  need('HELLO reply', p, HELLO_FIXED_BYTES);
  const v = view(p);
  const ni = v.getUint8(1);
  const no = v.getUint8(2);
  const boardLen = v.getUint8(3);
  const counterLen = v.getUint8(6);
  if (ni > MAX_IO || no > MAX_IO) throw new ProtocolError(`HELLO reply claims ${ni} inputs and ${no} outputs (at most ${MAX_IO} each)`);
  const sizesEnd = HELLO_FIXED_BYTES + 4 * (ni + no);
  need('HELLO reply', p, sizesEnd + boardLen + counterLen);
  const maxPayload = v.getUint16(4, true);
  if (maxPayload < MIN_AGENT_PAYLOAD_BYTES || maxPayload > MAX_PAYLOAD_BYTES) {
    throw new ProtocolError(`HELLO reply: max payload ${maxPayload} outside ${MIN_AGENT_PAYLOAD_BYTES}..${MAX_PAYLOAD_BYTES}`);
  }
  const sizes = (start: number, n: number): number[] => Array.from({ length: n }, (_, i) => v.getUint32(start + 4 * i, true));
  return {
    protocolVersion: v.getUint8(0),
    boardId: ascii(p.subarray(sizesEnd, sizesEnd + boardLen)),
    modelSha256: Buffer.from(p.subarray(16, 48)).toString('hex'),
    arenaBytes: v.getUint32(8, true),
    inputBytes: sizes(HELLO_FIXED_BYTES, ni),
    outputBytes: sizes(HELLO_FIXED_BYTES + 4 * ni, no),
    maxPayload,
    counterName: ascii(p.subarray(sizesEnd + boardLen, sizesEnd + boardLen + counterLen)),
    cyclesPerTick: v.getUint32(12, true),
  };
}

// ---- WRITE_INPUT ----

export function encodeWriteInput(index: number, offset: number, chunk: Uint8Array): Uint8Array {
  checkU('WRITE_INPUT index', index, 0xff);
  checkU('WRITE_INPUT offset', offset, 0xffff_ffff);
  if (chunk.byteLength > MAX_PAYLOAD_BYTES - IO_HEADER_BYTES) {
    throw new TinyforgeError(`WRITE_INPUT chunk of ${chunk.byteLength} bytes exceeds ${MAX_PAYLOAD_BYTES - IO_HEADER_BYTES}`);
  }
  const p = new Uint8Array(IO_HEADER_BYTES + chunk.byteLength);
  p[0] = index;
  view(p).setUint32(4, offset, true);
  p.set(chunk, IO_HEADER_BYTES);
  return p;
}

export interface WriteInputReply {
  index: number;
  nextOffset: number;
}

export function decodeWriteInputReply(p: Uint8Array): WriteInputReply {
  need('WRITE_INPUT reply', p, IO_HEADER_BYTES);
  return { index: p[0] as number, nextOffset: view(p).getUint32(4, true) };
}

// ---- INVOKE ----

export interface InvokeReply {
  status: number;
  /** Counter ticks around the inference; cycles = ticks * cyclesPerTick. */
  ticks: number;
}

export function decodeInvokeReply(p: Uint8Array): InvokeReply {
  need('INVOKE reply', p, INVOKE_REPLY_BYTES);
  const v = view(p);
  return { status: v.getInt32(0, true), ticks: v.getUint32(4, true) };
}

// ---- READ_OUTPUT ----

export function encodeReadOutput(index: number, offset: number, length: number): Uint8Array {
  checkU('READ_OUTPUT index', index, 0xff);
  checkU('READ_OUTPUT offset', offset, 0xffff_ffff);
  checkU('READ_OUTPUT length', length, MAX_PAYLOAD_BYTES - IO_HEADER_BYTES);
  const p = new Uint8Array(IO_HEADER_BYTES);
  p[0] = index;
  const v = view(p);
  v.setUint16(2, length, true);
  v.setUint32(4, offset, true);
  return p;
}

export interface ReadOutputReply {
  index: number;
  offset: number;
  length: number;
  data: Uint8Array;
}

export function decodeReadOutputReply(p: Uint8Array): ReadOutputReply {
  need('READ_OUTPUT reply', p, IO_HEADER_BYTES);
  const v = view(p);
  const length = v.getUint16(2, true);
  if (p.byteLength !== IO_HEADER_BYTES + length) {
    throw new ProtocolError(`READ_OUTPUT reply announces ${length} bytes but carries ${p.byteLength - IO_HEADER_BYTES}`);
  }
  return { index: p[0] as number, offset: v.getUint32(4, true), length, data: p.slice(IO_HEADER_BYTES) };
}

// ---- STATS ----

export interface AgentStats {
  lastInvokeTicks: number;
  /** Deepest stack use since boot, in bytes (0 when the board cannot tell). */
  stackHighWaterBytes: number;
  /** 0 when the board cannot tell. */
  stackSizeBytes: number;
  arenaBytes: number;
  invokeCount: number;
  /** Damaged frames the agent received since boot. */
  rxErrors: number;
}

export function decodeStatsReply(p: Uint8Array): AgentStats {
  need('STATS reply', p, STATS_REPLY_BYTES);
  const v = view(p);
  return {
    lastInvokeTicks: v.getUint32(0, true),
    stackHighWaterBytes: v.getUint32(4, true),
    stackSizeBytes: v.getUint32(8, true),
    arenaBytes: v.getUint32(12, true),
    invokeCount: v.getUint32(16, true),
    rxErrors: v.getUint32(20, true),
  };
}

// ---- TEXT ----

export const TEXT_REPLY_HEADER_BYTES = 12;

export interface TextReply {
  status: number;
  ticks: number;
  /** Tokens before padding. */
  count: number;
  /** The model's token-id input as tokenized on the device (sequence length ids). */
  ids: Int32Array;
}

export function decodeTextReply(p: Uint8Array): TextReply {
  need('TEXT reply', p, TEXT_REPLY_HEADER_BYTES);
  const v = view(p);
  const seqLen = v.getUint16(10, true);
  if (p.byteLength !== TEXT_REPLY_HEADER_BYTES + 4 * seqLen) throw new ProtocolError(`TEXT reply: ${p.byteLength} bytes for ${seqLen} token ids`);
  const count = v.getUint16(8, true);
  if (count > seqLen) throw new ProtocolError(`TEXT reply: ${count} tokens in a sequence of ${seqLen}`);
  return { status: v.getInt32(0, true), ticks: v.getUint32(4, true), count, ids: Int32Array.from({ length: seqLen }, (_, i) => v.getInt32(TEXT_REPLY_HEADER_BYTES + 4 * i, true)) };
}

// ---- PROFILE ----

export const PROFILE_REPLY_HEADER_BYTES = 4;

export function encodeProfileRequest(first: number): Uint8Array {
  const p = new Uint8Array(2);
  view(p).setUint16(0, first, true);
  return p;
}

/** Counter values the model recorded before each layer (and after the last) in the last inference. */
export interface ProfileChunk {
  totalMarks: number;
  ticks: number[];
}

export function decodeProfileReply(p: Uint8Array): ProfileChunk {
  need('PROFILE reply', p, PROFILE_REPLY_HEADER_BYTES);
  const v = view(p);
  const total = v.getUint16(0, true);
  const n = v.getUint16(2, true);
  if (p.byteLength !== PROFILE_REPLY_HEADER_BYTES + 4 * n) {
    throw new TransportError(`PROFILE reply: ${p.byteLength} bytes for ${n} marks`);
  }
  return { totalMarks: total, ticks: Array.from({ length: n }, (_, i) => v.getUint32(PROFILE_REPLY_HEADER_BYTES + 4 * i, true)) };
}

// ---- ENROLL / READ_HEAD (models compiled with --adapt last) ----

export const ENROLL_REPLY_BYTES = 20;
export const READ_HEAD_HEADER_BYTES = 8;

export function encodeEnrollRequest(cls: number): Uint8Array {
  if (!Number.isInteger(cls) || cls < 0 || cls > 0xff) throw new TinyforgeError(`ENROLL: class ${cls} is not 0..255`);
  return Uint8Array.of(cls, 0, 0, 0);
}

/** What the agent reports after adding one example to its head. */
export interface EnrollReply {
  cls: number;
  /** Examples the class now holds. */
  count: number;
  /** Bytes of the head's saved image. */
  headBytes: number;
  /** CRC-32 of that image (the host compares it with its reference head). */
  headCrc32: number;
  /** Counter ticks the enrollment took (frozen part + head update). */
  ticks: number;
}

export function decodeEnrollReply(p: Uint8Array): EnrollReply {
  need('ENROLL reply', p, ENROLL_REPLY_BYTES);
  const v = view(p);
  return { cls: p[0] as number, count: v.getUint32(4, true), headBytes: v.getUint32(8, true), headCrc32: v.getUint32(12, true), ticks: v.getUint32(16, true) };
}

export function encodeReadHead(offset: number, length: number): Uint8Array {
  const p = new Uint8Array(READ_HEAD_HEADER_BYTES);
  view(p).setUint32(0, offset, true);
  view(p).setUint16(4, length, true);
  return p;
}

export interface ReadHeadReply {
  offset: number;
  length: number;
  data: Uint8Array;
}

export function decodeReadHeadReply(p: Uint8Array): ReadHeadReply {
  need('READ_HEAD reply', p, READ_HEAD_HEADER_BYTES);
  const v = view(p);
  const length = v.getUint16(4, true);
  if (p.byteLength !== READ_HEAD_HEADER_BYTES + length) throw new TransportError(`READ_HEAD reply: ${p.byteLength} bytes for ${length} head bytes`);
  return { offset: v.getUint32(0, true), length, data: p.slice(READ_HEAD_HEADER_BYTES) };
}

// ---- ERROR ----

export interface ErrorPayload {
  code: number;
  /** Type of the request the agent refused (0 when it could not read the frame). */
  requestType: number;
  detail: number;
}

export function decodeErrorPayload(p: Uint8Array): ErrorPayload {
  need('ERROR', p, ERROR_PAYLOAD_BYTES);
  return { code: p[0] as number, requestType: p[1] as number, detail: view(p).getUint32(4, true) };
}

/** "OUT_OF_RANGE (detail 1960)" with the detail explained where the code gives it a meaning. */
export function describeError(e: ErrorPayload): string {
  const name = errorCodeName(e.code);
  switch (e.code) {
    case ErrorCode.SEQUENCE:
      return e.detail === 0 ? `${name} (the agent has not seen HELLO since it booted)` : `${name} (expected seq ${e.detail})`;
    case ErrorCode.OUT_OF_RANGE:
      return `${name} (limit ${e.detail})`;
    case ErrorCode.INVOKE_FAILED:
      return `${name} (the model returned ${e.detail | 0})`;
    case ErrorCode.OVERSIZED:
      return `${name} (the agent accepts ${e.detail} payload bytes)`;
    case ErrorCode.BAD_VERSION:
      return `${name} (the agent speaks version ${e.detail})`;
    case ErrorCode.BAD_REQUEST:
      return `${name} (expected ${e.detail} payload bytes)`;
    default:
      return e.detail !== 0 ? `${name} (detail ${e.detail})` : name;
  }
}
