// Packed INT4 against INT8 filters on an emulated board: the model's FULLY_CONNECTED and CONV_2D
// filters are clamped to [-8, 7] and written once as INT8 and once as INT4; both are benchmarked
// (instructions under QEMU -icount, flash and RAM from the ELF; docs/benchmarking.md) and must give
// the same output checksum. INT4 is compiled with --optimize size (every INT4 filter packed), INT8 with
// the default. Usage: npx tsx scripts/int4_bench.ts [model.tflite] [board]
import { runBench } from '../compiler/bench/run_bench.ts';
import { findBoard } from '../compiler/boards/load_boards.ts';
import { compiledForBoard, compileModel } from '../compiler/compile.ts';
import { clampedFilters, loadedFromBytes } from '../test/helpers/int4_models.ts';

const [file = '../shared/models/ad_autoencoder.tflite', board = 'qemu-mps2-an386'] = process.argv.slice(2);
const rows: string[] = ['| filters | kernels | weight bytes | flash | instructions / inference | instructions / MAC | RAM | output checksum |', '|---|---|---:|---:|---:|---:|---:|---:|'];
const checksums = new Set<number>();
for (const type of ['int8', 'int4'] as const) {
  // The board's ISA (Helium layouts on the M55), as the bench itself compiles.
  const compiled = compiledForBoard(compileModel(loadedFromBytes(`filters_${type}`, clampedFilters(file, type, ['fully_connected', 'conv2d'])), type === 'int4' ? { optimize: 'size' } : {}), findBoard(board));
  const r = await runBench(compiled, board, 5);
  checksums.add(r.outputChecksum);
  const kernels = [...new Set(compiled.calls.filter((c) => c.layer.kernel === 'fully_connected_s8' || c.layer.kernel === 'conv_s8').map((c) => c.kind))].join(', ');
  const n = (x: number): string => x.toLocaleString('en-US');
  rows.push(`| ${type.toUpperCase()} | ${kernels} | ${n(r.weight_bytes)} | ${n(r.flash_bytes)} | ${n(r.instructions)} | ${r.instructionsPerMac.toFixed(2)} | ${n(r.ram_bytes)} | ${r.outputChecksum} |`);
}
console.log(`${file} on ${board}, FULLY_CONNECTED and CONV_2D filters clamped to [-8, 7]`);
console.log(rows.join('\n'));
if (checksums.size !== 1) {
  console.error('error: the INT4 and INT8 models gave different outputs');
  process.exitCode = 1;
}
