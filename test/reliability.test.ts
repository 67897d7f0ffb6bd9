// Issue 15's findings, each as a regression test on a shared model with a few bytes patched or a
// bad command line: one-line errors with documented exit codes (or correct output), never a stack
// trace, a hang, undefined behaviour in the generated C, or a file written outside --out.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../compiler/cli/main.ts';
import { setLogSink } from '../compiler/cli/log.ts';
import { EXIT_USER_ERROR } from '../compiler/errors.ts';
import { goldenDir, modelPath } from './helpers/shared.ts';
import { operatorsVectorPos, patchable } from './helpers/patch_tflite.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-reliability-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const HELLO = modelPath('hello_world_int8');

/** Runs the CLI in process; returns the exit code and what it logged to stderr. */
async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const restore = setLogSink({ write: (t: string) => (stderr += t) });
  const log = console.log;
  console.log = () => undefined;
  try {
    return { code: await main(args), stderr };
  } finally {
    console.log = log;
    restore();
  }
}

function expectOneLine(r: { code: number; stderr: string }, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

function writeModel(name: string, bytes: Uint8Array): string {
  const file = path.join(work, name);
  writeFileSync(file, bytes);
  return file;
}

describe('constants that would make the generated C undefined are refused with the tensor named', () => {
  it('a quantization scale of 1e38 (requantization shift of 125 bits)', async () => {
    const p = patchable(HELLO);
    const input = p.raw.subgraph.tensors[0]!;
    p.view.setFloat32(input.quantization!.at.scale! + 4, 1e38, true);
    const r = await cli('compile', writeModel('scale_1e38.tflite', p.bytes), '-o', path.join(work, 'out-scale'));
    expectOneLine(r, EXIT_USER_ERROR, /operator 0 \(FULLY_CONNECTED\): rescale factor .* needs a left shift of 125 bits; .*'serving_default_dense_input:0' 1e\+38/);
  });

  it('an output scale so small that the rescale factor is infinite', async () => {
    const p = patchable(HELLO);
    const out = p.raw.subgraph.tensors[9]!;
    p.view.setFloat32(out.quantization!.at.scale! + 4, 1e-45, true);
    const r = await cli('compile', writeModel('scale_tiny.tflite', p.bytes), '-o', path.join(work, 'out-tiny'));
    expectOneLine(r, EXIT_USER_ERROR, /operator 2 \(FULLY_CONNECTED\): rescale factor .*'StatefulPartitionedCall:0'/);
  });

  it('a bias of INT32_MAX (the 32-bit accumulator could overflow)', async () => {
    const p = patchable(HELLO);
    const bias = p.raw.subgraph.tensors[1]!;
    p.view.setInt32(p.raw.buffers[bias.buffer]!.at.data!, 0x7fffffff, true);
    const r = await cli('compile', writeModel('bias_max.tflite', p.bytes), '-o', path.join(work, 'out-bias'));
    expectOneLine(r, EXIT_USER_ERROR, /operator 2 \(FULLY_CONNECTED\): bias 'sequential\/dense_2\/BiasAdd\/ReadVariableOp' value 2147483647 of output channel 0 can overflow the 32-bit accumulator/);
  });

  it('a zero point outside its tensor type (int8 with zero point 2^31 - 1)', async () => {
    const p = patchable(HELLO);
    const input = p.raw.subgraph.tensors[0]!;
    p.view.setBigInt64(input.quantization!.at.zeroPoint! + 4, 2n ** 31n - 1n, true);
    const r = await cli('compile', writeModel('zp_big.tflite', p.bytes), '-o', path.join(work, 'out-zp'));
    expectOneLine(r, EXIT_USER_ERROR, /tensor 0 'serving_default_dense_input:0' has zero point 2147483647 at index 0, outside the range of its type \(-128\.\.127\)/);
  });

  it('the unpatched model still compiles', async () => {
    const r = await cli('compile', HELLO, '-o', path.join(work, 'out-ok'));
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('graph structure', () => {
  it('a model output that is the model input is refused (invoke() would never write it)', async () => {
    const p = patchable(HELLO);
    p.view.setInt32(p.raw.subgraph.at.outputs! + 4, 0, true);
    const r = await cli('compile', writeModel('out_is_in.tflite', p.bytes), '-o', path.join(work, 'out-io'));
    expectOneLine(r, EXIT_USER_ERROR, /model output 0 \(tensor 0 'serving_default_dense_input:0'\) is model input 0 itself: no operator computes it/);
  });

  it('a model with no operators whose output is its input is refused', async () => {
    const p = patchable(HELLO);
    p.view.setInt32(p.raw.subgraph.at.outputs! + 4, 0, true);
    p.view.setUint32(operatorsVectorPos(p), 0, true);
    const r = await cli('compile', writeModel('empty.tflite', p.bytes), '-o', path.join(work, 'out-empty'));
    expectOneLine(r, EXIT_USER_ERROR, /model output 0 .* is model input 0 itself/);
  });

  it('a model output that is a constant tensor is refused', async () => {
    const p = patchable(HELLO);
    p.view.setInt32(p.raw.subgraph.at.outputs! + 4, 6, true);
    const r = await cli('compile', writeModel('out_const.tflite', p.bytes), '-o', path.join(work, 'out-const'));
    expectOneLine(r, EXIT_USER_ERROR, /model output 0 \(tensor 6 .*\) is a constant tensor: no operator computes it/);
  });

  it('an operator reading a tensor a later operator computes is refused', async () => {
    const p = patchable(HELLO);
    p.view.setInt32(p.raw.subgraph.operators[0]!.at.inputs! + 4, 8, true);
    const r = await cli('compile', writeModel('order.tflite', p.bytes), '-o', path.join(work, 'out-order'));
    expectOneLine(r, EXIT_USER_ERROR, /operator 0 \(FULLY_CONNECTED\) input 0 .* is not a constant, a model input or the output of an earlier operator/);
  });

  it('a constant wired as an activation input compiles to C that computes what the reference does (ASan + UBSan)', async () => {
    // Operator 1's activation input becomes operator 0's 16 weights (a constant of 16 values).
    const p = patchable(HELLO);
    p.view.setInt32(p.raw.subgraph.operators[1]!.at.inputs! + 4, 6, true);
    const r = await cli('validate', writeModel('const_activation.tflite', p.bytes), '--target', 'host', '--random', '3', '--sanitize');
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('file-system errors are one line with exit 2, never a stack trace or a hang', () => {
  const file = path.join(work, 'a-file');
  writeFileSync(file, 'x');

  it.each([
    ['/dev/null', /--out \/dev\/null: \/dev is a special file system/],
    [file, /--out .*a-file: is a file, not a directory/],
    [path.join(file, 'below'), /--out .*a-file\/below: /],
    ['', /--out: give a directory \(the path is empty\)/],
    ['/proc/tinyforge/x', /--out \/proc\/tinyforge\/x: \/proc is a special file system/],
  ])('compile --out %j', async (out, pattern) => {
    expectOneLine(await cli('compile', HELLO, '-o', out), EXIT_USER_ERROR, pattern);
  });

  it('run --output into a path below a file, and --output naming a directory', async () => {
    const input = path.join(work, 'in.bin');
    writeFileSync(input, new Uint8Array(1));
    expectOneLine(await cli('run', HELLO, '--input', input, '--output', path.join(file, 'out.bin')), EXIT_USER_ERROR, /--output .*a-file\/out\.bin: .*a-file is a file, not a directory/);
    expectOneLine(await cli('run', HELLO, '--input', input, '--output', work), EXIT_USER_ERROR, /--output .*: is a directory, not a file/);
  });

  it('flash and validate --image naming a missing file', async () => {
    const missing = path.join(work, 'missing.bin');
    expectOneLine(await cli('flash', '-b', 'esp32-devkitc', '-p', '/dev/null', '--image', missing), EXIT_USER_ERROR, /--image .*missing\.bin: no such file or directory/);
    expectOneLine(await cli('validate', HELLO, '-b', 'esp32-devkitc', '-p', '/dev/null', '--image', missing, '--random', '1'), EXIT_USER_ERROR, /--image .*missing\.bin: no such file or directory/);
  });

  it('report -o below a file', async () => {
    expectOneLine(await cli('report', HELLO, '-o', path.join(file, 'r.html')), EXIT_USER_ERROR, /--out .*a-file\/r\.html: .*is a file, not a directory/);
  });
});

describe('--prefix on the command line is checked like the config file\'s', () => {
  it.each([['1 bad;'], ['../x'], ['int']])('refuses %j and writes nothing', async (prefix) => {
    const out = path.join(work, `prefix-${readdirSync(work).length}`);
    const r = await cli('compile', HELLO, '-o', out, '--prefix', prefix);
    expectOneLine(r, EXIT_USER_ERROR, /--prefix '.*' (must be a C identifier|is a C keyword)/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(path.join(work, 'x.c'))).toBe(false);
  });

  it('accepts a C identifier', async () => {
    const out = path.join(work, 'prefix-ok');
    expect((await cli('compile', HELLO, '-o', out, '--prefix', 'my_model2')).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['my_model2.c', 'my_model2.h']);
  });
});

describe('golden manifests name files inside their folder only', () => {
  function goldenWith(name: string, inputFile: string): string {
    const dir = path.join(work, name);
    mkdirSync(dir, { recursive: true });
    const manifest = { cases: [{ id: 'c0', input_files: [inputFile], output_files: ['out.bin'] }] };
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    writeFileSync(path.join(dir, 'out.bin'), new Uint8Array(1));
    return dir;
  }

  it.each([
    ['dotdot', '../../../../../../etc/passwd', /'\.\.\/\.\.\/.*etc\/passwd' is not a file inside the golden folder/],
    ['absolute', '/etc/passwd', /'\/etc\/passwd' is not a file inside the golden folder/],
  ])('%s', async (name, input, pattern) => {
    expectOneLine(await cli('validate', HELLO, '--golden', goldenWith(name, input)), EXIT_USER_ERROR, pattern);
  });

  it('a symbolic link leading out of the folder', async () => {
    const dir = goldenWith('symlink', 'in.bin');
    symlinkSync('/etc/passwd', path.join(dir, 'in.bin'));
    expectOneLine(await cli('validate', HELLO, '--golden', dir), EXIT_USER_ERROR, /'in\.bin' is a link to a file outside the golden folder/);
  });

  it('the shared golden folders still validate', async () => {
    expect((await cli('validate', HELLO, '--golden', goldenDir('hello_world_int8'))).code).toBe(0);
  });
});

describe('QEMU boards and options for real boards', () => {
  it('--port and --no-flash are refused before anything is built', async () => {
    expectOneLine(await cli('validate', HELLO, '-b', 'qemu-mps2-an386', '-p', '/dev/ttyUSB0', '--random', '1'), EXIT_USER_ERROR, /--port: qemu-mps2-an386 runs under QEMU/);
    expectOneLine(await cli('validate', HELLO, '-b', 'qemu-mps2-an386', '--no-flash', '--random', '1'), EXIT_USER_ERROR, /--no-flash: qemu-mps2-an386 runs under QEMU/);
  });

  it('--timeout wants positive seconds and a board', async () => {
    expectOneLine(await cli('validate', HELLO, '-b', 'qemu-mps2-an386', '--timeout', '0', '--random', '1'), EXIT_USER_ERROR, /--timeout wants seconds greater than 0, not '0'/);
    expectOneLine(await cli('validate', HELLO, '--timeout', '5', '--random', '1'), EXIT_USER_ERROR, /--timeout is the wait for one inference on a board/);
  });
});
