// Builds a generated tokenizer for the host (-Werror, ASan + UBSan) with a harness that reads one
// sentence per line from stdin and prints the count and ids, and runs it on sentences.

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HOST_CC, HOST_CFLAGS, HOST_SANITIZE_FLAGS } from '../../compiler/targets/host.ts';
import type { TokenizerFiles } from '../../compiler/text/tokenizer_c.ts';

/**
 * Token ids of every sentence from the generated C. Without a model the tokenizer's own
 * <prefix>.h is replaced by a harness header whose input/invoke only exist to link
 * classify_text (the harness never calls it); with `model` the real module is linked.
 */
export function hostTokenize(dir: string, prefix: string, files: TokenizerFiles, sentences: readonly string[], model?: { header: string; source: string }): { count: number; ids: number[]; scores?: number[] }[] {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${prefix}_tokenizer.h`), files.header);
  writeFileSync(path.join(dir, `${prefix}_tokenizer.c`), files.source);
  const sources = [path.join(dir, `${prefix}_tokenizer.c`), path.join(dir, 'harness.c')];
  if (model) {
    writeFileSync(path.join(dir, `${prefix}.h`), model.header);
    writeFileSync(path.join(dir, `${prefix}.c`), model.source);
    sources.push(path.join(dir, `${prefix}.c`));
  } else {
    writeFileSync(path.join(dir, `${prefix}.h`), `#include <stdint.h>\nvoid *${prefix}_input(int index);\nint ${prefix}_invoke(const int32_t *input0, int8_t *output0);\n`);
    writeFileSync(path.join(dir, 'link_only.c'), `#include <stddef.h>\n#include "${prefix}.h"\nvoid *${prefix}_input(int index) { (void)index; return NULL; }\nint ${prefix}_invoke(const int32_t *input0, int8_t *output0) { (void)input0; (void)output0; return -1; }\n`);
    sources.push(path.join(dir, 'link_only.c'));
  }
  const P = prefix.toUpperCase();
  writeFileSync(
    path.join(dir, 'harness.c'),
    `#include <stdio.h>
#include <string.h>
#include "${prefix}_tokenizer.h"
int main(void) {
  static char line[65536];
  int32_t ids[${P}_SEQ_LEN];
  while (fgets(line, sizeof line, stdin) != NULL) {
    size_t n = strlen(line);
    int count, i;
    if (n > 0 && line[n - 1] == '\\n') line[--n] = 0;
    count = ${prefix}_tokenize_bytes((const uint8_t *)line, n, ids);
    printf("%d", count);
    for (i = 0; i < ${P}_SEQ_LEN; i++) printf(" %d", (int)ids[i]);
${model ? `    {
      static int8_t scores[${P}_NUM_SCORES];
      if (${prefix}_classify_text(line, scores) != 0) return 2;
      printf(" |");
      for (i = 0; i < ${P}_NUM_SCORES; i++) printf(" %d", (int)scores[i]);
    }
` : ''}    printf("\\n");
  }
  return 0;
}
`,
  );
  const exe = path.join(dir, 'tokenize');
  const cc = spawnSync(HOST_CC, [...HOST_CFLAGS, ...HOST_SANITIZE_FLAGS, '-I', dir, ...sources, '-o', exe], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`host build failed:\n${cc.stderr}`);
  const run = spawnSync(exe, [], { input: sentences.map((s) => `${s}\n`).join(''), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (run.status !== 0) throw new Error(`tokenizer harness failed (${run.status}):\n${run.stderr}`);
  return run.stdout
    .trim()
    .split('\n')
    .map((l) => {
      const [tokens, scores] = l.split(' | ');
      const [count, ...ids] = (tokens as string).split(' ').map(Number);
      return scores === undefined ? { count: count as number, ids } : { count: count as number, ids, scores: scores.split(' ').map(Number) };
    });
}
