// The on-device agent, built for the host (runtime-c-templates/host/hal_host_pty.c) with the real
// micro_speech model, talking to AgentSession over a pseudo-terminal pair made by socat:
//
//   agent process <-> /dev/pts/A <-> socat <-> /dev/pts/B <-> SerialTransport <-> AgentSession
//
// Golden cases must match byte for byte over the line, and every fault of docs/protocol.md's
// recovery rules is injected: damaged requests and replies, lost replies, truncated and oversized
// frames, noise, device resets (with and without the BOOT frame), a dead device, command errors.
// The agent used for the faults is built with ASan + UBSan; each test checks it exited cleanly.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants as fsConstants, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { writeCModule } from '../compiler/compile.ts';
import { EXIT_DEVICE_ERROR, EXIT_USER_ERROR, TinyforgeError } from '../compiler/errors.ts';
import { AGENT_C_SOURCES, AGENT_INCLUDE_DIR, agentModelSpec, generateAgentModelSource } from '../compiler/targets/agent_model_source.ts';
import { RUNTIME_TEMPLATES_DIR } from '../compiler/targets/target.ts';
import { runCompiler } from '../compiler/targets/toolchain.ts';
import { AgentErrorReply, AgentSession, type AgentSessionOptions, type TransferProgress } from '../flasher/agent_session.ts';
import { decodeFrame, decodeWireFrame, encodeFrame, encodeWireFrame, toWire, type Frame } from '../flasher/protocol/frame.ts';
import { ErrorCode, MsgType, decodeErrorPayload, encodeReadOutput, encodeWriteInput } from '../flasher/protocol/messages.ts';
import { SerialTransport, TimeoutError, TransportError, type ByteTransport, type ModemSignals } from '../flasher/transport/serial_transport.ts';
import { firstDifference, sharedModel } from './helpers/shared.ts';

const { compiled, golden } = sharedModel('micro_speech');
const BOARD_ID = 'host-pty';
const work = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-agent-test-'));
let agentSanitized = '';
let agentPlain = '';

// Short timeouts: the host agent answers in well under a millisecond.
const FAST: AgentSessionOptions = { timeoutMs: 400, retries: 4, connectTimeoutMs: 3000, invokeTimeoutMs: 600 };

beforeAll(async () => {
  const mod = writeCModule(compiled, path.join(work, 'module'));
  const modelC = path.join(work, 'tf_agent_model.c');
  writeFileSync(modelC, generateAgentModelSource(agentModelSpec(compiled, BOARD_ID)));
  const sources = [
    ...AGENT_C_SOURCES.map((f) => path.join(RUNTIME_TEMPLATES_DIR, f)),
    modelC,
    path.join(mod.dir, `${mod.prefix}.c`),
    path.join(RUNTIME_TEMPLATES_DIR, 'host', 'hal_host_pty.c'),
  ];
  const base = ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-I', path.join(RUNTIME_TEMPLATES_DIR, AGENT_INCLUDE_DIR), '-I', mod.dir];
  agentSanitized = path.join(work, 'tf_agent_asan');
  agentPlain = path.join(work, 'tf_agent');
  await Promise.all([
    runCompiler('cc', [...base, '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-g', ...sources, '-o', agentSanitized, '-lm'], 'sanitized host agent'),
    runCompiler('cc', [...base, ...sources, '-o', agentPlain, '-lm'], 'host agent'),
  ]);
});

// ---- pty pair, agent process, rig ----

const liveProcesses = new Set<ChildProcess>();

afterAll(() => {
  for (const p of liveProcesses) p.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

interface PtyPair {
  agentSide: string;
  hostSide: string;
  socat: ChildProcess;
}

function ptyPair(): Promise<PtyPair> {
  return new Promise((resolve, reject) => {
    const socat = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    liveProcesses.add(socat);
    socat.on('exit', () => liveProcesses.delete(socat));
    let err = '';
    const timer = setTimeout(() => reject(new Error(`socat did not start: ${err}`)), 5000);
    socat.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socat.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const ptys = [...err.matchAll(/PTY is (\S+)/g)].map((m) => m[1] as string);
      if (ptys.length === 2 && /starting data transfer loop/.test(err)) {
        clearTimeout(timer);
        resolve({ agentSide: ptys[0] as string, hostSide: ptys[1] as string, socat });
      }
    });
  });
}

interface Agent {
  proc: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startAgent(binary: string, tty: string, fault?: string): Agent {
  const env: NodeJS.ProcessEnv = { ...process.env, TF_AGENT_TTY: tty };
  delete env.TF_AGENT_TTY_FD;
  delete env.TF_AGENT_FAULT;
  if (fault !== undefined) env.TF_AGENT_FAULT = fault;
  const proc = spawn(binary, [], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  liveProcesses.add(proc);
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => {
      liveProcesses.delete(proc);
      resolve({ code, signal });
    });
  });
  return { proc, stderr: () => err, exited };
}

interface Rig {
  pair: PtyPair;
  agent: Agent | undefined;
  serial: SerialTransport;
  session: AgentSession;
  events: string[];
  /** Closes everything; returns the agent's exit status. */
  close: () => Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined>;
}

let current: Rig | undefined;

async function rig(opts: { binary?: string; fault?: string; noAgent?: boolean; wrap?: (t: ByteTransport) => ByteTransport; session?: AgentSessionOptions } = {}): Promise<Rig> {
  const pair = await ptyPair();
  const agent = opts.noAgent ? undefined : startAgent(opts.binary ?? agentSanitized, pair.agentSide, opts.fault);
  const serial = await SerialTransport.open({ path: pair.hostSide, baudRate: 115200 });
  const events: string[] = [];
  const transport = opts.wrap ? opts.wrap(serial) : serial;
  const session = new AgentSession(transport, { ...FAST, onEvent: (m) => events.push(m), ...opts.session });
  let closed = false;
  const r: Rig = {
    pair,
    agent,
    serial,
    session,
    events,
    close: async () => {
      if (closed) return undefined;
      closed = true;
      await serial.close();
      pair.socat.kill('SIGTERM');
      if (!agent) return undefined;
      // Losing its line makes the host agent exit 0; give it a moment, then insist.
      const timer = setTimeout(() => agent.proc.kill('SIGKILL'), 3000);
      const status = await agent.exited;
      clearTimeout(timer);
      return status;
    },
  };
  current = r;
  return r;
}

/** Closes the rig and checks that the sanitized agent neither crashed nor reported an error. */
async function finish(r: Rig): Promise<void> {
  const status = await r.close();
  const stderr = r.agent?.stderr() ?? '';
  expect(stderr, 'agent stderr').not.toMatch(/AddressSanitizer|runtime error|LeakSanitizer/);
  expect(status, `agent exit status; stderr:\n${stderr}`).toEqual({ code: 0, signal: null });
}

afterEach(async () => {
  const r = current;
  current = undefined;
  if (r) await r.close();
});

/** A ByteTransport wrapper that damages what the host sends or hides what it receives. */
class FaultyTransport implements ByteTransport {
  writes = 0;
  constructor(
    private readonly inner: ByteTransport,
    private readonly faults: {
      /** Given the decoded frame of the n-th write (1-based), returns replacement decoded bytes. */
      mutateWrite?: (raw: Uint8Array, n: number) => Uint8Array | undefined;
      /** Swallow BOOT frames, as if the line lost them. */
      hideBoot?: boolean;
      /** After writing a frame for which this holds, the next read returns a made-up BOOT frame. */
      bootAfter?: (written: Frame) => boolean;
    },
  ) {}
  private pendingBoot = false;
  get description(): string {
    return this.inner.description;
  }
  async write(data: Uint8Array): Promise<void> {
    this.writes++;
    const raw = Uint8Array.from(decodeWireFrameRaw(data));
    const replaced = this.faults.mutateWrite?.(raw, this.writes);
    if (this.faults.bootAfter?.(decodeFrame(raw))) this.pendingBoot = true;
    await this.inner.write(replaced ? toWire(replaced) : data);
  }
  read(n: number, timeoutMs: number): Promise<Uint8Array> {
    return this.inner.read(n, timeoutMs);
  }
  async readUntil(delimiter: number, timeoutMs: number, maxBytes?: number): Promise<Uint8Array> {
    if (this.pendingBoot) {
      this.pendingBoot = false;
      return encodeWireFrame({ type: MsgType.BOOT, seq: 0 }).subarray(1);
    }
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const got = await this.inner.readUntil(delimiter, Math.max(1, deadline - performance.now()), maxBytes);
      if (this.faults.hideBoot) {
        try {
          if (decodeWireFrame(got)?.type === MsgType.BOOT) continue;
        } catch {
          // damaged frames pass through
        }
      }
      return got;
    }
  }
  discardInput(): void {
    this.inner.discardInput();
  }
  setSignals(signals: ModemSignals): Promise<void> {
    return this.inner.setSignals(signals);
  }
  setBaudRate(baud: number): Promise<void> {
    return this.inner.setBaudRate(baud);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The decoded bytes (header, payload, CRC) of a wire frame the session wrote. */
function decodeWireFrameRaw(wire: Uint8Array): Uint8Array {
  const f = decodeWireFrame(wire);
  if (!f) throw new Error('empty frame written');
  return encodeFrame(f);
}

/** Sends raw wire bytes and returns the next non-empty, non-BOOT frame from the agent. */
async function exchangeRaw(t: ByteTransport, wire: Uint8Array, timeoutMs = 1000): Promise<Frame> {
  await t.write(wire);
  for (;;) {
    const f = decodeWireFrame(await t.readUntil(0, timeoutMs));
    if (f && f.type !== MsgType.BOOT) return f;
  }
}

function expectError(f: Frame, code: number, detail?: number): void {
  expect(f.type, `frame type 0x${f.type.toString(16)}`).toBe(MsgType.ERROR);
  const e = decodeErrorPayload(f.payload);
  expect(e.code, `error code (detail ${e.detail})`).toBe(code);
  if (detail !== undefined) expect(e.detail).toBe(detail);
}

type Counters = AgentSession['counters'];

/** Connects and returns a function giving the session's counters since then (connect() may
 * legitimately resend HELLO once when the agent's BOOT frame crosses it). */
async function connected(session: AgentSession): Promise<() => Counters> {
  await session.connect();
  const base = { ...session.counters };
  return () => Object.fromEntries(Object.entries(session.counters).map(([k, v]) => [k, v - base[k as keyof Counters]])) as Counters;
}

async function expectGoldenCase(session: AgentSession, index: number): Promise<void> {
  const c = golden.cases[index]!;
  const r = await session.infer(c.inputs);
  expect(firstDifference(c.expected, r.outputs), `case ${c.id}`).toBeUndefined();
}

// ---- tests ----

describe('serial transport over a pty pair', () => {
  it('moves bytes both ways with exact-length and delimited reads, and times out cleanly', async () => {
    const pair = await ptyPair();
    const a = await SerialTransport.open({ path: pair.agentSide, baudRate: 115200 });
    const b = await SerialTransport.open({ path: pair.hostSide, baudRate: 115200 });
    try {
      const block = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);
      await a.write(block);
      expect(Buffer.compare(await b.read(3000, 2000), block)).toBe(0);
      await b.write(Uint8Array.from([1, 2, 0, 3, 0]));
      expect([...(await a.readUntil(0, 1000))]).toEqual([1, 2, 0]);
      expect([...(await a.readUntil(0, 1000))]).toEqual([3, 0]);
      await expect(a.read(1, 100)).rejects.toBeInstanceOf(TimeoutError);
      await b.write(Uint8Array.from([9, 9, 9]));
      await new Promise((res) => setTimeout(res, 100));
      a.discardInput();
      await expect(a.readUntil(0, 100)).rejects.toThrow(/no answer within 100 ms/);
      await a.setBaudRate(9600);
      await a.setSignals({ dtr: true });
    } finally {
      await a.close();
      await b.close();
      pair.socat.kill('SIGTERM');
    }
  });
});

describe('agent over a serial line (host build, micro_speech)', () => {
  it('says HELLO with the model, board and limits, and every golden case matches TFLite Micro', async () => {
    const r = await rig();
    const progress: TransferProgress[] = [];
    const s = new AgentSession(r.serial, { ...FAST, onProgress: (p) => progress.push(p) });
    const hello = await s.connect();
    const base = { ...s.counters };
    expect(hello).toEqual({
      protocolVersion: 1,
      boardId: BOARD_ID,
      modelSha256: compiled.model.sha256,
      arenaBytes: compiled.summary.arenaBytes,
      inputBytes: [1960],
      outputBytes: [4],
      maxPayload: 1024,
      counterName: 'host-monotonic-ns',
      cyclesPerTick: 1,
    });
    expect(golden.cases.length).toBeGreaterThan(5);
    for (const c of golden.cases) {
      const res = await s.infer(c.inputs);
      expect(firstDifference(c.expected, res.outputs), `case ${c.id}`).toBeUndefined();
      expect(res.ticks).toBeGreaterThan(0);
      expect(res.cycles).toBe(res.ticks);
    }
    // 1960 input bytes go in two chunks of at most 1016.
    const writes = progress.filter((p) => p.stage === 'write');
    expect(writes.slice(0, 3)).toEqual([
      { stage: 'write', bytesDone: 0, bytesTotal: 1960 },
      { stage: 'write', bytesDone: 1016, bytesTotal: 1960 },
      { stage: 'write', bytesDone: 1960, bytesTotal: 1960 },
    ]);
    expect(progress).toContainEqual({ stage: 'read', bytesDone: 4, bytesTotal: 4 });
    const st = await s.stats();
    expect(st).toMatchObject({ invokeCount: golden.cases.length, rxErrors: 0, arenaBytes: compiled.summary.arenaBytes });
    expect(s.counters.retransmits - base.retransmits).toBe(0);
    expect(s.counters).toMatchObject({ timeouts: 0, damagedReplies: 0, nacks: 0, resyncs: 0 });
    await finish(r);
  });

  it('reports cycles and a stack high-water mark (unsanitized build)', async () => {
    const r = await rig({ binary: agentPlain });
    await r.session.connect();
    const res = await r.session.infer(golden.cases[0]!.inputs);
    const st = await r.session.stats();
    expect(st.lastInvokeTicks).toBe(res.ticks);
    expect(st.stackSizeBytes).toBe(256 * 1024);
    expect(st.stackHighWaterBytes).toBeGreaterThan(256);
    expect(st.stackHighWaterBytes).toBeLessThan(st.stackSizeBytes);
    await finish(r);
  });

  it('rejects host-side misuse with a user error (exit 2), not a device error', async () => {
    const r = await rig();
    const misuse = async (f: () => Promise<unknown>): Promise<void> => {
      const e = await f().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(TinyforgeError);
      expect(e).not.toBeInstanceOf(TransportError);
      expect((e as TinyforgeError).exitCode).toBe(EXIT_USER_ERROR);
    };
    await misuse(() => r.session.infer(golden.cases[0]!.inputs));
    await misuse(() => r.session.stats());
    await r.session.connect();
    await misuse(() => r.session.infer([]));
    await misuse(() => r.session.infer([new Uint8Array(1959)]));
    const busy = r.session.infer(golden.cases[0]!.inputs);
    await misuse(() => r.session.stats());
    await busy;
    await expectGoldenCase(r.session, 1);
    await finish(r);
  });
});

describe('agent protocol rules, frame by frame', () => {
  it('answers damaged, truncated, oversized and out-of-sequence frames with the documented errors, and survives', async () => {
    const r = await rig();
    const t = r.serial;
    const hello = (seq: number): Uint8Array => encodeWireFrame({ type: MsgType.HELLO, seq });

    // Before HELLO only HELLO is accepted.
    expectError(await exchangeRaw(t, encodeWireFrame({ type: MsgType.STATS, seq: 1 })), ErrorCode.SEQUENCE, 0);
    expect((await exchangeRaw(t, hello(10))).type).toBe(0x81);

    // Truncated: shorter than a header, and a frame cut after 500 of its 1034 bytes.
    expectError(await exchangeRaw(t, toWire(Uint8Array.from([1, 5, 11, 0, 0]))), ErrorCode.BAD_LENGTH, 5);
    const big = encodeFrame({ type: MsgType.WRITE_INPUT, seq: 11, payload: encodeWriteInput(0, 0, new Uint8Array(1016).fill(3)) });
    expectError(await exchangeRaw(t, toWire(big.subarray(0, 500))), ErrorCode.BAD_LENGTH, 500);
    // Oversized: more bytes than the receive buffer, and a header claiming more than 1024.
    expectError(await exchangeRaw(t, Uint8Array.from([0, ...new Uint8Array(3000).fill(0x42), 0])), ErrorCode.OVERSIZED, 1024);
    const claim = encodeFrame({ type: MsgType.STATS, seq: 11 });
    claim[4] = 0x01;
    claim[5] = 0x04;
    expectError(await exchangeRaw(t, toWire(claim)), ErrorCode.OVERSIZED, 1024);
    // Damaged: a flipped payload bit, and invalid COBS.
    const flipped = big.slice();
    flipped[100] = (flipped[100] as number) ^ 0x01;
    expectError(await exchangeRaw(t, toWire(flipped)), ErrorCode.BAD_CRC);
    expectError(await exchangeRaw(t, Uint8Array.from([0, 0x09, 0x01, 0x02, 0])), ErrorCode.BAD_FRAME);
    // Another version.
    expectError(await exchangeRaw(t, encodeWireFrame({ type: MsgType.STATS, seq: 11, version: 2 })), ErrorCode.BAD_VERSION, 1);

    // None of that changed the sequence state: 11 is still the next seq; 12 is not.
    expectError(await exchangeRaw(t, encodeWireFrame({ type: MsgType.STATS, seq: 12 })), ErrorCode.SEQUENCE, 11);
    expectError(await exchangeRaw(t, encodeWireFrame({ type: MsgType.STATS, seq: 0 })), ErrorCode.SEQUENCE, 11);
    const write = toWire(big);
    const ack = await exchangeRaw(t, write);
    expect(ack).toMatchObject({ type: 0x82, seq: 11 });

    // Command errors are replies: cached, and they advance the sequence.
    expectError(await exchangeRaw(t, encodeWireFrame({ type: 0x42, seq: 12 })), ErrorCode.UNKNOWN_COMMAND);
    expectError(await exchangeRaw(t, encodeWireFrame({ type: MsgType.READ_OUTPUT, seq: 13, payload: encodeReadOutput(0, 0, 4) })), ErrorCode.NOT_READY);
    expectError(await exchangeRaw(t, encodeWireFrame({ type: MsgType.READ_OUTPUT, seq: 14, payload: encodeReadOutput(1, 0, 4) })), ErrorCode.OUT_OF_RANGE, 1);
    expectError(await exchangeRaw(t, encodeWireFrame({ type: MsgType.READ_OUTPUT, seq: 15, payload: encodeReadOutput(0, 2, 3) })), ErrorCode.OUT_OF_RANGE, 4);
    expectError(await exchangeRaw(t, encodeWireFrame({ type: MsgType.WRITE_INPUT, seq: 16, payload: encodeWriteInput(0, 1000, new Uint8Array(961)) })), ErrorCode.OUT_OF_RANGE, 1960);
    expectError(await exchangeRaw(t, encodeWireFrame({ type: MsgType.WRITE_INPUT, seq: 17, payload: encodeWriteInput(0, 0xffffffff, new Uint8Array(2)) })), ErrorCode.OUT_OF_RANGE, 1960);
    expectError(await exchangeRaw(t, encodeWireFrame({ type: MsgType.WRITE_INPUT, seq: 18, payload: encodeWriteInput(8, 0, new Uint8Array(1)) })), ErrorCode.OUT_OF_RANGE, 1);
    expectError(await exchangeRaw(t, encodeWireFrame({ type: MsgType.INVOKE, seq: 19, payload: Uint8Array.of(1) })), ErrorCode.BAD_REQUEST, 0);
    expectError(await exchangeRaw(t, encodeWireFrame({ type: MsgType.WRITE_INPUT, seq: 20, payload: new Uint8Array(7) })), ErrorCode.BAD_REQUEST, 8);

    // A retransmission gets the cached reply, byte for byte, and is not executed again.
    const invoke = encodeWireFrame({ type: MsgType.INVOKE, seq: 21 });
    const first = await exchangeRaw(t, invoke);
    const again = await exchangeRaw(t, invoke);
    expect(first.type).toBe(0x83);
    expect(again).toEqual(first);
    const stats = await exchangeRaw(t, encodeWireFrame({ type: MsgType.STATS, seq: 22 }));
    expect(stats.type).toBe(0x85);
    expect(Buffer.from(stats.payload).readUInt32LE(16)).toBe(1); // one INVOKE executed
    expect(Buffer.from(stats.payload).readUInt32LE(20)).toBe(6); // the six damaged frames above

    // Sequence numbers wrap from 65535 to 1, skipping 0.
    expect((await exchangeRaw(t, hello(65535))).type).toBe(0x81);
    expect((await exchangeRaw(t, encodeWireFrame({ type: MsgType.STATS, seq: 1 }))).type).toBe(0x85);

    // After all that, a session on the same line still works.
    await r.session.connect();
    await expectGoldenCase(r.session, 0);
    await finish(r);
  });
});

describe('host retries and resynchronisation', () => {
  it('a request damaged on the way: the agent answers BAD_CRC and the host sends it again', async () => {
    let flipped = false;
    const r = await rig({
      wrap: (t) =>
        new FaultyTransport(t, {
          // The first WRITE_INPUT: flip one payload bit, keep the old CRC.
          mutateWrite: (raw) => {
            if (raw[1] !== MsgType.WRITE_INPUT || flipped) return undefined;
            flipped = true;
            const bad = raw.slice();
            bad[200] = (bad[200] as number) ^ 0x08;
            return bad;
          },
        }),
    });
    const since = await connected(r.session);
    await expectGoldenCase(r.session, 2);
    expect(since()).toMatchObject({ nacks: 1, retransmits: 1, resyncs: 0 });
    expect(r.events.join('\n')).toMatch(/WRITE_INPUT \(seq \d+\) attempt 1: the agent received a damaged frame: BAD_CRC/);
    expect(await r.session.stats()).toMatchObject({ rxErrors: 1, invokeCount: 1 });
    await finish(r);
  });

  it('a lost INVOKE reply: timeout, same seq again, the cached reply comes back and the model runs once', async () => {
    const r = await rig({ fault: 'drop-reply-once:0x83' });
    const since = await connected(r.session);
    await expectGoldenCase(r.session, 3);
    expect(since()).toMatchObject({ timeouts: 1, retransmits: 1 });
    expect(r.agent!.stderr()).toMatch(/dropped a frame of type 0x83/);
    expect(await r.session.stats()).toMatchObject({ invokeCount: 1 });
    await expectGoldenCase(r.session, 4);
    await finish(r);
  });

  it('a damaged READ_OUTPUT reply: bad CRC on the host, same seq again, correct outputs', async () => {
    const r = await rig({ fault: 'flip-reply-bit-once:0x84' });
    const since = await connected(r.session);
    await expectGoldenCase(r.session, 5);
    expect(since()).toMatchObject({ damagedReplies: 1, retransmits: 1 });
    expect(r.agent!.stderr()).toMatch(/flipped a bit/);
    await finish(r);
  });

  it('garbage in both directions before HELLO', async () => {
    const r = await rig();
    // Noise from the "device": written into the agent's side of the line.
    const fd = openSync(r.pair.agentSide, fsConstants.O_WRONLY | fsConstants.O_NOCTTY);
    writeSync(fd, Buffer.from('\x00ets Jun  8 2016 00:22:57\r\nrst:0x1 (POWERON_RESET)\x00\xff\xfe\x07'));
    closeSync(fd);
    // Noise from the host: half a frame and random bytes, including zeros.
    await r.serial.write(Uint8Array.from({ length: 700 }, (_, i) => (i * 97 + 13) % 251));
    await r.serial.write(encodeWireFrame({ type: MsgType.HELLO, seq: 9 }).subarray(0, 6));
    await r.session.connect();
    await expectGoldenCase(r.session, 6);
    expect((await r.session.stats()).rxErrors).toBeGreaterThan(0);
    await finish(r);
  });

  it('device reset mid-inference: BOOT, HELLO again, inputs re-sent, correct outputs', async () => {
    // Frames received: HELLO (sent twice when the BOOT frame crosses it), then the two
    // WRITE_INPUT chunks: the third frame is a WRITE_INPUT, and the agent resets before handling it.
    const r = await rig({ fault: 'reset-after-n-frames:3' });
    await r.session.connect();
    await expectGoldenCase(r.session, 7);
    expect(r.agent!.stderr()).toMatch(/reset after 3 received frames/);
    expect(r.session.counters.resyncs).toBe(1);
    expect(r.events.join('\n')).toMatch(/device reset detected during WRITE_INPUT/);
    expect(await r.session.stats()).toMatchObject({ invokeCount: 1 });
    await expectGoldenCase(r.session, 8);
    await finish(r);
  });

  it('device reset whose BOOT frame is lost: the agent answers SEQUENCE (not synced) and the host resyncs', async () => {
    // With BOOT hidden, HELLO is sent once: frames HELLO, WRITE_INPUT, WRITE_INPUT, INVOKE -> reset.
    const r = await rig({ fault: 'reset-after-n-frames:4', wrap: (t) => new FaultyTransport(t, { hideBoot: true }) });
    const since = await connected(r.session);
    await expectGoldenCase(r.session, 9);
    expect(since()).toMatchObject({ resyncs: 1, bootFrames: 0, timeouts: 1 });
    expect(r.events.join('\n')).toMatch(/device reset detected during INVOKE/);
    await finish(r);
  });

  it('a command error is a TransportError naming the command and the code', async () => {
    const r = await rig({
      wrap: (t) =>
        new FaultyTransport(t, {
          // Redirect the READ_OUTPUT to output 3 with a valid CRC: the agent must refuse it.
          mutateWrite: (raw) => {
            const f = decodeFrame(raw);
            if (f.type !== MsgType.READ_OUTPUT) return undefined;
            f.payload[0] = 3;
            return encodeFrame(f);
          },
        }),
    });
    await r.session.connect();
    const err = await r.session.infer(golden.cases[0]!.inputs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentErrorReply);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as AgentErrorReply).exitCode).toBe(EXIT_DEVICE_ERROR);
    expect((err as AgentErrorReply).codeName).toBe('OUT_OF_RANGE');
    expect((err as Error).message).toMatch(/^agent refused READ_OUTPUT \(seq \d+\): OUT_OF_RANGE \(limit 1\)$/);
    await finish(r);
  });

  it('a device that dies mid-session: TimeoutError after the retries, no outputs', async () => {
    const r = await rig({ session: { timeoutMs: 150, retries: 2 } });
    await r.session.connect();
    await expectGoldenCase(r.session, 0);
    r.agent!.proc.kill('SIGSTOP');
    let outputs: Uint8Array[] | undefined;
    const err = await r.session.infer(golden.cases[1]!.inputs).then(
      (res) => {
        outputs = res.outputs;
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(outputs).toBeUndefined();
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).exitCode).toBe(EXIT_DEVICE_ERROR);
    expect((err as Error).message).toMatch(/^WRITE_INPUT \(seq \d+\) to serial:\/dev\/pts\/\d+: no valid reply after 3 attempts \(3 timed out; timeout 150 ms per attempt\)$/);
    r.agent!.proc.kill('SIGKILL');
    await r.close();
  });

  it('a board that dies right after INVOKE: one invoke timeout plus the grace period, then an error that says so', async () => {
    let agent: Agent | undefined;
    const r = await rig({
      session: { timeoutMs: 150, retries: 4, invokeTimeoutMs: 800 },
      wrap: (t) =>
        new FaultyTransport(t, {
          // The board stops (a hard fault, a hang) the moment INVOKE reaches it.
          mutateWrite: (raw) => {
            if (raw[1] === MsgType.INVOKE) agent?.proc.kill('SIGSTOP');
            return undefined;
          },
        }),
    });
    agent = r.agent;
    await r.session.connect();
    const started = performance.now();
    const err = await r.session.infer(golden.cases[0]!.inputs).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).exitCode).toBe(EXIT_DEVICE_ERROR);
    expect((err as Error).message).toMatch(
      /^the board on serial:\/dev\/pts\/\d+ stopped answering after INVOKE: no reply within the 800 ms inference timeout nor to repeats in the next 600 ms \(INVOKE \(seq \d+\) .*: no valid reply after \d attempts .*\); it crashed, hung or lost power, or the inference takes longer \(raise --timeout\)$/,
    );
    // One invoke timeout (800 ms) plus the grace (retries x timeoutMs = 600 ms), not (1 + retries) x 800 ms.
    expect(elapsed).toBeGreaterThan(1300);
    expect(elapsed).toBeLessThan(3000);
    expect(r.events.join('\n')).toMatch(/^INVOKE \(seq \d+\) attempt 1: no reply within 800 ms; sending it again$/m);
    // The repeats wait timeoutMs each, not the invoke timeout.
    expect(r.events.join('\n')).toMatch(/^INVOKE \(seq \d+\) attempt 2: no reply within 150 ms; sending it again$/m);
    r.agent!.proc.kill('SIGKILL');
    await r.close();
  });

  it('an INVOKE whose reply is late but within the grace period: the cached reply, the model ran once', async () => {
    // The agent drops its first INVOKE reply; the repeat (short timeout) gets the cached one.
    const r = await rig({ fault: 'drop-reply-once:0x83', session: { timeoutMs: 150, invokeTimeoutMs: 300 } });
    await r.session.connect();
    await expectGoldenCase(r.session, 1);
    expect(r.events.join('\n')).toMatch(/INVOKE \(seq \d+\) attempt 1: no reply within 300 ms; sending it again/);
    expect(await r.session.stats()).toMatchObject({ invokeCount: 1 });
    await finish(r);
  });

  it('nothing on the line: connect() fails with a TimeoutError', async () => {
    const r = await rig({ noAgent: true, session: { timeoutMs: 100, connectTimeoutMs: 500 } });
    const started = performance.now();
    const err = await r.session.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/^HELLO \(seq 1\) to serial:.*: no valid reply after \d+ attempts/);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(r.session.connected).toBe(false);
    await r.close();
  });

  it('a device that keeps resetting: a clear error after maxResyncs, no outputs', async () => {
    const r = await rig({
      session: { maxResyncs: 2 },
      // Every INVOKE is followed by a BOOT frame, as if the model crashed the board each time.
      wrap: (t) => new FaultyTransport(t, { bootAfter: (f) => f.type === MsgType.INVOKE }),
    });
    await r.session.connect();
    const err = await r.session.infer(golden.cases[0]!.inputs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toMatch(/reset 3 times during one inference \(the last time during INVOKE\); giving up$/);
    expect(r.session.counters.resyncs).toBe(2);
    await finish(r);
  });
});

// ---- the serial fault matrix: a relay that damages the line both ways ----

type LineFault = 'flip' | 'drop-byte' | 'duplicate-byte' | 'drop-frame' | 'stall';

/**
 * Sits between the session and the line like a bad cable: with probability `p` per frame (both
 * directions) it applies `fault`. Seeded, so a failing run can be replayed.
 */
class RelayTransport implements ByteTransport {
  damaged = 0;
  private state: number;
  constructor(
    private readonly inner: ByteTransport,
    private readonly fault: LineFault,
    private readonly p: number,
    seed: number,
  ) {
    this.state = seed >>> 0 || 1;
  }
  private random(): number {
    // xorshift32
    this.state ^= this.state << 13;
    this.state ^= this.state >>> 17;
    this.state ^= this.state << 5;
    return (this.state >>> 0) / 4294967296;
  }
  private damage(data: Uint8Array): Uint8Array | undefined {
    if (this.random() >= this.p) return data;
    this.damaged++;
    const at = Math.floor(this.random() * data.byteLength);
    switch (this.fault) {
      case 'flip': {
        const out = data.slice();
        out[at] = (out[at] as number) ^ (1 << Math.floor(this.random() * 8));
        return out;
      }
      case 'drop-byte':
        return Uint8Array.from([...data.subarray(0, at), ...data.subarray(at + 1)]);
      case 'duplicate-byte':
        return Uint8Array.from([...data.subarray(0, at + 1), ...data.subarray(at)]);
      case 'drop-frame':
        return undefined;
      case 'stall':
        return data;
    }
  }
  private async stall(): Promise<void> {
    if (this.fault === 'stall' && this.random() < this.p) {
      this.damaged++;
      await new Promise((r) => setTimeout(r, 100 + Math.floor(this.random() * 500)));
    }
  }
  get description(): string {
    return this.inner.description;
  }
  async write(data: Uint8Array): Promise<void> {
    await this.stall();
    const out = this.damage(data);
    if (out) await this.inner.write(out);
  }
  read(n: number, timeoutMs: number): Promise<Uint8Array> {
    return this.inner.read(n, timeoutMs);
  }
  async readUntil(delimiter: number, timeoutMs: number, maxBytes?: number): Promise<Uint8Array> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const got = await this.inner.readUntil(delimiter, Math.max(1, deadline - performance.now()), maxBytes);
      await this.stall();
      const out = this.damage(got);
      // A dropped frame is as if it never arrived; damaged bytes keep their delimiter.
      if (out === undefined) continue;
      return out.byteLength > 0 && out[out.byteLength - 1] === delimiter ? out : Uint8Array.from([...out, delimiter]);
    }
  }
  discardInput(): void {
    this.inner.discardInput();
  }
  setSignals(signals: ModemSignals): Promise<void> {
    return this.inner.setSignals(signals);
  }
  setBaudRate(baud: number): Promise<void> {
    return this.inner.setBaudRate(baud);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('serial fault matrix: every run ends in all-match or a clear failure, never a false pass or a hang', () => {
  const CASES = [0, 1, 2, 3];
  const faults: Array<{ name: string; fault?: LineFault; agentFault?: string; p: number; killAfter?: number; seeds?: number[] }> = [
    { name: 'bit flips', fault: 'flip', p: 0.15 },
    { name: 'dropped bytes', fault: 'drop-byte', p: 0.15 },
    { name: 'duplicated bytes', fault: 'duplicate-byte', p: 0.15 },
    { name: 'dropped frames', fault: 'drop-frame', p: 0.15 },
    { name: 'stalls', fault: 'stall', p: 0.2, seeds: [1] },
    { name: 'bit flips, heavy', fault: 'flip', p: 0.6, seeds: [1] },
    { name: 'board killed after case 1', p: 0, killAfter: 1, seeds: [1] },
    { name: 'board reset mid-inference', agentFault: 'reset-after-n-frames:5', p: 0 },
    { name: 'bit flips + board reset', fault: 'flip', agentFault: 'reset-after-n-frames:6', p: 0.1 },
  ];
  const matrix: string[] = [];

  afterAll(() => {
    // The README's fault matrix is copied from this table.
    console.log(['fault | seed | damaged frames | cases matched | outcome', ...matrix].join('\n'));
  });

  for (const f of faults) {
    for (const seed of f.seeds ?? [1, 2]) {
      it(`${f.name}, seed ${seed}`, async () => {
        const r = await rig({
          ...(f.agentFault ? { fault: f.agentFault } : {}),
          ...(f.fault ? { wrap: (t: ByteTransport) => new RelayTransport(t, f.fault as LineFault, f.p, seed * 7919) } : {}),
          session: { timeoutMs: 300, retries: 6, invokeTimeoutMs: 800, connectTimeoutMs: 4000 },
        });
        const relay = f.fault ? (r.session.transport as RelayTransport) : undefined;
        const started = performance.now();
        let matched = 0;
        let outcome = 'all match';
        try {
          await r.session.connect();
          for (const k of CASES) {
            const c = golden.cases[k]!;
            const res = await r.session.infer(c.inputs);
            // Never a false pass: whatever the session returns must be exactly TFLite Micro's output.
            expect(firstDifference(c.expected, res.outputs), `case ${c.id} returned wrong outputs`).toBeUndefined();
            matched++;
            if (matched === f.killAfter) r.agent?.proc.kill('SIGKILL');
          }
        } catch (e) {
          // A clear failure: a transport error (exit 3) with a one-line message, and no outputs.
          if (!(e instanceof TransportError)) throw e;
          expect((e as Error).message).not.toContain('\n');
          outcome = `clear failure: ${(e as Error).message.slice(0, 60)}...`;
        }
        // A board that was killed can only end in a clear failure.
        if (f.killAfter !== undefined) expect(matched).toBe(f.killAfter);
        const seconds = (performance.now() - started) / 1000;
        // Never a hang: bounded by the retries and timeouts.
        expect(seconds).toBeLessThan(30);
        matrix.push(`${f.name} | ${seed} | ${relay?.damaged ?? '-'} | ${matched}/${CASES.length} | ${outcome}`);
        r.agent?.proc.kill('SIGKILL');
        await r.close();
      });
    }
  }
});
