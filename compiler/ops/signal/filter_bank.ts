// SignalFilterBank: mel-style triangular filters over the energy spectrum. Channel i sums
// weights[k] * energy[freq_start + j] into itself and unweights[k] * energy[...] into channel
// i + 1, in uint64 (signal/src/filter_bank.cc); the sum that lands in channel 0 (the first
// filter's rising edge) is dropped. The five tables are constants, checked here so no index can leave them.

import { elementCount, type Tensor } from '../../ir/graph.ts';
import { constantData } from '../../reference/run_reference.ts';
import { defineOp } from '../op_module.ts';
import { constantInt16, typed } from './common.ts';

interface FilterBankParams {
  channels: number;
  /** Tensor ids of weights, unweights, channel frequency starts, channel weight starts, channel widths. */
  tables: readonly number[];
  macs: number;
}

export const signalFilterBankOp = defineOp({
  builtins: ['CUSTOM:SignalFilterBank'],
  read(r) {
    r.arity(6, 6, 1);
    return { channels: r.customInt(r.customOptions(), 'num_channels', 1, 1 << 16) };
  },
  lower(ctx, attrs) {
    const channels = attrs.channels as number;
    const x = typed(ctx, 0, 'input', 'input', 'uint32', 1);
    const y = typed(ctx, 0, 'output', 'output', 'uint64', 1);
    const weights = constantInt16(ctx, 1, 'weights');
    const unweights = constantInt16(ctx, 2, 'unweights');
    const freqStarts = constantInt16(ctx, 3, 'channel frequency starts');
    const weightStarts = constantInt16(ctx, 4, 'channel weight starts');
    const widths = constantInt16(ctx, 5, 'channel widths');
    if (elementCount(y.shape) !== channels) ctx.fail(`output '${y.name}' has shape [${y.shape}] but num_channels is ${channels}`);
    for (const t of [freqStarts, weightStarts, widths]) {
      if (t.values.length < channels + 1) ctx.fail(`'${t.tensor.name}' has ${t.values.length} entries; ${channels} channels need ${channels + 1}`);
    }
    const bins = elementCount(x.shape);
    let macs = 0;
    for (let i = 0; i <= channels; i++) {
      const f = freqStarts.values[i] as number;
      const w = weightStarts.values[i] as number;
      const n = widths.values[i] as number;
      if (f < 0 || n < 0 || f + n > bins) ctx.fail(`channel ${i} reads energy bins [${f}, ${f + n}) outside the input's ${bins}`);
      if (n > 0 && (w < 0 || w + n > Math.min(weights.values.length, unweights.values.length))) ctx.fail(`channel ${i} reads weights [${w}, ${w + n}) outside the weight tables`);
      macs += 2 * Math.max(0, n);
    }
    const params: FilterBankParams = { channels, tables: [weights, unweights, freqStarts, weightStarts, widths].map((t) => t.tensor.id), macs };
    return { params, kernel: 'signal_filter_bank', cFiles: ['portable/signal.h', 'portable/signal_filter_bank.c'], macs };
  },
  run(p: FilterBankParams, io) {
    const x = io.input(0).u32();
    const [weights, unweights, freqStarts, weightStarts, widths] = p.tables.map((id) => constantData(io.graph.tensors[id] as Tensor).s16()) as [Int16Array, Int16Array, Int16Array, Int16Array, Int16Array];
    const y = io.output(0).u64();
    // int16 weights convert to uint64 (negative ones wrap), as the C++ expression does.
    const u64 = (v: number): bigint => BigInt.asUintN(64, BigInt(v));
    let weighted = 0n;
    let unweighted = 0n;
    for (let i = 0; i <= p.channels; i++) {
      const f = freqStarts[i] as number;
      const w = weightStarts[i] as number;
      for (let j = 0; j < (widths[i] as number); j++) {
        const e = BigInt(x[f + j] as number);
        weighted = BigInt.asUintN(64, weighted + u64(weights[w + j] as number) * e);
        unweighted = BigInt.asUintN(64, unweighted + u64(unweights[w + j] as number) * e);
      }
      if (i > 0) y[i - 1] = weighted;
      weighted = unweighted;
      unweighted = 0n;
    }
  },
  emitC(p: FilterBankParams, e) {
    const [weights, unweights, freqStarts, weightStarts, widths] = p.tables.map((id) => e.constant(id));
    const params = e.params('tf_signal_filter_bank_params', {
      channels: p.channels,
      weights: weights as string,
      unweights: unweights as string,
      freq_starts: freqStarts as string,
      weight_starts: weightStarts as string,
      widths: widths as string,
    });
    e.call(`tf_signal_filter_bank(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
