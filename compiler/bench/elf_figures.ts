// Flash and RAM figures of a benchmark ELF, the same way for every core: the model's data found by
// symbol name (nm), the rest from the section sizes and the measured stack high-water.

import type { CompiledModel } from '../compile.ts';
import { ToolError } from '../errors.ts';
import { execTool, requireTool } from '../targets/toolchain.ts';

/** Bytes of the model's data in the ELF: weight and bias arrays (tf_const_*), requantization tables (tf_qparam_*). */
export async function modelDataBytes(nmTool: string, elf: string): Promise<{ weights: number; qparams: number }> {
  const r = await execTool(requireTool(nmTool), ['-S', '--size-sort', elf], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new ToolError(`${nmTool} ${elf} failed: ${r.stderr.trim()}`);
  const total = { weights: 0, qparams: 0 };
  for (const line of r.stdout.split('\n')) {
    const m = line.match(/^[0-9a-f]+ ([0-9a-f]+) \w tf_(const|qparam)_/);
    if (m) total[m[2] === 'const' ? 'weights' : 'qparams'] += parseInt(m[1] as string, 16);
  }
  return total;
}

/** Flash and RAM of a benchmark image and its model, from the ELF and the compile (bytes). */
export interface MemoryFigures {
  /** text + data of the whole benchmark image. */
  flash_bytes: number;
  /** flash_bytes minus the weight, bias and per-channel requantization arrays. */
  code_bytes: number;
  /** Weight and bias arrays as laid out for the kernels (padded, interleaved or widened). */
  weight_bytes: number;
  /** Per-channel multipliers and shifts. */
  qparam_bytes: number;
  /** data + bss + stack high-water. */
  ram_bytes: number;
  data_bytes: number;
  bss_bytes: number;
  stack_bytes: number;
  arena_bytes: number;
  /** Persistent state (resource variables, recurrent state), outside the arena. */
  state_bytes: number;
  arena_lower_bound: number;
}

/** The memory fields of a BenchResult. */
export function memoryFigures(
  compiled: CompiledModel,
  size: { text: number; data: number; bss: number },
  data: { weights: number; qparams: number },
  stack: number,
): MemoryFigures {
  return {
    flash_bytes: size.text + size.data,
    code_bytes: size.text + size.data - data.weights - data.qparams,
    weight_bytes: data.weights,
    qparam_bytes: data.qparams,
    ram_bytes: size.data + size.bss + stack,
    data_bytes: size.data,
    bss_bytes: size.bss,
    stack_bytes: stack,
    arena_bytes: compiled.plan.arenaBytes,
    state_bytes: compiled.plan.stateBytes,
    arena_lower_bound: compiled.plan.lowerBound,
  };
}
