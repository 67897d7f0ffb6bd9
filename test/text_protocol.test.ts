// The agent's TEXT command against docs/protocol.md: the reply decoder, the generated model
// binding, and the host agent (ASan + UBSan, on a pty pair) tokenizing and classifying sentences
// byte-identically to the host reference; firmware without a tokenizer answers UNKNOWN_COMMAND.
// An untrained transformer is enough here: the protocol, not the accuracy, is under test.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel, writeCModule } from '../compiler/compile.ts';
import { ptqLoadedModel, quantizeFloatGraph } from '../compiler/quantize/index.ts';
import { AGENT_C_SOURCES, AGENT_INCLUDE_DIR, agentModelSpec, generateAgentModelSource, type AgentModelSpec } from '../compiler/targets/agent_model_source.ts';
import { RUNTIME_TEMPLATES_DIR } from '../compiler/targets/target.ts';
import { runCompiler } from '../compiler/targets/toolchain.ts';
import { textReference } from '../compiler/text/classify.ts';
import { intentDataset } from '../compiler/text/intent_dataset.ts';
import { intentTransformer } from '../compiler/text/intent_transformer.ts';
import { buildVocabulary, formatVocabulary, tokenize } from '../compiler/text/tokenizer.ts';
import { emitTokenizer, textModelShape } from '../compiler/text/tokenizer_c.ts';
import { AgentErrorReply, AgentSession } from '../flasher/agent_session.ts';
import { decodeTextReply } from '../flasher/protocol/messages.ts';
import { SerialTransport } from '../flasher/transport/serial_transport.ts';
import { openPtyPair } from './helpers/pty_pair.ts';
import { fileURLToPath } from 'node:url';
import { modelPath, sharedModel } from './helpers/shared.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-text-agent-'));
const SEQ_LEN = 12;
const data = intentDataset({ perTemplate: 2 });
const vocab = buildVocabulary(data.train.map((e) => e.text));
const live = new Set<ChildProcess>();

afterAll(() => {
  for (const p of live) p.kill('SIGKILL');
});

function textReplyBytes(count: number, ids: number[]): Uint8Array {
  const p = new Uint8Array(12 + 4 * ids.length);
  const v = new DataView(p.buffer);
  v.setUint32(4, 1234, true);
  v.setUint16(8, count, true);
  v.setUint16(10, ids.length, true);
  ids.forEach((id, i) => v.setInt32(12 + 4 * i, id, true));
  return p;
}

describe('TEXT payloads', () => {
  it('decodes the reply and rejects malformed ones', () => {
    expect(decodeTextReply(textReplyBytes(2, [5, 7, 0]))).toEqual({ status: 0, ticks: 1234, count: 2, ids: Int32Array.from([5, 7, 0]) });
    expect(() => decodeTextReply(textReplyBytes(2, [5, 7, 0]).subarray(0, 20))).toThrow(/20 bytes for 3 token ids/);
    expect(() => decodeTextReply(textReplyBytes(4, [5, 7, 0]))).toThrow(/4 tokens in a sequence of 3/);
    expect(() => decodeTextReply(new Uint8Array(8))).toThrow(/at least 12/);
  });

  it('the model binding tokenizes into input 0 only for a text model of a sequence length TEXT can carry', () => {
    const spec: AgentModelSpec = { prefix: 'intent', boardId: 'host-pty', modelSha256: 'a'.repeat(64), arenaBytes: 100, inputBytes: [4 * SEQ_LEN], outputBytes: [12] };
    const plain = generateAgentModelSource(spec);
    expect(plain).toContain('.text_seq_len = 0u');
    expect(plain).not.toContain('intent_tokenizer.h');
    const text = generateAgentModelSource({ ...spec, textSeqLen: SEQ_LEN });
    expect(text).toContain('#include "intent_tokenizer.h"');
    expect(text).toContain(`.text_seq_len = ${SEQ_LEN}u`);
    expect(text).toMatch(/intent_tokenize_bytes\(text, length, \(int32_t \*\)\(void \*\)tf_agent_in0\)/);
    expect(() => generateAgentModelSource({ ...spec, textSeqLen: SEQ_LEN + 1 })).toThrow(/needs input 0 of 13 int32 token ids/);
    expect(() => generateAgentModelSource({ ...spec, inputBytes: [4 * 62], textSeqLen: 62 })).toThrow(/too long for the TEXT reply/);
  });
});

describe('TEXT on the host agent (ASan + UBSan)', () => {
  let textAgent = '';
  let plainAgent = '';
  let graph: ReturnType<typeof quantizeFloatGraph>['graph'];

  beforeAll(async () => {
    const model = intentTransformer({ vocab: vocab.tokens.length, seqLen: SEQ_LEN, dim: 8, ffn: 16, classes: data.intents.length }, 3);
    const ptq = quantizeFloatGraph(model.graph, data.train.slice(0, 40).map((e) => [Float32Array.from(tokenize(e.text, vocab, SEQ_LEN).ids)]));
    graph = ptq.graph;
    const compiled = compileModel(ptqLoadedModel(ptq, 'intent.tflite', 'b'.repeat(64)), { prefix: 'intent' });
    const mod = writeCModule(compiled, path.join(work, 'module'));
    const tok = emitTokenizer('intent', vocab, textModelShape(graph, vocab));
    writeFileSync(path.join(mod.dir, 'intent_tokenizer.h'), tok.header);
    writeFileSync(path.join(mod.dir, 'intent_tokenizer.c'), tok.source);
    const flags = ['-std=c99', '-O1', '-Wall', '-Wextra', '-Werror', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-g', '-I', path.join(RUNTIME_TEMPLATES_DIR, AGENT_INCLUDE_DIR), '-I', mod.dir];
    const common = [...AGENT_C_SOURCES.map((f) => path.join(RUNTIME_TEMPLATES_DIR, f)), path.join(mod.dir, 'intent.c'), path.join(RUNTIME_TEMPLATES_DIR, 'host', 'hal_host_pty.c')];
    const textBinding = path.join(work, 'text_model.c');
    writeFileSync(textBinding, generateAgentModelSource(agentModelSpec(compiled, 'host-pty', { seqLen: SEQ_LEN })));
    textAgent = path.join(work, 'agent_text');
    await runCompiler('cc', [...flags, ...common, textBinding, path.join(mod.dir, 'intent_tokenizer.c'), '-o', textAgent, '-lm'], 'host agent with tokenizer');
    // The same model without the tokenizer: an agent that does not know TEXT.
    const plainBinding = path.join(work, 'plain_model.c');
    writeFileSync(plainBinding, generateAgentModelSource(agentModelSpec(sharedModel('hello_world_int8').compiled, 'host-pty')));
    const hello = writeCModule(sharedModel('hello_world_int8').compiled, path.join(work, 'hello'));
    plainAgent = path.join(work, 'agent_plain');
    await runCompiler('cc', [...flags.slice(0, -2), '-I', hello.dir, ...common.filter((f) => !f.endsWith('intent.c')), path.join(hello.dir, `${hello.prefix}.c`), plainBinding, '-o', plainAgent, '-lm'], 'host agent without tokenizer');
  }, 180_000);

  async function withAgent<T>(binary: string, fn: (s: AgentSession) => Promise<T>): Promise<T> {
    const pair = await openPtyPair();
    live.add(pair.socat);
    const proc = spawn(binary, [], { env: { ...process.env, TF_AGENT_TTY: pair.device }, stdio: ['ignore', 'ignore', 'inherit'] });
    live.add(proc);
    const serial = await SerialTransport.open({ path: pair.host, baudRate: 115200 });
    try {
      const session = new AgentSession(serial, { timeoutMs: 2000, connectTimeoutMs: 5000, invokeTimeoutMs: 5000 });
      await session.connect();
      return await fn(session);
    } finally {
      await serial.close();
      pair.socat.kill('SIGTERM');
      proc.kill('SIGTERM');
    }
  }

  it('tokenizes and classifies on the device exactly as the host reference, ids and scores', async () => {
    const reference = textReference(graph, vocab);
    const sentences = [...data.test.slice(0, 24).map((e) => e.text), 'WHAT IS MY PULSE??', 'café ☕', '', 'a b c d e f g h i j k l m n o p q'];
    await withAgent(textAgent, async (session) => {
      for (const s of sentences) {
        const want = reference(s);
        const got = await session.text(new TextEncoder().encode(s));
        expect({ count: got.count, ids: Array.from(got.ids) }, JSON.stringify(s)).toEqual({ count: want.count, ids: Array.from(want.ids) });
        expect(got.outputs[0], JSON.stringify(s)).toEqual(want.scores);
      }
      const stats = await session.stats();
      expect(stats.invokeCount).toBe(sentences.length);
    });
  }, 60_000);

  it('an agent without a tokenizer answers UNKNOWN_COMMAND', async () => {
    await withAgent(plainAgent, async (session) => {
      const e = await session.text(new TextEncoder().encode('call mum')).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(AgentErrorReply);
      expect(String((e as Error).message)).toMatch(/UNKNOWN_COMMAND/);
    });
  }, 60_000);
});

describe('validate --text refusals', () => {
  it('are one-line user errors (exit 2)', () => {
    const bin = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
    const sentences = path.join(work, 'one.txt');
    writeFileSync(sentences, 'call mum\n');
    const vocabFile = path.join(work, 'vocab.txt');
    writeFileSync(vocabFile, formatVocabulary(vocab));
    const run = (...args: string[]): { code: number; stderr: string } => {
      const r = spawnSync(process.execPath, [bin, 'validate', modelPath('hello_world_int8'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      return { code: r.status ?? -1, stderr: r.stderr };
    };
    for (const [args, pattern] of [
      [['-b', 'qemu-mps2-an386', '--text', sentences], /--text and --vocab go together/],
      [['--vocab', sentences, '--text', sentences], /--text validates through the serial agent: give --board/],
      [['-b', 'qemu-mps2-an386', '--vocab', sentences, '--text', sentences], /one\.txt: a vocabulary starts with \[PAD\]/],
      [['-b', 'qemu-mps2-an386', '--vocab', vocabFile, '--text', sentences], /--vocab needs a text model: its input .* is int8 \[1,1\], not int32 token ids/],
    ] as const) {
      const r = run(...args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
  }, 60_000);
});
