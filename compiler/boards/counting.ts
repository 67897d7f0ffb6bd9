// What a board's counter counts, so that every number printed says what it is.
//
// QEMU does not model cycles. The QEMU boards run under `-icount shift=0`, where every guest
// instruction advances virtual time by 1 ns and the timers follow virtual time: the 25 MHz APB
// timer of the MPS2 boards ticks every 40 instructions, the 32 MHz SysTick of the MPS3 AN547 every
// 31.25, and RISC-V `mcycle` is derived from the instruction count itself (one per instruction).
// Their counts are therefore instructions, never cycles, and there is no time to convert to.
// Real boards count core cycles (DWT CYCCNT, CCOUNT, mcycle, SysTick from the core clock), which
// become milliseconds at the clock the firmware runs the core at (the board file's clockHz).

import type { Board } from './board_schema.ts';

export type CountUnit = 'instructions' | 'cycles';

export interface Counting {
  /** What the numbers are: instructions on QEMU boards, core cycles on real ones. */
  unit: CountUnit;
  /** The counter the firmware reads (HELLO's counter name, or the board file's). */
  counter: string;
  /** Units per counter tick. */
  perTick: number;
  /** False when the firmware reported that its counter does not run (no counts, no times). */
  running: boolean;
  /** Core clock for milliseconds (real boards with a running counter), else null. */
  clockHz: number | null;
  /** One sentence: how the numbers were counted. */
  how: string;
}

/** Counter names a firmware reports when it has no running counter. */
const NOT_RUNNING = new Set(['none', '']);

export function isEmulatedBoard(board: Board): boolean {
  return board.flashing.method === 'qemu';
}

/**
 * How `board`'s counts are to be read. `counterName` and `cyclesPerTick` are what the agent's
 * HELLO reported (the board file's counter and 1 when not known).
 */
export function countingOf(board: Board, counterName: string = board.cycleCounter, cyclesPerTick = 1): Counting {
  const mhz = board.clockHz / 1e6;
  if (NOT_RUNNING.has(counterName)) {
    return {
      unit: isEmulatedBoard(board) ? 'instructions' : 'cycles',
      counter: board.cycleCounter,
      perTick: 0,
      running: false,
      clockHz: null,
      how: `the firmware on ${board.id} reports that its ${board.cycleCounter} counter does not run: no counts or times`,
    };
  }
  if (isEmulatedBoard(board)) {
    const perTick = counterName === 'mcycle' ? 1 : 1e9 / board.clockHz;
    return {
      unit: 'instructions',
      counter: counterName,
      perTick,
      running: true,
      clockHz: null,
      how:
        counterName === 'mcycle'
          ? `instructions under qemu -icount shift=0 (mcycle counts retired instructions there); QEMU models no cycles or time`
          : `instructions under qemu -icount shift=0 (1 ns of virtual time each), read from the ${mhz} MHz ${counterName}: ${formatPerTick(perTick)} instructions per tick, so each count is exact to within one tick; QEMU models no cycles or time`,
    };
  }
  return {
    unit: 'cycles',
    counter: counterName,
    perTick: cyclesPerTick,
    running: true,
    clockHz: board.clockHz,
    how: `core cycles counted by ${counterName}${cyclesPerTick === 1 ? '' : ` (${cyclesPerTick} per tick)`}; ms at the ${mhz} MHz core clock the firmware sets`,
  };
}

function formatPerTick(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/** Counter ticks as units of `c`; null when the counter does not run or did not move (0 ticks). */
export function countFromTicks(c: Counting, ticks: number): number | null {
  if (!c.running || ticks <= 0) return null;
  return Math.round(ticks * c.perTick);
}

/** Milliseconds of a count: only for cycles at a known clock. */
export function millisecondsOf(c: Counting, count: number | null): number | null {
  if (count === null || c.unit !== 'cycles' || c.clockHz === null) return null;
  return (count / c.clockHz) * 1000;
}

/** Per-MAC ratio label as it reads best: instructions per MAC, or MACs per cycle. */
export function perMacLabel(c: Counting): string {
  return c.unit === 'instructions' ? 'instr/MAC' : 'cycles/MAC';
}
