// Per-layer profile from the on-device agent: the firmware reads its counter before every layer
// (-DTF_PROFILE) and the PROFILE command returns the ticks of the last inference. The counts are
// instructions on QEMU boards and core cycles on real ones (compiler/boards/counting.ts).

import type { Board } from '../boards/board_schema.ts';
import type { Counting, CountUnit } from '../boards/counting.ts';
import type { CompiledModel } from '../compile.ts';
import { TinyforgeError } from '../errors.ts';

export interface LayerCount {
  index: number;
  op: string;
  kernel: string;
  /** Instructions or cycles of this layer, per the profile's unit. */
  count: number;
  macs: number;
  /** Fraction of the total count (0..1). */
  share: number;
}

export interface ModelProfile {
  unit: CountUnit;
  counter: string;
  /** How the counts were taken. */
  how: string;
  total: number;
  layers: LayerCount[];
}

export function layerProfile(compiled: CompiledModel, layerTicks: readonly number[], counting: Counting, board: Board): ModelProfile {
  if (layerTicks.length === 0) {
    throw new TinyforgeError(`the firmware on ${board.id} records no per-layer counts: build it with -DTF_PROFILE (QEMU boards get it with --profile)`);
  }
  if (layerTicks.length !== compiled.layers.length) {
    throw new TinyforgeError(`the firmware on ${board.id} reported ${layerTicks.length} layers; the model has ${compiled.layers.length} (is it running another build?)`);
  }
  if (!counting.running) throw new TinyforgeError(`no per-layer profile on ${board.id}: ${counting.how}`);
  const counts = layerTicks.map((t) => Math.round(t * counting.perTick));
  const total = counts.reduce((a, b) => a + b, 0);
  return {
    unit: counting.unit,
    counter: counting.counter,
    how: counting.how,
    total,
    layers: compiled.summary.layers.map((l, i) => ({
      index: l.index,
      op: l.op,
      kernel: l.kernel,
      count: counts[i] ?? 0,
      macs: l.macs,
      share: total > 0 ? (counts[i] ?? 0) / total : 0,
    })),
  };
}
