// The schema of a board file in boards/: what tinyforge needs to know to build for, fit into,
// flash and talk to a board.

import { z } from 'zod';

const memoryRegion = z
  .object({
    base: z.number().int().nonnegative(),
    size: z.number().int().positive(),
  })
  .strict();

const hex16 = z.string().regex(/^[0-9a-f]{4}$/, 'four lowercase hex digits');

export const CORES = ['cortex-m0plus', 'cortex-m3', 'cortex-m4', 'cortex-m7', 'cortex-m33', 'cortex-m55', 'xtensa-lx6', 'xtensa-lx7', 'xtensa-lx106', 'rv32imc'] as const;
export const FEATURES = ['dsp', 'mve', 'fpu', 'xtensa-pie'] as const;
export const CYCLE_COUNTERS = ['dwt-cyccnt', 'systick', 'apb-timer', 'ccount', 'mcycle'] as const;

const flashing = z.discriminatedUnion('method', [
  z.object({ method: z.literal('qemu') }).strict(),
  z
    .object({
      method: z.literal('esp-rom'),
      chip: z.enum(['esp32', 'esp32s3', 'esp32c3']),
      /** Where the application image goes in flash. */
      appOffset: z.number().int().nonnegative(),
      /** Baud rate to switch to after syncing at the UART baud. */
      flashBaud: z.number().int().positive(),
    })
    .strict(),
  z
    .object({
      method: z.literal('stm32-uart'),
      /** The system bootloader auto-detects the baud rate; 115200 is safe with 8E1 framing. */
      baud: z.number().int().positive(),
      startAddress: z.number().int().nonnegative(),
    })
    .strict(),
  z
    .object({
      method: z.literal('uf2'),
      familyId: z.number().int().nonnegative(),
      volumeLabel: z.string().min(1),
      baseAddress: z.number().int().nonnegative(),
    })
    .strict(),
  z
    .object({
      method: z.literal('external'),
      /** argv; `{image}`, `{elf}`, `{port}` are substituted. */
      command: z.array(z.string()).min(1),
    })
    .strict(),
]);

export const boardSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes'),
    name: z.string().min(1),
    core: z.enum(CORES),
    features: z.array(z.enum(FEATURES)),
    /** The core clock tinyforge's firmware runs the part at: milliseconds are cycles / clockHz. */
    clockHz: z.number().int().positive(),
    /** The part's rated maximum when the firmware runs it slower (e.g. on the reset oscillator). */
    maxClockHz: z.number().int().positive().optional(),
    memory: z.object({ flash: memoryRegion, ram: memoryRegion }).strict(),
    toolchain: z
      .object({
        compiler: z.string().min(1),
        cflags: z.array(z.string()),
        ldflags: z.array(z.string()).default([]),
      })
      .strict(),
    uart: z
      .object({
        baud: z.number().int().positive(),
        /** USB serial adapters this board shows up as, to pick a default port. */
        usb: z.array(z.object({ vid: hex16, pid: hex16, description: z.string() }).strict()).default([]),
      })
      .strict(),
    flashing,
    cycleCounter: z.enum(CYCLE_COUNTERS),
    /** What `tinyforge build` produces where the toolchain is not ours to drive. */
    project: z.enum(['bare-metal', 'esp-idf', 'arduino', 'cmake']),
    emulator: z
      .object({
        program: z.string().min(1),
        machine: z.string().min(1),
        cpu: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type Board = z.infer<typeof boardSchema>;
export type BoardFlashing = Board['flashing'];
