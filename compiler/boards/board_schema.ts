// The schema of a board file in boards/: what tinyforge needs to know to build for, fit into,
// flash and talk to a board.

import { z } from 'zod';

const memoryRegion = z
  .object({
    base: z.number().int().nonnegative(),
    size: z.number().int().positive(),
  })
  .strict();

/**
 * A RAM region the arena may use. Exactly one region has neither `section` nor `attribute`: the
 * default RAM (memory.ram), where plain static data goes. The others name how C puts a variable
 * there: a linker output section the board's linker script maps to it, or an SDK attribute macro
 * with its header (ESP-IDF's EXT_RAM_BSS_ATTR from esp_attr.h for PSRAM).
 */
const ramRegion = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'lowercase letters, digits and underscores (it names a C array)'),
    kind: z.enum(['sram', 'tcm', 'psram']),
    base: z.number().int().nonnegative().optional(),
    size: z.number().int().positive(),
    /** Speed rank: 0 is the fastest. The memory planner fills faster regions first. */
    speed: z.number().int().nonnegative(),
    section: z.string().regex(/^\.[A-Za-z0-9_.]+$/, 'a linker section name such as .dtcm_bss').optional(),
    attribute: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a C macro name').optional(),
    /** The header defining `attribute`. */
    include: z.string().min(1).optional(),
    /** Where the figure comes from (module variant, datasheet). */
    note: z.string().optional(),
  })
  .strict();

export type RamRegion = z.infer<typeof ramRegion>;

/** ESP-IDF facts of an esp-idf board that the fit check and sdkconfig.defaults need. */
const espIdf = z
  .object({
    /**
     * Internal RAM ESP-IDF's linker lets static data (.data + .bss) use: 160 KiB on the ESP32 (ESP-IDF
     * "Memory Types"); on later chips the internal D/IRAM, which static IRAM code shares.
     */
    staticDramBytes: z.number().int().positive(),
    /** The module's PSRAM interface, when it has PSRAM (a memory.regions entry of kind psram). */
    psramMode: z.enum(['quad', 'octal']).optional(),
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
    memory: z
      .object({
        flash: memoryRegion,
        ram: memoryRegion,
        /** RAM regions for the arena, for boards with more than one kind of RAM (absent: memory.ram only). */
        regions: z.array(ramRegion).min(1).optional(),
      })
      .strict(),
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
    espIdf: espIdf.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const regions = b.memory.regions;
    if (regions !== undefined) {
      const plain = regions.filter((r) => r.section === undefined && r.attribute === undefined);
      if (plain.length !== 1) ctx.addIssue({ code: 'custom', path: ['memory', 'regions'], message: 'exactly one region must be the default RAM (no section, no attribute)' });
      else if (plain[0]?.size !== b.memory.ram.size) ctx.addIssue({ code: 'custom', path: ['memory', 'regions'], message: `the default region ${plain[0]?.name} must have memory.ram's size (${b.memory.ram.size})` });
      if (new Set(regions.map((r) => r.name)).size !== regions.length) ctx.addIssue({ code: 'custom', path: ['memory', 'regions'], message: 'region names must be unique' });
      regions.forEach((r, i) => {
        if (r.section !== undefined && r.attribute !== undefined) ctx.addIssue({ code: 'custom', path: ['memory', 'regions', i], message: 'give a section or an attribute, not both' });
        if ((r.attribute === undefined) !== (r.include === undefined)) ctx.addIssue({ code: 'custom', path: ['memory', 'regions', i, 'include'], message: 'an attribute needs the header that defines it, and only an attribute takes one' });
      });
    }
    if (b.project === 'esp-idf' && b.espIdf === undefined) ctx.addIssue({ code: 'custom', path: ['espIdf'], message: 'an esp-idf board needs espIdf.staticDramBytes' });
    const hasPsram = (regions ?? []).some((r) => r.kind === 'psram');
    if (b.espIdf !== undefined && hasPsram !== (b.espIdf.psramMode !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['espIdf', 'psramMode'], message: 'give psramMode exactly when memory.regions has a psram region' });
    }
  });

export type Board = z.infer<typeof boardSchema>;
export type BoardFlashing = Board['flashing'];
