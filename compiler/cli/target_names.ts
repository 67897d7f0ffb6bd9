// The execution targets `run` and `validate` accept, apart from the code that runs them so that
// the help text can list them without loading the compiler.

import { oneOf } from '../suggest.ts';

export const TARGETS = ['ref', 'host', 'qemu-mps2-an386', 'qemu-xtensa-lx106'] as const;
export type TargetName = (typeof TARGETS)[number];

export function isTarget(name: string): name is TargetName {
  return (TARGETS as readonly string[]).includes(name);
}

export function parseTarget(name: string): TargetName {
  return oneOf('target', name, TARGETS);
}
