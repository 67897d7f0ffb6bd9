import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFitsBoard, estimateFootprint } from '../compiler/boards/fit.ts';
import { findBoard, loadBoards, parseBoardFile } from '../compiler/boards/load_boards.ts';
import { TinyforgeError } from '../compiler/errors.ts';
import { sharedModel } from './helpers/shared.ts';

const REQUIRED = [
  'qemu-mps2-an385', 'qemu-mps2-an386', 'qemu-mps2-an500', 'qemu-mps3-an547', 'qemu-riscv32-virt', 'qemu-xtensa-lx106', 'esp32-devkitc',
  'esp32-s3-devkitc-1', 'esp32-c3-devkitm-1', 'nucleo-f446re', 'nucleo-h743zi', 'nrf52840-dk', 'arduino-nano-33-ble', 'rpi-pico',
];

describe('boards', () => {
  it('every required board has a valid file', () => {
    const ids = loadBoards().map((b) => b.id);
    for (const id of REQUIRED) expect(ids).toContain(id);
    expect(findBoard('qemu-mps2-an386').emulator?.machine).toBe('mps2-an386');
    expect(findBoard('rpi-pico').flashing).toMatchObject({ method: 'uf2', familyId: 0xe48bff56 });
  });

  it('reports schema errors with the file and the field', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-boards-'));
    const good = JSON.stringify(findBoard('qemu-mps2-an386'));
    const file = path.join(dir, 'qemu-mps2-an386.json');
    const bad = (mutate: (b: Record<string, unknown>) => void): string => {
      const b = JSON.parse(good) as Record<string, unknown>;
      mutate(b);
      return JSON.stringify(b);
    };
    expect(() => parseBoardFile(file, bad((b) => (b.clockHz = -5)))).toThrow(/qemu-mps2-an386\.json: field 'clockHz'/);
    expect(() => parseBoardFile(file, bad((b) => ((b.memory as { ram: { size: unknown } }).ram.size = 'big')))).toThrow(/field 'memory\.ram\.size'/);
    expect(() => parseBoardFile(file, bad((b) => (b.core = 'z80')))).toThrow(/field 'core'/);
    expect(() => parseBoardFile(file, bad((b) => (b.flashing = { method: 'uf2' })))).toThrow(/field 'flashing\.familyId'/);
    expect(() => parseBoardFile(file, bad((b) => (b.colour = 'blue')))).toThrow(/colour/);
    expect(() => parseBoardFile(file, '{ not json')).toThrow(/not valid JSON/);
    expect(() => parseBoardFile(path.join(dir, 'other.json'), good)).toThrow(/must match the file name/);
    writeFileSync(path.join(dir, 'x.json'), '[]');
    expect(() => loadBoards(dir)).toThrow(TinyforgeError);
  });

  it('refuses a model that does not fit and says by how many bytes', () => {
    const { compiled } = sharedModel('vww_mobilenet');
    const need = estimateFootprint(compiled);
    // Constants as laid out in flash: packed weights, biases and requantization tables. The deep
    // 1x1 convolutions are mostly all-zero blocks and are stored block-sparse, so this is below the
    // model's 219,064 weight bytes, and above the dense early layers' share of them.
    expect(need.flashBytes).toBeGreaterThan(140_000);
    expect(need.flashBytes).toBeLessThan(219_064);
    expect(need.ramBytes).toBeGreaterThanOrEqual(compiled.plan.arenaBytes);
    const board = { ...findBoard('nucleo-f446re') };
    board.memory = { flash: { base: 0x08000000, size: need.flashBytes - 1000 }, ram: { base: 0x20000000, size: need.ramBytes - 500 } };
    let message = '';
    try {
      checkFitsBoard(compiled, board);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/vww_mobilenet\.tflite does not fit nucleo-f446re/);
    expect(message).toContain(`needs ${need.flashBytes} bytes of flash for constants, 1000 more than the board's ${need.flashBytes - 1000}`);
    expect(message).toContain(`needs ${need.ramBytes} bytes of RAM for arena, state and I/O, 500 more than the board's ${need.ramBytes - 500}`);
    expect(checkFitsBoard(compiled, findBoard('nucleo-f446re')).flashBytes).toBe(need.flashBytes);
  });
});
