// --optimize: how much flash the DSP layouts may spend on int16 copies of convolution filters.
// 'balanced' (default) spends at most an eighth of the weight bytes plus 16 KiB, on the filters
// with the most pixels per weight first; 'speed' widens every GEMM filter, 'size' none.

import { describe, expect, it } from 'vitest';
import { compileModel } from '../compiler/compile.ts';
import { BuiltinOp } from '../compiler/frontends/tflite/schema.ts';
import type { KernelCall } from '../compiler/passes/select_kernels.ts';
import { Act, GraphBuilder, loadSynthetic, Pad, perChannel, Prng, q } from './helpers/synthetic_models.ts';
import { conv2dOptions } from './helpers/tflite_builder.ts';

/** Two 3x3 convolutions: a small filter on a 32x32 map, then a 96 KiB one on a 4x4 map. */
function model(): ReturnType<typeof loadSynthetic> {
  const g = new GraphBuilder();
  const p = new Prng(7);
  const layer = (name: string, input: number, hw: number, inC: number, outC: number): number => {
    const w = g.int8Constant(`${name}_w`, [outC, 3, 3, inC], p.ints(outC * 9 * inC, -127, 127), perChannel(Array(outC).fill(0.002), 0));
    const b = g.int32Constant(`${name}_b`, [outC], p.ints(outC, -100, 100));
    const y = g.tensor(`${name}_y`, [1, hw, hw, outC], q(0.05, 0));
    g.op(BuiltinOp.CONV_2D, [input, w, b], [y], conv2dOptions({ padding: Pad.SAME, strideH: 1, strideW: 1, act: Act.RELU }));
    return y;
  };
  const x = g.tensor('x', [1, 32, 32, 8], q(0.02, 0));
  const big = g.tensor('big_x', [1, 4, 4, 128], q(0.02, 0));
  const a = layer('early', x, 32, 8, 16);
  const b = layer('deep', big, 4, 128, 96);
  return loadSynthetic('optimize_goal', g.build([x, big], [a, b]));
}

function widths(calls: KernelCall[]): string[] {
  return calls.filter((c) => c.kind === 'conv_gemm_s8').map((c) => ('filter' in c && c.filter instanceof Int16Array ? 'int16' : 'int8'));
}

describe('--optimize', () => {
  const m = model();

  it('balanced widens the filter with the most pixels per weight and keeps the large deep one int8', () => {
    expect(widths(compileModel(m).calls)).toEqual(['int16', 'int8']);
    expect(widths(compileModel(m, { optimize: 'balanced' }).calls)).toEqual(['int16', 'int8']);
  });

  it('speed widens every GEMM filter, size none', () => {
    expect(widths(compileModel(m, { optimize: 'speed' }).calls)).toEqual(['int16', 'int16']);
    expect(widths(compileModel(m, { optimize: 'size' }).calls)).toEqual(['int8', 'int8']);
  });

  it('speed costs flash: the summary counts the widened bytes', () => {
    const balanced = compileModel(m).summary.flashBytes;
    const speed = compileModel(m, { optimize: 'speed' }).summary.flashBytes;
    expect(speed - balanced).toBe(96 * 9 * 128);
  });
});
