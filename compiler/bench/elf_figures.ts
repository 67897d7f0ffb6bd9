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

/** The memory fields of a BenchResult (bytes). */
export function memoryFigures(
  compiled: CompiledModel,
  size: { text: number; data: number; bss: number },
  data: { weights: number; qparams: number },
  stack: number,
): {
  flash_bytes: number;
  code_bytes: number;
  weight_bytes: number;
  qparam_bytes: number;
  ram_bytes: number;
  data_bytes: number;
  bss_bytes: number;
  stack_bytes: number;
  arena_bytes: number;
  state_bytes: number;
  arena_lower_bound: number;
} {
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
