// The execution targets `run` and `validate` accept, apart from the code that runs them so that
// the help text can list them without loading the compiler.

import { oneOf } from '../suggest.ts';

export const TARGETS = ['ref', 'host', 'qemu-mps2-an386'] as const;
export type TargetName = (typeof TARGETS)[number];

export function parseTarget(name: string): TargetName {
  return oneOf('target', name, TARGETS);
}
