// Builtin options of the module ops (compiler/ops/) the .tflite writer can write: the ops the
// post-training quantizer produces for transformer-style float graphs. Each entry writes back
// what the module's reader reads, so a written model reads back to the same attributes.

import type { Builder } from 'flatbuffers';
import { TinyforgeError } from '../errors.ts';
import type { Activation, ModuleOp } from '../ir/graph.ts';
import { BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';

type Offset = number;
const ACTIVATION_CODE: Readonly<Record<Activation, number>> = { none: 0, relu: 1, relu_n1_to_1: 2, relu6: 3 };

type OptionsWriter = (b: Builder, attrs: ModuleOp['attrs']) => { type: number; table: Offset };

const none: OptionsWriter = () => ({ type: BuiltinOptionsType.NONE, table: 0 });

const WRITERS: Readonly<Record<string, OptionsWriter>> = {
  GATHER: (b, a) => {
    b.startObject(2);
    b.addFieldInt32(F.GatherOptions.axis, Number(a.axis ?? 0), null);
    b.addFieldInt32(F.GatherOptions.batchDims, Number(a.batchDims ?? 0), null);
    return { type: BuiltinOptionsType.GatherOptions, table: b.endObject() };
  },
  BATCH_MATMUL: (b, a) => {
    b.startObject(3);
    b.addFieldInt8(F.BatchMatMulOptions.adjX, a.adjX === true ? 1 : 0, null);
    b.addFieldInt8(F.BatchMatMulOptions.adjY, a.adjY === true ? 1 : 0, null);
    return { type: BuiltinOptionsType.BatchMatMulOptions, table: b.endObject() };
  },
  MEAN: (b, a) => {
    b.startObject(1);
    b.addFieldInt8(F.ReducerOptions.keepDims, a.keepDims === true ? 1 : 0, null);
    return { type: BuiltinOptionsType.ReducerOptions, table: b.endObject() };
  },
  SUB: (b, a) => {
    // SubOptions has the layout of AddOptions (fused_activation_function, pot_scale_int16).
    b.startObject(2);
    b.addFieldInt8(F.AddOptions.fusedActivation, ACTIVATION_CODE[(a.activation as Activation | undefined) ?? 'none'], null);
    b.addFieldInt8(F.AddOptions.potScaleInt16, 0, 1);
    return { type: BuiltinOptionsType.SubOptions, table: b.endObject() };
  },
  SQUARED_DIFFERENCE: none,
  RSQRT: none,
};

/** True when the writer knows the module op's options. */
export function canWriteModule(op: ModuleOp): boolean {
  return op.module in WRITERS;
}

export function buildModuleOptions(b: Builder, op: ModuleOp): { type: number; table: Offset } {
  const write = WRITERS[op.module];
  if (!write) throw new TinyforgeError(`the .tflite writer cannot write ${op.module} yet (it writes ${Object.keys(WRITERS).join(', ')})`);
  return write(b, op.attrs);
}
