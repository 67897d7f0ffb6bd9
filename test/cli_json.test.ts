// One JSON shape for every --json (docs/cli.md, "JSON output"): the envelope, and for each command
// a result whose fields keep their types from run to run (a count is always a number, a list
// always an array, a missing measurement null). Also "did you mean" for boards and other enums,
// and the short flags.

import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closestNames, editDistance } from '../compiler/suggest.ts';
import { goldenDir, modelPath } from './helpers/shared.ts';

const BIN = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-json-'));

function tinyforge(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: tmp, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const error = z.object({ message: z.string().min(1), exitCode: z.number().int().min(1).max(3) }).strict();

/** The envelope of docs/cli.md; `result` checked by the command's schema. */
function envelope<T extends z.ZodType>(command: string, result: T) {
  return z
    .object({
      tool: z.literal('tinyforge'),
      version: z.string().regex(/^\d+\.\d+\.\d+/),
      command: z.literal(command),
      ok: z.boolean(),
      result: result.nullable(),
      error: error.nullable(),
    })
    .strict()
    .refine((e) => e.ok === (e.error === null), 'ok is true exactly when error is null');
}

const int = z.number().int().nonnegative();
const io = z.object({ name: z.string(), dtype: z.string(), shape: z.array(int), bytes: int, scale: z.number().nullable(), zeroPoint: z.number().nullable() }).strict();
const layer = z.object({ index: int, op: z.string(), kernel: z.string(), outputShape: z.array(int), macs: int, weightBytes: int, flashBytes: int }).strict();
const summary = {
  model: z.string(),
  prefix: z.string(),
  ops: int,
  opCounts: z.record(z.string(), int),
  macs: int,
  weightBytes: int,
  flashBytes: int,
  arenaBytes: int,
  stateBytes: int,
  arenaLowerBound: int,
  inPlaceLayers: z.array(int),
  inputs: z.array(io),
  outputs: z.array(io),
  layers: z.array(layer),
};
const compileResult = z
  .object({ ...summary, board: z.string(), flashBytesEstimate: int, ramBytesEstimate: int, flashBudgetBytes: int, ramBudgetBytes: int, files: z.array(z.string()) })
  .strict();
const outputComparison = z.object({ output: int, bytes: int, differing: int, firstIndex: int.nullable(), expected: z.number().nullable(), actual: z.number().nullable() }).strict();
const validateCase = z
  .object({ id: z.string(), pass: z.boolean(), outputs: z.array(outputComparison), instructions: int.nullable(), cycles: int.nullable(), milliseconds: z.number().nullable() })
  .strict();
const validateResult = z
  .object({
    model: z.string(),
    modelSha256: z.string().regex(/^[0-9a-f]{64}$/),
    target: z.string(),
    via: z.enum(['reference', 'host', 'semihosting', 'agent']),
    oracle: z.string(),
    total: int,
    passed: int,
    failed: int,
    seconds: z.number().nonnegative(),
    cases: z.array(validateCase),
    device: z.object({ board: z.string(), transport: z.string() }).passthrough().nullable(),
    profile: z.object({ unit: z.enum(['instructions', 'cycles']) }).passthrough().nullable(),
  })
  .strict()
  .refine((r) => r.total === r.cases.length && r.passed + r.failed === r.total, 'total, passed and failed agree with cases');
const boardsResult = z.object({ boards: z.array(z.object({ id: z.string(), clockHz: int, core: z.string() }).passthrough()) }).strict();
const doctorResult = z
  .object({
    ok: z.boolean(),
    exitCode: int,
    checks: z.array(z.object({ group: z.string(), name: z.string(), status: z.enum(['ok', 'missing', 'warning']), detail: z.string(), fix: z.string().optional(), neededFor: z.string(), required: z.boolean() }).strict()),
    attached: z.array(z.unknown()),
  })
  .strict();
const portsResult = z.object({ listed: z.boolean(), ports: z.array(z.object({ path: z.string(), boards: z.array(z.string()) }).passthrough()) }).strict();
const inspectResult = z.object({ compilable: z.boolean(), error: z.string().nullable(), blockers: z.array(z.unknown()), tensors: z.array(z.object({ id: int, name: z.string(), dtype: z.string(), shape: z.array(int) }).passthrough()) }).passthrough();
const buildResult = z
  .object({
    board: z.string(),
    kind: z.string(),
    files: z.array(z.string()),
    size: z.object({ textBytes: int, dataBytes: int, bssBytes: int, flashBytes: int, staticRamBytes: int }).strict().nullable(),
    buildInstructions: z.string().nullable(),
  })
  .strict();

function parse<T extends z.ZodType>(schema: T, stdout: string): z.infer<T> {
  const parsed = schema.safeParse(JSON.parse(stdout));
  if (!parsed.success) throw new Error(`${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n${stdout.slice(0, 2000)}`);
  return parsed.data;
}

describe('--json: one envelope, stable result types', () => {
  it('boards', () => {
    const r = tinyforge('boards', '--json');
    expect(r.code).toBe(0);
    const e = parse(envelope('boards', boardsResult), r.stdout);
    expect(e.result?.boards.length).toBeGreaterThanOrEqual(13);
  });

  it('compile, and a compile error: ok false, result null, the one-line message', () => {
    const r = tinyforge('compile', modelPath('hello_world_int8'), '-o', 'out/hw', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(parse(envelope('compile', compileResult), r.stdout).result).toMatchObject({ macs: 288, board: 'qemu-mps2-an386' });
    const bad = tinyforge('compile', modelPath('hello_world_int8'), '-o', 'out/hw', '-b', 'nucleo-f446', '--json');
    expect(bad.code).toBe(2);
    expect(parse(envelope('compile', compileResult), bad.stdout)).toMatchObject({ ok: false, result: null, error: { exitCode: 2, message: "unknown board 'nucleo-f446' (did you mean nucleo-f446re?)" } });
    expect(bad.stderr.trim()).toBe("error: unknown board 'nucleo-f446' (did you mean nucleo-f446re?)");
  });

  it('validate on ref, on host with random cases, and with a mismatch (ok false, result kept, exit 1)', () => {
    const ref = tinyforge('validate', modelPath('hello_world_int8'), '--golden', goldenDir('hello_world_int8'), '--json');
    expect(ref.code, ref.stderr).toBe(0);
    expect(parse(envelope('validate', validateResult), ref.stdout).result).toMatchObject({ target: 'ref', via: 'reference', total: 8, passed: 8, device: null, profile: null });
    const host = tinyforge('validate', modelPath('hello_world_int8'), '--target', 'host', '--random', '3', '--json');
    expect(host.code, host.stderr).toBe(0);
    expect(parse(envelope('validate', validateResult), host.stdout).result).toMatchObject({ target: 'host', via: 'host', total: 3, oracle: 'tinyforge TS reference' });
    const tampered = path.join(tmp, 'golden-tampered');
    cpSync(goldenDir('hello_world_int8'), tampered, { recursive: true });
    const victim = path.join(tampered, 'output_rand3_0.bin');
    const bytes = readFileSync(victim);
    bytes[0] = (bytes[0] as number) ^ 1;
    writeFileSync(victim, bytes);
    const bad = tinyforge('validate', modelPath('hello_world_int8'), '--golden', tampered, '--json');
    expect(bad.code).toBe(1);
    const e = parse(envelope('validate', validateResult), bad.stdout);
    expect(e).toMatchObject({ ok: false, error: { exitCode: 1, message: expect.stringMatching(/^1 of 8 cases differ from golden /) }, result: { passed: 7, failed: 1 } });
  });

  it('inspect of a compilable and of an uncompilable model has the same fields', () => {
    const ok = tinyforge('inspect', modelPath('hello_world_int8'), '--json');
    expect(parse(envelope('inspect', inspectResult), ok.stdout).result).toMatchObject({ compilable: true, error: null, blockers: [] });
    const truncated = path.join(tmp, 'half.tflite');
    writeFileSync(truncated, readFileSync(modelPath('micro_speech')).subarray(0, 5000));
    const bad = tinyforge('inspect', truncated, '--json');
    expect(bad.code).toBe(2);
    expect(parse(envelope('inspect', inspectResult), bad.stdout)).toMatchObject({ ok: false, result: null });
  });

  it('build of a real board gives the project files and no image size', () => {
    const r = tinyforge('build', modelPath('hello_world_int8'), '-b', 'nucleo-f446re', '-o', 'out/f446', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(parse(envelope('build', buildResult), r.stdout).result).toMatchObject({ board: 'nucleo-f446re', kind: 'cmake', size: null });
  });

  it('doctor and ports', () => {
    const d = tinyforge('doctor', '--json');
    const doctor = parse(envelope('doctor', doctorResult), d.stdout);
    expect(d.code).toBe(doctor.result?.exitCode);
    expect(doctor.ok).toBe(doctor.result?.ok);
    const p = tinyforge('ports', '--json');
    const ports = parse(envelope('ports', portsResult), p.stdout);
    expect(ports.ok).toBe(ports.result?.listed);
    expect(p.code).toBe(ports.result?.listed ? 0 : 3);
  });

  it('a command-line mistake with --json still prints the envelope', () => {
    const r = tinyforge('compile', modelPath('hello_world_int8'), '--bogus-flag', '--json');
    expect(r.code).toBe(2);
    expect(parse(envelope('compile', z.null()), r.stdout)).toMatchObject({ ok: false, error: { exitCode: 2, message: expect.stringMatching(/unknown option '--bogus-flag'/) } });
  });

  it('is documented in docs/cli.md with every command that takes --json', () => {
    const doc = readFileSync(fileURLToPath(new URL('../docs/cli.md', import.meta.url)), 'utf8');
    const section = doc.split(/^## JSON output$/m)[1]?.split(/^## /m)[0] ?? '';
    for (const field of ['tool', 'version', 'command', 'ok', 'result', 'error']) expect(section).toContain(`\`${field}\``);
    const help = tinyforge('--help').stdout;
    const commands = [...(help.split(/^Commands:$/m)[1] ?? '').matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1] as string).filter((c) => c !== 'help');
    for (const c of commands) {
      if (tinyforge(c, '--help').stdout.includes('--json')) expect(section, `docs/cli.md JSON output names ${c}`).toMatch(new RegExp(`\\| \`${c}\` \\|`));
    }
  });
});

describe('did you mean', () => {
  it('picks the close name, or none', () => {
    expect(editDistance('borad', 'board')).toBe(1);
    expect(closestNames('nucleo-f446', ['nucleo-f446re', 'nucleo-h743zi', 'rpi-pico'])).toEqual(['nucleo-f446re']);
    expect(closestNames('an386', ['qemu-mps2-an385', 'qemu-mps2-an386'])).toEqual(['qemu-mps2-an386']);
    expect(closestNames('hots', ['ref', 'host', 'qemu-mps2-an386'])).toEqual(['host']);
    expect(closestNames('esp32', ['ref', 'host', 'qemu-mps2-an386'])).toEqual([]);
  });

  it('for boards, targets, bench boards and config fields, on one line', () => {
    expect(tinyforge('validate', modelPath('hello_world_int8'), '--target', 'hots', '--random', '1').stderr.trim()).toBe("error: unknown target 'hots' (did you mean host?)");
    expect(tinyforge('validate', modelPath('hello_world_int8'), '--target', 'esp32', '--random', '1').stderr.trim()).toBe("error: unknown target 'esp32' (choose one of: ref, host, qemu-mps2-an386, qemu-xtensa-lx106)");
    expect(tinyforge('report', modelPath('hello_world_int8'), '-b', 'rpi-pic', '-o', 'r.html').stderr.trim()).toBe("error: unknown board 'rpi-pic' (did you mean rpi-pico?)");
    expect(tinyforge('bench', modelPath('hello_world_int8'), '-b', 'qemu-mps2-an368').stderr).toMatch(/not 'qemu-mps2-an368'; did you mean qemu-mps2-an386\?/);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-json-cfg-'));
    copyFileSync(modelPath('hello_world_int8'), path.join(dir, 'm.tflite'));
    writeFileSync(path.join(dir, 'tinyforge.config.json'), JSON.stringify({ board: 'nucleo-f44re', model: 'm.tflite', out: 'o' }));
    const r = spawnSync(process.execPath, [BIN, 'compile'], { encoding: 'utf8', cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
    expect(r.stderr.trim()).toBe("error: tinyforge.config.json: field 'board' names an unknown board 'nucleo-f44re' (did you mean nucleo-f446re?)");
  });
});
