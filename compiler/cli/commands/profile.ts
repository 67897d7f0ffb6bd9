// Per-layer profile from the on-device agent: the firmware reads its cycle counter before every
// layer (-DTF_PROFILE: DWT CYCCNT, SysTick or a timer on Cortex-M, CCOUNT on ESP32, mcycle on
// RISC-V) and the PROFILE command returns the ticks of the last inference.

import { writeFileSync } from 'node:fs';
import type { Board } from '../../boards/board_schema.ts';
import type { CompiledModel } from '../../compile.ts';
import { TinyforgeError } from '../../errors.ts';
import { formatInt, table } from '../format.ts';

export interface LayerProfile {
  index: number;
  op: string;
  kernel: string;
  cycles: number;
  macs: number;
  share: number;
}

export interface ModelProfile {
  totalCycles: number;
  layers: LayerProfile[];
}

export function layerProfile(compiled: CompiledModel, layerTicks: readonly number[], cyclesPerTick: number, board: Board): ModelProfile {
  if (layerTicks.length === 0) {
    throw new TinyforgeError(`the firmware on ${board.id} records no per-layer counts: build it with -DTF_PROFILE (QEMU boards get it with --profile)`);
  }
  if (layerTicks.length !== compiled.layers.length) {
    throw new TinyforgeError(`the firmware on ${board.id} reported ${layerTicks.length} layers; the model has ${compiled.layers.length} (is it running another build?)`);
  }
  const cycles = layerTicks.map((t) => t * cyclesPerTick);
  const totalCycles = cycles.reduce((a, b) => a + b, 0);
  return {
    totalCycles,
    layers: compiled.summary.layers.map((l, i) => ({
      index: l.index,
      op: l.op,
      kernel: l.kernel,
      cycles: cycles[i] ?? 0,
      macs: l.macs,
      share: totalCycles > 0 ? (cycles[i] ?? 0) / totalCycles : 0,
    })),
  };
}

export function printProfile(p: ModelProfile, board: Board, counter: string): void {
  console.log(
    table(
      ['layer', 'op', 'kernel', 'cycles', 'MACs', 'MACs/cycle', 'share'],
      p.layers.map((l) => [l.index, l.op, l.kernel, l.cycles, l.macs, l.macs > 0 && l.cycles > 0 ? (l.macs / l.cycles).toFixed(2) : '-', `${(100 * l.share).toFixed(1)}%`]),
    ),
  );
  const emulated = board.flashing.method === 'qemu' ? ' (under QEMU -icount: cycles of the modelled clock, a fixed number of instructions each)' : '';
  console.log(`\nper-layer cycles of the last case on ${board.id}, counted by ${counter}${emulated}: ${formatInt(p.totalCycles)} in all`);
}

/** The format `tinyforge report --profile` reads. */
export function writeProfileJson(file: string, p: ModelProfile): void {
  writeFileSync(file, `${JSON.stringify({ layers: p.layers.map((l) => ({ index: l.index, cycles: l.cycles })) }, null, 2)}\n`);
}
