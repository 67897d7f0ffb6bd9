// A fuzz campaign: mutants of the shared models through the compiler front to back, in process
// (parse, fold, lower, select kernels, plan memory, emit C). A mutant must either compile or be
// refused with a TinyforgeError (the one-line, exit-coded user error); any other exception is a
// crash, a mutant slower than `slowMs` counts as a hang, and for a sample of the accepted mutants
// the generated C is built for the host under ASan + UBSan and run on random inputs, where any
// sanitizer report fails. Used by test/fuzz.test.ts (a few hundred mutants) and scripts/fuzz.ts.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { compileModel, type CompiledModel } from '../../compiler/compile.ts';
import { emitHeader, emitSource } from '../../compiler/emit-c/emit_module.ts';
import { TinyforgeError } from '../../compiler/errors.ts';
import { parseTflite } from '../../compiler/frontends/tflite/index.ts';
import { foldConstants } from '../../compiler/passes/fold_constants.ts';
import { randomInputs } from '../../compiler/validate/random_cases.ts';
import { runOnTarget } from '../../compiler/cli/targets.ts';
import { modelPath, SHARED_MODELS, type SharedModel } from '../helpers/shared.ts';
import { mutate, seedModel, type Seed } from './mutator.ts';

export interface Finding {
  kind: 'crash' | 'hang' | 'sanitizer';
  model: string;
  mutant: number;
  mutations: string[];
  message: string;
}

export interface CampaignResult {
  mutants: number;
  accepted: number;
  rejected: number;
  sanitized: number;
  findings: Finding[];
  seconds: number;
  slowestMs: number;
  /** Rejections by the first words of their message: what the checks caught. */
  rejectionKinds: Map<string, number>;
}

export interface CampaignOptions {
  count: number;
  /** Index of the first mutant (shards of one campaign run disjoint ranges). */
  start?: number;
  seed?: number;
  /** Build and run this many accepted mutants under ASan/UBSan (spread over the campaign). */
  sanitize?: number;
  /** A mutant taking longer than this is reported as a hang. */
  slowMs?: number;
  models?: readonly SharedModel[];
  onProgress?: (done: number, r: CampaignResult) => void;
}

/** Small models are cheap to compile: they get most mutants, the big ones fewer. */
const DEFAULT_MODELS: readonly SharedModel[] = SHARED_MODELS;
const WEIGHT: Partial<Record<SharedModel, number>> = { vww_mobilenet: 1, ad_autoencoder: 1, ic_resnet8: 2, kws_dscnn: 2, micro_speech: 6, hello_world_int8: 8 };

export function loadSeeds(models: readonly SharedModel[] = DEFAULT_MODELS): Seed[] {
  return models.map((m) => seedModel(`${m}.tflite`, new Uint8Array(readFileSync(modelPath(m)))));
}

/** The kind of a refusal, for the summary: names, numbers and the op prefix taken out. */
function rejectionKind(message: string): string {
  const body = message
    .replace(/^[^:]*?\.tflite: /, '')
    .replace(/^[^:]*: operator \d+ \([A-Z_0-9]+\): /, '')
    .replace(/^operator \d+ \([A-Z_0-9]+\)( input \d+| output \d+)?:? ?/, '')
    .replace(/'[^']*'/g, "'…'")
    .replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/g, 'N');
  return body.split(/\s+/).slice(0, 7).join(' ');
}

/** Compiles one mutant in process and emits its C; returns the compiled model or throws. */
export function compileMutant(bytes: Uint8Array, label: string): { compiled: CompiledModel; header: string; source: string } {
  const graph = foldConstants(parseTflite(bytes, label));
  const model = { path: label, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), graph };
  const compiled = compileModel(model, { prefix: 'fuzz_model' });
  const opts = { prefix: compiled.prefix, sourceDescription: label, modelSha256: model.sha256, toolVersion: 'fuzz' };
  return { compiled, header: emitHeader(graph, compiled.plan, opts), source: emitSource(graph, compiled.calls, compiled.plan, opts) };
}

export async function runCampaign(opts: CampaignOptions): Promise<CampaignResult> {
  const seeds = loadSeeds(opts.models);
  const weighted = seeds.flatMap((s) => Array.from({ length: WEIGHT[s.name.replace(/\.tflite$/, '') as SharedModel] ?? 1 }, () => s));
  const slowMs = opts.slowMs ?? 10_000;
  const sanitizeEvery = opts.sanitize ? Math.max(1, Math.floor(opts.count / opts.sanitize)) : 0;
  const result: CampaignResult = { mutants: 0, accepted: 0, rejected: 0, sanitized: 0, findings: [], seconds: 0, slowestMs: 0, rejectionKinds: new Map() };
  const started = performance.now();
  let sanitizeDue = false;
  const first = opts.start ?? 0;
  for (let n = first; n < first + opts.count; n++) {
    const seed = weighted[n % weighted.length] as Seed;
    const mutant = mutate(seed, n, opts.seed ?? 1);
    if (sanitizeEvery > 0 && (n - first) % sanitizeEvery === 0) sanitizeDue = true;
    const t0 = performance.now();
    let compiled: CompiledModel | undefined;
    try {
      compiled = compileMutant(mutant.bytes, seed.name).compiled;
      result.accepted++;
    } catch (e) {
      if (e instanceof TinyforgeError) {
        result.rejected++;
        const k = rejectionKind(e.message);
        result.rejectionKinds.set(k, (result.rejectionKinds.get(k) ?? 0) + 1);
      } else {
        const err = e as Error;
        result.findings.push({ kind: 'crash', model: seed.name, mutant: n, mutations: mutant.mutations, message: `${err?.name}: ${err?.message} ${(err?.stack ?? '').split('\n')[1]?.trim() ?? ''}` });
      }
    }
    const ms = performance.now() - t0;
    result.slowestMs = Math.max(result.slowestMs, ms);
    if (ms > slowMs) result.findings.push({ kind: 'hang', model: seed.name, mutant: n, mutations: mutant.mutations, message: `took ${Math.round(ms)} ms` });
    result.mutants++;
    if (compiled && sanitizeDue && result.sanitized < (opts.sanitize ?? 0)) {
      sanitizeDue = false;
      result.sanitized++;
      const finding = await sanitizedRun(compiled, n);
      if (finding !== undefined) result.findings.push({ kind: 'sanitizer', model: seed.name, mutant: n, mutations: mutant.mutations, message: finding });
    }
    opts.onProgress?.(n + 1 - first, result);
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** Builds the mutant's C for the host with ASan + UBSan and runs two random cases; a report is a finding. */
async function sanitizedRun(compiled: CompiledModel, n: number): Promise<string | undefined> {
  const cases = [0, 1].map((k) => randomInputs(compiled.summary.inputs, n * 2 + k + 1));
  try {
    await runOnTarget('host', compiled, cases, { sanitize: true });
    return undefined;
  } catch (e) {
    const msg = (e as Error).message;
    // A model whose C does not build is as much a finding as a sanitizer report.
    return msg.split('\n').slice(0, 4).join(' | ').slice(0, 400);
  }
}
