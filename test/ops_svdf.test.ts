// SVDF, int16x8 FULLY_CONNECTED and batched convolution / pooling: what the conformance suite does
// not cover — the corpus keyword models' 20-step sequences on every target, SVDF's narrowing of the
// state zero point, the refusals of SVDF configurations TFLite Micro rejects, and batched
// depthwise / int8 pooling layers (no conformance variant) matching their batch-1 selves image by
// image, never planned in place.

import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileModel, loadModel, writeCModule, type CompiledModel } from '../compiler/compile.ts';
import { BuiltinOp, BuiltinOptionsType, F, TensorType } from '../compiler/frontends/tflite/schema.ts';
import { inPlaceCandidates } from '../compiler/passes/in_place.ts';
import { ReferenceState, runReference } from '../compiler/reference/run_reference.ts';
import { runCasesOnHost } from '../compiler/targets/host.ts';
import { runCasesOnQemuMps2 } from '../compiler/targets/qemu_mps2.ts';
import { sequencesIn } from './helpers/conformance.ts';
import { CORPUS_DIR, CORPUS_MODELS_DIR } from './helpers/corpus.ts';
import { firstDifference } from './helpers/shared.ts';
import { GraphBuilder, loadSynthetic, Pad, perChannel, Prng, q } from './helpers/synthetic_models.ts';
import { buildTflite, depthwiseOptions, int32Bytes, int8Bytes, pool2dOptions, type OptionsSpec, type TensorSpec } from './helpers/tflite_builder.ts';
import { refusal } from './helpers/refusal.ts';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-ops-svdf-'));
const SVDF_CODE = 27;

describe('corpus keyword models: 20-step sequences with SVDF state (TFLite Micro goldens)', () => {
  for (const stem of ['tflm__keyword_scrambled', 'tflm__keyword_scrambled_8bit']) {
    const dir = `${CORPUS_DIR}seqgolden/${stem}`;
    const present = existsSync(`${dir}/manifest.json`);
    const compiled = (): CompiledModel => compileModel(loadModel(`${CORPUS_MODELS_DIR}${stem}.tflite`));
    const flat = (): { inputs: Uint8Array[][]; expected: Uint8Array[][]; ids: string[]; keepState: boolean[] } => {
      const steps = sequencesIn(dir).flatMap((s) => s.steps.map((step, t) => ({ step, keep: t > 0 })));
      return { inputs: steps.map((s) => s.step.inputs), expected: steps.map((s) => s.step.expected), ids: steps.map((s) => s.step.id), keepState: steps.map((s) => s.keep) };
    };
    it.skipIf(!present)(`${stem} on the TypeScript reference`, () => {
      const c = compiled();
      for (const seq of sequencesIn(dir)) {
        const state = new ReferenceState(c.model.graph);
        for (const step of seq.steps) expect(firstDifference(step.expected, runReference(c.model.graph, c.layers, step.inputs, state)), step.id).toBeUndefined();
      }
    });
    for (const target of ['host', 'mps2-an386'] as const) {
      it.skipIf(!present)(`${stem} on ${target === 'host' ? 'host C (ASan + UBSan)' : 'the emulated Cortex-M4'}`, async () => {
        const { inputs, expected, ids, keepState } = flat();
        const mod = writeCModule(compiled(), path.join(workDir, `seq-${target}`, stem));
        const actual = target === 'host' ? await runCasesOnHost(mod, inputs, { sanitize: true, workDir, keepState }) : await runCasesOnQemuMps2(target, mod, inputs, { workDir, keepState });
        expected.forEach((e, i) => expect(firstDifference(e, actual[i] ?? []), ids[i]).toBeUndefined());
      });
    }
  }
});

interface SvdfOptions {
  rank?: number;
  filters?: number;
  timeType?: number;
  stateType?: number;
  stateZeroPoint?: number;
  stateVariable?: boolean;
  biasScale?: number;
  noBias?: boolean;
  weightsFeature?: number[];
}

function svdfOptions(rank: number): OptionsSpec {
  return {
    type: BuiltinOptionsType.SVDFOptions,
    build: (b) => {
      b.startObject(3);
      b.addFieldInt32(F.SVDFOptions.rank, rank, null);
      return b.endObject();
    },
  };
}

/** One SVDF: input [1, 4] int8, `filters` filters, memory 3; int8 weights_time and state unless told. */
function svdfModel(o: SvdfOptions = {}): Uint8Array {
  const rank = o.rank ?? 1;
  const filters = o.filters ?? 2;
  const memory = 3;
  // Rank 0 or a rank that does not divide the filters still gets a well-formed file to refuse.
  const units = Math.max(1, Math.floor(filters / Math.max(rank, 1)));
  const timeType = o.timeType ?? TensorType.INT8;
  const stateType = o.stateType ?? TensorType.INT8;
  const timeBytes = timeType === TensorType.INT16 ? new Uint8Array(new Int16Array(filters * memory).fill(3).buffer) : int8Bytes(new Array<number>(filters * memory).fill(3));
  const tensors: TensorSpec[] = [
    { name: 'x', shape: [1, 4], type: TensorType.INT8, buffer: 0, quant: { scale: [0.5], zeroPoint: [0] } },
    { name: 'wf', shape: [filters, 4], type: TensorType.INT8, buffer: 1, quant: { scale: [0.5], zeroPoint: [0] } },
    { name: 'wt', shape: [filters, memory], type: timeType, buffer: 2, quant: { scale: [0.25], zeroPoint: [0] } },
    { name: 'b', shape: [units], type: TensorType.INT32, buffer: 3, quant: { scale: [o.biasScale ?? 0.25], zeroPoint: [0] } },
    { name: 'state', shape: [1, filters * memory], type: stateType, buffer: 0, quant: { scale: [1], zeroPoint: [o.stateZeroPoint ?? 0] }, isVariable: o.stateVariable ?? true },
    { name: 'y', shape: [1, units], type: TensorType.INT8, buffer: 0, quant: { scale: [1], zeroPoint: [0] } },
  ];
  return buildTflite({
    opcodes: [{ builtin: SVDF_CODE }],
    tensors,
    operators: [{ opcode: 0, inputs: [0, 1, 2, o.noBias ? -1 : 3, 4], outputs: [5], options: svdfOptions(rank) }],
    // A state that is not a variable tensor must come from somewhere: a model input.
    inputs: o.stateVariable === false ? [0, 4] : [0],
    outputs: [5],
    buffers: [{}, { data: int8Bytes(o.weightsFeature ?? new Array<number>(filters * 4).fill(1)) }, { data: timeBytes }, { data: int32Bytes(new Array<number>(units).fill(0)) }],
  });
}

const compileSvdf = (o: SvdfOptions = {}): CompiledModel => compileModel(loadSynthetic('svdf', svdfModel(o)));

describe('SVDF', () => {
  it('adds the state zero point after the clamp and narrows the sum, wrapping, as TFLite Micro does', () => {
    // x . wf = 4 * 127 = 508 at scale 0.25 / state scale 1: 127 after the int8 clamp; 127 + 100 wraps to -29.
    const c = compileSvdf({ stateZeroPoint: 100 });
    const state = new ReferenceState(c.model.graph);
    runReference(c.model.graph, c.layers, [int8Bytes([127, 127, 127, 127])], state);
    const stateId = c.model.graph.tensors.find((t) => t.name === 'state')?.id as number;
    const values = Array.from(new Int8Array((state.buffers.get(stateId) as Uint8Array).buffer));
    // Reset to the zero point, shifted by one step, the new value in each filter's last slot.
    expect(values).toEqual([100, 100, -29, 100, 100, -29]);
  });

  it('runs a wrapping int8-state sequence identically on the reference and host C', async () => {
    const c = compileSvdf({ stateZeroPoint: 100, weightsFeature: [1, -2, 3, -4, 5, 6, -7, 8] });
    const prng = new Prng(7);
    const inputs = Array.from({ length: 6 }, () => [prng.int8Bytes(4)]);
    const state = new ReferenceState(c.model.graph);
    const expected = inputs.map((x) => runReference(c.model.graph, c.layers, x, state));
    const mod = writeCModule(c, path.join(workDir, 'svdf-wrap'));
    const actual = await runCasesOnHost(mod, inputs, { sanitize: true, workDir, keepState: inputs.map((_, i) => i > 0) });
    expected.forEach((e, i) => expect(firstDifference(e, actual[i] ?? []), `step ${i}`).toBeUndefined());
  });

  it('refuses configurations TFLite Micro rejects or would run out of bounds', () => {
    expect(refusal(() => compileSvdf({ rank: 0 }))).toContain('has rank 0 (must be at least 1)');
    expect(refusal(() => compileSvdf({ rank: 3, filters: 4 }))).toContain("weights_feature 'wf' has 4 filters, not a multiple of rank 3");
    expect(refusal(() => compileSvdf({ stateVariable: false }))).toContain("activation_state 'state' is not a variable tensor");
    expect(refusal(() => compileSvdf({ noBias: true }))).toContain('has no bias');
    expect(refusal(() => compileSvdf({ timeType: TensorType.INT16 }))).toContain("weights_time 'wt' is int16 but activation_state 'state' is int8");
    expect(refusal(() => compileSvdf({ biasScale: 0.5 }))).toContain("bias 'b' scale 0.5 differs from activation_state scale x weights_time scale 0.25");
  });
});

/** x [batch, 6, 6, 4] -> 3x3 depthwise (SAME) -> 2x2/2 max pool -> 3x3/1 SAME average pool -> y [batch, 3, 3, 4]. */
function batchedModel(batch: number): Uint8Array {
  const g = new GraphBuilder();
  const x = g.tensor('x', [batch, 6, 6, 4], q(0.5, 3));
  const prng = new Prng(11);
  const w = g.int8Constant('w', [1, 3, 3, 4], prng.ints(36, -127, 127), perChannel([0.01, 0.02, 0.015, 0.03], 3));
  const bias = g.int32Constant('bias', [4], [100, -50, 0, 7]);
  const d = g.tensor('d', [batch, 6, 6, 4], q(0.25, -2));
  const m = g.tensor('m', [batch, 3, 3, 4], q(0.25, -2));
  const y = g.tensor('y', [batch, 3, 3, 4], q(0.25, -2));
  g.op(BuiltinOp.DEPTHWISE_CONV_2D, [x, w, bias], [d], depthwiseOptions({ padding: Pad.SAME, strideH: 1, strideW: 1, depthMultiplier: 1 }));
  g.op(BuiltinOp.MAX_POOL_2D, [d], [m], pool2dOptions({ padding: Pad.VALID, strideH: 2, strideW: 2, filterH: 2, filterW: 2 }));
  g.op(BuiltinOp.AVERAGE_POOL_2D, [m], [y], pool2dOptions({ padding: Pad.SAME, strideH: 1, strideW: 1, filterH: 3, filterW: 3 }));
  return g.build([x], [y]);
}

describe('batched depthwise convolution and int8 pooling', () => {
  const single = compileModel(loadSynthetic('batch1', batchedModel(1)));
  const batched = compileModel(loadSynthetic('batch3', batchedModel(3)));
  const prng = new Prng(3);
  const images = Array.from({ length: 3 }, () => prng.int8Bytes(6 * 6 * 4));
  const whole = new Uint8Array(images.length * 6 * 6 * 4);
  images.forEach((img, b) => whole.set(img, b * img.length));

  it('computes each image as the batch-1 model does', () => {
    const out = runReference(batched.model.graph, batched.layers, [whole])[0] as Uint8Array;
    const perImage = images.map((img) => runReference(single.model.graph, single.layers, [img])[0] as Uint8Array);
    expect(Array.from(out)).toEqual(perImage.flatMap((o) => Array.from(o)));
  });

  it('runs the batched layers per image and never in place', () => {
    expect(batched.layers.map((l) => (l.kernel === 'module' ? l.module : l.kernel))).toEqual(['per_image', 'per_image', 'per_image']);
    expect(inPlaceCandidates(batched.model.graph, batched.layers)).toEqual([]);
    // The batch-1 pools are in-place candidates, so the batched ones were kept out on purpose.
    expect(inPlaceCandidates(single.model.graph, single.layers).length).toBeGreaterThan(0);
  });

  it('matches the reference on host C', async () => {
    const mod = writeCModule(batched, path.join(workDir, 'batched'));
    const [actual] = await runCasesOnHost(mod, [[whole]], { sanitize: true, workDir });
    expect(firstDifference(runReference(batched.model.graph, batched.layers, [whole]), actual ?? [])).toBeUndefined();
  });
});
