// The execution targets `run` and `validate` accept, behind one function type.

import path from 'node:path';
import { writeCModule, type CompiledModel } from '../compile.ts';
import type { TargetName } from './target_names.ts';
import { ReferenceState, runReference } from '../reference/run_reference.ts';
import { runCasesOnHost } from '../targets/host.ts';
import { runCasesOnQemuMps2An386 } from '../targets/qemu_mps2.ts';
import { runCasesOnQemuXtensa } from '../targets/qemu_xtensa.ts';
import { defaultWorkDir } from '../targets/target.ts';

export { parseTarget, TARGETS, type TargetName } from './target_names.ts';

export interface TargetRunOptions {
  sanitize?: boolean;
  /** keepState[i]: case i continues case i - 1's state (a sequence step); otherwise the model starts fresh. */
  keepState?: readonly boolean[];
}

/** Runs all cases on a target and returns the outputs of each. */
export async function runOnTarget(target: TargetName, compiled: CompiledModel, cases: Uint8Array[][], opts: TargetRunOptions = {}): Promise<Uint8Array[][]> {
  if (target === 'ref') {
    const state = new ReferenceState(compiled.model.graph);
    return cases.map((inputs, i) => {
      if (!opts.keepState?.[i]) state.reset();
      return runReference(compiled.model.graph, compiled.layers, inputs, state);
    });
  }
  const moduleDir = path.join(defaultWorkDir(), 'modules', `${compiled.prefix}-${compiled.model.sha256.slice(0, 16)}`);
  const mod = writeCModule(compiled, moduleDir);
  const keep = opts.keepState ? { keepState: opts.keepState } : {};
  if (target === 'host') return runCasesOnHost(mod, cases, { sanitize: opts.sanitize, ...keep });
  if (target === 'qemu-xtensa-lx106') return runCasesOnQemuXtensa(mod, cases, keep);
  return runCasesOnQemuMps2An386(mod, cases, keep);
}
