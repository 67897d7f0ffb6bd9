// `npm run bench:adapt`: the worked example of on-device adaptation (compile --adapt last). A tone
// classifier (compiler/frontends/tfjs/synthetic.ts) is trained on three frequency bands, quantized
// to int8, and compiled with a four-class learnable head. On the emulated Cortex-M4, over serial,
// the device enrolls five examples of each known class, then five of a new band it was never
// trained on; every enrollment and every held-out classification is checked byte for byte against
// the TypeScript reference (validate --enroll's machinery), and accuracy on held-out data of all four
// classes is measured before and after the new class is enrolled. The head's RAM and code are read
// from the firmware ELF. Writes bench/adapt.json and bench/adapt.md.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { expectedEnrollment, referenceEmbedding, type EnrollStep } from '../compiler/adapt/enroll_plan.ts';
import { argmaxClass, HeadReference } from '../compiler/adapt/head_reference.ts';
import { findBoard } from '../compiler/boards/load_boards.ts';
import { compileModel } from '../compiler/compile.ts';
import { loadTfjsModel, writeArtifacts } from '../compiler/frontends/tfjs/index.ts';
import { saveLayersArtifacts, toneData, toneModel, train } from '../compiler/frontends/tfjs/synthetic.ts';
import { compressFloatGraph, ptqLoadedModel } from '../compiler/quantize/index.ts';
import { quantizeInput } from '../compiler/quantize/ptq.ts';
import { quantizedAccuracy } from '../compiler/quantize/accuracy.ts';
import { execTool } from '../compiler/targets/toolchain.ts';
import { buildQemuFirmware, openDevice } from '../flasher/device_validation.ts';
import { validateEnrollmentOnDevice } from '../flasher/enroll_validation.ts';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const BOARD = 'qemu-mps2-an386';
const KNOWN_BANDS = [2, 6, 14];
const NEW_BAND = 10;
const SHOTS = 5;
const TEST = 200;

await tf.setBackend('cpu');
const model = toneModel(64, 8);
const trainSet = toneData(1500, 1, 64, KNOWN_BANDS);
await train(model, trainSet, 10, 0.01, false);
const dir = path.join(os.tmpdir(), `tinyforge-bench-adapt-${process.pid}`);
const fg = (await loadTfjsModel(writeArtifacts(dir, await saveLayersArtifacts(model)))).graph;
const q = compressFloatGraph(fg, { calibration: trainSet.x.slice(0, 300) }, {});
const sha = createHash('sha256').update('bench/adapt tones').digest('hex');
const loaded = { ...ptqLoadedModel(q.ptq, 'tones.json', sha), graph: q.graph };
const inputQ = q.ptq.inputs[0]!;
const quantize = (x: Float32Array): Uint8Array => quantizeInput(x, inputQ);

// Held-out data of all four bands (label 3 = the new band), and the few examples the user gives.
const allBands = [...KNOWN_BANDS, NEW_BAND];
const test = toneData(TEST, 99, 64, allBands);
const pool = toneData(400, 7, 64, allBands);
const shots = (cls: number): Uint8Array[] => pool.x.filter((_, i) => pool.y[i] === cls).slice(0, SHOTS).map(quantize);

const pretrainedKnown = quantizedAccuracy(q.graph, inputQ, { x: test.x.filter((_, i) => (test.y[i] as number) < 3), labels: test.y.filter((y) => y < 3) });
const pretrainedAll = (pretrainedKnown * test.y.filter((y) => y < 3).length) / TEST;

const compiled = compileModel(loaded, { prefix: 'tones', adapt: { layer: 'last', classes: 4 } });
const head = compiled.summary.head!;
const knownSteps: EnrollStep[] = [0, 1, 2].flatMap((cls) => shots(cls).map((input, k): EnrollStep => ({ kind: 'enroll', id: `enroll class ${cls} #${k}`, cls, input })));
const newSteps: EnrollStep[] = shots(3).map((input, k) => ({ kind: 'enroll', id: `enroll new class 3 #${k}`, cls: 3, input }));
const classify: EnrollStep[] = test.x.map((x, i) => ({ kind: 'classify', id: `test${i}`, input: quantize(x) }));

/** Accuracy of the reference head after `enrolled` on the held-out set. */
function accuracyAfter(enrolled: EnrollStep[]): number {
  const ref = new HeadReference(compiled.head!);
  for (const s of enrolled) if (s.kind === 'enroll') ref.enroll(s.cls, referenceEmbedding(compiled, s.input));
  let right = 0;
  classify.forEach((s, i) => {
    if (argmaxClass(ref.scores(referenceEmbedding(compiled, s.input)), ref.counts) === test.y[i]) right++;
  });
  return right / TEST;
}

// On the device: known classes, the held-out set, the new class, the held-out set again.
const board = findBoard(BOARD);
const firmware = await buildQemuFirmware(compiled, board);
const steps = [...knownSteps, ...classify.map((s) => ({ ...s, id: `before ${s.id}` })), ...newSteps, ...classify.map((s) => ({ ...s, id: `after ${s.id}` }))];
const plan = expectedEnrollment(compiled, { steps });
const device = await openDevice(board, firmware);
let report;
try {
  report = await validateEnrollmentOnDevice(compiled, board, device, plan);
} finally {
  await device.close();
}
// The device's scores equal the reference's byte for byte (checked step by step), so predictions
// are read from the expected bytes only when every step matched.
if (report.failed > 0) throw new Error(`${report.failed} of ${report.cases.length} steps on ${BOARD} differ from the TS reference: ${report.cases.filter((c) => !c.pass).slice(0, 3).map((c) => c.id).join(', ')}`);
const devicePredictions = (prefix: string): number =>
  plan.steps.filter((s) => s.step.id.startsWith(prefix)).filter((s, i) => {
    const scores = new Int32Array(s.expected.buffer, s.expected.byteOffset, s.expected.byteLength / 4);
    let best = -1;
    scores.forEach((v, k) => {
      if (v !== -2147483648 && (best < 0 || v > (scores[best] as number))) best = k;
    });
    return best === test.y[i];
  }).length / TEST;

// The head's RAM (its static arrays) and code, from the ELF's symbol table.
const nm = await execTool('arm-none-eabi-nm', ['-S', '--size-sort', firmware.elf], { timeoutMs: 30_000 });
const symbols = nm.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)).filter((p) => p.length === 4).map(([, size, type, name]) => ({ size: parseInt(size as string, 16), type: (type as string).toLowerCase(), name: name as string }));
const headSym = (s: { name: string }): boolean => /^tf_head_|^tones_(enroll|invoke|save|load|clear|predict|class_count|input|reset)$/.test(s.name);
const headRam = symbols.filter((s) => headSym(s) && (s.type === 'b' || s.type === 'd')).reduce((a, s) => a + s.size, 0);
const headCode = symbols.filter((s) => headSym(s) && s.type === 't').reduce((a, s) => a + s.size, 0);
const enrollInstr = report.cases.filter((c) => c.id.startsWith('enroll')).map((c) => c.instructions ?? 0);
const classifyInstr = report.cases.filter((c) => c.id.startsWith('after')).map((c) => c.instructions ?? 0);

const result = {
  generated: new Date().toISOString(),
  board: BOARD,
  task: `tones: trained on bands ${KNOWN_BANDS.join(', ')}; new class: band ${NEW_BAND}; ${SHOTS} examples per class; ${TEST} held-out samples of all four`,
  device_steps: { total: report.cases.length, matching: report.passed },
  accuracy: {
    pretrained_int8_model: pretrainedAll,
    pretrained_int8_model_known_classes_only: pretrainedKnown,
    head_known_classes_enrolled: devicePredictions('before'),
    head_after_new_class: devicePredictions('after'),
    reference_before: accuracyAfter(knownSteps),
    reference_after: accuracyAfter([...knownSteps, ...newSteps]),
  },
  head: { classes: head.classes, dim: head.dim, ram_bytes_summary: head.ramBytes, save_bytes: head.saveBytes, ram_bytes_elf: headRam, code_bytes_elf: headCode },
  firmware: firmware.size,
  instructions: { enroll_max: Math.max(...enrollInstr), classify_max: Math.max(...classifyInstr) },
};
writeFileSync(here('./adapt.json'), `${JSON.stringify(result, null, 2)}\n`);
const pct = (n: number): string => `${(100 * n).toFixed(1)}%`;
const fmt = (n: number): string => n.toLocaleString('en-US');
const md = [
  `| held-out accuracy, 4 classes (${TEST} samples) | |`,
  '|---|---:|',
  `| pretrained int8 model (3 classes; cannot answer the new one) | ${pct(result.accuracy.pretrained_int8_model)} |`,
  `| learned head, 3 known classes x ${SHOTS} examples enrolled on the device | ${pct(result.accuracy.head_known_classes_enrolled)} |`,
  `| learned head after ${SHOTS} examples of the new class | ${pct(result.accuracy.head_after_new_class)} |`,
  '',
  `${result.device_steps.matching}/${result.device_steps.total} enrollment / classification steps on ${BOARD} (over serial) byte-identical to the TS reference.`,
  `Head (${head.classes} classes x ${head.dim} features): RAM ${fmt(headRam)} bytes (static arrays in the ELF; the summary says ${fmt(head.ramBytes)}), code ${fmt(headCode)} bytes (head functions in the ELF), saved image ${fmt(head.saveBytes)} bytes.`,
  `Instructions (QEMU -icount): enroll ${fmt(result.instructions.enroll_max)} (frozen part + head update), classify ${fmt(result.instructions.classify_max)}.`,
];
writeFileSync(here('./adapt.md'), `${md.join('\n')}\n`);
console.log(md.join('\n'));
