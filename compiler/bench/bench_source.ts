// Generates the benchmark main for a compiled model on a Cortex-M QEMU board. The image holds
// the model, a timer read around each invoke, a stack painter and semihosting for the result.
//
// Under `qemu -icount shift=0` every guest instruction advances virtual time by exactly 1 ns and
// the board's timers run off virtual time, so timer ticks count instructions. The ratio is
// calibrated in the image itself with a loop of known length.

import type { Graph } from '../ir/graph.ts';
import type { CompiledModuleRef } from '../targets/target.ts';

export type BenchTimer = 'apb-timer' | 'systick';

export interface BenchSpec extends CompiledModuleRef {
  timer: BenchTimer;
  /** Record the timer before each layer of the last run (the model must be built with -DTF_PROFILE). */
  layers?: number;
  /** Measured invokes after one warm-up. */
  runs: number;
  /** The model keeps some inputs outside its arena: reserve buffers for them. */
  ownInputs?: boolean;
  /**
   * Element type of each input (default: bytes). The inputs are drawn with the golden folders'
   * random rule (../shared/golden/README.md, case rand0): one xorshift32 state shared across the
   * inputs, int8/uint8 the low 8 bits, int16 the low 16, float32 ((s >> 8) / 2^24) * 2 - 1, so a
   * float-input model runs on the values TFLite Micro's rand0 case used, not on random bit patterns.
   */
  inputDtypes?: readonly string[];
  /**
   * Per input: when set, the input is int32 ids (GATHER positions, e.g. token ids) drawn as
   * xorshift32 state modulo this bound, since ids past the table make the invoke fail.
   */
  idBounds?: readonly (number | undefined)[];
}

/** Words of the result block the image writes to tf_out.bin, in order. */
export const BENCH_RESULT_MAGIC = 0x54464231; // "TFB1"

export const CALIBRATION_ITERATIONS = 100000;
/** Instructions per calibration iteration: `subs` + `bne`. */
export const CALIBRATION_INSTRUCTIONS_PER_ITERATION = 2;

const TIMERS: Readonly<Record<BenchTimer, { init: string; read: string; mask: string }>> = {
  // CMSDK APB timer 0: 32-bit down-counter at the peripheral clock.
  'apb-timer': {
    init: [
      '    *(volatile uint32_t *)0x40000000u = 0u;          /* CTRL: stop */',
      '    *(volatile uint32_t *)0x40000008u = 0xFFFFFFFFu; /* RELOAD */',
      '    *(volatile uint32_t *)0x40000004u = 0xFFFFFFFFu; /* VALUE */',
      '    *(volatile uint32_t *)0x40000000u = 1u;          /* CTRL: enable */',
    ].join('\n'),
    read: '(*(volatile uint32_t *)0x40000004u)',
    mask: '0xFFFFFFFFu',
  },
  // SysTick: 24-bit down-counter at the core clock.
  systick: {
    init: [
      '    *(volatile uint32_t *)0xE000E010u = 0u;         /* CSR: stop */',
      '    *(volatile uint32_t *)0xE000E014u = 0x00FFFFFFu; /* RVR */',
      '    *(volatile uint32_t *)0xE000E018u = 0u;          /* CVR: clear */',
      '    *(volatile uint32_t *)0xE000E010u = 5u;          /* CSR: enable, core clock */',
    ].join('\n'),
    read: '(*(volatile uint32_t *)0xE000E018u)',
    mask: '0x00FFFFFFu',
  },
};

/** idBounds for a model: the table rows of every int32 input that only feeds GATHER positions. */
export function gatherIdBounds(graph: Graph): (number | undefined)[] {
  return graph.inputs.map((id) => {
    if (graph.tensors[id]?.dtype !== 'int32') return undefined;
    const users = graph.ops.filter((o) => o.inputs.includes(id));
    const gathers = users.filter((o) => o.kind === 'module' && o.module === 'GATHER' && o.inputs[1] === id);
    if (gathers.length === 0 || gathers.length !== users.length) return undefined;
    return Math.min(...gathers.map((o) => graph.tensors[o.inputs[0] as number]?.shape[0] ?? 1));
  });
}

/** The board-independent parts of a bench main: I/O buffers, input filling, invoke arguments, checksum. */
export interface BenchIoCode {
  /** Declarations of the input pointers and buffers and the output buffers. */
  buffers: string;
  /** Body of tf_fill_inputs() (one statement block per input). */
  fills: string;
  /** Arguments of <prefix>_invoke. */
  args: string;
  /** Statements adding every output byte to `sum`. */
  checksum: string;
}

export function benchIoCode(spec: BenchSpec): BenchIoCode {
  const ins = spec.inputBytes.map((n, i) => `static uint8_t *tf_in${i};\nstatic uint8_t tf_in${i}_own[${spec.ownInputs ? Math.max(n, 1) : 1}] __attribute__((aligned(16)));`);
  const outs = spec.outputBytes.map((n, i) => `static uint8_t tf_out${i}[${Math.max(n, 1)}] __attribute__((aligned(16)));`);
  const args = [...spec.inputBytes.map((_, i) => `(void *)tf_in${i}`), ...spec.outputBytes.map((_, i) => `(void *)tf_out${i}`)].join(', ');
  // Inputs the model keeps in its arena are written there, as firmware would; others get a buffer.
  // They are written again before every invoke, outside the timed region: the arena space of an
  // input is reused by later layers, so an invoke would otherwise read the previous one's leftovers.
  const fill = (n: number, i: number): string => {
    const bound = spec.idBounds?.[i];
    if (bound !== undefined) return `for (uint32_t i = 0; i < ${n / 4}u; ++i) { int32_t v = (int32_t)(tf_next(&s) % ${bound}u); memcpy(tf_in${i} + 4u * i, &v, 4u); }`;
    switch (spec.inputDtypes?.[i]) {
      case 'float32':
        return `for (uint32_t i = 0; i < ${n / 4}u; ++i) { float v = (float)(tf_next(&s) >> 8) / 16777216.0f * 2.0f - 1.0f; memcpy(tf_in${i} + 4u * i, &v, 4u); }`;
      case 'int16':
        return `for (uint32_t i = 0; i < ${n / 2}u; ++i) { uint16_t v = (uint16_t)tf_next(&s); memcpy(tf_in${i} + 2u * i, &v, 2u); }`;
      default:
        return `for (uint32_t i = 0; i < ${n}u; ++i) tf_in${i}[i] = (uint8_t)tf_next(&s);`;
    }
  };
  const fills = spec.inputBytes.map(
    (n, i) => `    tf_in${i} = (uint8_t *)${spec.prefix}_input(${i});\n    if (!tf_in${i}) tf_in${i} = tf_in${i}_own;\n    ${fill(n, i)}`,
  );
  const checksum = spec.outputBytes.map((n, i) => `    for (uint32_t i = 0; i < ${n}u; ++i) sum = sum * 31u + tf_out${i}[i];`);
  return { buffers: [...ins, ...outs].join('\n'), fills: fills.join('\n'), args, checksum: checksum.join('\n') };
}

/** The xorshift32 step of the golden folders' random rule. */
export const TF_NEXT_C = `static uint32_t tf_next(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}`;

/** The linker script's stack bounds (every bench linker script exports them). */
export const STACK_BOUNDS_C = `extern uint8_t __StackLimit[];
extern uint8_t __StackTop[];`;

/** Stack high-water measurement over __StackLimit..__StackTop (after STACK_BOUNDS_C). */
export const STACK_PAINT_C = `/* Fills the unused stack with a pattern; the first overwritten byte marks the high-water mark. */
__attribute__((noinline)) static void tf_paint_stack(void) {
    uint8_t *p = __StackLimit;
    uint8_t *sp = (uint8_t *)__builtin_frame_address(0) - 64;
    while (p < sp) *p++ = 0xA5u;
}

static uint32_t tf_stack_unused(void) {
    const uint8_t *p = __StackLimit;
    while (*p == 0xA5u) ++p;
    return (uint32_t)(p - __StackLimit);
}`;

export function generateBenchSource(spec: BenchSpec): string {
  const t = TIMERS[spec.timer];
  const io = benchIoCode(spec);
  return `/* Generated by tinyforge: benchmark main for ${spec.prefix}. */
#include <stdint.h>
#include <string.h>
#include "${spec.prefix}.h"
#include "runner_io.h"

#define TF_RUNS ${spec.runs}u

${io.buffers}
#define TF_LAYERS ${spec.layers ?? 0}u
static uint32_t tf_result[8u + TF_RUNS + 1u + TF_LAYERS + 1u];
${spec.layers ? `void tf_profile_mark(int layer) { tf_result[8u + TF_RUNS + 1u + (uint32_t)layer] = ${t.read}; }` : ''}

${STACK_BOUNDS_C}

${TF_NEXT_C}

static uint32_t tf_timer_read(void) { return ${t.read}; }

static uint32_t tf_elapsed(uint32_t start, uint32_t end) { return (start - end) & ${t.mask}; }

__attribute__((noinline)) static void tf_calibration_loop(uint32_t n) {
    __asm__ volatile("1: subs %0, %0, #1\\n\\tbne 1b" : "+r"(n) : : "cc");
}

${STACK_PAINT_C}

static void tf_fill_inputs(void) {
    uint32_t s = 0x9E3779B9u ^ 1u;
${io.fills}
}

int main(void) {
${t.init}
    uint32_t t0 = tf_timer_read();
    tf_calibration_loop(${CALIBRATION_ITERATIONS}u);
    uint32_t calibration = tf_elapsed(t0, tf_timer_read());
    tf_paint_stack();
    int status = 0;
    for (uint32_t r = 0; r <= TF_RUNS; ++r) {
        tf_fill_inputs();
        t0 = tf_timer_read();
        status |= ${spec.prefix}_invoke(${io.args});
        tf_result[8u + r] = tf_elapsed(t0, tf_timer_read());
    }
    uint32_t sum = 0;
${io.checksum}
    tf_result[0] = 0x${BENCH_RESULT_MAGIC.toString(16).toUpperCase()}u;
    tf_result[1] = calibration;
    tf_result[2] = ${CALIBRATION_ITERATIONS}u * ${CALIBRATION_INSTRUCTIONS_PER_ITERATION}u;
    tf_result[3] = TF_RUNS;
    tf_result[4] = (uint32_t)(__StackTop - (__StackLimit + tf_stack_unused())); /* whole-program high-water */
    tf_result[5] = (uint32_t)status;
    tf_result[6] = sum;
    tf_result[7] = TF_LAYERS;
    if (tf_io_open() != 0) return 2;
    if (tf_io_write(tf_result, sizeof tf_result) != 0) return 3;
    return status == 0 ? 0 : 5;
}
`;
}
