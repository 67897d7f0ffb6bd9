// READ_VARIABLE and ASSIGN_VARIABLE after the reader has bound each resource variable to a state
// tensor (frontends/tflite/resource_variables.ts): both are byte copies between the state buffer
// and the arena. The memory planner never aliases state, so a read value stays valid after a
// later ASSIGN_VARIABLE of the same variable.

import { DTYPE_BYTES, elementCount } from '../ir/graph.ts';
import { defineOp } from './op_module.ts';

export const variableOps = defineOp({
  builtins: ['READ_VARIABLE', 'ASSIGN_VARIABLE'],
  read(r) {
    return r.fail(`internal: ${r.opName} is bound to its variable by the reader`);
  },
  lower(ctx, _attrs, op) {
    const dst = ctx.tensor(0, 'output');
    return { kernel: 'reshape', sourceIndex: op.sourceIndex, inputs: [op.inputs[0] as number], outputs: [op.outputs[0] as number], bytes: elementCount(dst.shape) * DTYPE_BYTES[dst.dtype], macs: 0 };
  },
  run(): void {
    throw new Error('internal: variable reads and writes lower to copies');
  },
  emitC(): void {
    throw new Error('internal: variable reads and writes lower to copies');
  },
});
