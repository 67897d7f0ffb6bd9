// Packed INT4 against INT8 fully connected filters on an emulated board: the model's FULLY_CONNECTED
// filters are clamped to [-8, 7] and written once as INT8 and once as INT4; both are benchmarked
// (instructions under QEMU -icount, flash and RAM from the ELF; docs/benchmarking.md) and must give
// the same output checksum. Usage: npx tsx scripts/int4_bench.ts [model.tflite] [board]
import { runBench } from '../compiler/bench/run_bench.ts';
import { compileModel } from '../compiler/compile.ts';
import { clampedFcFilters, loadedFromBytes } from '../test/helpers/int4_models.ts';

const [file = '../shared/models/ad_autoencoder.tflite', board = 'qemu-mps2-an386'] = process.argv.slice(2);
const rows: string[] = ['| filters | kernels | weight bytes | flash | instructions / inference | instructions / MAC | RAM | output checksum |', '|---|---|---:|---:|---:|---:|---:|---:|'];
const checksums = new Set<number>();
for (const type of ['int8', 'int4'] as const) {
  const compiled = compileModel(loadedFromBytes(`fc_${type}`, clampedFcFilters(file, type)));
  const r = await runBench(compiled, board, 5);
  checksums.add(r.outputChecksum);
  const kernels = [...new Set(compiled.calls.filter((c) => c.layer.kernel === 'fully_connected_s8').map((c) => c.kind))].join(', ');
  const n = (x: number): string => x.toLocaleString('en-US');
  rows.push(`| ${type.toUpperCase()} | ${kernels} | ${n(r.weight_bytes)} | ${n(r.flash_bytes)} | ${n(r.instructions)} | ${r.instructionsPerMac.toFixed(2)} | ${n(r.ram_bytes)} | ${r.outputChecksum} |`);
}
console.log(`${file} on ${board}, FULLY_CONNECTED filters clamped to [-8, 7]`);
console.log(rows.join('\n'));
if (checksums.size !== 1) {
  console.error('error: the INT4 and INT8 models gave different outputs');
  process.exitCode = 1;
}
