// `tinyforge monitor` on a pseudo-terminal pair made by socat: plain mode copies what the "board"
// writes to standard output (and recognises the agent's binary frames), --agent asks the host
// build of the validation agent for HELLO and STATS. Also what the counts mean per board.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { countFromTicks, countingOf, millisecondsOf } from '../compiler/boards/counting.ts';
import { findBoard } from '../compiler/boards/load_boards.ts';
import { writeCModule } from '../compiler/compile.ts';
import { AGENT_C_SOURCES, AGENT_INCLUDE_DIR, agentModelSpec, generateAgentModelSource } from '../compiler/targets/agent_model_source.ts';
import { RUNTIME_TEMPLATES_DIR } from '../compiler/targets/target.ts';
import { findExecutable, runCompiler } from '../compiler/targets/toolchain.ts';
import { sharedModel } from './helpers/shared.ts';

const BIN = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
const work = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-monitor-'));
const live = new Set<ChildProcess>();

afterAll(() => {
  for (const p of live) p.kill('SIGKILL');
});

function track(p: ChildProcess): ChildProcess {
  live.add(p);
  p.on('exit', () => live.delete(p));
  return p;
}

/** Two connected ptys: what is written to one is read from the other. */
function ptyPair(): Promise<{ a: string; b: string }> {
  return new Promise((resolve, reject) => {
    const socat = track(spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] }));
    let err = '';
    const timer = setTimeout(() => reject(new Error(`socat did not start: ${err}`)), 5000);
    socat.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const ptys = [...err.matchAll(/PTY is (\S+)/g)].map((m) => m[1] as string);
      if (ptys.length === 2 && /starting data transfer loop/.test(err)) {
        clearTimeout(timer);
        resolve({ a: ptys[0] as string, b: ptys[1] as string });
      }
    });
  });
}

/** Runs the CLI asynchronously (it must run while the test writes to the other end). */
function tinyforgeAsync(args: string[]): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; stderrMatches: (re: RegExp) => Promise<void> } {
  const p = track(spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  const waiting: Array<{ re: RegExp; resolve: () => void }> = [];
  p.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of waiting.filter((x) => x.re.test(stderr))) w.resolve();
  });
  return {
    done: new Promise((resolve) => p.on('exit', (code) => resolve({ code, stdout, stderr }))),
    stderrMatches: (re) => (re.test(stderr) ? Promise.resolve() : new Promise((resolve) => waiting.push({ re, resolve }))),
  };
}

const haveSocat = findExecutable('socat') !== undefined;

describe.skipIf(!haveSocat)('tinyforge monitor', () => {
  it('copies the board\'s text to standard output until --timeout, and points at --agent for binary frames', async () => {
    const { a, b } = await ptyPair();
    const run = tinyforgeAsync(['monitor', '-p', a, '--baud', '115200', '--timeout', '3']);
    // Once the port is open, the "board" boots.
    await run.stderrMatches(/monitoring .* at 115200 baud for 3 s/);
    const fd = openSync(b, 'w');
    writeSync(fd, 'tinyforge board booting\r\nI (42) app: hello\r\n');
    writeSync(fd, Buffer.from([0x00, 0x05, 0x01, 0x02, 0x00]));
    closeSync(fd);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('tinyforge board booting\r\nI (42) app: hello\r\n');
    expect(r.stderr).toMatch(/binary frames on the line: this looks like the tinyforge agent; use tinyforge monitor --agent/);
  });

  it('needs a port or a board, and refuses a QEMU board without one', () => {
    const none = spawnSync(process.execPath, [BIN, 'monitor'], { encoding: 'utf8' });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/^error: give the serial port with --port/);
    const qemu = spawnSync(process.execPath, [BIN, 'monitor', '-b', 'qemu-mps2-an386'], { encoding: 'utf8' });
    expect(qemu.status).toBe(2);
    expect(qemu.stderr).toMatch(/runs under QEMU: tinyforge validate --board qemu-mps2-an386/);
  });

  it('--agent reports what the agent runs and its statistics', async () => {
    const { compiled } = sharedModel('hello_world_int8');
    const mod = writeCModule(compiled, path.join(work, 'module'));
    const modelC = path.join(work, 'tf_agent_model.c');
    writeFileSync(modelC, generateAgentModelSource(agentModelSpec(compiled, 'host-pty')));
    const agent = path.join(work, 'tf_agent');
    const sources = [...AGENT_C_SOURCES.map((f) => path.join(RUNTIME_TEMPLATES_DIR, f)), modelC, path.join(mod.dir, `${mod.prefix}.c`), path.join(RUNTIME_TEMPLATES_DIR, 'host', 'hal_host_pty.c')];
    await runCompiler('cc', ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-I', path.join(RUNTIME_TEMPLATES_DIR, AGENT_INCLUDE_DIR), '-I', mod.dir, ...sources, '-o', agent, '-lm'], 'host agent');
    const { a, b } = await ptyPair();
    track(spawn(agent, [], { env: { ...process.env, TF_AGENT_TTY: a }, stdio: 'ignore' }));
    const json = await tinyforgeAsync(['monitor', '-p', b, '--agent', '--json']).done;
    expect(json.code, json.stderr).toBe(0);
    const e = JSON.parse(json.stdout) as { ok: boolean; command: string; result: { port: string; hello: { boardId: string; modelSha256: string; counterName: string }; stats: { invokeCount: number }; counting: unknown } };
    expect(e).toMatchObject({ ok: true, command: 'monitor', result: { port: b, hello: { boardId: 'host-pty', modelSha256: compiled.model.sha256, counterName: 'host-monotonic-ns' }, stats: { invokeCount: 0 }, counting: null } });
    const text = await tinyforgeAsync(['monitor', '-p', b, '--agent']).done;
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^agent on .*: board host-pty, protocol \d+, model sha256 [0-9a-f]{16}\.\.\./);
    expect(text.stdout).toMatch(/0 inferences since boot/);
  });
});

describe('what counts mean', () => {
  it('QEMU boards count instructions (40 per MPS2 timer tick, 31.25 per AN547 SysTick tick, 1 per mcycle), with no milliseconds', () => {
    const an386 = countingOf(findBoard('qemu-mps2-an386'), 'apb-timer', 1);
    expect(an386).toMatchObject({ unit: 'instructions', perTick: 40, running: true, clockHz: null });
    expect(countFromTicks(an386, 1000)).toBe(40_000);
    expect(millisecondsOf(an386, 40_000)).toBeNull();
    expect(countingOf(findBoard('qemu-mps3-an547'), 'systick', 1).perTick).toBe(31.25);
    expect(countingOf(findBoard('qemu-riscv32-virt'), 'mcycle', 1).perTick).toBe(1);
  });

  it('real boards count cycles at the clock their firmware runs; a stopped counter gives no numbers, not zeros', () => {
    const f446 = findBoard('nucleo-f446re');
    expect(f446.clockHz).toBe(16_000_000);
    expect(f446.maxClockHz).toBe(180_000_000);
    const running = countingOf(f446, 'dwt-cyccnt', 1);
    expect(running).toMatchObject({ unit: 'cycles', running: true, clockHz: 16_000_000 });
    expect(millisecondsOf(running, countFromTicks(running, 16_000))).toBe(1);
    expect(countFromTicks(running, 0)).toBeNull();
    const stopped = countingOf(f446, 'none', 1);
    expect(stopped).toMatchObject({ running: false, clockHz: null });
    expect(countFromTicks(stopped, 12345)).toBeNull();
    expect(stopped.how).toMatch(/does not run: no counts or times/);
  });
});
