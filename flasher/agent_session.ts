// A host session with the on-device agent (runtime-c-templates/agent/tf_agent.c) over any
// ByteTransport, following docs/protocol.md: HELLO, chunked WRITE_INPUT, INVOKE, chunked
// READ_OUTPUT, STATS.
//
// Reliability: every request has one seq and up to 1 + retries attempts, each with a timeout; a
// timeout, a damaged reply or a framing ERROR from the agent makes the host send the same bytes
// again, which the agent answers from its reply cache without executing twice. INVOKE is the
// exception to "up to 1 + retries full attempts": its first attempt waits invokeTimeoutMs (the model
// runs meanwhile), later ones only timeoutMs each and all of them within invokeGraceMs, because an
// agent that finished answers a repeat from its cache at once; a board that died after INVOKE thus
// fails within invokeTimeoutMs + invokeGraceMs instead of (1 + retries) x invokeTimeoutMs. A BOOT frame (or a
// SEQUENCE error saying the agent has not seen HELLO) means the device reset: the session says
// HELLO again and restarts the current inference from its first input byte, a few times at most.
// Outputs are only returned when every byte arrived in CRC-checked replies that echo the requested
// index, offset and length.

import { TinyforgeError } from '../compiler/errors.ts';
import { FrameError, MAX_PAYLOAD_BYTES, PROTOCOL_VERSION, decodeWireFrame, encodeWireFrame, type Frame } from './protocol/frame.ts';
import {
  ErrorCode,
  IO_HEADER_BYTES,
  MsgType,
  ProtocolError,
  decodeErrorPayload,
  decodeHelloReply,
  decodeInvokeReply,
  decodeReadOutputReply,
  decodeStatsReply,
  decodeProfileReply,
  decodeEnrollReply,
  decodeReadHeadReply,
  encodeEnrollRequest,
  decodeTextReply,
  encodeProfileRequest,
  encodeReadHead,
  type EnrollReply,
  decodeWriteInputReply,
  describeError,
  encodeReadOutput,
  encodeWriteInput,
  errorCodeName,
  isFramingError,
  replyType,
  typeName,
  type AgentStats,
  type ErrorPayload,
  type HelloInfo,
} from './protocol/messages.ts';
import { TimeoutError, TransportError, type ByteTransport } from './transport/serial_transport.ts';
import { decodeFeedReply, encodeFeedRequest, type FeedReply } from './protocol/feed.ts';

export type { AgentStats, HelloInfo } from './protocol/messages.ts';

export interface TransferProgress {
  stage: 'write' | 'invoke' | 'read';
  /** Bytes of this stage done so far (for 'invoke': 0 before, 1 after). */
  bytesDone: number;
  bytesTotal: number;
}

export interface AgentSessionOptions {
  /** Time to wait for the reply of one attempt, in ms. Default 1000. */
  timeoutMs?: number;
  /** Time to wait for the reply of one INVOKE attempt (the inference runs meanwhile). Default 30000. */
  invokeTimeoutMs?: number;
  /**
   * After an INVOKE attempt timed out: how long repeats (each waiting timeoutMs) may go on before
   * the board counts as gone. Default retries x timeoutMs.
   */
  invokeGraceMs?: number;
  /** Extra attempts of a request after the first. Default 4. */
  retries?: number;
  /** Total time connect() keeps sending HELLO. Default 5000. */
  connectTimeoutMs?: number;
  /** Device resets tolerated within one inference before giving up. Default 3. */
  maxResyncs?: number;
  /** Line speed; when given, the time a frame takes on the wire is added to each attempt's timeout. */
  baudRate?: number;
  /** When given, connect() refuses an agent running another model. */
  expectModelSha256?: string;
  /** Called as inputs are written, the model runs and outputs are read. */
  onProgress?: (p: TransferProgress) => void;
  /** Diagnostics: retransmissions, resets, ignored frames. */
  onEvent?: (message: string) => void;
}

export interface InferResult {
  outputs: Uint8Array[];
  /** Counter ticks around the inference, as the agent measured them. */
  ticks: number;
  /** ticks * cyclesPerTick of HELLO. */
  cycles: number;
}

/** TEXT: the ids the device tokenized, and the outputs of the model run on them. */
export interface TextResult extends InferResult {
  /** Tokens before padding. */
  count: number;
  /** The model's token-id input (sequence length ids). */
  ids: Int32Array;
}

/** The agent refused a request with an ERROR reply. Exit code 3. */
export class AgentErrorReply extends TransportError {
  readonly code: number;
  readonly codeName: string;
  readonly detail: number;
  constructor(
    readonly command: string,
    readonly seq: number,
    error: ErrorPayload,
  ) {
    super(`agent refused ${command} (seq ${seq}): ${describeError(error)}`);
    this.name = 'AgentErrorReply';
    this.code = error.code;
    this.codeName = errorCodeName(error.code);
    this.detail = error.detail;
  }
}

/** Internal: the device restarted (BOOT frame, or SEQUENCE "not synced"). */
class DeviceReset extends Error {
  constructor(readonly during: string) {
    super(`the device reset during ${during}`);
    this.name = 'DeviceReset';
  }
}

type Outcome =
  | { kind: 'reply'; frame: Frame }
  | { kind: 'timeout' }
  | { kind: 'damaged'; why: string }
  | { kind: 'nack'; error: ErrorPayload }
  | { kind: 'boot' };

interface ExchangeOptions {
  /** Per-attempt reply timeout. */
  attemptMs: number;
  /** Reply timeout of the attempts after the first (default attemptMs). */
  laterAttemptMs?: number;
  /** With laterAttemptMs: no attempt after the first starts later than this after the first timed out. */
  graceMs?: number;
  /** At most this many attempts ... */
  maxAttempts: number;
  /** ... and none started after this time (performance.now()). */
  deadline?: number;
  /** HELLO during connect or resync: a BOOT frame is expected noise, answered by sending again. */
  bootIsNoise?: boolean;
}

export class AgentSession {
  /** What happened on the line so far; tests and diagnostics read it. */
  readonly counters = {
    requests: 0,
    retransmits: 0,
    timeouts: 0,
    damagedReplies: 0,
    nacks: 0,
    staleFrames: 0,
    bootFrames: 0,
    resyncs: 0,
  };

  private readonly timeoutMs: number;
  private readonly invokeTimeoutMs: number;
  private readonly invokeGraceMs: number;
  private readonly retries: number;
  private readonly connectTimeoutMs: number;
  private readonly maxResyncs: number;
  private seq = 0;
  private info: HelloInfo | undefined;
  private busy = false;

  constructor(
    readonly transport: ByteTransport,
    private readonly opts: AgentSessionOptions = {},
  ) {
    this.timeoutMs = positive('timeoutMs', opts.timeoutMs ?? 1000);
    this.invokeTimeoutMs = positive('invokeTimeoutMs', opts.invokeTimeoutMs ?? 30_000);
    this.retries = nonNegative('retries', opts.retries ?? 4);
    this.invokeGraceMs = positive('invokeGraceMs', opts.invokeGraceMs ?? Math.max(1, this.retries) * this.timeoutMs);
    this.connectTimeoutMs = positive('connectTimeoutMs', opts.connectTimeoutMs ?? 5000);
    this.maxResyncs = nonNegative('maxResyncs', opts.maxResyncs ?? 3);
    if (opts.baudRate !== undefined) positive('baudRate', opts.baudRate);
  }

  get connected(): boolean {
    return this.info !== undefined;
  }

  /** What the agent said in HELLO. Throws when connect() has not succeeded. */
  get hello(): HelloInfo {
    if (this.info === undefined) throw new TinyforgeError('AgentSession: call connect() first');
    return this.info;
  }

  /**
   * Drops whatever the line holds, then sends HELLO until a valid reply arrives (BOOT frames,
   * noise and stale frames are ignored) or connectTimeoutMs passes (TimeoutError).
   */
  connect(): Promise<HelloInfo> {
    return this.exclusive(async () => {
      this.info = undefined;
      this.transport.discardInput();
      const info = await this.sayHello();
      if (info.protocolVersion !== PROTOCOL_VERSION) {
        throw new TransportError(`the agent on ${this.transport.description} speaks protocol version ${info.protocolVersion}; this host speaks ${PROTOCOL_VERSION}`);
      }
      const want = this.opts.expectModelSha256?.toLowerCase();
      if (want !== undefined && info.modelSha256 !== want) {
        throw new TinyforgeError(
          `the agent on ${this.transport.description} runs the model with sha256 ${info.modelSha256}, not ${want}: flash the firmware built for this model`,
        );
      }
      this.info = info;
      return info;
    });
  }

  /**
   * One inference: writes every input (chunked), invokes, reads every output (chunked). After a
   * device reset it says HELLO again and starts over, at most maxResyncs times.
   */
  infer(inputs: readonly Uint8Array[]): Promise<InferResult> {
    return this.exclusive(async () => {
      const info = this.hello;
      if (inputs.length !== info.inputBytes.length) {
        throw new TinyforgeError(`AgentSession.infer: ${inputs.length} inputs given; the model on the device has ${info.inputBytes.length}`);
      }
      inputs.forEach((t, i) => {
        if (t.byteLength !== info.inputBytes[i]) {
          throw new TinyforgeError(`AgentSession.infer: input ${i} has ${t.byteLength} bytes; the model on the device expects ${info.inputBytes[i]}`);
        }
      });
      for (let resets = 0; ; ) {
        try {
          return await this.inferOnce(inputs);
        } catch (e) {
          if (!(e instanceof DeviceReset)) throw e;
          resets++;
          if (resets > this.maxResyncs) {
            throw new TransportError(
              `the agent on ${this.transport.description} reset ${resets} times during one inference (the last time during ${e.during}); giving up`,
            );
          }
          await this.resync(e.during);
        }
      }
    });
  }

  /** The agent's counters. A device reset before the reply is an error (its statistics are gone). */
  stats(): Promise<AgentStats> {
    return this.exclusive(async () => {
      void this.hello;
      try {
        return decodeStatsReply((await this.request(MsgType.STATS, new Uint8Array(0), this.timeoutMs)).payload);
      } catch (e) {
        if (!(e instanceof DeviceReset)) throw e;
        await this.resync(e.during);
        throw new TransportError(`the agent on ${this.transport.description} reset before answering STATS; its statistics were lost`);
      }
    });
  }

  /**
   * Returns the model's state to its initial value (RESET): the next invoke starts a new stream.
   * An agent built before RESET existed answers UNKNOWN_COMMAND, which is reported as such.
   */
  reset(): Promise<void> {
    return this.exclusive(async () => {
      const reply = await this.request(MsgType.RESET, new Uint8Array(0), this.timeoutMs);
      if (reply.payload.byteLength !== 0) throw new TransportError(`RESET reply has ${reply.payload.byteLength} payload bytes (expected none)`);
    });
  }

  /**
   * Streams PCM samples into a streaming firmware's pipeline (FEED); returns what it computed from
   * them. The samples must fit one payload. A device reset loses the stream's state, so it is an
   * error here rather than a retry.
   */
  feed(samples: Int16Array): Promise<FeedReply> {
    return this.exclusive(async () => {
      const info = this.hello;
      if (samples.length * 2 > Math.min(info.maxPayload, MAX_PAYLOAD_BYTES)) {
        throw new TinyforgeError(`AgentSession.feed: ${samples.length} samples do not fit one payload of ${info.maxPayload} bytes`);
      }
      try {
        return decodeFeedReply((await this.request(MsgType.FEED, encodeFeedRequest(samples), this.invokeTimeoutMs)).payload);
      } catch (e) {
        if (!(e instanceof DeviceReset)) throw e;
        await this.resync(e.during);
        throw new TransportError(`the agent on ${this.transport.description} reset during FEED; the stream's state was lost`);
      }
    });
  }

  /**
   * Tokenizes `text` (UTF-8, at most max payload bytes) on the device and runs the text model on
   * it (TEXT), then reads every output. Firmware without a tokenizer answers UNKNOWN_COMMAND. A
   * device reset during the exchange starts it over after HELLO, as infer() does.
   */
  text(text: Uint8Array): Promise<TextResult> {
    return this.exclusive(async () => {
      const info = this.hello;
      if (text.byteLength > Math.min(info.maxPayload, MAX_PAYLOAD_BYTES)) {
        throw new TinyforgeError(`AgentSession.text: ${text.byteLength} bytes of text; the agent takes at most ${Math.min(info.maxPayload, MAX_PAYLOAD_BYTES)} per TEXT`);
      }
      for (let resets = 0; ; ) {
        try {
          const reply = decodeTextReply((await this.request(MsgType.TEXT, text, this.invokeTimeoutMs)).payload);
          if (reply.status !== 0) throw new ProtocolError(`TEXT replied with status ${reply.status} instead of an INVOKE_FAILED error`);
          const outputs = await this.readOutputs();
          return { ...reply, outputs, cycles: reply.ticks * info.cyclesPerTick };
        } catch (e) {
          if (!(e instanceof DeviceReset)) throw e;
          if (++resets > this.maxResyncs) throw new TransportError(`the agent on ${this.transport.description} reset ${resets} times during one TEXT request; giving up`);
          await this.resync(e.during);
        }
      }
    });
  }

  /**
   * Counter ticks of each layer in the last inference (firmware built with -DTF_PROFILE; an agent
   * without profiling answers with no marks, and this returns an empty list).
   */
  profile(): Promise<number[]> {
    return this.exclusive(async () => {
      const marks: number[] = [];
      let total = Number.POSITIVE_INFINITY;
      while (marks.length < total) {
        const chunk = decodeProfileReply((await this.request(MsgType.PROFILE, encodeProfileRequest(marks.length), this.timeoutMs)).payload);
        total = chunk.totalMarks;
        if (chunk.ticks.length === 0 && marks.length < total) throw new TransportError(`PROFILE: the agent sent no marks from ${marks.length} of ${total}`);
        marks.push(...chunk.ticks);
      }
      // Counter values wrap at 2^32.
      return marks.slice(1).map((t, i) => (t - (marks[i] as number)) >>> 0);
    });
  }

  /**
   * Adds `input` to class `cls` of the learnable head (ENROLL, models compiled with --adapt last):
   * writes input 0, then enrolls. A device reset loses every enrolled example, so it is an error.
   */
  enroll(cls: number, input: Uint8Array): Promise<EnrollReply> {
    return this.exclusive(async () => {
      const info = this.hello;
      if (info.inputBytes.length !== 1 || input.byteLength !== info.inputBytes[0]) {
        throw new TinyforgeError(`AgentSession.enroll: ${input.byteLength} input bytes; the model on the device expects one input of ${info.inputBytes.join(', ')} bytes`);
      }
      try {
        await this.writeInputs([input]);
        const reply = decodeEnrollReply((await this.request(MsgType.ENROLL, encodeEnrollRequest(cls), this.invokeTimeoutMs)).payload);
        if (reply.cls !== cls) throw new ProtocolError(`ENROLL of class ${cls} acknowledged as class ${reply.cls}`);
        return reply;
      } catch (e) {
        if (!(e instanceof DeviceReset)) throw e;
        await this.resync(e.during);
        throw new TransportError(`the agent on ${this.transport.description} reset during ENROLL; the examples enrolled so far were lost`);
      }
    });
  }

  /** The head's saved image, `bytes` long (READ_HEAD, chunked). */
  readHead(bytes: number): Promise<Uint8Array> {
    return this.exclusive(async () => {
      const chunk = Math.min(this.hello.maxPayload, MAX_PAYLOAD_BYTES) - IO_HEADER_BYTES;
      const out = new Uint8Array(bytes);
      for (let off = 0; off < bytes; off += chunk) {
        const length = Math.min(chunk, bytes - off);
        const r = decodeReadHeadReply((await this.request(MsgType.READ_HEAD, encodeReadHead(off, length), this.timeoutMs)).payload);
        if (r.offset !== off || r.length !== length) throw new ProtocolError(`READ_HEAD at ${off} (${length} bytes) answered at ${r.offset} (${r.length} bytes)`);
        out.set(r.data, off);
      }
      return out;
    });
  }

  // ---- inference ----

  private async writeInputs(inputs: readonly Uint8Array[]): Promise<void> {
    const info = this.hello;
    const chunk = Math.min(info.maxPayload, MAX_PAYLOAD_BYTES) - IO_HEADER_BYTES;
    const progress = this.opts.onProgress;
    const totalIn = info.inputBytes.reduce((a, b) => a + b, 0);
    let written = 0;
    progress?.({ stage: 'write', bytesDone: 0, bytesTotal: totalIn });
    for (let i = 0; i < inputs.length; i++) {
      const data = inputs[i] as Uint8Array;
      for (let off = 0; off < data.byteLength; off += chunk) {
        const piece = data.subarray(off, off + chunk);
        const reply = decodeWriteInputReply((await this.request(MsgType.WRITE_INPUT, encodeWriteInput(i, off, piece), this.timeoutMs)).payload);
        if (reply.index !== i || reply.nextOffset !== off + piece.byteLength) {
          throw new ProtocolError(
            `WRITE_INPUT of input ${i} at ${off} (${piece.byteLength} bytes) acknowledged as input ${reply.index} up to ${reply.nextOffset}`,
          );
        }
        written += piece.byteLength;
        progress?.({ stage: 'write', bytesDone: written, bytesTotal: totalIn });
      }
    }
  }

  private async inferOnce(inputs: readonly Uint8Array[]): Promise<InferResult> {
    const info = this.hello;
    const progress = this.opts.onProgress;

    await this.writeInputs(inputs);

    progress?.({ stage: 'invoke', bytesDone: 0, bytesTotal: 1 });
    const inv = decodeInvokeReply((await this.invoke()).payload);
    if (inv.status !== 0) throw new ProtocolError(`INVOKE replied with status ${inv.status} instead of an INVOKE_FAILED error`);
    progress?.({ stage: 'invoke', bytesDone: 1, bytesTotal: 1 });

    const outputs = await this.readOutputs();
    return { outputs, ticks: inv.ticks, cycles: inv.ticks * info.cyclesPerTick };
  }

  /** Every output, chunked; only complete outputs whose replies echo the request are returned. */
  private async readOutputs(): Promise<Uint8Array[]> {
    const info = this.hello;
    const chunk = Math.min(info.maxPayload, MAX_PAYLOAD_BYTES) - IO_HEADER_BYTES;
    const progress = this.opts.onProgress;
    const totalOut = info.outputBytes.reduce((a, b) => a + b, 0);
    let read = 0;
    progress?.({ stage: 'read', bytesDone: 0, bytesTotal: totalOut });
    const outputs: Uint8Array[] = [];
    for (let o = 0; o < info.outputBytes.length; o++) {
      const size = info.outputBytes[o] as number;
      const out = new Uint8Array(size);
      let received = 0;
      for (let off = 0; off < size; off += chunk) {
        const length = Math.min(chunk, size - off);
        const reply = decodeReadOutputReply((await this.request(MsgType.READ_OUTPUT, encodeReadOutput(o, off, length), this.timeoutMs)).payload);
        if (reply.index !== o || reply.offset !== off || reply.length !== length) {
          throw new ProtocolError(
            `READ_OUTPUT of output ${o} at ${off} (${length} bytes) answered with output ${reply.index} at ${reply.offset} (${reply.length} bytes)`,
          );
        }
        out.set(reply.data, off);
        received += length;
        read += length;
        progress?.({ stage: 'read', bytesDone: read, bytesTotal: totalOut });
      }
      if (received !== size) throw new ProtocolError(`output ${o}: received ${received} of ${size} bytes`);
      outputs.push(out);
    }
    return outputs;
  }

  // ---- HELLO and resync ----

  private async sayHello(): Promise<HelloInfo> {
    const deadline = performance.now() + this.connectTimeoutMs;
    const frame = await this.exchange(MsgType.HELLO, new Uint8Array(0), {
      attemptMs: Math.min(this.timeoutMs, this.connectTimeoutMs),
      maxAttempts: Number.POSITIVE_INFINITY,
      deadline,
      bootIsNoise: true,
    });
    return decodeHelloReply(frame.payload);
  }

  private async resync(during: string): Promise<void> {
    this.counters.resyncs++;
    this.event(`device reset detected during ${during}; saying HELLO again`);
    this.transport.discardInput();
    const before = this.hello;
    const now = await this.sayHello();
    const same =
      now.protocolVersion === before.protocolVersion &&
      now.modelSha256 === before.modelSha256 &&
      now.boardId === before.boardId &&
      now.maxPayload === before.maxPayload &&
      sameList(now.inputBytes, before.inputBytes) &&
      sameList(now.outputBytes, before.outputBytes);
    if (!same) {
      this.info = undefined;
      throw new TransportError(`the agent on ${this.transport.description} came back from a reset with a different model or board`);
    }
  }

  // ---- requests ----

  /**
   * INVOKE: one long attempt, then short repeats within the grace period. A board that does not
   * answer by then has crashed or hung; the error says so and names the option that sets the wait.
   */
  private async invoke(): Promise<Frame> {
    try {
      return await this.exchange(MsgType.INVOKE, new Uint8Array(0), {
        attemptMs: this.invokeTimeoutMs,
        laterAttemptMs: this.timeoutMs,
        graceMs: this.invokeGraceMs,
        maxAttempts: this.retries + 1,
      });
    } catch (e) {
      if (!(e instanceof TimeoutError)) throw e;
      const err = new TimeoutError(`INVOKE to ${this.transport.description}`, this.invokeTimeoutMs);
      err.message =
        `the board on ${this.transport.description} stopped answering after INVOKE: no reply within the ${formatMs(this.invokeTimeoutMs)} inference timeout ` +
        `nor to repeats in the next ${formatMs(this.invokeGraceMs)} (${e.message}); it crashed, hung or lost power, ` +
        'or the inference takes longer (raise --timeout)';
      throw err;
    }
  }

  private request(type: number, payload: Uint8Array, attemptMs: number): Promise<Frame> {
    return this.exchange(type, payload, { attemptMs, maxAttempts: this.retries + 1 });
  }

  private nextSeq(): number {
    this.seq = this.seq >= 0xffff ? 1 : this.seq + 1;
    return this.seq;
  }

  private wireMs(bytes: number): number {
    return this.opts.baudRate === undefined ? 0 : Math.ceil((bytes * 10 * 1000) / this.opts.baudRate);
  }

  private async exchange(type: number, payload: Uint8Array, x: ExchangeOptions): Promise<Frame> {
    const seq = this.nextSeq();
    const name = typeName(type);
    const wire = encodeWireFrame({ type, seq, payload });
    // Room for the request and the largest reply to cross the line.
    const attemptMs = x.attemptMs + this.wireMs(wire.byteLength + MAX_PAYLOAD_BYTES + 17);
    const tally = { timeouts: 0, damaged: 0, nacks: 0, boots: 0 };
    let lastProblem = '';
    this.counters.requests++;
    let attempt = 0;
    let deadline = x.deadline;
    while (attempt < x.maxAttempts) {
      const now = performance.now();
      if (deadline !== undefined && attempt > 0 && now >= deadline) break;
      const baseMs = attempt > 0 && x.laterAttemptMs !== undefined ? x.laterAttemptMs + this.wireMs(wire.byteLength + MAX_PAYLOAD_BYTES + 17) : attemptMs;
      const thisAttemptMs = deadline === undefined ? baseMs : Math.max(1, Math.min(baseMs, deadline - now));
      attempt++;
      if (attempt > 1) this.counters.retransmits++;
      await this.transport.write(wire);
      const outcome = await this.awaitReply(type, seq, thisAttemptMs, x.bootIsNoise === true);
      if (attempt === 1 && x.graceMs !== undefined && outcome.kind !== 'reply') deadline = performance.now() + x.graceMs;
      switch (outcome.kind) {
        case 'reply':
          return outcome.frame;
        case 'timeout':
          tally.timeouts++;
          this.counters.timeouts++;
          lastProblem = `no reply within ${Math.round(thisAttemptMs)} ms`;
          break;
        case 'damaged':
          tally.damaged++;
          lastProblem = `damaged reply: ${outcome.why}`;
          break;
        case 'nack':
          tally.nacks++;
          lastProblem = `the agent received a damaged frame: ${describeError(outcome.error)}`;
          break;
        case 'boot':
          tally.boots++;
          lastProblem = 'the device booted';
          break;
      }
      this.event(`${name} (seq ${seq}) attempt ${attempt}: ${lastProblem}; ${attempt < x.maxAttempts ? 'sending it again' : 'giving up'}`);
    }
    const parts = [
      tally.timeouts > 0 ? `${tally.timeouts} timed out` : '',
      tally.damaged > 0 ? `${tally.damaged} got a damaged reply` : '',
      tally.nacks > 0 ? `${tally.nacks} were reported damaged by the agent` : '',
      tally.boots > 0 ? `${tally.boots} were cut short by a BOOT` : '',
    ].filter((s) => s !== '');
    const err = new TimeoutError(`${name} to ${this.transport.description}`, attemptMs);
    const perAttempt = x.laterAttemptMs === undefined ? `timeout ${Math.round(attemptMs)} ms per attempt` : `timeout ${Math.round(attemptMs)} ms, then ${Math.round(x.laterAttemptMs)} ms per repeat`;
    err.message = `${name} (seq ${seq}) to ${this.transport.description}: no valid reply after ${attempt} attempt${attempt === 1 ? '' : 's'} (${parts.join(', ')}; ${perAttempt})`;
    throw err;
  }

  /** Reads frames until the reply to (type, seq) or something that calls for a retransmission. */
  private async awaitReply(type: number, seq: number, ms: number, bootIsNoise: boolean): Promise<Outcome> {
    const name = typeName(type);
    const deadline = performance.now() + ms;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return { kind: 'timeout' };
      let bytes: Uint8Array;
      try {
        bytes = await this.transport.readUntil(0x00, Math.max(1, Math.ceil(left)));
      } catch (e) {
        if (e instanceof TimeoutError) return { kind: 'timeout' };
        throw e;
      }
      let frame: Frame | undefined;
      try {
        frame = decodeWireFrame(bytes);
      } catch (e) {
        if (!(e instanceof FrameError)) throw e;
        this.counters.damagedReplies++;
        return { kind: 'damaged', why: e.message };
      }
      if (frame === undefined) continue;
      if (frame.type === MsgType.BOOT) {
        this.counters.bootFrames++;
        if (bootIsNoise) return { kind: 'boot' };
        throw new DeviceReset(name);
      }
      if (frame.type === MsgType.ERROR) {
        const error = decodeErrorPayload(frame.payload);
        if (isFramingError(error.code)) {
          // Whatever its seq (the agent could not trust it), our request may be what was damaged.
          this.counters.nacks++;
          return { kind: 'nack', error };
        }
        if (frame.seq !== seq) {
          this.stale(frame);
          continue;
        }
        if (error.code === ErrorCode.SEQUENCE && error.detail === 0) throw new DeviceReset(name);
        throw new AgentErrorReply(name, seq, error);
      }
      if (frame.seq !== seq) {
        this.stale(frame);
        continue;
      }
      if (frame.version !== PROTOCOL_VERSION) {
        throw new ProtocolError(`${name} (seq ${seq}) answered in protocol version ${frame.version}; this host speaks ${PROTOCOL_VERSION}`);
      }
      if (frame.type !== replyType(type)) {
        throw new ProtocolError(`${name} (seq ${seq}) answered with ${typeName(frame.type)}`);
      }
      return { kind: 'reply', frame };
    }
  }

  private stale(frame: Frame): void {
    this.counters.staleFrames++;
    this.event(`ignored a stale ${typeName(frame.type)} (seq ${frame.seq})`);
  }

  private event(message: string): void {
    this.opts.onEvent?.(message);
  }

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy) throw new TinyforgeError('AgentSession: one call at a time (await the previous one)');
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
    }
  }
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
}

function positive(what: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) throw new TinyforgeError(`AgentSession: ${what} must be a positive number, got ${v}`);
  return v;
}

function nonNegative(what: string, v: number): number {
  if (!Number.isInteger(v) || v < 0) throw new TinyforgeError(`AgentSession: ${what} must be a non-negative integer, got ${v}`);
  return v;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
