// Issue 5's command chain: a float TF.js model trained here -> `tinyforge quantize` (int8, pruned
// to 4x4 tiles) -> .tflite -> `tinyforge compile` -> validated over the serial agent on the
// emulated Cortex-M4.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeArtifacts } from '../compiler/frontends/tfjs/index.ts';
import { intentData, intentModel, saveLayersArtifacts, train, type Dataset } from '../compiler/frontends/tfjs/synthetic.ts';
import { parseTflite } from '../compiler/frontends/tflite/index.ts';
import { encodeNpy } from '../compiler/quantize/calibration.ts';

const BIN = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-tfjs-chain-'));

function tinyforge(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let modelJson: string;
let calib: string;
let calibLabels: string;
let testData: string;
let testLabels: string;

function writeSet(name: string, d: Dataset): [string, string] {
  const flat = new Float32Array(d.x.length * (d.x[0]?.length ?? 0));
  d.x.forEach((x, i) => flat.set(x, i * x.length));
  const data = path.join(dir, `${name}.npy`);
  writeFileSync(data, encodeNpy([d.x.length, ...d.shape], flat));
  const labels = path.join(dir, `${name}_labels.txt`);
  writeFileSync(labels, `${d.y.join('\n')}\n`);
  return [data, labels];
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  const model = intentModel();
  await train(model, intentData(400, 1), 8);
  modelJson = writeArtifacts(path.join(dir, 'intent'), await saveLayersArtifacts(model));
  [calib, calibLabels] = writeSet('calib', intentData(400, 2));
  [testData, testLabels] = writeSet('test', intentData(300, 3));
});

describe('float TF.js model to validated firmware', () => {
  it('quantize -> prune -> .tflite -> compile -> validate on the emulated Cortex-M4 over serial', () => {
    const out = path.join(dir, 'intent_int8.tflite');
    const q = tinyforge('quantize', modelJson, '--calib', calib, '--labels', calibLabels, '--test-data', testData, '--test-labels', testLabels, '--prune', '0.5', '--prune-block', '4', '--finetune', '3', '--calibration', 'mse', '--out', out, '--json');
    expect(q.code, q.stderr).toBe(0);
    const report = (JSON.parse(q.stdout) as { result: unknown }).result as { prune: { sparsity: number }; sqnr: Array<{ sqnrDb: number }>; accuracy: Array<{ stage: string; accuracy: number }>; accuracyOn: string; finetuneLosses: number[]; flashBytes: { final: number; dense: number } };
    expect(report.prune.sparsity).toBeGreaterThanOrEqual(0.45);
    expect(report.sqnr.length).toBeGreaterThan(0);
    expect(report.accuracy.map((a) => a.stage)).toEqual(['float', 'float, pruned', 'float, pruned, fine-tuned 3 epochs', 'int8, final']);
    expect(report.accuracyOn).toMatch(/300 test samples/);
    expect(report.finetuneLosses).toHaveLength(3);
    // The sparse kernels lay out the pruned constants in less flash than the dense ones would.
    expect(report.flashBytes.final).toBeLessThan(report.flashBytes.dense);
    for (const a of report.accuracy) expect(a.accuracy).toBeGreaterThan(0.4);
    const graph = parseTflite(new Uint8Array(readFileSync(out)), out);
    expect(graph.ops.map((o) => o.kind)).toContain('fully_connected');
    expect(graph.tensors.find((t) => t.dtype === 'int8' && t.data)).toBeDefined();

    const c = tinyforge('compile', out, '--board', 'qemu-mps2-an386', '--out', path.join(dir, 'c'), '--json');
    expect(c.code, c.stderr).toBe(0);
    const v = tinyforge('validate', out, '--board', 'qemu-mps2-an386', '--random', '4', '--json');
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout).result).toMatchObject({ passed: 4, failed: 0 });
  });

  it('prints the accuracy table and refuses fine-tuning it cannot do', () => {
    const out = path.join(dir, 'intent_ch.tflite');
    const q = tinyforge('quantize', modelJson, '--calib', calib, '--labels', calibLabels, '--prune', '0.8', '--finetune', '2', '--out', out);
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout).toMatch(/accuracy on the 400 labelled calibration samples:\n {2}float +\d+\.\d\d %\n {2}float, pruned +\d+\.\d\d % +\([+-]\d+\.\d\d\)/);
    expect(q.stdout).toMatch(/fine-tuned 2 epochs: loss \d+\.\d+ -> \d+\.\d+/);
    expect(q.stdout).toMatch(/flash for the constants on a Cortex-M4\/M7 \(DSP layouts\): [\d,]+ bytes with sparse kernels, [\d,]+ with dense ones/);
    const errors: Array<[string[], RegExp]> = [
      [['--prune', '0.5', '--finetune', '2'], /--finetune trains on the calibration samples and needs their --labels/],
      [['--labels', calibLabels, '--finetune', '2'], /--finetune recovers accuracy after pruning; add --prune or --prune-channels/],
      [['--labels', calibLabels, '--prune', '0.5', '--finetune', '1.5'], /--finetune wants a whole number/],
      [['--test-data', testData], /--test-data and --test-labels go together/],
      [['--calibration', 'kl'], /--calibration is minmax, percentile or mse, not 'kl'/],
      [['--prune', '0.5', '--prune-scope', 'all'], /--prune-scope is layer or global, not 'all'/],
      [['--calibration', 'mse', '--percentile', '99'], /--percentile goes with --calibration percentile/],
      [['--labels', testLabels], /300 labels for 400 samples/],
    ];
    for (const [args, message] of errors) {
      const r = tinyforge('quantize', modelJson, '--calib', calib, ...args, '--out', path.join(dir, 'never.tflite'));
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:')), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('reports bad calibration data on one line', () => {
    const bad = path.join(dir, 'bad.npy');
    writeFileSync(bad, encodeNpy([2, 7], new Float32Array(14)));
    const r = tinyforge('quantize', modelJson, '--calib', bad, '--out', path.join(dir, 'x.tflite'));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(r.stderr).toMatch(/shape|elements/);
  });
});
