// A generated C module whose kernel calls each get a fresh heap block of exactly their planned
// scratch size instead of their arena region, so ASan on the host catches a kernel that uses more
// scratch than select_kernels planned.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeCModule, type CompiledModel } from '../../compiler/compile.ts';
import type { CompiledModuleRef } from '../../compiler/targets/target.ts';

export function writeExactScratchModule(compiled: CompiledModel, dir: string): CompiledModuleRef {
  const mod = writeCModule(compiled, dir);
  const file = path.join(dir, `${mod.prefix}.c`);
  const hook = [
    '#include <stdlib.h>',
    "/* test hook: each call's scratch is a fresh heap block of exactly the planned size */",
    'static inline void *tf_test_scratch(unsigned long bytes) {',
    '    static void *last;',
    '    free(last);',
    '    last = malloc(bytes ? bytes : 1);',
    '    return last;',
    '}',
    '#define TF_SCRATCH(offset, bytes) tf_test_scratch(bytes)',
    '',
  ].join('\n');
  writeFileSync(file, `${hook}${readFileSync(file, 'utf8')}`);
  return mod;
}
