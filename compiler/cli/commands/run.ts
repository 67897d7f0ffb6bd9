import { readFileSync } from 'node:fs';
import { compileModel, loadModel } from '../../compile.ts';
import { TinyforgeError } from '../../errors.ts';
import { fileSystemError, writeOutputFile } from '../../output_paths.ts';
import { parseTarget, runOnTarget } from '../targets.ts';

export interface RunCommandOptions {
  target: string;
  input: string[];
  output: string[];
}

function readInput(file: string, index: number, expectedBytes: number): Uint8Array {
  let data: Uint8Array;
  try {
    data = new Uint8Array(readFileSync(file));
  } catch (e) {
    throw fileSystemError('--input', file, e);
  }
  if (data.byteLength !== expectedBytes) throw new TinyforgeError(`--input ${file}: ${data.byteLength} bytes, but model input ${index} needs ${expectedBytes}`);
  return data;
}

export async function runCommand(modelPath: string, opts: RunCommandOptions): Promise<void> {
  const target = parseTarget(opts.target);
  const compiled = compileModel(loadModel(modelPath));
  const { inputs, outputs } = compiled.summary;
  if (opts.input.length !== inputs.length) throw new TinyforgeError(`the model has ${inputs.length} input(s); give --input once for each (got ${opts.input.length})`);
  if (opts.output.length !== outputs.length) throw new TinyforgeError(`the model has ${outputs.length} output(s); give --output once for each (got ${opts.output.length})`);
  const data = opts.input.map((f, i) => readInput(f, i, inputs[i]?.bytes ?? 0));
  const [result] = await runOnTarget(target, compiled, [data]);
  opts.output.forEach((f, i) => writeOutputFile(f, result?.[i] ?? new Uint8Array(0), '--output'));
  for (const [i, o] of outputs.entries()) {
    const bytes = result?.[i] ?? new Uint8Array(0);
    const values = o.dtype === 'int8' ? Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)) : Array.from(bytes);
    const shown = values.length > 16 ? `${values.slice(0, 16).join(', ')}, ... (${values.length} values)` : values.join(', ');
    console.log(`output ${i} '${o.name}' [${o.shape.join('x')}] -> ${opts.output[i]}: ${shown}`);
  }
}
