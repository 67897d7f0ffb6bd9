// The table of op modules: each TFLite builtin implemented in compiler/ops/ is listed here once.

import type { RegisteredOp } from './op_module.ts';
import { convS16Kernel } from './conv_s16.ts';
import { poolS16Kernel } from './pool_s16.ts';
import { perImageKernel } from './per_image.ts';
import { batchMatMulOp } from './batch_matmul.ts';
import { fullyConnectedPerChannelOp } from './fully_connected_per_channel.ts';
import { fullyConnectedS16Kernel } from './fully_connected_s16.ts';
import { reduceOps } from './reduce.ts';
import { addSubOps } from './add_sub.ts';
import { divOp } from './div.ts';
import { maximumMinimumOps } from './maximum_minimum.ts';
import { mulOp } from './mul.ts';
import { hardSwishOp } from './hard_swish.ts';
import { leakyReluOp } from './leaky_relu.ts';
import { logisticTanhOps } from './logistic_tanh.ts';
import { preluOp } from './prelu.ts';
import { quantizeOps } from './quantize.ts';
import { reluOps } from './relu.ts';
import { resizeBilinearOp, resizeNearestOp } from './resize.ts';
import { reshapeViewOps } from './reshape_views.ts';
import { rsqrtOp } from './rsqrt.ts';
import { softmaxOp } from './softmax.ts';
import { shapeOp } from './shape.ts';
import { fillOp } from './fill.ts';
import { argMinMaxOps } from './arg_min_max.ts';
import { mirrorPadOp } from './mirror_pad.ts';
import { spaceBatchOps } from './space_batch.ts';
import { spaceDepthOps } from './space_depth.ts';
import { gatherOp } from './gather.ts';
import { packOps } from './pack.ts';
import { sliceOp } from './slice.ts';
import { splitOps } from './split.ts';
import { stridedSliceOp } from './strided_slice.ts';
import { tileOp } from './tile.ts';
import { transposeOp } from './transpose.ts';
import { variableOps } from './variables.ts';
import { transposeConvOp } from './transpose_conv.ts';
import { squaredDifferenceOp } from './squared_difference.ts';
import { lstmOp } from './lstm.ts';
import { svdfOp } from './svdf.ts';
import { signalOps } from './signal/index.ts';
import { castOp } from './cast.ts';

// A function, not a constant: op modules import passes that import this registry, so the table
// is built on first use, after every module has finished loading (whichever file loads first).
const allModules = (): readonly RegisteredOp[] => [
  shapeOp,
  reshapeViewOps,
  reluOps,
  convS16Kernel,
  poolS16Kernel,
  perImageKernel,
  stridedSliceOp,
  sliceOp,
  packOps,
  splitOps,
  transposeOp,
  gatherOp,
  argMinMaxOps,
  spaceDepthOps,
  spaceBatchOps,
  mirrorPadOp,
  fillOp,
  tileOp,
  variableOps,
  reduceOps,
  resizeNearestOp,
  resizeBilinearOp,
  fullyConnectedPerChannelOp,
  fullyConnectedS16Kernel,
  batchMatMulOp,
  transposeConvOp,
  addSubOps,
  mulOp,
  maximumMinimumOps,
  squaredDifferenceOp,
  divOp,
  logisticTanhOps,
  hardSwishOp,
  leakyReluOp,
  rsqrtOp,
  preluOp,
  quantizeOps,
  softmaxOp,
  lstmOp,
  svdfOp,
  castOp,
  ...signalOps,
];

interface Tables {
  byBuiltin: Map<string, RegisteredOp>;
  /** Layers name their module by builtin or, for kernel-only modules, by key. */
  byName: Map<string, RegisteredOp>;
}

let tables: Tables | undefined;

function lookup(): Tables {
  if (tables) return tables;
  const byBuiltin = new Map<string, RegisteredOp>();
  const byName = new Map<string, RegisteredOp>();
  for (const m of allModules()) {
    for (const b of [...m.builtins, ...(m.key === undefined ? [] : [m.key])]) {
      if (byName.has(b)) throw new Error(`internal: two op modules claim ${b}`);
      byName.set(b, m);
      if (b !== m.key) byBuiltin.set(b, m);
    }
  }
  tables = { byBuiltin, byName };
  return tables;
}

/** The builtin names the modules implement, sorted. */
export function moduleBuiltinNames(): string[] {
  return [...lookup().byBuiltin.keys()].sort();
}

export function moduleForBuiltin(name: string): RegisteredOp | undefined {
  return lookup().byBuiltin.get(name);
}

/** The module of a module op or layer; a missing one is an internal error. */
export function requireModule(name: string): RegisteredOp {
  const m = lookup().byName.get(name);
  if (!m) throw new Error(`internal: no op module for ${name}`);
  return m;
}
