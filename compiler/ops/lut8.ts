// Elementwise ops on 8-bit inputs have only 256 possible input values, so their whole TFLite
// arithmetic runs at compile time: the device gets a 256-entry table indexed by the raw input
// byte and one load per element. Bit-exact by construction, whatever the op's fixed-point path.

import type { KernelIo, CEmitter, ModuleLowering } from './op_module.ts';

export type Byte = 'int8' | 'uint8';
export type Lut8Output = Byte | 'int16';

export interface Lut8Params {
  /** Output value for each raw input byte 0..255 (as the output type's integer value). */
  table: number[];
  size: number;
  output: Lut8Output;
}

/** The integer value a raw byte holds in an 8-bit tensor of `type`. */
export function byteValue(byte: number, type: Byte): number {
  return type === 'int8' && byte > 127 ? byte - 256 : byte;
}

/** A table of fn(value) over every input value, indexed by the input's raw byte. */
export function buildLut8(input: Byte, fn: (value: number) => number): number[] {
  return Array.from({ length: 256 }, (_, byte) => fn(byteValue(byte, input)));
}

export function lut8Lowering(table: number[], size: number, output: Lut8Output, kernel: string): ModuleLowering<Lut8Params> {
  return { params: { table, size, output }, kernel, cFiles: [output === 'int16' ? 'portable/lut8_s16.c' : 'portable/lut8.c'] };
}

export function runLut8(p: Lut8Params, io: KernelIo): void {
  const x = io.input(0).u8();
  if (p.output === 'int16') {
    const y = io.output(0).s16();
    for (let i = 0; i < p.size; i++) y[i] = p.table[x[i] as number] as number;
  } else {
    const y = io.output(0).u8();
    for (let i = 0; i < p.size; i++) y[i] = (p.table[x[i] as number] as number) & 0xff;
  }
}

export function emitLut8(p: Lut8Params, e: CEmitter): void {
  if (p.output === 'int16') {
    const table = e.array('table', 'int16_t', p.table, `${e.name} output for each raw input byte`);
    const params = e.params('tf_lut8_s16_params', { size: p.size, table });
    e.call(`tf_lut8_s16(${params}, ${e.input(0)}, ${e.output(0)});`);
    return;
  }
  const table = e.array('table', 'uint8_t', p.table.map((v) => v & 0xff), `${e.name} output byte for each raw input byte`);
  const params = e.params('tf_lut8_params', { size: p.size, table });
  e.call(`tf_lut8(${params}, ${e.input(0)}, ${e.output(0)});`);
}

export function isLut8(p: object): p is Lut8Params {
  return 'table' in p && 'output' in p;
}
