// Per-layer instructions of one corpus or shared model on the emulated M4 (a profiled bench build):
// kernel, shape, MACs, instructions per MAC. Usage: npx tsx scripts/profile_layers.ts <model.tflite> [board]
import { runBench } from '../compiler/bench/run_bench.ts';
import { compileModel, loadModel } from '../compiler/compile.ts';
import type { Layer } from '../compiler/ir/layers.ts';

const [file, board = 'qemu-mps2-an386'] = process.argv.slice(2);
if (!file) throw new Error('usage: profile_layers.ts <model.tflite> [board]');
const compiled = compileModel(loadModel(file));
const r = await runBench(compiled, board, 1, true);
const total = (r.layerInstructions ?? []).reduce((a, b) => a + b, 0);
const shape = (l: Layer): string => {
  const o = l as unknown as Record<string, number>;
  return 'kH' in o ? `in ${o.inH}x${o.inW}x${o.inC} k ${o.kH}x${o.kW} s ${o.strideH} -> ${o.outH}x${o.outW}x${o.outC}` : '';
};
compiled.summary.layers.forEach((l, i) => {
  const n = r.layerInstructions?.[i] ?? 0;
  const layer = compiled.layers[i] as Layer;
  console.log(`${String(i).padStart(3)} ${l.op.padEnd(18)} ${l.kernel.padEnd(26)} ${String(n).padStart(11)} ${(100 * n / total).toFixed(1).padStart(5)}% macs ${String(l.macs).padStart(10)} ${l.macs ? (n / l.macs).toFixed(2) : '-'} ${shape(layer)} [${l.outputShape.join('x')}] flash ${l.flashBytes}`);
});
console.log(`total ${total} (bench ${r.instructions}) flash ${r.flash_bytes} ram ${r.ram_bytes}`);
