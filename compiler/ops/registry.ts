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
import { fullyConnectedF32Kernel } from './fully_connected_f32.ts';
import { softmaxF32Kernel } from './softmax_f32.ts';
import { convF32Kernel } from './conv_f32.ts';
import { poolF32Kernel } from './pool_f32.ts';
import { arithF32Kernel } from './arith_f32.ts';
import { reduceF32Kernel } from './reduce_f32.ts';
import { unaryF32Kernel } from './unary_f32.ts';
import { castF32Kernel } from './cast_f32.ts';
import { lstmF32Kernel } from './lstm_float.ts';
import { unaryF32ReaderOps } from './unary_f32_readers.ts';
import { padF32Kernel } from './pad_f32.ts';
import { absOp } from './abs.ts';
import { l2NormalizationOp } from './l2_normalization.ts';
import { logSoftmaxOp } from './log_softmax.ts';
import { eluOp } from './elu.ts';
import { addNOp } from './add_n.ts';
import { cumsumOp } from './cumsum.ts';
import { broadcastToOp } from './broadcast_to.ts';
import { gatherNdOp } from './gather_nd.ts';
import { zerosLikeOp } from './zeros_like.ts';
import { comparisonOps } from './comparisons.ts';
import { logicalOps } from './logical.ts';
import { selectV2Op } from './select_v2.ts';
import { transposeConvF32Kernel } from './transpose_conv_f32.ts';
import { batchMatMulF32Kernel } from './batch_matmul_f32.ts';
import { resizeBilinearF32Kernel } from './resize_bilinear_f32.ts';
import { floorDivModOps } from './floor_div_mod.ts';
import { l2PoolOp } from './l2_pool.ts';
import { svdfF32Kernel } from './svdf_f32.ts';

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
  fullyConnectedF32Kernel,
  softmaxF32Kernel,
  convF32Kernel,
  poolF32Kernel,
  arithF32Kernel,
  reduceF32Kernel,
  unaryF32Kernel,
  castF32Kernel,
  lstmF32Kernel,
  unaryF32ReaderOps,
  padF32Kernel,
  ...signalOps,
  absOp,
  l2NormalizationOp,
  logSoftmaxOp,
  eluOp,
  addNOp,
  cumsumOp,
  broadcastToOp,
  gatherNdOp,
  zerosLikeOp,
  comparisonOps,
  logicalOps,
  selectV2Op,
  transposeConvF32Kernel,
  batchMatMulF32Kernel,
  resizeBilinearF32Kernel,
  floorDivModOps,
  l2PoolOp,
  svdfF32Kernel,
];

interface Tables {
  byBuiltin: Map<string, RegisteredOp>;
  /** Builtin name -> key of the kernel-only module computing its float32 form. */
  float32: Map<string, string>;
  /** Layers name their module by builtin or, for kernel-only modules, by key. */
  byName: Map<string, RegisteredOp>;
}

let tables: Tables | undefined;

function lookup(): Tables {
  if (tables) return tables;
  const byBuiltin = new Map<string, RegisteredOp>();
  const byName = new Map<string, RegisteredOp>();
  const float32 = new Map<string, string>();
  for (const m of allModules()) {
    for (const b of m.float32For ?? []) {
      if (m.key === undefined || float32.has(b)) throw new Error(`internal: float32 ${b} needs exactly one kernel-only module`);
      float32.set(b, m.key);
    }
    for (const b of [...m.builtins, ...(m.key === undefined ? [] : [m.key])]) {
      if (byName.has(b)) throw new Error(`internal: two op modules claim ${b}`);
      byName.set(b, m);
      if (b !== m.key) byBuiltin.set(b, m);
    }
  }
  tables = { byBuiltin, byName, float32 };
  return tables;
}

/** The builtin names the modules implement, sorted. */
export function moduleBuiltinNames(): string[] {
  return [...lookup().byBuiltin.keys()].sort();
}

/** The key of the module computing builtin `name` on float32 tensors, if there is one. */
export function float32ModuleFor(name: string): string | undefined {
  return lookup().float32.get(name);
}

/** The builtin names with a float32 kernel, sorted. */
export function float32BuiltinNames(): string[] {
  return [...lookup().float32.keys()].sort();
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
