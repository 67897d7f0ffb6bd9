// `tinyforge bench`: instructions per inference under QEMU -icount (Cortex-M boards; the Xtensa
// board counts them with a QEMU plugin, xtensa_bench.ts), flash and RAM from the ELF.

import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CompiledModel } from '../compile.ts';
import { memoryFigures, modelDataBytes, type MemoryFigures } from './elf_figures.ts';
import { compiledForBoard, writeCModule } from '../compile.ts';
import { ToolError, TinyforgeError } from '../errors.ts';
import { findBoard } from '../boards/load_boards.ts';
import { closestNames } from '../suggest.ts';
import { ARM_COMMON_CFLAGS, ARM_GCC, ARM_LINK_FLAGS, ARM_SECTION_FLAGS, sizeOf } from '../targets/qemu_mps2.ts';
import { cachedBuild, contentHash, modelSourceFiles, resolveWorkDir, RUNTIME_TEMPLATES_DIR, withRunDir } from '../targets/target.ts';
import { execTool, requireTool, runCompiler, toolVersion } from '../targets/toolchain.ts';
import { XTENSA_BOARD } from '../targets/qemu_xtensa.ts';
import { BENCH_RESULT_MAGIC, gatherIdBounds, generateBenchSource, type BenchTimer } from './bench_source.ts';
import { runXtensaBench } from './xtensa_bench.ts';

export interface BenchBoard {
  id: string;
  timer: BenchTimer;
  linkerScript: string;
}

export const BENCH_BOARDS: readonly BenchBoard[] = [
  { id: 'qemu-mps2-an385', timer: 'apb-timer', linkerScript: 'mps2.ld' },
  { id: 'qemu-mps2-an386', timer: 'apb-timer', linkerScript: 'mps2.ld' },
  { id: 'qemu-mps2-an500', timer: 'apb-timer', linkerScript: 'mps2.ld' },
  { id: 'qemu-mps3-an547', timer: 'systick', linkerScript: 'mps3_an547.ld' },
];

export interface BenchResult extends MemoryFigures {
  model: string;
  board: string;
  /** Mean instructions per inference over the measured runs (after one warm-up). */
  instructions: number;
  instructionsPerRun: number[];
  warmupInstructions: number;
  instructionsPerTick: number;
  macs: number;
  instructionsPerMac: number;
  /** With profiling: instructions of each layer in the last run. */
  layerInstructions?: number[];
  /**
   * The image's checksum of the last run's outputs: sum = sum * 31 + byte over the output bytes in
   * order (uint32). With the rand0 rule (BenchSpec.inputDtypes) it can be checked against a golden.
   */
  outputChecksum: number;
}

/** The bench image's output checksum of these output tensors (bench_source.ts). */
export function outputChecksum(outputs: readonly Uint8Array[]): number {
  let sum = 0;
  for (const o of outputs) for (const b of o) sum = (Math.imul(sum, 31) + b) >>> 0;
  return sum;
}

const CORTEX_M_DIR = path.join(RUNTIME_TEMPLATES_DIR, 'cortex-m');

export function findBenchBoard(id: string): BenchBoard {
  const b = BENCH_BOARDS.find((x) => x.id === id);
  if (!b) {
    const names = [...BENCH_BOARDS.map((x) => x.id), XTENSA_BOARD];
    const close = closestNames(id, names);
    throw new TinyforgeError(`bench runs on QEMU boards: ${names.join(', ')} (not '${id}'${close.length > 0 ? `; did you mean ${close.join(' or ')}?` : ''})`);
  }
  return b;
}

export async function runBench(model: CompiledModel, boardId: string, runs = 5, profile = false): Promise<BenchResult> {
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new TinyforgeError(`--runs wants a count from 1 to 1000, not '${runs}'`);
  if (boardId === XTENSA_BOARD) return runXtensaBench(model, findBoard(boardId), runs, profile);
  const board = findBenchBoard(boardId);
  const boardFile = findBoard(board.id);
  // Kernel layouts for the board's ISA (Helium on the M55) unless the caller chose one.
  const compiled = compiledForBoard(model, boardFile);
  const machine = boardFile.emulator?.machine ?? '';
  const linkerScript = path.join(CORTEX_M_DIR, board.linkerScript);
  const workDir = resolveWorkDir(undefined);
  const mod = writeCModule(compiled, path.join(workDir, 'modules', `${compiled.prefix}-${compiled.model.sha256.slice(0, 16)}-${compiled.isa}`));
  const gcc = requireTool(ARM_GCC);
  const cflags = [...ARM_COMMON_CFLAGS, ...boardFile.toolchain.cflags, ...ARM_SECTION_FLAGS, ...(profile ? ['-DTF_PROFILE'] : [])];
  const ownInputs = compiled.model.graph.inputs.some((id) => compiled.plan.storageOf.get(id)?.kind !== 'arena');
  const inputDtypes = compiled.summary.inputs.map((i) => i.dtype);
  const idBounds = gatherIdBounds(compiled.model.graph);
  const benchSource = generateBenchSource({ ...mod, timer: board.timer, runs, layers: profile ? compiled.layers.length : 0, ownInputs, inputDtypes, idBounds });
  const templates = [path.join(CORTEX_M_DIR, 'io_semihost.c'), path.join(CORTEX_M_DIR, 'startup_cortex_m.c'), path.join(CORTEX_M_DIR, 'cortex_m_reset.h'), linkerScript];
  const hash = await contentHash([board.id, gcc, await toolVersion(gcc), ...cflags, benchSource], [...(await modelSourceFiles(mod)), ...templates]);
  const build = await cachedBuild(workDir, `bench-${board.id}-${mod.prefix}`, hash, 'bench.elf', async (dir) => {
    const mainC = path.join(dir, 'bench_main.c');
    await writeFile(mainC, benchSource);
    await runCompiler(
      gcc,
      [
        ...cflags,
        '-I', mod.dir,
        '-I', RUNTIME_TEMPLATES_DIR,
        path.join(mod.dir, `${mod.prefix}.c`),
        mainC,
        ...templates.slice(0, 2), // the two C files; the header and linker script are hashed only
        '-T', linkerScript,
        ...ARM_LINK_FLAGS,
        '-o', path.join(dir, 'bench.elf'),
      ],
      `bench build of ${mod.prefix} for ${board.id}`,
      { cwd: dir, timeoutMs: 600_000 },
    );
  });
  const qemu = requireTool('qemu-system-arm');
  const words = await withRunDir(workDir, new Uint8Array(0), async (dir) => {
    const args = ['-M', machine, '-icount', 'shift=0', '-nographic', '-monitor', 'none', '-serial', 'null', '-semihosting-config', 'enable=on,target=native', '-kernel', build.binary];
    const r = await execTool(qemu, args, { cwd: dir, timeoutMs: 600_000 });
    if (r.code !== 0 || r.timedOut) throw new ToolError(`bench of ${mod.prefix} on ${board.id} failed: exit ${r.code}${r.timedOut ? ' (timed out)' : ''} ${r.stderr.trim()}`);
    const data = await readFile(path.join(dir, 'tf_out.bin'));
    return new Uint32Array(data.buffer, data.byteOffset, data.byteLength / 4);
  });
  if (words[0] !== BENCH_RESULT_MAGIC) throw new ToolError(`bench of ${mod.prefix}: the image wrote no result block`);
  const instructionsPerTick = (words[2] as number) / (words[1] as number);
  const ticks = Array.from(words.slice(8, 8 + (words[3] as number) + 1));
  const perRun = ticks.slice(1).map((t) => Math.round(t * instructionsPerTick));
  const size = await sizeOf(build.binary);
  const data = await modelDataBytes('arm-none-eabi-nm', build.binary);
  const stack = words[4] as number;
  const layerCount = words[7] as number;
  const marks = Array.from(words.slice(8 + ticks.length, 8 + ticks.length + layerCount + 1));
  const layerInstructions = marks.slice(1).map((m, i) => Math.round((((marks[i] as number) - m) >>> 0) * instructionsPerTick));
  const instructions = Math.round(perRun.reduce((a, b) => a + b, 0) / perRun.length);
  const macs = compiled.summary.macs;
  return {
    model: compiled.summary.model.replace(/\.tflite$/, ''),
    board: board.id,
    instructions,
    instructionsPerRun: perRun,
    warmupInstructions: Math.round((ticks[0] as number) * instructionsPerTick),
    instructionsPerTick,
    macs,
    instructionsPerMac: macs > 0 ? instructions / macs : 0,
    ...memoryFigures(compiled, size, data, stack),
    ...(profile ? { layerInstructions } : {}),
    outputChecksum: words[6] as number,
  };
}
