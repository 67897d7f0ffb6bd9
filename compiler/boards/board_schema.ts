// The schema of a board file in boards/: what tinyforge needs to know to build for, fit into,
// and run on a board.

import { z } from 'zod';

const memoryRegion = z.object({
  base: z.number().int().nonnegative(),
  size: z.number().int().positive(),
});

export const boardSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes'),
    name: z.string().min(1),
    core: z.enum(['cortex-m0plus', 'cortex-m3', 'cortex-m4', 'cortex-m7', 'cortex-m33', 'cortex-m55', 'xtensa-lx6', 'xtensa-lx7', 'xtensa-lx106', 'rv32imc']),
    features: z.array(z.enum(['dsp', 'mve', 'fpu', 'xtensa-pie'])),
    clockHz: z.number().int().positive(),
    memory: z.object({ flash: memoryRegion, ram: memoryRegion }),
    toolchain: z.object({
      compiler: z.string().min(1),
      cflags: z.array(z.string()),
    }),
    emulator: z
      .object({
        program: z.string().min(1),
        machine: z.string().min(1),
      })
      .optional(),
  })
  .strict();

export type Board = z.infer<typeof boardSchema>;
