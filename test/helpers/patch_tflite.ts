// Patching the bytes of a real model in tests: the checked reader keeps every field's position,
// so a test can change one scale, index or bias of a shared model and nothing else.

import { readFileSync } from 'node:fs';
import { readTfliteStructure, type RawModel } from '../../compiler/frontends/tflite/index.ts';

export interface Patchable {
  bytes: Uint8Array;
  raw: RawModel;
  view: DataView;
}

/** A fresh copy of a model file with its structure, ready to patch. */
export function patchable(file: string): Patchable {
  const bytes = new Uint8Array(readFileSync(file));
  return { bytes, raw: readTfliteStructure(bytes, file), view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

/** Position of the length word of the subgraph's operators vector (found through operator 0's table). */
export function operatorsVectorPos(p: Patchable): number {
  const first = p.raw.subgraph.operators[0];
  if (!first) throw new Error('the model has no operators');
  for (let i = 4; i + 4 <= p.bytes.length; i += 4) {
    if (p.view.getUint32(i, true) + i === first.at.table && p.view.getUint32(i - 4, true) === p.raw.subgraph.operators.length) return i - 4;
  }
  throw new Error('operators vector not found');
}
