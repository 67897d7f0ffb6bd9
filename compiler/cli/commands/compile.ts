import path from 'node:path';
import { compileWithModel, type CompileOptions } from '../../api/compile.ts';
import { formatInt, table } from '../format.ts';
import { setJsonResult } from '../json_output.ts';

export interface CompileCommandOptions extends CompileOptions {
  board: string;
  out: string;
  json?: boolean;
}

export async function compileCommand(modelPath: string, opts: CompileCommandOptions): Promise<void> {
  const { result: s } = await compileWithModel(modelPath, opts);
  if (opts.json) {
    setJsonResult(s);
    return;
  }
  console.log(`compiled ${s.model} for ${s.board} -> ${s.files.map((f) => path.relative(process.cwd(), f) || f).join(', ')}`);
  console.log('');
  console.log(
    table(
      ['layer', 'op', 'kernel', 'output', 'MACs', 'weight bytes', 'flash bytes'],
      s.layers.map((l) => [l.index, l.op, l.kernel, `[${l.outputShape.join('x')}]`, l.macs, l.weightBytes, l.flashBytes]),
    ),
  );
  console.log('');
  console.log(
    table(
      ['ops', 'MACs', 'weight bytes', 'flash bytes', 'arena bytes', 'arena lower bound', 'state bytes'],
      [[s.ops, s.macs, s.weightBytes, s.flashBytes, s.arenaBytes, s.arenaLowerBound, s.stateBytes]],
    ),
  );
  if (s.head) {
    const h = s.head;
    console.log(
      `\nlearnable head: ${h.classes} classes x ${h.dim} features, replacing FULLY_CONNECTED op ${h.replacedOp} (${h.replacedUnits} outputs, ${formatInt(h.replacedWeightBytes)} weight bytes): ` +
        `RAM ${formatInt(h.ramBytes)} bytes (counts, sums, int8 weights, biases, embedding${h.learning.epochs > 0 ? ', replay ring, SGD working weights' : ''}), saved image ${formatInt(h.saveBytes)} bytes (<prefix>_save, to keep in flash)`,
    );
    const l = h.learning;
    console.log(
      l.epochs === 0
        ? 'head learning: class prototypes only (--adapt-epochs 0)'
        : `head learning: class prototypes, then ${l.epochs} epochs of integer hinge-loss SGD over the last ${l.replay} examples (learning rate 2^-${l.lrShift}, margin ${l.margin} x M)`,
    );
  }
  if (s.arenaRegions !== undefined && s.arenaRegions.length > 0) {
    console.log('\narena placement (hottest buffers in the fastest region that fits):');
    console.log(
      table(
        ['region', 'speed rank', 'buffers', 'arena bytes', 'usable bytes', 'bytes accessed / inference'],
        s.arenaRegions.map((r) => [r.region, r.speed, r.buffers, r.bytes, r.capacity, r.accessedBytes]),
      ),
    );
  }
  if (s.tokenizer) console.log(`\ntokenizer: ${formatInt(s.tokenizer.vocabSize)} tokens, sequence length ${s.tokenizer.seqLen}, vocabulary tables ${formatInt(s.tokenizer.flashBytes)} flash bytes`);
  console.log(
    `\n${s.board}: constants ${formatInt(s.flashBytesEstimate)} of ${formatInt(s.flashBudgetBytes)} flash bytes, ` +
      `arena + state + I/O ${formatInt(s.ramBytesEstimate)} of ${formatInt(s.ramBudgetBytes)} RAM bytes ` +
      '(code, stack and the C library come on top: tinyforge build or bench measure the whole image)',
  );
  const esp = s.espIdfFit;
  if (esp !== undefined) {
    console.log(
      `ESP-IDF (estimates): app image ~${formatInt(esp.appImageBytes)} bytes in a ${formatInt(esp.appPartitionBytes)}-byte factory partition at 0x${esp.appPartitionOffset.toString(16)} ` +
        `(partitions.csv of tinyforge build), static data ~${formatInt(esp.staticDramBytes)} of ${formatInt(esp.staticDramLimitBytes)} internal RAM bytes` +
        (esp.psramArenaBytes > 0 ? `, ${formatInt(esp.psramArenaBytes)} arena bytes in PSRAM` : ''),
    );
  }
  if (s.stream) {
    const c = s.stream.config;
    console.log(
      `\nstream ${s.stream.prefix}_feed(): front end ${s.stream.frontend.model} as ${s.stream.frontend.prefix} (arena ${formatInt(s.stream.frontend.arenaBytes)}, state ${formatInt(s.stream.frontend.stateBytes)} bytes), ` +
        `window ${c.windowSamples} samples, stride ${c.strideSamples} (${c.strideMs} ms at ${c.sampleRate} Hz), ${c.featureRows}x${c.featureBytes} features, ` +
        `classify every ${c.classifyEvery} frame(s), average ${c.averageCount} invoke(s) (${c.averageMs} ms), threshold ${c.threshold} (${c.thresholdQ}), suppression ${c.suppressionMs} ms, ` +
        `keywords ${c.labels.filter((_, i) => c.keyword[i]).join(', ') || '(none)'}`,
    );
  }
}
