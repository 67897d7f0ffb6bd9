// The table of op modules: each TFLite builtin implemented in compiler/ops/ is listed here once.

import type { RegisteredOp } from './op_module.ts';
import { hardSwishOp } from './hard_swish.ts';
import { leakyReluOp } from './leaky_relu.ts';
import { logisticTanhOps } from './logistic_tanh.ts';
import { preluOp } from './prelu.ts';
import { quantizeOps } from './quantize.ts';
import { reluOps } from './relu.ts';
import { reshapeViewOps } from './reshape_views.ts';
import { rsqrtOp } from './rsqrt.ts';
import { softmaxOp } from './softmax.ts';
import { shapeOp } from './shape.ts';

const MODULES: readonly RegisteredOp[] = [
  shapeOp,
  reshapeViewOps,
  reluOps,
  logisticTanhOps,
  hardSwishOp,
  leakyReluOp,
  rsqrtOp,
  preluOp,
  quantizeOps,
  softmaxOp,
];

const BY_BUILTIN = new Map<string, RegisteredOp>();
for (const m of MODULES) {
  for (const b of m.builtins) {
    if (BY_BUILTIN.has(b)) throw new Error(`internal: two op modules claim ${b}`);
    BY_BUILTIN.set(b, m);
  }
}

/** The builtin names the modules implement, sorted. */
export const MODULE_BUILTIN_NAMES: readonly string[] = [...BY_BUILTIN.keys()].sort();

export function moduleForBuiltin(name: string): RegisteredOp | undefined {
  return BY_BUILTIN.get(name);
}

/** The module of a module op or layer; a missing one is an internal error. */
export function requireModule(name: string): RegisteredOp {
  const m = BY_BUILTIN.get(name);
  if (!m) throw new Error(`internal: no op module for ${name}`);
  return m;
}
