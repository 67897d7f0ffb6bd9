// SQUEEZE and EXPAND_DIMS only relabel dimensions: they lower to a reshape, which the memory
// planner turns into a shared buffer (no copy).

import { elementCount, DTYPE_BYTES, type Tensor } from '../ir/graph.ts';
import { defineOp } from './op_module.ts';

export const reshapeViewOps = defineOp({
  builtins: ['SQUEEZE', 'EXPAND_DIMS'],
  read(r, builtin) {
    // EXPAND_DIMS has a second (axis) input; the output shape in the file already says the result.
    if (builtin === 'EXPAND_DIMS') r.arity(2, 2, 1);
    else r.arity(1, 1, 1);
    const x = r.input(0, 'input');
    const y = r.output(0);
    if (x.dtype !== y.dtype) r.fail(`${r.label} output is ${y.dtype} but its input is ${x.dtype}`);
    if (elementCount(x.shape) !== elementCount(y.shape)) r.fail(`${r.label} changes the element count from ${elementCount(x.shape)} to ${elementCount(y.shape)}`);
    return {};
  },
  lower(ctx, _attrs, op) {
    const x = ctx.tensor(0);
    const y = ctx.tensor(0, 'output');
    const q = (t: Tensor): string => JSON.stringify([t.quant?.scale ?? [], t.quant?.zeroPoint ?? []]);
    // TFLite Micro copies the bytes, which keeps their meaning only when both sides share one quantization.
    if (q(x) !== q(y)) ctx.fail(`input '${x.name}' and output '${y.name}' are quantized differently`);
    return { kernel: 'reshape', sourceIndex: op.sourceIndex, inputs: [op.inputs[0] as number], outputs: [op.outputs[0] as number], bytes: elementCount(y.shape) * DTYPE_BYTES[y.dtype], macs: 0 };
  },
  run(): void {
    throw new Error('internal: SQUEEZE/EXPAND_DIMS lower to a reshape');
  },
  emitC(): void {
    throw new Error('internal: SQUEEZE/EXPAND_DIMS lower to a reshape');
  },
});
