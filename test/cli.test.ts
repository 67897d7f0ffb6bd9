// The CLI as a user meets it: exit codes, one-line errors, summaries and files.

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { goldenDir, modelPath } from './helpers/shared.ts';

const BIN = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-cli-'));

function tinyforge(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function expectOneLineUserError(r: { code: number; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('tinyforge CLI', () => {
  it('compile writes the C module and prints the summary', () => {
    const out = path.join(tmp, 'ms');
    const r = tinyforge('compile', modelPath('micro_speech'), '--board', 'qemu-mps2-an386', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(out, 'micro_speech.c'))).toBe(true);
    expect(readFileSync(path.join(out, 'micro_speech.h'), 'utf8')).toMatch(/int micro_speech_invoke\(const int8_t \*input0, int8_t \*output0\);/);
    expect(r.stdout).toMatch(/DEPTHWISE_CONV_2D/);
    expect(r.stdout).toMatch(/336,000/);
    expect(r.stdout).toMatch(/arena lower bound/);
    expect(r.stdout).toMatch(/weight bytes +flash bytes/);
  });

  it('compile --json gives the same summary as JSON', () => {
    const r = tinyforge('compile', modelPath('kws_dscnn'), '--out', path.join(tmp, 'kws'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = (JSON.parse(r.stdout) as { result: unknown }).result as { macs: number; ops: number; weightBytes: number; flashBytes: number; flashBytesEstimate: number; layers: { flashBytes: number }[]; arenaBytes: number; arenaLowerBound: number; inPlaceLayers: number[] };
    expect(s.flashBytes).toBe(s.flashBytesEstimate);
    expect(s.layers.reduce((n, l) => n + l.flashBytes, 0)).toBe(s.flashBytes);
    expect(s.macs).toBe(2656768);
    expect(s.ops).toBe(13);
    expect(s.weightBytes).toBeGreaterThan(20000);
    // In-place layers take the arena below the bound of tensors that must be live at once.
    expect(s.inPlaceLayers.length).toBeGreaterThan(0);
    expect(s.arenaBytes).toBeLessThan(s.arenaLowerBound);
  });

  it('inspect lists ops and tensors', () => {
    const r = tinyforge('inspect', modelPath('ic_resnet8'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/CONV_2D/g)?.length).toBeGreaterThanOrEqual(9);
    expect(r.stdout).toMatch(/per-channel axis 0/);
    const j = (JSON.parse(tinyforge('inspect', modelPath('ic_resnet8'), '--json').stdout) as { result: { tensors: unknown[]; layers: unknown[] } }).result;
    expect(j.layers).toHaveLength(16);
    expect(j.tensors.length).toBeGreaterThan(16);
  });

  it('run --target host writes the outputs TFLite Micro gives', () => {
    const golden = goldenDir('kws_dscnn');
    const out = path.join(tmp, 'kws_out.bin');
    const r = tinyforge('run', modelPath('kws_dscnn'), '--target', 'host', '--input', path.join(golden, 'input_kws_ref0_0.bin'), '--output', out);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out)).toEqual(readFileSync(path.join(golden, 'output_kws_ref0_0.bin')));
  });

  it('validate exits 0 when all golden cases match and 1 with the first differing byte when one does not', () => {
    const ok = tinyforge('validate', modelPath('hello_world_int8'), '--target', 'host', '--golden', goldenDir('hello_world_int8'));
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/8\/8 cases match/);

    const tampered = path.join(tmp, 'tampered_golden');
    const src = goldenDir('micro_speech');
    spawnSync('mkdir', ['-p', tampered]);
    for (const f of readdirSync(src)) copyFileSync(path.join(src, f), path.join(tampered, f));
    const victim = path.join(tampered, 'output_yes_1000ms_0.bin');
    const bytes = readFileSync(victim);
    bytes[2] = (bytes[2] as number) ^ 0x01;
    writeFileSync(victim, bytes);
    const bad = tinyforge('validate', modelPath('micro_speech'), '--target', 'ref', '--golden', tampered, '--json');
    expect(bad.code).toBe(1);
    const envelope = JSON.parse(bad.stdout) as { ok: boolean; error: { exitCode: number; message: string }; result: { passed: number; failed: number; cases: Array<{ id: string; pass: boolean; outputs: Array<{ firstIndex: number | null; differing: number }> }> } };
    expect(envelope).toMatchObject({ ok: false, error: { exitCode: 1, message: expect.stringMatching(/1 of 12 cases differ/) } });
    const report = envelope.result;
    expect(report.failed).toBe(1);
    const failed = report.cases.find((x) => !x.pass);
    expect(failed?.id).toBe('yes_1000ms');
    expect(failed?.outputs[0]).toMatchObject({ firstIndex: 2, differing: 1 });
  });

  it('validate --random compares a target with the TS reference', () => {
    const r = tinyforge('validate', modelPath('ad_autoencoder'), '--target', 'host', '--random', '5', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toMatchObject({ total: 5, passed: 5, failed: 0 });
  });

  it('reports user errors on one line with exit code 2', () => {
    const truncated = path.join(tmp, 'truncated.tflite');
    writeFileSync(truncated, readFileSync(modelPath('micro_speech')).subarray(0, 5000));
    expectOneLineUserError(tinyforge('compile', truncated, '--out', path.join(tmp, 'x')), /truncated\.tflite: .*(truncated|past end|beyond)/);
    expectOneLineUserError(tinyforge('inspect', path.join(tmp, 'missing.tflite')), /no such file/);
    expectOneLineUserError(tinyforge('compile', modelPath('micro_speech'), '--board', 'nope', '--out', path.join(tmp, 'y')), /unknown board 'nope'.*qemu-mps2-an386/);
    expectOneLineUserError(tinyforge('run', modelPath('micro_speech'), '--target', 'esp32', '--input', 'a', '--output', 'b'), /unknown target 'esp32'/);
    expectOneLineUserError(tinyforge('validate', modelPath('micro_speech'), '--golden', goldenDir('kws_dscnn')), /made for a model with sha256/);
    const notModel = path.join(tmp, 'not_a_model.tflite');
    writeFileSync(notModel, 'this is plainly not a flatbuffer at all, just some text');
    expectOneLineUserError(tinyforge('inspect', notModel), /identifier/);
  });

  it('refuses a model that does not fit the board before writing anything', () => {
    const r = tinyforge('compile', modelPath('vww_mobilenet'), '--board', 'nucleo-f446re', '--out', path.join(tmp, 'vww'));
    // 333 KB of constants fit the F446RE's 512 KB flash and its arena fits 128 KB of RAM.
    expect(r.code, r.stderr).toBe(0);
  });
});
