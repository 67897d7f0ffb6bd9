// Random test inputs, generated exactly as ../shared/golden's random cases were (xorshift32),
// so seed k here reproduces golden case rand<k> byte for byte.

import { TinyforgeError } from '../errors.ts';
import type { IoSummary } from '../compile.ts';

/** The goldens' xorshift32 stream for seed k; one stream runs through all the steps of a sequence. */
function xorshift(seed: number): () => number {
  let s = (0x9e3779b9 ^ (seed + 1)) >>> 0;
  return (): number => {
    s = (s ^ (s << 13)) >>> 0;
    s = (s ^ (s >>> 17)) >>> 0;
    s = (s ^ (s << 5)) >>> 0;
    return s;
  };
}

function fill(inputs: readonly IoSummary[], next: () => number): Uint8Array[] {
  return inputs.map((io) => {
    const bytes = new Uint8Array(io.bytes);
    if (io.dtype === 'int8' || io.dtype === 'uint8') {
      for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
    } else if (io.dtype === 'int16') {
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < bytes.length / 2; i++) view.setUint16(i * 2, next() & 0xffff, true);
    } else if (io.dtype === 'float32') {
      // Uniform in [-1, 1), as the goldens' float32 inputs: ((s >> 8) / 2^24) * 2 - 1, exact in float32.
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < bytes.length / 4; i++) view.setFloat32(i * 4, ((next() >>> 8) / 16777216) * 2 - 1, true);
    } else {
      throw new TinyforgeError(`random inputs are defined for int8, uint8, int16 and float32 tensors; input '${io.name}' is ${io.dtype}`);
    }
    return bytes;
  });
}

export function randomInputs(inputs: readonly IoSummary[], seed: number): Uint8Array[] {
  return fill(inputs, xorshift(seed));
}

/**
 * The inputs of `steps` consecutive invokes, as the goldens' seq<k> cases draw them: one stream
 * seeded once with k, continuing from step to step (so step 0 equals randomInputs(inputs, k)).
 */
export function randomSequence(inputs: readonly IoSummary[], seed: number, steps: number): Uint8Array[][] {
  const next = xorshift(seed);
  return Array.from({ length: steps }, () => fill(inputs, next));
}
