// The bare-metal HALs (tf_hal.h over the UART, no semihosting) on every emulated board, booted
// by flasher/backends/qemu.ts and driven over SerialTransport on QEMU's pty: exact echoes,
// cycle counters that advance, are monotonic and deterministic under -icount, a model run
// byte-exact against TFLite Micro, fault reports, and no QEMU left behind.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Board } from '../compiler/boards/board_schema.ts';
import { findBoard } from '../compiler/boards/load_boards.ts';
import { writeCModule, type WrittenModule } from '../compiler/compile.ts';
import { ToolError } from '../compiler/errors.ts';
import { buildAgentFirmware, firmwareFamilyOf, type FirmwareBuild } from '../compiler/targets/firmware.ts';
import { findFaultReport, launchQemu, liveQemuCount, type QemuSession } from '../flasher/backends/qemu.ts';
import { sharedModel } from './helpers/shared.ts';

const BOARDS = ['qemu-mps2-an386', 'qemu-mps2-an385', 'qemu-mps2-an500', 'qemu-mps3-an547', 'qemu-riscv32-virt'] as const;
type BoardId = (typeof BOARDS)[number];

/** Instructions per counter tick under -icount shift=0 (see the HALs' comments). */
const INSTRUCTIONS_PER_TICK: Record<BoardId, number> = {
  'qemu-mps2-an386': 40, // APB timer at 25 MHz, 1 ns per instruction
  'qemu-mps2-an385': 40,
  'qemu-mps2-an500': 40,
  'qemu-mps3-an547': 31.25, // SysTick at 32 MHz
  'qemu-riscv32-virt': 1, // mcycle = instruction count
};

/** Where each board's linker script puts the top of the stack (end of RAM) with a 64 KiB stack. */
const STACK_TOP: Record<BoardId, number> = {
  'qemu-mps2-an386': 0x20400000,
  'qemu-mps2-an385': 0x20400000,
  'qemu-mps2-an500': 0x20400000,
  'qemu-mps3-an547': 0x31400000,
  'qemu-riscv32-virt': 0x80800000,
};

/** An address whose execution faults: XN system space on Cortex-M, nothing mapped on virt. */
const BAD_ADDRESS: Record<'arm' | 'riscv', string> = { arm: '0xF0000001u', riscv: '0x00000000u' };

// The test firmware. At boot, before any UART traffic (so that nothing depends on host timing),
// it times a loop of known length and one inference on zeros and reports both in its banner:
// under -icount these must be identical across runs. Then it serves single-byte commands:
//   'E' n:u32, n bytes -> each byte + 1, echoed one by one
//   'L' n:u32          -> ticks around spin(n) (2n instructions), started on a tick edge
//   'M' n:u32 gap:u32  -> n counter readings, spin(gap) apart
//   'W' n:u32          -> n back-to-back readings: [non-monotonic steps, largest step, total]
//   'R' input bytes    -> [invoke's result, ticks, output bytes]
//   'X'                -> jump to an invalid address
//   'Q'                -> return 7 from main
const TEST_MAIN_C = String.raw`/* qemu_serial test firmware (see test/qemu_serial.test.ts). */
#include <stdint.h>
#include <string.h>

#include "tf_hal.h"
#include "tf_test_model.h"

static uint8_t tf_in[TF_TEST_IN_BYTES] __attribute__((aligned(16)));
static uint8_t tf_out[TF_TEST_OUT_BYTES] __attribute__((aligned(16)));

static uint32_t get_u32(void) {
  uint32_t v = 0;
  int i;
  for (i = 0; i < 4; ++i) v |= (uint32_t)tf_hal_uart_getc() << (8 * i);
  return v;
}

static void put_u32(uint32_t v) {
  uint8_t b[4];
  b[0] = (uint8_t)v;
  b[1] = (uint8_t)(v >> 8);
  b[2] = (uint8_t)(v >> 16);
  b[3] = (uint8_t)(v >> 24);
  tf_hal_uart_write(b, 4);
}

static void put_str(const char *s) { tf_hal_uart_write((const uint8_t *)s, (uint32_t)strlen(s)); }

static void put_hex(uint32_t v) {
  static const char d[] = "0123456789abcdef";
  char b[9];
  int i;
  b[0] = ' ';
  for (i = 0; i < 8; ++i) b[i + 1] = d[(v >> (28 - 4 * i)) & 0xFu];
  tf_hal_uart_write((const uint8_t *)b, 9);
}

/* Exactly 2 instructions per iteration; n >= 1. */
static void __attribute__((noinline)) spin(uint32_t n) {
#if defined(__riscv)
  __asm__ volatile("1: addi %0, %0, -1\n\tbnez %0, 1b" : "+r"(n)::"memory");
#else
  __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n)::"cc", "memory");
#endif
}

static uint32_t timed_spin(uint32_t n) {
  uint32_t t0 = tf_hal_cycles(), t1, t2;
  while ((t1 = tf_hal_cycles()) == t0) {
  }
  spin(n);
  t2 = tf_hal_cycles();
  return t2 - t1;
}

static uint32_t timed_invoke(int *rc) {
  uint32_t t0 = tf_hal_cycles(), t1;
  *rc = TF_TEST_INVOKE((const int8_t *)tf_in, (int8_t *)tf_out);
  t1 = tf_hal_cycles();
  return t1 - t0;
}

int main(void) {
  uint32_t boot_loop, boot_invoke;
  int rc;
  tf_hal_init();
  boot_loop = timed_spin(100000u);
  boot_invoke = timed_invoke(&rc);
  put_str("TFTEST ");
  put_str(tf_hal_counter_name());
  put_hex(tf_hal_cycles_per_tick());
  put_hex((uint32_t)(uintptr_t)tf_hal_stack_lowest());
  put_hex((uint32_t)(uintptr_t)tf_hal_stack_top());
  put_hex(boot_loop);
  put_hex(boot_invoke);
  put_hex((uint32_t)rc);
  put_str("\n");
  for (;;) {
    uint8_t cmd = tf_hal_uart_getc();
    if (cmd == 'E') {
      uint32_t n = get_u32(), i;
      for (i = 0; i < n; ++i) {
        uint8_t b = (uint8_t)(tf_hal_uart_getc() + 1u);
        tf_hal_uart_write(&b, 1);
      }
    } else if (cmd == 'L') {
      put_u32(timed_spin(get_u32()));
    } else if (cmd == 'M') {
      uint32_t n = get_u32(), gap = get_u32(), i;
      for (i = 0; i < n; ++i) {
        put_u32(tf_hal_cycles());
        spin(gap);
      }
    } else if (cmd == 'W') {
      uint32_t n = get_u32(), i, first = tf_hal_cycles(), prev = first, bad = 0, maxd = 0;
      for (i = 0; i < n; ++i) {
        uint32_t t = tf_hal_cycles(), d = t - prev;
        if (d >= 0x80000000u) ++bad;
        if (d > maxd) maxd = d;
        prev = t;
      }
      put_u32(bad);
      put_u32(maxd);
      put_u32(prev - first);
    } else if (cmd == 'R') {
      uint32_t i, ticks;
      for (i = 0; i < TF_TEST_IN_BYTES; ++i) tf_in[i] = tf_hal_uart_getc();
      ticks = timed_invoke(&rc);
      put_u32((uint32_t)rc);
      put_u32(ticks);
      tf_hal_uart_write(tf_out, TF_TEST_OUT_BYTES);
    } else if (cmd == 'X') {
      void (*volatile jump)(void) = (void (*)(void))TF_TEST_BAD_ADDRESS;
      jump();
    } else if (cmd == 'Q') {
      return 7;
    }
  }
}
`;

const MODEL = 'micro_speech';
const BOOT_SPIN = 100_000;
const REPO = fileURLToPath(new URL('..', import.meta.url));

let workDir: string;
let mod: WrittenModule;
let srcDir: string;
const builds = new Map<string, Promise<FirmwareBuild>>();
const baseline = { sigint: 0, sigterm: 0, exit: 0 };

beforeAll(async () => {
  baseline.sigint = process.listenerCount('SIGINT');
  baseline.sigterm = process.listenerCount('SIGTERM');
  baseline.exit = process.listenerCount('exit');
  workDir = await mkdtemp(path.join(os.tmpdir(), 'tinyforge-qemu-serial-'));
  mod = writeCModule(sharedModel(MODEL).compiled, path.join(workDir, 'model'));
  srcDir = path.join(workDir, 'src');
  await mkdir(srcDir, { recursive: true });
  const P = mod.prefix.toUpperCase();
  await writeFile(path.join(srcDir, 'tf_test_main.c'), TEST_MAIN_C);
  await writeFile(
    path.join(srcDir, 'tf_test_model.h'),
    `#include "${mod.prefix}.h"
#define TF_TEST_IN_BYTES ${P}_INPUT0_BYTES
#define TF_TEST_OUT_BYTES ${P}_OUTPUT0_BYTES
#define TF_TEST_INVOKE ${mod.prefix}_invoke
#if defined(__riscv)
#define TF_TEST_BAD_ADDRESS ${BAD_ADDRESS.riscv}
#else
#define TF_TEST_BAD_ADDRESS ${BAD_ADDRESS.arm}
#endif
`,
  );
});

afterAll(async () => {
  // Every session was stopped: nothing running, the process handlers are gone again.
  expect(liveQemuCount()).toBe(0);
  expect(process.listenerCount('SIGINT')).toBe(baseline.sigint);
  expect(process.listenerCount('SIGTERM')).toBe(baseline.sigterm);
  expect(process.listenerCount('exit')).toBe(baseline.exit);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** The test firmware for a board, built once per (board, cflags). */
function testFirmware(board: Board, cflags: string[] = []): Promise<FirmwareBuild> {
  const key = `${board.id} ${cflags.join(' ')}`;
  let b = builds.get(key);
  if (b === undefined) {
    b = buildAgentFirmware(board, mod, [path.join(srcDir, 'tf_test_main.c')], { workDir, name: 'tf_test', cflags });
    builds.set(key, b);
  }
  return b;
}

/** True while `pid` is a live (non-zombie) process. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms = 5_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32LE(v >>> 0, 4 * i));
  return b;
}

function words(data: Uint8Array): number[] {
  const b = Buffer.from(data);
  return Array.from({ length: b.length >> 2 }, (_, i) => b.readUInt32LE(4 * i));
}

interface Banner {
  counter: string;
  cyclesPerTick: number;
  stackLowest: number;
  stackTop: number;
  bootLoopTicks: number;
  bootInvokeTicks: number;
  bootInvokeResult: number;
}

async function readBanner(s: QemuSession): Promise<Banner> {
  const line = Buffer.from(await s.transport.readUntil(0x0a, 10_000)).toString('latin1');
  const m = /^TFTEST (\S+) ([0-9a-f]{8}) ([0-9a-f]{8}) ([0-9a-f]{8}) ([0-9a-f]{8}) ([0-9a-f]{8}) ([0-9a-f]{8})\n$/.exec(line);
  expect(m, `banner ${JSON.stringify(line)}`).not.toBeNull();
  const h = (i: number): number => parseInt((m as RegExpExecArray)[i] as string, 16);
  return {
    counter: (m as RegExpExecArray)[1] as string,
    cyclesPerTick: h(2),
    stackLowest: h(3),
    stackTop: h(4),
    bootLoopTicks: h(5),
    bootInvokeTicks: h(6),
    bootInvokeResult: h(7),
  };
}

/** Reads lines until one holds a fault report. */
async function readFault(s: QemuSession): Promise<string> {
  for (let i = 0; i < 4; i++) {
    const line = await s.transport.readUntil(0x0a, 10_000);
    const report = findFaultReport(line);
    if (report) return report.line;
  }
  throw new Error('no fault report');
}

async function stopAndCheckGone(s: QemuSession): Promise<void> {
  await s.stop();
  expect(s.running).toBe(false);
  expect(await waitGone(s.pid)).toBe(true);
}

describe.concurrent('bare-metal HAL over the UART, on each emulated board', () => {
  for (const id of BOARDS) {
    it(id, async () => {
      const board = findBoard(id);
      const ipt = INSTRUCTIONS_PER_TICK[id];
      const fw = await testFirmware(board);
      expect(fw.size.text).toBeGreaterThan(16_000); // micro_speech's weights are in there
      expect(fw.bin).toMatch(/\.bin$/);

      // Run 1: echo, counter, model.
      const s = await launchQemu(board, fw.elf, { timeoutMs: 60_000 });
      let boot1: Banner;
      try {
        expect(s.ptyPath).toMatch(/^\/dev\/pts\/\d+$/);
        expect(isAlive(s.pid)).toBe(true);
        boot1 = await readBanner(s);
        expect(boot1.counter).toBe(board.cycleCounter);
        expect(boot1.cyclesPerTick).toBe(1);
        expect(boot1.stackTop).toBe(STACK_TOP[id]);
        expect(boot1.stackTop - boot1.stackLowest).toBe(0x10000);
        expect(boot1.bootInvokeResult).toBe(0);
        expect(Math.abs(boot1.bootLoopTicks - (2 * BOOT_SPIN) / ipt)).toBeLessThanOrEqual(ipt === 1 ? 16 : 1);

        // Echo: every byte value (NUL, 0xFF, CR, LF, XON/XOFF, ^C, DEL ...) in 6 KiB.
        const data = Buffer.alloc(6144);
        for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
        await s.transport.write(Buffer.concat([Buffer.from('E'), u32(data.length), data]));
        const echoed = Buffer.from(await s.transport.read(data.length, 20_000));
        const expected = Buffer.from(data.map((b) => (b + 1) & 0xff));
        expect(echoed.equals(expected)).toBe(true);

        // The counter measures a loop of 2n instructions as 2n / (instructions per tick).
        const n = 100_000;
        const d1: number[] = [];
        for (const k of [1, 2, 1, 1]) {
          await s.transport.write(Buffer.concat([Buffer.from('L'), u32(k * n)]));
          d1.push(words(await s.transport.read(4, 10_000))[0] as number);
        }
        const slack = ipt === 1 ? 16 : 1; // a few instructions of overhead; one tick of phase
        expect(Math.abs((d1[0] as number) - (2 * n) / ipt)).toBeLessThanOrEqual(slack);
        expect(Math.abs((d1[1] as number) - (4 * n) / ipt)).toBeLessThanOrEqual(slack);
        expect(Math.abs((d1[1] as number) - (d1[0] as number) - (2 * n) / ipt)).toBeLessThanOrEqual(ipt === 1 ? 0 : 1);
        expect(Math.max(...d1.filter((_, i) => i !== 1)) - Math.min(...d1.filter((_, i) => i !== 1))).toBeLessThanOrEqual(ipt === 1 ? 0 : 1);

        // Monotonic: readings with UART traffic in between, and back-to-back readings.
        await s.transport.write(Buffer.concat([Buffer.from('M'), u32(64, 1000)]));
        const readings = words(await s.transport.read(256, 10_000));
        for (let i = 1; i < readings.length; i++) {
          const step = ((readings[i] as number) - (readings[i - 1] as number)) >>> 0;
          expect(step).toBeGreaterThan(0);
          expect(step).toBeLessThan(2 ** 31);
        }
        await s.transport.write(Buffer.concat([Buffer.from('W'), u32(20_000)]));
        const [bad, maxStep, total] = words(await s.transport.read(12, 10_000));
        expect(bad).toBe(0);
        expect(maxStep).toBeLessThan(ipt === 1 ? 64 : 4);
        expect(total).toBeGreaterThan(0);

        // The model: golden cases byte for byte against TFLite Micro.
        const { golden } = sharedModel(MODEL);
        for (const c of golden.cases.slice(0, 3)) {
          await s.transport.write(Buffer.concat([Buffer.from('R'), Buffer.from(c.inputs[0] as Uint8Array)]));
          const r = Buffer.from(await s.transport.read(8 + mod.outputBytes[0]!, 20_000));
          expect(r.readInt32LE(0)).toBe(0);
          expect(r.readUInt32LE(4)).toBeGreaterThan(0);
          expect([...r.subarray(8)], `case ${c.id}`).toEqual([...(c.expected[0] as Uint8Array)]);
        }
      } finally {
        await stopAndCheckGone(s);
      }

      // Run 2: the boot measurements repeat exactly; a crash is reported and the board resets.
      const s2 = await launchQemu(board, fw.elf, { timeoutMs: 60_000 });
      try {
        const boot2 = await readBanner(s2);
        expect(boot2.bootLoopTicks).toBe(boot1.bootLoopTicks);
        expect(boot2.bootInvokeTicks).toBe(boot1.bootInvokeTicks);
        await s2.transport.write(Buffer.from('X'));
        const fault = await readFault(s2);
        if (firmwareFamilyOf(board) === 'riscv-virt') {
          expect(fault).toMatch(/^\*\*\* TF-FAULT InstructionAccessFault pc=0x00000000 mcause=0x00000001 /);
        } else {
          expect(fault).toMatch(/^\*\*\* TF-FAULT MemManage pc=0xf0000000 lr=0x[0-9a-f]{8} cfsr=0x00000001 /);
        }
        // Reset: the firmware boots again, with the same deterministic measurements.
        const boot3 = await readBanner(s2);
        expect(boot3.bootLoopTicks).toBe(boot1.bootLoopTicks);
        await s2.transport.write(Buffer.from('Q'));
        expect(await readFault(s2)).toMatch(/^\*\*\* TF-FAULT MainReturned pc=0x00000007 /);
        await readBanner(s2);
        expect(s2.resets).toBe(2);
        expect(s2.running).toBe(true);
      } finally {
        await stopAndCheckGone(s2);
      }

      // Run 3: with noReboot the fault report is the last word and QEMU exits.
      const s3 = await launchQemu(board, fw.elf, { timeoutMs: 60_000, noReboot: true });
      try {
        await readBanner(s3);
        await s3.transport.write(Buffer.from('X'));
        expect(await readFault(s3)).toMatch(/TF-FAULT/);
        const exit = await s3.exited;
        expect(exit.code).toBe(0);
        await expect(s3.transport.read(1, 10_000)).rejects.toThrow(/exited \(exit code 0\) after the guest reset the board \(noReboot\)/);
      } finally {
        await stopAndCheckGone(s3);
      }
    });
  }

  it('mps3-an547: the 24-bit SysTick is extended to 32 bits across many wraps', async () => {
    const board = findBoard('qemu-mps3-an547');
    // A 256-tick period: an exception every 8000 instructions.
    const fw = await testFirmware(board, ['-DTF_HAL_SYSTICK_RELOAD=0xFFu']);
    const s = await launchQemu(board, fw.elf, { timeoutMs: 60_000 });
    try {
      const boot = await readBanner(s);
      // 25 SysTick exceptions of a few instructions each during the loop.
      expect(Math.abs(boot.bootLoopTicks - (2 * BOOT_SPIN) / 31.25)).toBeLessThanOrEqual(8);
      // About one tick per reading: 40000 readings cross some 150 period boundaries.
      await s.transport.write(Buffer.concat([Buffer.from('W'), u32(40_000)]));
      const [bad, maxStep, total] = words(await s.transport.read(12, 10_000));
      expect(bad).toBe(0);
      expect(maxStep).toBeLessThan(4);
      expect(total).toBeGreaterThan(100 * 256);
      await s.transport.write(Buffer.concat([Buffer.from('M'), u32(64, 5000)]));
      const readings = words(await s.transport.read(256, 10_000));
      const steps = readings.slice(1).map((r, i) => (r - (readings[i] as number)) >>> 0);
      // 10000 instructions of spin plus the UART write: about 320 ticks each, never a lost period.
      expect(Math.max(...steps) - Math.min(...steps)).toBeLessThanOrEqual(1);
      expect(Math.min(...steps)).toBeGreaterThan(10_000 / 31.25);
    } finally {
      await stopAndCheckGone(s);
    }
  });

  it('without -icount the UART works the same (the counter is then host time)', async () => {
    const board = findBoard('qemu-mps2-an386');
    const fw = await testFirmware(board);
    const s = await launchQemu(board, fw.elf, { icount: false, timeoutMs: 60_000 });
    try {
      expect(s.argv).not.toContain('-icount');
      const boot = await readBanner(s);
      expect(boot.bootInvokeResult).toBe(0);
      await s.transport.write(Buffer.concat([Buffer.from('E'), u32(3), Buffer.from([0, 0xff, 0x7f])]));
      expect([...(await s.transport.read(3, 10_000))]).toEqual([1, 0, 0x80]);
    } finally {
      await stopAndCheckGone(s);
    }
  });
});

describe('QEMU launcher failures', () => {
  it('a missing emulator is a ToolError with the apt command', async () => {
    const board = findBoard('qemu-riscv32-virt');
    const err = await launchQemu(board, '/nonexistent.elf', { program: '/nonexistent/qemu-system-riscv32' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as Error).message).toMatch(/apt-get install qemu-system-misc/);
  });

  it('a QEMU that exits during start-up is a ToolError quoting its output', async () => {
    const board = findBoard('qemu-mps2-an386');
    // Not an ELF, so QEMU tries it as a raw image, and it is larger than the 4 MiB code memory.
    const tooBig = path.join(workDir, 'too-big.elf');
    await writeFile(tooBig, Buffer.alloc(5 << 20, 0x5a));
    const err = await launchQemu(board, tooBig).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as Error).message).toMatch(/^QEMU mps2-an386 \(qemu-mps2-an386\) exited during start-up \(exit code 1\): \S*qemu-system-arm -M mps2-an386 /);
    expect((err as Error).message).toMatch(/Could not load kernel/);
    expect((err as Error).message).not.toMatch(/\x1b|\(qemu\)/);
    expect(liveQemuCount()).toBe(0);
  });

  it('a firmware that locks up the core makes QEMU exit; reads fail with its message, not a timeout', async () => {
    const board = findBoard('qemu-mps2-an386');
    // Raw bytes instead of a vector table: the reset vector is garbage and the core locks up.
    const junk = path.join(workDir, 'junk.bin');
    await writeFile(junk, 'not a firmware image\n');
    const s = await launchQemu(board, junk);
    try {
      const started = Date.now();
      const err = await s.transport.read(1, 30_000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/^QEMU mps2-an386 \(qemu-mps2-an386\) exited \((signal SIGABRT|exit code \d+)\)\n/);
      expect((err as Error).message).toMatch(/Lockup/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await stopAndCheckGone(s);
    }
  });

  it('a session timeout stops QEMU and fails pending reads with a clear message', async () => {
    const board = findBoard('qemu-riscv32-virt');
    const fw = await testFirmware(board);
    const s = await launchQemu(board, fw.elf, { timeoutMs: 3_000 });
    await readBanner(s);
    const started = Date.now();
    // The firmware waits for a command and says nothing: only the session timeout ends this.
    await expect(s.transport.read(1, 30_000)).rejects.toThrow(/session timed out after 3000 ms \(QEMU stopped\)/);
    expect(Date.now() - started).toBeLessThan(10_000);
    await s.exited;
    expect(await waitGone(s.pid)).toBe(true);
    await s.stop();
  });

  it('closing the transport stops QEMU', async () => {
    const board = findBoard('qemu-mps2-an385');
    const fw = await testFirmware(board);
    const s = await launchQemu(board, fw.elf);
    await readBanner(s);
    await s.transport.close();
    expect(s.running).toBe(false);
    expect(await waitGone(s.pid)).toBe(true);
    await expect(s.transport.read(1, 1_000)).rejects.toThrow(/stopped/);
  });

  // A separate Node process launches QEMU, then dies; QEMU must die with it.
  async function launchInChild(signal: NodeJS.Signals, killWithParent: boolean): Promise<{ qemuPid: number; childExit: number | null }> {
    const board = findBoard('qemu-mps2-an386');
    const fw = await testFirmware(board);
    const script = path.join(workDir, `child-${signal}-${killWithParent}.mts`);
    await writeFile(
      script,
      `import { findBoard } from ${JSON.stringify(pathToFileURL(path.join(REPO, 'compiler/boards/load_boards.ts')).href)};
import { launchQemu } from ${JSON.stringify(pathToFileURL(path.join(REPO, 'flasher/backends/qemu.ts')).href)};
const s = await launchQemu(findBoard('qemu-mps2-an386'), ${JSON.stringify(fw.elf)}, { killWithParent: ${killWithParent} });
await s.transport.readUntil(10, 10000);
process.stdout.write('READY ' + s.pid + '\\n');
setInterval(() => undefined, 1000);
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const qemuPid = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child did not get ready: ${err}`)), 30_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /READY (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.on('exit', () => reject(new Error(`child exited early: ${err}`)));
    });
    expect(isAlive(qemuPid)).toBe(true);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill(signal);
    return { qemuPid, childExit: await exited };
  }

  it('SIGTERM to the host process kills QEMU (signal handler)', async () => {
    const { qemuPid } = await launchInChild('SIGTERM', false);
    expect(await waitGone(qemuPid)).toBe(true);
  });

  it('SIGKILL of the host process kills QEMU (parent-death signal)', async () => {
    const { qemuPid } = await launchInChild('SIGKILL', true);
    expect(await waitGone(qemuPid)).toBe(true);
  });
});
