// End to end over serial: the agent firmware for each QEMU board, its UART on a pty opened with
// serialport, every golden case streamed through the wire protocol and compared byte for byte.

import { describe, expect, it } from 'vitest';
import { findBoard } from '../compiler/boards/load_boards.ts';
import { buildQemuFirmware, openDevice, validateOnDevice } from '../flasher/device_validation.ts';
import { liveQemuCount } from '../flasher/backends/qemu.ts';
import { sharedModel, type SharedModel } from './helpers/shared.ts';
import type { ValidateResult } from '../compiler/api/validate.ts';

const RUNS: Array<[string, SharedModel]> = [
  ['qemu-mps2-an386', 'micro_speech'],
  ['qemu-mps2-an386', 'kws_dscnn'],
  ['qemu-mps2-an385', 'micro_speech'],
  ['qemu-mps2-an500', 'kws_dscnn'],
  ['qemu-mps3-an547', 'micro_speech'],
  ['qemu-riscv32-virt', 'micro_speech'],
  ['qemu-riscv32-virt', 'ad_autoencoder'],
];

describe('validation on emulated boards over the serial agent', () => {
  for (const [boardId, model] of RUNS) {
    it(`${model} on ${boardId}: every golden case matches TFLite Micro`, async () => {
      const board = findBoard(boardId);
      const { compiled, golden } = sharedModel(model);
      const firmware = await buildQemuFirmware(compiled, board);
      expect(firmware.size.text).toBeLessThan(board.memory.flash.size);
      const device = await openDevice(board, firmware);
      expect(device.description).toMatch(/^serial:\/dev\/pts\/\d+$/);
      let report;
      try {
        report = await validateOnDevice(compiled, board, device, golden.cases);
      } finally {
        await device.close();
      }
      expect(report.hello.boardId).toBe(boardId);
      expect(report.hello.modelSha256).toBe(compiled.model.sha256);
      expect(report.cases).toHaveLength(golden.cases.length);
      for (const c of report.cases) {
        expect(c.pass, `case ${c.id}: ${JSON.stringify(c.outputs)}`).toBe(true);
        expect(c.instructions).toBeGreaterThan(0);
        expect(c.cycles).toBeNull();
      }
      expect(report.failed).toBe(0);
      expect(report.stats.invokeCount).toBe(golden.cases.length);
      expect(report.stats.stackHighWaterBytes).toBeGreaterThan(0);
      expect(report.stats.stackHighWaterBytes).toBeLessThan(report.stats.stackSizeBytes);
      expect(liveQemuCount()).toBe(0);
    });
  }

  it('reports a mismatch instead of a pass when the expected bytes differ', async () => {
    const board = findBoard('qemu-mps2-an386');
    const { compiled, golden } = sharedModel('micro_speech');
    const tampered = golden.cases.slice(0, 2).map((c, i) => ({ ...c, expected: i === 1 ? c.expected.map((b) => b.map((x, j) => (j === 3 ? x ^ 4 : x))) : c.expected }));
    const device = await openDevice(board, await buildQemuFirmware(compiled, board));
    try {
      const report = await validateOnDevice(compiled, board, device, tampered);
      expect(report.passed).toBe(1);
      expect(report.cases[1]?.pass).toBe(false);
      expect(report.cases[1]?.outputs[0]).toMatchObject({ firstIndex: 3, differing: 1 });
    } finally {
      await device.close();
    }
  });
});

describe('tinyforge validate --board (CLI)', () => {
  it('validates over the serial agent and reports the transport, cycles and stack per case', async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const { goldenDir, modelPath } = await import('./helpers/shared.ts');
    const bin = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [bin, 'validate', modelPath('micro_speech'), '--board', 'qemu-mps2-an386', '--golden', goldenDir('micro_speech'), '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const report = (JSON.parse(r.stdout) as { result: ValidateResult }).result;
    expect(report.device?.transport).toMatch(/^serial:\/dev\/pts\/\d+$/);
    expect(report.passed).toBe(12);
    expect(report.failed).toBe(0);
    // QEMU models no cycles: the emulated board reports instructions, and no milliseconds.
    expect(report.device?.counting).toMatchObject({ unit: 'instructions', counter: 'apb-timer', perTick: 40, running: true });
    expect(report.cases.every((c) => c.pass && (c.instructions ?? 0) > 0 && c.cycles === null && c.milliseconds === null)).toBe(true);
    expect(report.device?.stackHighWaterBytes).toBeGreaterThan(0);
  });
});

describe('tinyforge validate --profile', () => {
  it('prints per-layer instructions from the agent that add up, and writes the profile report reads', async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { modelPath } = await import('./helpers/shared.ts');
    const bin = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'tinyforge-profile-')), 'profile.json');
    const r = spawnSync(process.execPath, [bin, 'validate', modelPath('kws_dscnn'), '--board', 'qemu-mps2-an386', '--random', '2', '--profile', '--profile-out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/2\/2 cases match/);
    expect(r.stdout).toMatch(/DEPTHWISE_CONV_2D\s+depthwise_conv_s8_fast/);
    const profile = JSON.parse(readFileSync(out, 'utf8')) as { unit: string; layers: Array<{ index: number; instructions: number }> };
    const { compiled } = sharedModel('kws_dscnn');
    expect(profile.unit).toBe('instructions');
    expect(profile.layers).toHaveLength(compiled.layers.length);
    // Instructions under -icount, in steps of the 40 per APB timer tick: a 512k-MAC convolution takes hundreds of thousands.
    const convs = profile.layers.filter((l) => compiled.layers[l.index]?.kernel === 'conv_s8');
    expect(convs.length).toBe(5);
    expect(convs.every((l) => l.instructions > 200_000 && l.instructions % 40 === 0)).toBe(true);
    expect(r.stdout).toMatch(/instr\/MAC/);
    expect(r.stdout).not.toMatch(/MACs\/cycle|cycles\/MAC/);
    expect(r.stdout).toMatch(/apb-timer: 40 instructions per tick/);
    const total = Number(/per-layer instructions of the last case on qemu-mps2-an386: ([\d,]+) in all/.exec(r.stdout)?.[1]?.replace(/,/g, ''));
    expect(total).toBe(profile.layers.reduce((s, l) => s + l.instructions, 0));
  });
});
