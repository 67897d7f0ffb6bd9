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
import { intentData, intentModel, saveLayersArtifacts, train } from '../compiler/frontends/tfjs/synthetic.ts';
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
beforeAll(async () => {
  await tf.setBackend('cpu');
  const model = intentModel();
  await train(model, intentData(400, 1), 8);
  modelJson = writeArtifacts(path.join(dir, 'intent'), await saveLayersArtifacts(model));
  const samples = intentData(32, 2);
  const flat = new Float32Array(samples.x.length * (samples.x[0]?.length ?? 0));
  samples.x.forEach((x, i) => flat.set(x, i * x.length));
  calib = path.join(dir, 'calib.npy');
  writeFileSync(calib, encodeNpy([samples.x.length, ...samples.shape], flat));
});

describe('float TF.js model to validated firmware', () => {
  it('quantize -> prune -> .tflite -> compile -> validate on the emulated Cortex-M4 over serial', () => {
    const out = path.join(dir, 'intent_int8.tflite');
    const q = tinyforge('quantize', modelJson, '--calib', calib, '--prune', '0.5', '--prune-block', '4', '--out', out, '--json');
    expect(q.code, q.stderr).toBe(0);
    const report = JSON.parse(q.stdout) as { prune: { sparsity: number }; sqnr: Array<{ sqnrDb: number }> };
    expect(report.prune.sparsity).toBeGreaterThanOrEqual(0.45);
    expect(report.sqnr.length).toBeGreaterThan(0);
    const graph = parseTflite(new Uint8Array(readFileSync(out)), out);
    expect(graph.ops.map((o) => o.kind)).toContain('fully_connected');
    expect(graph.tensors.find((t) => t.dtype === 'int8' && t.data)).toBeDefined();

    const c = tinyforge('compile', out, '--board', 'qemu-mps2-an386', '--out', path.join(dir, 'c'), '--json');
    expect(c.code, c.stderr).toBe(0);
    const v = tinyforge('validate', out, '--board', 'qemu-mps2-an386', '--random', '4', '--json');
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ passed: 4, failed: 0 });
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
