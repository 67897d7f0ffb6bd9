// Runs the generated streaming C on the host (system `cc`, optionally under ASan/UBSan): a small
// runner feeds a PCM file to <prefix>_feed in chunks of a given size and prints every event the
// listener sees, one per line, which parseStreamLog turns into the reference's StreamEvents.

import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TinyforgeError, ToolError } from '../errors.ts';
import { HOST_CC, hostCompilerFlags } from '../targets/host.ts';
import { BUILD_TIMEOUT_MS, cachedBuild, contentHash, resolveWorkDir, withRunDir } from '../targets/target.ts';
import { execTool, requireTool, runCompiler, tailLines, toolVersion } from '../targets/toolchain.ts';
import { writeStreamModules, type CompiledStream } from './compile_stream.ts';
import type { StreamEvent } from './stream_reference.ts';

export interface StreamHostOptions {
  workDir?: string;
  sanitize?: boolean;
}

function runnerSource(prefix: string): string {
  const P = prefix.toUpperCase();
  return `/* tinyforge host runner of ${prefix}_feed: argv[1] = PCM file (int16 LE), argv[2] = chunk samples. */
#include <stdio.h>
#include <stdlib.h>

#include "${prefix}_stream.h"

static void on_features(uint32_t frame, const int8_t *features, void *user) {
    (void)user;
    printf("F %u ", (unsigned)frame);
    for (int i = 0; i < ${P}_STREAM_FEATURE_BYTES; ++i) printf("%02x", (unsigned)(uint8_t)features[i]);
    printf("\\n");
}

static void on_scores(const ${prefix}_stream_result_t *r, void *user) {
    (void)user;
    printf("S %u %u %u", (unsigned)(r->invokes - 1), (unsigned)r->last_frame, (unsigned)r->last_time_ms);
    for (int i = 0; i < ${P}_STREAM_NUM_LABELS; ++i) printf("%c%d", i ? ',' : ' ', r->scores[i]);
    for (int i = 0; i < ${P}_STREAM_NUM_LABELS; ++i) printf("%c%ld", i ? ',' : ' ', (long)r->averaged[i]);
    printf("\\n");
}

static void on_detection(const ${prefix}_detection_t *d, void *user) {
    (void)user;
    printf("D %u %u %ld %ld\\n", (unsigned)d->invoke, (unsigned)d->time_ms, (long)d->label, (long)d->score);
}

int main(int argc, char **argv) {
    static const ${prefix}_listener_t listener = { on_features, on_scores, on_detection, NULL };
    if (argc != 3) return 2;
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) return 2;
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    size_t n = (size_t)bytes / 2;
    int16_t *pcm = malloc(n * sizeof *pcm + 2);
    if (pcm == NULL || fread(pcm, 2, n, f) != n) return 2;
    fclose(f);
    size_t chunk = (size_t)strtoul(argv[2], NULL, 10);
    if (chunk == 0) return 2;
    ${prefix}_stream_reset();
    ${prefix}_set_listener(&listener);
    for (size_t i = 0; i < n; i += chunk) {
        size_t take = n - i < chunk ? n - i : chunk;
        if (${prefix}_feed(pcm + i, take) < 0) {
            printf("E feed failed at sample %lu\\n", (unsigned long)i);
            return 1;
        }
    }
    const ${prefix}_stream_result_t *r = ${prefix}_stream_result();
    printf("R %u %u %u\\n", (unsigned)r->frames, (unsigned)r->invokes, (unsigned)r->detections);
    free(pcm);
    return 0;
}
`;
}

/** Builds (cached by content) the host runner of a compiled stream. */
export async function buildStreamForHost(s: CompiledStream, opts: StreamHostOptions = {}): Promise<string> {
  const workDir = resolveWorkDir(opts);
  const key = createHash('sha256').update(JSON.stringify(s.config)).update(s.frontend.model.sha256).update(s.classifier.model.sha256).digest('hex').slice(0, 16);
  const srcDir = path.join(workDir, `stream-src-${s.prefix}-${key}`);
  const files = writeStreamModules(s, srcDir);
  const runner = runnerSource(s.prefix);
  const cc = requireTool(HOST_CC);
  const flags = hostCompilerFlags({ sanitize: opts.sanitize === true });
  const hash = await contentHash(['stream-host', cc, await toolVersion(cc), ...flags, runner], files);
  const built = await cachedBuild(workDir, `stream-host-${s.prefix}`, hash, 'tf_stream_runner', async (dir) => {
    const runnerC = path.join(dir, 'tf_stream_runner.c');
    await writeFile(runnerC, runner);
    const sources = files.filter((f) => f.endsWith('.c'));
    await runCompiler(cc, [...flags, '-I', srcDir, ...sources, runnerC, '-o', path.join(dir, 'tf_stream_runner'), '-lm'], `host build of the ${s.prefix} stream`, { cwd: dir, timeoutMs: BUILD_TIMEOUT_MS });
  });
  return built.binary;
}

/** Feeds `samples` to the host-compiled stream, `chunk` samples per <prefix>_feed call; returns its events. */
export async function runStreamOnHost(s: CompiledStream, samples: Int16Array, chunk: number, opts: StreamHostOptions = {}): Promise<StreamEvent[]> {
  if (!Number.isInteger(chunk) || chunk < 1) throw new TinyforgeError(`chunk of ${chunk} samples: expected a positive integer`);
  const binary = await buildStreamForHost(s, opts);
  const pcm = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  return withRunDir(resolveWorkDir(opts), pcm, async (dir) => {
    const r = await execTool(binary, [path.join(dir, 'tf_in.bin'), String(chunk)], { cwd: dir, timeoutMs: 120_000 });
    if (r.code !== 0) throw new ToolError(`host run of the ${s.prefix} stream failed (${r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}`}): ${tailLines(r.stderr || r.stdout, 20)}`);
    return parseStreamLog(r.stdout, s.config.labels.length);
  });
}

/** The runner's lines as events (the R summary line is checked, not returned). */
export function parseStreamLog(text: string, labels: number): StreamEvent[] {
  const events: StreamEvent[] = [];
  const ints = (s: string): number[] => s.split(',').map(Number);
  for (const line of text.split('\n')) {
    const f = line.trim().split(' ');
    switch (f[0]) {
      case 'F':
        events.push({ kind: 'features', frame: Number(f[1]), features: Int8Array.from(Buffer.from(f[2] ?? '', 'hex')) });
        break;
      case 'S': {
        const scores = Int8Array.from(ints(f[4] ?? ''));
        const averaged = Int32Array.from(ints(f[5] ?? ''));
        if (scores.length !== labels || averaged.length !== labels) throw new ToolError(`stream runner: malformed line '${line}'`);
        events.push({ kind: 'scores', invoke: Number(f[1]), frame: Number(f[2]), timeMs: Number(f[3]), scores, averaged });
        break;
      }
      case 'D':
        events.push({ kind: 'detection', invoke: Number(f[1]), timeMs: Number(f[2]), label: Number(f[3]), score: Number(f[4]) });
        break;
      default:
        break;
    }
  }
  return events;
}
