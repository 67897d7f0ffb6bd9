// The qemu-xtensa-lx106 board's runtime: the libgcc integer and soft-float helpers against the
// host's arithmetic, a misaligned load reported as a fault with its location, and the exact
// instruction counts of `bench` (QEMU plugin).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { markIntervals, parseMarks } from '../compiler/bench/xtensa_bench.ts';
import { outputChecksum, runBench } from '../compiler/bench/run_bench.ts';
import { findBoard } from '../compiler/boards/load_boards.ts';
import { checkFitsBoard } from '../compiler/boards/fit.ts';
import { ToolError } from '../compiler/errors.ts';
import { runReference } from '../compiler/reference/run_reference.ts';
import { buildXtensaProgram, describeXtensaExit, runCasesOnQemuXtensa, runQemuXtensa } from '../compiler/targets/qemu_xtensa.ts';
import { RUNTIME_TEMPLATES_DIR } from '../compiler/targets/target.ts';
import { execTool, requireTool, runCompiler } from '../compiler/targets/toolchain.ts';
import { randomInputs } from '../compiler/validate/random_cases.ts';
import { sharedModel } from './helpers/shared.ts';

const C_DIR = fileURLToPath(new URL('./c/', import.meta.url));
const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-xtensa-runtime-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('qemu-xtensa-lx106 runtime', () => {
  it('integer and soft-float helpers give the host hardware results bit for bit', async () => {
    const selftest = path.join(C_DIR, 'xtensa_helpers_selftest.c');
    const hostDir = mkdtempSync(path.join(workDir, 'host-'));
    const hostExe = path.join(hostDir, 'selftest');
    await runCompiler(requireTool('cc'), ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-I', RUNTIME_TEMPLATES_DIR, selftest, path.join(RUNTIME_TEMPLATES_DIR, 'host', 'io_host.c'), '-o', hostExe], 'host self-test build');
    writeFileSync(path.join(hostDir, 'tf_in.bin'), '');
    const host = await execTool(hostExe, [], { cwd: hostDir, timeoutMs: 60_000 });
    expect(host.code).toBe(0);
    const expected = await readFile(path.join(hostDir, 'tf_out.bin'), 'utf8');

    const { binary } = await buildXtensaProgram({ name: 'helpers-selftest', sources: [selftest], workDir });
    const xtDir = mkdtempSync(path.join(workDir, 'xt-'));
    writeFileSync(path.join(xtDir, 'tf_in.bin'), '');
    const r = await runQemuXtensa(binary, xtDir, 120_000);
    expect(r.code, r.stderr).toBe(0);
    const actual = await readFile(path.join(xtDir, 'tf_out.bin'), 'utf8');
    // one hash per group: float add/sub and mul, double add/sub and mul, conversions, integer
    expect(expected.trim().split('\n').map((l) => l.split(' ')[0])).toEqual(['addsf3', 'mulsf3', 'adddf3', 'muldf3', 'extend_trunc', 'int_float', 'integer']);
    expect(actual).toBe(expected);
  }, 300_000);

  it('a misaligned 32-bit load faults (as on an ESP32) and the error names the exception and the function', async () => {
    const mod = { dir: path.join(C_DIR, 'misaligned'), prefix: 'misaligned', inputBytes: [8], outputBytes: [4] };
    let message = '';
    try {
      await runCasesOnQemuXtensa(mod, [[new Uint8Array(8)]], { workDir });
    } catch (e) {
      expect(e).toBeInstanceOf(ToolError);
      message = (e as Error).message;
    }
    expect(message).toContain('exit code 137 (crash: Xtensa exception 9, misaligned load or store (LoadStoreAlignmentCause))');
    expect(message).toContain('after 0 of 1 cases');
    expect(message).toMatch(/faulting instruction at 0x4[0-9a-f]{7} in misaligned_read_word \(misaligned\.c(:\d+)?\), data address 0x6[0-9a-f]{6}[13579bdf]/);
    expect(describeXtensaExit(125)).toBe('crash: double exception');
    expect(describeXtensaExit(4)).toMatch(/short read/);
  }, 300_000);

  it('the board file describes the linker script: every shared model fits it', () => {
    const board = findBoard('qemu-xtensa-lx106');
    expect(board).toMatchObject({ core: 'xtensa-lx106', features: [], emulator: { program: 'qemu-system-xtensa', machine: 'sim', cpu: 'lx106' } });
    expect(board.memory.flash.base).toBe(0x50000000);
    expect(board.memory.ram.base).toBe(0x60000000);
    expect(() => checkFitsBoard(sharedModel('vww_mobilenet').compiled, board)).not.toThrow();
  });
});

describe('bench on qemu-xtensa-lx106: exact instruction counts', () => {
  it('splits the plugin marks into invokes and layers, the markers\' own cost subtracted', () => {
    const log = ['mark 100', 'mark 103', 'mark 200', 'mark 1203', 'mark 1300', 'mark 2303', 'total 2400'].join('\n');
    const marks = parseMarks(log);
    expect(marks).toEqual([100, 103, 200, 1203, 1300, 2303]);
    expect(markIntervals(marks, 1, 0)).toEqual({ overhead: 3, perRun: [1000, 1000], layers: [] });
    // profiled, 2 layers: marks before layer 0, before layer 1 and after layer 1 inside each invoke
    const profiled = [0, 3, 10, 13, 516, 1019, 1022, 2000, 2003, 2506, 3009, 3012];
    expect(markIntervals(profiled, 1, 2)).toEqual({ overhead: 3, perRun: [1000, 1000], layers: [500, 500] });
    expect(() => markIntervals(marks, 2, 0)).toThrow(/logged 6 markers, expected 8/);
  });

  it('hello_world: the same count on every invoke, and the checksum of the reference outputs', async () => {
    const { compiled } = sharedModel('hello_world_int8');
    const r = await runBench(compiled, 'qemu-xtensa-lx106', 3);
    expect(r.board).toBe('qemu-xtensa-lx106');
    expect(r.instructionsPerRun).toHaveLength(3);
    expect(new Set([...r.instructionsPerRun, r.warmupInstructions]).size).toBe(1);
    expect(r.instructions).toBeGreaterThan(1000);
    expect(r.instructions).toBeLessThan(100_000);
    expect(r.instructionsPerTick).toBe(1);
    const expected = runReference(compiled.model.graph, compiled.layers, randomInputs(compiled.summary.inputs, 0));
    expect(r.outputChecksum).toBe(outputChecksum(expected));
    expect(r.flash_bytes).toBeGreaterThan(r.weight_bytes);
    expect(r.stack_bytes).toBeGreaterThan(0);
    const profiled = await runBench(compiled, 'qemu-xtensa-lx106', 1, true);
    expect(profiled.layerInstructions).toHaveLength(compiled.layers.length);
    const layerSum = (profiled.layerInstructions ?? []).reduce((a, b) => a + b, 0);
    // The layers are the invoke but for its entry, input copy check and return.
    expect(layerSum).toBeLessThanOrEqual(profiled.instructions);
    expect(profiled.instructions - layerSum).toBeLessThan(100);
  }, 300_000);
});
