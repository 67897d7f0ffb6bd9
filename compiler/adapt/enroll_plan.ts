// What `validate --enroll <spec>` checks: a list of steps (enroll an input into a class, or
// classify an input) and, for each, the bytes the device must answer with, computed by the
// TypeScript reference (the frozen graph, then head_reference.ts). Enroll steps compare the class's
// example count and the size and CRC-32 of the saved head; classify steps every score byte; the
// last step compares the whole saved head, read back from the device.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { crc32 } from '../../flasher/protocol/crc32.ts';
import type { CompiledModel } from '../compile.ts';
import { TinyforgeError } from '../errors.ts';
import { runReference } from '../reference/run_reference.ts';
import { HeadReference } from './head_reference.ts';

export type EnrollStep = { kind: 'enroll'; id: string; cls: number; input: Uint8Array } | { kind: 'classify'; id: string; input: Uint8Array };

export interface EnrollSpec {
  /** Head classes (default: the replaced layer's output units). */
  classes?: number;
  /** SGD epochs and replay slots of the head (default: head_learning.ts's; epochs 0 = prototypes only). */
  epochs?: number;
  replay?: number;
  steps: EnrollStep[];
}

const specSchema = z.object({
  classes: z.number().int().positive().optional(),
  epochs: z.number().int().nonnegative().optional(),
  replay: z.number().int().nonnegative().optional(),
  steps: z
    .array(z.union([z.object({ enroll: z.number().int().nonnegative(), input: z.string() }).strict(), z.object({ classify: z.string() }).strict()]))
    .min(1),
});

/**
 * Reads an enrollment spec: `{ "classes"?: n, "epochs"?: n, "replay"?: n, "steps": [{ "enroll": class, "input": "x.bin" } |
 * { "classify": "y.bin" }] }`, input files raw tensor bytes, relative to the spec's folder.
 */
export function loadEnrollSpec(file: string): EnrollSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TinyforgeError(`${file}: cannot read the enrollment spec: ${(e as Error).message.split('\n')[0]}`);
  }
  const parsed = specSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TinyforgeError(`${file}: not an enrollment spec at ${issue?.path.join('.') || 'top level'}: ${issue?.message ?? 'invalid'} (want { "steps": [{ "enroll": class, "input": file } | { "classify": file }] })`);
  }
  const dir = path.dirname(file);
  const read = (f: string): Uint8Array => {
    try {
      return new Uint8Array(readFileSync(path.resolve(dir, f)));
    } catch {
      throw new TinyforgeError(`${file}: cannot read input file ${f}`);
    }
  };
  let enrolls = 0;
  let classifies = 0;
  const steps = parsed.data.steps.map((s): EnrollStep =>
    'enroll' in s
      ? { kind: 'enroll', id: `enroll${enrolls++} class ${s.enroll}`, cls: s.enroll, input: read(s.input) }
      : { kind: 'classify', id: `classify${classifies++}`, input: read(s.classify) },
  );
  const { classes, epochs, replay } = parsed.data;
  return { ...(classes === undefined ? {} : { classes }), ...(epochs === undefined ? {} : { epochs }), ...(replay === undefined ? {} : { replay }), steps };
}

export interface ExpectedStep {
  step: EnrollStep;
  /** enroll: u32 count, u32 head bytes, u32 head CRC-32 (LE); classify: the int32 scores (LE). */
  expected: Uint8Array;
}

export interface ExpectedEnrollment {
  steps: ExpectedStep[];
  /** The saved head after the last step. */
  finalHead: Uint8Array;
}

/** The 12 bytes an enroll step is compared on. */
export function enrollSummaryBytes(count: number, headBytes: number, headCrc32: number): Uint8Array {
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  v.setUint32(0, count, true);
  v.setUint32(4, headBytes, true);
  v.setUint32(8, headCrc32, true);
  return out;
}

/** The embedding the frozen part computes for one input (TS reference). */
export function referenceEmbedding(compiled: CompiledModel, input: Uint8Array): Int8Array {
  const [out] = runReference(compiled.model.graph, compiled.layers, [input]);
  const bytes = out as Uint8Array;
  return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The head settings a spec asks for, as compileModel's `learning` (empty: the defaults). */
export function specLearning(spec: Pick<EnrollSpec, 'epochs' | 'replay'>): { epochs?: number; replay?: number } {
  return { ...(spec.epochs === undefined ? {} : { epochs: spec.epochs }), ...(spec.replay === undefined ? {} : { replay: spec.replay }) };
}

export function expectedEnrollment(compiled: CompiledModel, spec: EnrollSpec): ExpectedEnrollment {
  const head = compiled.head;
  if (!head) throw new TinyforgeError('enrollment needs a model compiled with --adapt last');
  const inputBytes = compiled.summary.inputs[0]?.bytes ?? 0;
  const ref = new HeadReference(head);
  const steps = spec.steps.map((step): ExpectedStep => {
    if (step.input.byteLength !== inputBytes) throw new TinyforgeError(`${step.id}: input has ${step.input.byteLength} bytes; the model takes ${inputBytes}`);
    const embedding = referenceEmbedding(compiled, step.input);
    if (step.kind === 'classify') {
      const scores = ref.scores(embedding);
      return { step, expected: new Uint8Array(scores.buffer.slice(0)) };
    }
    const status = ref.enroll(step.cls, embedding);
    if (status === 'bad-class') throw new TinyforgeError(`${step.id}: the head has classes 0..${head.classes - 1} (--adapt-classes sets how many)`);
    if (status === 'class-full') throw new TinyforgeError(`${step.id}: class ${step.cls} already holds the most examples a class can`);
    const saved = ref.save();
    return { step, expected: enrollSummaryBytes(ref.counts[step.cls] as number, saved.byteLength, crc32(saved)) };
  });
  return { steps, finalHead: ref.save() };
}
