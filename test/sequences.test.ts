// Stateful models are checked by running sequences: golden folders with "sequence" cases, random
// sequences (--steps), and every target keeping state between the steps of one sequence and
// starting each sequence from a reset state: the TS reference, host C, QEMU semihosting and the
// serial agent (RESET command).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileModel, loadModel } from '../compiler/compile.ts';
import { runOnTarget } from '../compiler/cli/targets.ts';
import { loadGolden } from '../compiler/validate/golden.ts';
import { randomInputs, randomSequence } from '../compiler/validate/random_cases.ts';
import { CONFORMANCE_DIR } from './helpers/conformance.ts';
import { firstDifference } from './helpers/shared.ts';

const BIN = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
const DIR = `${CONFORMANCE_DIR}VAR_HANDLE/int8_stream_window`;
const MODEL = `${DIR}/model.tflite`;

function tinyforge(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sequence goldens and random sequences', () => {
  it('a golden sequence loads as one case per step, later steps continuing the state', () => {
    const g = loadGolden(DIR);
    expect(g.cases.map((c) => c.id).slice(0, 3)).toEqual(['seq0/s0', 'seq0/s1', 'seq0/s2']);
    expect(g.cases.length).toBe(24);
    expect(g.cases.map((c) => c.keepState === true)).toEqual(g.cases.map((c) => !c.id.endsWith('/s0')));
  });

  it('random sequences draw their inputs as the goldens do: one stream across the steps', () => {
    const compiled = compileModel(loadModel(MODEL));
    const steps = randomSequence(compiled.summary.inputs, 0, 3);
    expect(steps[0]).toEqual(randomInputs(compiled.summary.inputs, 0));
    expect(Buffer.from(steps[1]![0]!)).toEqual(readFileSync(`${DIR}/input_seq0_s1_0.bin`));
    expect(Buffer.from(steps[2]![0]!)).toEqual(readFileSync(`${DIR}/input_seq0_s2_0.bin`));
  });

  it('without the carried state the later steps differ: the state is what makes them right', async () => {
    const compiled = compileModel(loadModel(MODEL));
    const g = loadGolden(DIR);
    const fresh = await runOnTarget('ref', compiled, g.cases.map((c) => c.inputs));
    const carried = await runOnTarget('ref', compiled, g.cases.map((c) => c.inputs), { keepState: g.cases.map((c) => c.keepState === true) });
    g.cases.forEach((c, i) => expect(firstDifference(c.expected, carried[i] ?? []), c.id).toBeUndefined());
    expect(g.cases.filter((c, i) => firstDifference(c.expected, fresh[i] ?? []) !== undefined).length).toBeGreaterThan(0);
  });

  for (const target of ['ref', 'host', 'qemu-mps2-an386']) {
    it(`validate --golden runs whole sequences on ${target}`, () => {
      const r = tinyforge('validate', MODEL, '--target', target, '--golden', DIR, '--json');
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('"passed": 24');
    });
  }

  it('validate --random --steps checks every step on host C', () => {
    const r = tinyforge('validate', MODEL, '--target', 'host', '--random', '3', '--steps', '6', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('"passed": 18');
  });

  it('--steps without --random is a one-line user error', () => {
    const r = tinyforge('validate', MODEL, '--target', 'host', '--golden', DIR, '--steps', '3');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('the serial agent resets between sequences and carries state within one (RESET command)', () => {
    const r = tinyforge('validate', MODEL, '--board', 'qemu-mps2-an386', '--golden', DIR, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/"passed": 24/);
  });
});
